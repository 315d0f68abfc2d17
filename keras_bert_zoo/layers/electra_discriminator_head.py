"""ELECTRA's discriminator head: is each token the original or a generator's replacement?"""

import keras
from keras import ops

from keras_bert_zoo.layers.activations import hidden_activation
from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ElectraDiscriminatorHead(keras.layers.Layer):
    """Maps the encoder's output [B, T, H] to one replaced-token logit per token [B, T].

    A dense layer of the encoder's width with its activation, then a dense
    layer to one unit, as ELECTRA's `discriminator_predictions` (Google's
    `dense` and `dense_1`, transformers' `dense` and `dense_prediction`).

    Args:
        hidden_size: The encoder's width.
        hidden_act: Activation name (as `BertConfig.hidden_act`).
        initializer_range: Stddev of the truncated-normal initializer.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, hidden_size, hidden_act="gelu", initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        initializer = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.dense = Float32BiasGradDense(hidden_size, kernel_initializer=initializer, dtype=self.dtype_policy,
                                          name="dense")
        self.prediction = Float32BiasGradDense(1, kernel_initializer=initializer, dtype=self.dtype_policy,
                                               name="prediction")

    def build(self, input_shape):
        self.dense.build((None, self.hidden_size))
        self.prediction.build((None, self.hidden_size))
        self.built = True

    def call(self, sequence_output, training=None):
        x = hidden_activation(self.hidden_act, self.dense(sequence_output), training=training)
        return ops.cast(ops.squeeze(self.prediction(x), axis=-1), "float32")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1])

    def checkpoint_slices(self):
        """Names relative to "discriminator_predictions/"."""
        return {
            "dense/kernel": CheckpointSlice(self.dense.kernel),
            "dense/bias": CheckpointSlice(self.dense.bias),
            "dense_1/kernel": CheckpointSlice(self.prediction.kernel),
            "dense_1/bias": CheckpointSlice(self.prediction.bias),
        }

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size, "hidden_act": self.hidden_act,
                       "initializer_range": self.initializer_range})
        return config
