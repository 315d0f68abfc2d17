"""The [CLS] pooler: a dense layer over the first token (tanh in BERT's pooler, ReLU in DistilBERT's pre-classifier)."""

import keras

from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertPooler(keras.layers.Layer):
    """Maps the first token's hidden state [B, T, H] to a pooled vector [B, H].

    Args:
        hidden_size: Model width.
        initializer_range: Stddev of the truncated-normal initializer.
        activation: The dense layer's activation.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, hidden_size, initializer_range=0.02, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range
        self.activation = activation
        self.dense = Float32BiasGradDense(
            hidden_size,
            activation=activation,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            dtype=self.dtype_policy,
            name="dense",
        )

    def build(self, input_shape):
        self.dense.build((None, self.hidden_size))
        self.built = True

    def call(self, sequence_output):
        return self.dense(sequence_output[:, 0, :])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.hidden_size)

    def checkpoint_slices(self):
        """Names relative to "bert/pooler/"."""
        return {
            "dense/kernel": CheckpointSlice(self.dense.kernel),
            "dense/bias": CheckpointSlice(self.dense.bias),
        }

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size, "initializer_range": self.initializer_range,
                       "activation": self.activation})
        return config
