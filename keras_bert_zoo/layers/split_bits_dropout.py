"""Inverted dropout that draws 16 random bits per element instead of a float."""

import keras
from keras import ops

from keras_bert_zoo.kernels import DRAWS, uint16_draws, uses_fast_kernels, xla_softmax_dropout


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class SplitBitsDropout(keras.layers.Layer):
    """`keras.layers.Dropout` at half the random-number cost.

    Keras draws one uniform float, from one 32-bit Philox word, per element.
    This layer splits every 32-bit word into two 16-bit draws, which halves
    the generator's work; on CPU that work is most of dropout's cost, and
    BERT drops out every attention probability. An element is kept when its
    draw is at least round(rate * 65536) (at most 65535), and kept values are scaled by the
    inverse of the exact keep probability, so the expectation is unchanged and
    the rate is within 1/131072 of `rate` (Keras's bfloat16 uniform is coarser).

    Args:
        rate: Fraction of elements to zero, in [0, 1).
        seed: Optional int for the layer's `keras.random.SeedGenerator`.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"rate={rate} must be in [0, 1).")
        self.rate = rate
        self.seed = seed
        # At least one draw in 65536 keeps its element, even for a rate within 1/131072 of 1.
        self.threshold = min(round(rate * DRAWS), DRAWS - 1)
        self.scale = DRAWS / (DRAWS - self.threshold)
        self.seed_generator = keras.random.SeedGenerator(seed) if self.threshold else None
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        """Zeroes a random `rate` of `inputs` and rescales the rest when `training`."""
        if not training or not self.threshold:
            return inputs
        keep = self.draws(ops.shape(inputs)) >= self.threshold
        return ops.where(keep, inputs * self.scale, ops.zeros((), inputs.dtype))

    def softmax(self, scores, additive_mask, training=False):
        """softmax(scores + additive_mask) over the last axis, dropped out when `training`.

        The softmax is computed in float32, which keeps mixed precision stable,
        and its dropped-out probabilities are rounded once to the compute
        dtype. Training on TensorFlow takes `xla_softmax_dropout` (dropout and
        the gradient XLA-fused), fed the same draws `call` would take.

        Args:
            scores: Scores [..., S] in the layer's compute dtype.
            additive_mask: float32, broadcastable to `scores`, added before the softmax.
            training: Whether dropout is active.
        """
        if self.threshold and uses_fast_kernels(training):
            return xla_softmax_dropout(scores, additive_mask, self.draws(ops.shape(scores)), self.threshold,
                                       self.scale)
        probs = ops.softmax(ops.cast(scores, "float32") + additive_mask, axis=-1)
        return self(ops.cast(probs, self.compute_dtype), training=training)

    def draws(self, shape):
        """The next uint16 draws [*shape]; an element is kept where its draw is at least `threshold`.

        Args:
            shape: Shape of the tensor to drop out; its last axis may be dynamic.
        """
        return uint16_draws(shape, self.seed_generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
