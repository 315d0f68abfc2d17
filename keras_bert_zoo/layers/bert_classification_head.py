"""Dropout and a linear layer over the last axis, stored as Google's output_weights."""

import keras
from keras import ops

from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice
from keras_bert_zoo.kernels import matmul_add_bias


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertClassificationHead(keras.layers.Layer):
    """Logits over `num_classes` for every vector on the last axis.

    Serves the pooled [B, H] -> [B, C] sentence classifier and next-sentence
    head, the [B, T, H] -> [B, T, C] token classifier and the span head alike.
    The weights are kept as [C, H] like google-research/bert's
    `output_weights`, so checkpoints map without a transpose.

    Args:
        num_classes: Number of outputs C.
        dropout: Dropout rate applied to the inputs.
        initializer_range: Stddev of the truncated-normal initializer.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, num_classes, dropout=0.0, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
        self.num_classes = num_classes
        self.dropout = dropout
        self.initializer_range = initializer_range
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy, name="dropout")

    def build(self, input_shape):
        self.output_weights = self.add_weight(
            name="output_weights",
            shape=(self.num_classes, input_shape[-1]),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range),
        )
        self.output_bias = self.add_weight(name="output_bias", shape=(self.num_classes,), initializer="zeros")
        self.built = True

    def call(self, x, training=None):
        x = self.dropout_layer(x, training=training)
        logits = matmul_add_bias(x, ops.cast(self.output_weights.value, x.dtype),
                                 ops.cast(self.output_bias.value, x.dtype), transpose_kernel=True)
        return ops.cast(logits, "float32")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def checkpoint_slices(self):
        """Names relative to the head's scope ("", "cls/squad/", "cls/seq_relationship/")."""
        return {
            "output_weights": CheckpointSlice(self.output_weights),
            "output_bias": CheckpointSlice(self.output_bias),
        }

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "initializer_range": self.initializer_range,
        })
        return config
