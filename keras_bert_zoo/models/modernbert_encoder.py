"""The ModernBERT encoder: normalized word embeddings, pre-norm layers with rotary attention, a final LayerNorm."""

import keras

from keras_bert_zoo.config.modernbert_config import LOCAL_ATTENTION, ModernBertConfig
from keras_bert_zoo.layers.checkpoint_slice import layer_norm_slices, prefixed
from keras_bert_zoo.layers.modernbert_block import ModernBertBlock
from keras_bert_zoo.layers.modernbert_embeddings import ModernBertEmbeddings
from keras_bert_zoo.layers.modernbert_prediction_head import ModernBertPredictionHead
from keras_bert_zoo.layers.packed_sequences import packed_position_ids
from keras_bert_zoo.layers.xla_layer_normalization import XlaLayerNormalization
from keras_bert_zoo.models.bert_encoder import BertEncoder, encoder_inputs
from keras_bert_zoo.models.pretrained_model import PretrainedModel


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ModernBertEncoder(BertEncoder):
    """ModernBERT's transformer encoder (Warner et al., 2024).

    The same inputs as `BertEncoder` (`input_type_ids` is accepted and
    ignored) and outputs `sequence_output` and `encoder_outputs` (each
    layer's output, the last one after the final LayerNorm, as transformers'
    hidden states); no pooler. Positions are rotations of queries and keys,
    counted from 0 in every row and in every packed sequence. Layers
    alternate global attention with a sliding window (`ModernBertConfig`),
    which costs O(T x window) rather than O(T^2). Weights load from and save
    to transformers' ModernBERT checkpoints (`convert.modernbert_names`).

    Args:
        config: A `ModernBertConfig` (or its dict form).
        dtype: Optional Keras dtype policy.
        **kwargs: Passed to `keras.Model`.
    """

    config_class = ModernBertConfig

    def __init__(self, config, dtype=None, **kwargs):
        config = self.checked_config(config)
        self.config = config
        self.embeddings = ModernBertEmbeddings(
            config.vocab_size, config.hidden_size, config.embedding_dropout, config.layer_norm_eps, config.norm_bias,
            config.initializer_range, dtype=dtype, name="embeddings")
        self.embedding_projection = None
        self.transformer_layers = [
            ModernBertBlock(
                hidden_size=config.hidden_size,
                num_heads=config.num_heads,
                intermediate_size=config.intermediate_size,
                hidden_act=config.hidden_act,
                rope_theta=config.local_rope_theta if kind == LOCAL_ATTENTION else config.global_rope_theta,
                half_window=config.half_window if kind == LOCAL_ATTENTION else None,
                attention_norm=i > 0,
                layer_norm_eps=config.layer_norm_eps,
                norm_bias=config.norm_bias,
                attention_bias=config.attention_bias,
                mlp_bias=config.mlp_bias,
                attention_dropout=config.attention_dropout,
                mlp_dropout=config.dropout,
                initializer_range=config.initializer_range,
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i, kind in enumerate(config.layer_types)
        ]
        self.final_norm = XlaLayerNormalization(epsilon=config.layer_norm_eps, center=config.norm_bias, dtype=dtype,
                                                name="final_norm")
        self.pooler = None

        inputs = encoder_inputs()
        x = self.embed(inputs)
        position_ids = packed_position_ids(inputs["input_mask"])
        layer_outputs = []
        for layer in self.transformer_layers:
            x = layer(x, inputs["input_mask"], position_ids)
            layer_outputs.append(x)
        layer_outputs[-1] = x = self.final_norm(x)
        PretrainedModel.__init__(self, inputs=inputs, outputs={"sequence_output": x, "encoder_outputs": layer_outputs},
                                 dtype=dtype, **kwargs)

    def call(self, inputs, training=None, mask=None, output_positions=None):
        """The encoder's outputs; with `output_positions` [B, P], only `sequence_output` there (see `BertEncoder`)."""
        if output_positions is None:
            return super().call(inputs, training=training, mask=mask)
        x = self.embed(inputs, training=training)
        input_mask, position_ids = inputs["input_mask"], packed_position_ids(inputs["input_mask"])
        *lower_layers, last_layer = self.transformer_layers
        for layer in lower_layers:
            x = layer(x, input_mask, position_ids, training=training)
        x = last_layer(x, input_mask, position_ids, training=training, output_positions=output_positions)
        return {"sequence_output": self.final_norm(x, training=training)}

    def embed(self, inputs, training=None):
        return self.embeddings(inputs["input_word_ids"], training=training)

    def head_transform(self, name):
        """A fresh `ModernBertPredictionHead`: every ModernBERT head's dense layer, activation and LayerNorm."""
        config = self.config
        return ModernBertPredictionHead(
            config.hidden_size, config.classifier_activation, config.classifier_bias, config.layer_norm_eps,
            config.norm_bias, config.initializer_range, dtype=self.dtype_policy, name=name)

    def checkpoint_slices(self):
        slices = prefixed("bert/embeddings/", self.embeddings.checkpoint_slices())
        for i, layer in enumerate(self.transformer_layers):
            slices.update(prefixed(f"bert/encoder/layer_{i}/", layer.checkpoint_slices()))
        slices.update(prefixed("bert/encoder/final/", layer_norm_slices(self.final_norm)))
        return slices
