"""Rotary position embeddings (RoPE): queries and keys rotated by their tokens' positions."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class RotaryEmbedding(keras.layers.Layer):
    """The cosines and sines that rotate [..., head_size] vectors at given positions (Su et al., 2021).

    Dimension pairs (d, d + head_size / 2) turn by the angle position *
    theta^(-2d / head_size), as in transformers' rotary embeddings (its
    "default" rope type); `rotate` applies them. The layer has no weights.

    Args:
        head_size: Width of the rotated vectors (even).
        theta: The RoPE base.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, head_size, theta=10_000.0, **kwargs):
        super().__init__(**kwargs)
        if head_size % 2:
            raise ValueError(f"RotaryEmbedding needs an even head_size, got {head_size}.")
        self.head_size = head_size
        self.theta = theta
        # float32 arithmetic as transformers' (theta ** (2d / head_size) in float32), so the angles agree.
        exponents = np.arange(0, head_size, 2, dtype=np.float32) / np.float32(head_size)
        self.inverse_frequencies = (np.float32(1.0) / np.power(np.float32(theta), exponents)).astype(np.float32)
        self.built = True

    def call(self, position_ids):
        """(cos, sin), each float32 [B, 1, T, head_size], for int positions [B, T]; they broadcast over heads."""
        angles = ops.cast(position_ids, "float32")[:, :, None] * ops.convert_to_tensor(self.inverse_frequencies)
        angles = ops.concatenate([angles, angles], axis=-1)[:, None]
        return ops.cos(angles), ops.sin(angles)

    def compute_output_spec(self, position_ids):
        shape = (position_ids.shape[0], 1, position_ids.shape[1], self.head_size)
        return keras.KerasTensor(shape, "float32"), keras.KerasTensor(shape, "float32")

    def get_config(self):
        config = super().get_config()
        config.update({"head_size": self.head_size, "theta": self.theta})
        return config


def rotate(x, cos, sin):
    """`x` [B, N, T, D] rotated by `RotaryEmbedding`'s (cos, sin) [B, 1, T, D], in float32, cast back."""
    x32 = ops.cast(x, "float32")
    # A split, not two slices: a split's gradient is a concatenation, while TF's gradient of a slice
    # writes into a zero tensor of the whole input, slowly on CPU.
    first, second = ops.split(x32, 2, axis=-1)
    rotated_half = ops.concatenate([-second, first], axis=-1)
    return ops.cast(x32 * cos + rotated_half * sin, x.dtype)
