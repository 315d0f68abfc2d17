"""One post-LayerNorm BERT transformer layer."""

import keras

from keras_bert_zoo.layers.activations import hidden_activation
from keras_bert_zoo.layers.bert_self_attention import BertSelfAttention
from keras_bert_zoo.layers.checkpoint_slice import dense_slices, layer_norm_slices, prefixed
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense
from keras_bert_zoo.layers.gather_positions import gather_positions, positions_output_shape
from keras_bert_zoo.layers.padding_free import restore_padding
from keras_bert_zoo.layers.split_bits_dropout import SplitBitsDropout
from keras_bert_zoo.layers.xla_layer_normalization import XlaLayerNormalization


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertTransformerBlock(keras.layers.Layer):
    """Self-attention and feed-forward sublayers, each followed by residual + LayerNorm.

    Padding comes from `input_mask`, or else from a Keras mask on `x` (as
    `keras.layers.Embedding(mask_zero=True)` sets), or else there is none.
    The Keras mask passes on to the output.

    Args:
        hidden_size: Model width.
        num_heads: Attention heads.
        intermediate_size: Feed-forward width.
        hidden_act: Feed-forward activation name (see `BertConfig.hidden_act`).
        dropout: Dropout rate on sublayer outputs.
        attention_dropout: Dropout rate on attention probabilities.
        layer_norm_eps: LayerNorm epsilon.
        initializer_range: Stddev of the truncated-normal initializer.
        attention_output_dropout: Dropout rate on the attention output before
            its residual; None: `dropout` (BERT's), 0 for DistilBERT's block.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(
        self,
        hidden_size,
        num_heads,
        intermediate_size,
        hidden_act="gelu_approx",
        dropout=0.1,
        attention_dropout=0.1,
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        attention_output_dropout=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.attention_output_dropout_rate = dropout if attention_output_dropout is None else attention_output_dropout
        initializer = keras.initializers.TruncatedNormal(stddev=initializer_range)
        policy = self.dtype_policy
        self.attention = BertSelfAttention(
            hidden_size, num_heads, attention_dropout, initializer_range, dtype=policy, name="attention")
        self.attention_output_dropout = SplitBitsDropout(
            self.attention_output_dropout_rate, dtype=policy, name="attention_dropout")
        self.attention_layer_norm = XlaLayerNormalization(
            epsilon=layer_norm_eps, dtype=policy, name="attention_layer_norm")
        self.intermediate_dense = Float32BiasGradDense(
            intermediate_size, kernel_initializer=initializer, dtype=policy, name="intermediate")
        self.output_dense = Float32BiasGradDense(
            hidden_size, kernel_initializer=initializer, dtype=policy, name="output")
        self.output_dropout_layer = SplitBitsDropout(dropout, dtype=policy, name="output_dropout")
        self.output_layer_norm = XlaLayerNormalization(
            epsilon=layer_norm_eps, dtype=policy, name="output_layer_norm")

    def build(self, x_shape, input_mask_shape=None):
        hidden_shape = (None, None, self.hidden_size)
        self.attention.build(hidden_shape)
        self.attention_layer_norm.build(hidden_shape)
        self.intermediate_dense.build(hidden_shape)
        self.output_dense.build((None, None, self.intermediate_size))
        self.output_layer_norm.build(hidden_shape)
        self.built = True

    def call(self, x, input_mask=None, training=None, output_positions=None, mask=None, layout=None):
        """Transforms `x` [B, T, H].

        Args:
            x: Hidden states [B, T, H], or [N, H] of the real tokens alone given `layout`.
            input_mask: [B, T], 1 for real tokens and 0 for padding, or the
                numbers of packed sequences (see `BertSelfAttention`).
            training: Whether dropout is active.
            output_positions: Optional integer positions [B, P]. The output is
                then [B, P, H], the rows of the full output at those positions,
                and only they go through the layer after the attention's
                keys and values (a last layer read by a few heads).
            mask: The Keras mask of `x` [B, T], used when `input_mask` is None.
            layout: `padding_free.token_layout(input_mask)` when `x` holds the real tokens alone
                ([N, H]); the output is then [N, H] too, or [B, P, H] at `output_positions`.
        """
        if input_mask is None:
            input_mask = keras.ops.ones(keras.ops.shape(x)[:2], "int32") if mask is None else mask
        input_mask = keras.ops.cast(input_mask, "int32")
        # [B, T, H] (or [B, P, H] at output_positions)
        attended = self.attention(x, input_mask, training=training, query_positions=output_positions,
                                  layout=layout)
        if output_positions is not None:
            x = gather_positions(x if layout is None else restore_padding(x, layout), output_positions)
        # Residual and LayerNorm: [B, T, H]
        x = self.attention_layer_norm(x + self.attention_output_dropout(attended, training=training))
        # Feed-forward: [B, T, intermediate], then back to [B, T, H]
        hidden = hidden_activation(self.hidden_act, self.intermediate_dense(x), training=training)
        output = self.output_dropout_layer(self.output_dense(hidden), training=training)
        return self.output_layer_norm(x + output)

    def compute_mask(self, x, mask=None):
        return mask

    def compute_output_shape(self, x_shape, input_mask_shape=None, output_positions_shape=None):
        return positions_output_shape(x_shape, output_positions_shape)

    def checkpoint_slices(self):
        """Names relative to "bert/encoder/layer_N/"."""
        slices = prefixed("attention/", self.attention.checkpoint_slices())
        slices.update(prefixed("attention/output/", layer_norm_slices(self.attention_layer_norm)))
        slices.update(prefixed("intermediate/dense/", dense_slices(self.intermediate_dense)))
        slices.update(prefixed("output/dense/", dense_slices(self.output_dense)))
        slices.update(prefixed("output/", layer_norm_slices(self.output_layer_norm)))
        return slices

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_size": self.hidden_size,
            "num_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": self.hidden_act,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "layer_norm_eps": self.layer_norm_eps,
            "initializer_range": self.initializer_range,
            "attention_output_dropout": self.attention_output_dropout_rate,
        })
        return config
