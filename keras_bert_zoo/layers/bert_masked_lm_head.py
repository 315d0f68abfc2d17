"""Masked-LM head: transform, LayerNorm, and output weights tied to the word embeddings."""

import keras
from keras import ops

from keras_bert_zoo.kernels import matmul_add_bias
from keras_bert_zoo.layers.activations import hidden_activation
from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice, prefixed
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense
from keras_bert_zoo.layers.gather_positions import gather_positions
from keras_bert_zoo.layers.xla_layer_normalization import XlaLayerNormalization


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertMaskedLMHead(keras.layers.Layer):
    """Predicts the words at `masked_lm_positions`.

    Only the P gathered positions go through the [H, V] projection, not all T,
    which is most of the pretraining head's cost. The projection reuses the
    encoder's word-embedding table, so this layer is built by the model that
    owns that table (`MaskedLM`, `BertPretrainer`); its config omits it.
    The transform maps the encoder's width to the table's, which is narrower
    in ELECTRA.

    Args:
        word_embeddings: The encoder's `keras.layers.Embedding` of words.
        input_size: Width of the encoder's outputs; None: the table's width.
        hidden_act: Transform activation name (as `BertConfig.hidden_act`).
        layer_norm_eps: LayerNorm epsilon.
        initializer_range: Stddev of the truncated-normal initializer.
        transform: Optional layer [N, input_size] -> [N, table width] in place
            of the dense layer, activation and LayerNorm (ModernBERT's, bias-free);
            its weights are named under "transform/" all the same.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, word_embeddings, hidden_act="gelu_approx", layer_norm_eps=1e-12,
                 initializer_range=0.02, input_size=None, transform=None, **kwargs):
        super().__init__(**kwargs)
        self.word_embeddings = word_embeddings
        self.vocab_size = word_embeddings.input_dim
        self.hidden_size = word_embeddings.output_dim
        self.input_size = input_size or self.hidden_size
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        self.transform = transform
        if transform is None:
            self.transform_dense = Float32BiasGradDense(
                self.hidden_size,
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
                dtype=self.dtype_policy,
                name="transform",
            )
            self.layer_norm = XlaLayerNormalization(
                epsilon=layer_norm_eps, dtype=self.dtype_policy, name="layer_norm")

    def build(self, sequence_output_shape=None, masked_lm_positions_shape=None):
        if self.transform is not None:
            self.transform.build((None, self.input_size))
        else:
            self.transform_dense.build((None, self.input_size))
            self.layer_norm.build((None, self.hidden_size))
        self.output_bias = self.add_weight(name="output_bias", shape=(self.vocab_size,), initializer="zeros")
        self.built = True

    def call(self, sequence_output, masked_lm_positions=None):
        """Logits [B, P, V] (float32) for the words at `masked_lm_positions`.

        Args:
            sequence_output: The encoder's output [B, T, H], or with no
                `masked_lm_positions`, its rows already gathered [B, P, H].
            masked_lm_positions: Integer positions [B, P] to predict, or None.
        """
        if masked_lm_positions is not None:
            sequence_output = gather_positions(sequence_output, masked_lm_positions)
        num_predictions = ops.shape(sequence_output)[1]
        x = ops.reshape(sequence_output, (-1, self.input_size))
        if self.transform is not None:
            x = self.transform(x)
        else:
            x = self.layer_norm(hidden_activation(self.hidden_act, self.transform_dense(x)))
        table = ops.cast(self.word_embeddings.embeddings.value, x.dtype)
        logits = matmul_add_bias(x, table, ops.cast(self.output_bias.value, x.dtype), transpose_kernel=True)
        return ops.cast(ops.reshape(logits, (-1, num_predictions, self.vocab_size)), "float32")

    def compute_output_shape(self, sequence_output_shape, masked_lm_positions_shape=None):
        rows_shape = masked_lm_positions_shape or sequence_output_shape
        return (rows_shape[0], rows_shape[1], self.vocab_size)

    def checkpoint_slices(self):
        """Names relative to "cls/predictions/"."""
        if self.transform is not None:
            return {**prefixed("transform/", self.transform.checkpoint_slices()),
                    "output_bias": CheckpointSlice(self.output_bias)}
        return {
            "transform/dense/kernel": CheckpointSlice(self.transform_dense.kernel),
            "transform/dense/bias": CheckpointSlice(self.transform_dense.bias),
            "transform/LayerNorm/gamma": CheckpointSlice(self.layer_norm.gamma),
            "transform/LayerNorm/beta": CheckpointSlice(self.layer_norm.beta),
            "output_bias": CheckpointSlice(self.output_bias),
        }

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_act": self.hidden_act,
            "layer_norm_eps": self.layer_norm_eps,
            "initializer_range": self.initializer_range,
            "input_size": self.input_size,
        })
        return config
