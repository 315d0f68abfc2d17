"""Dropout draws of 16 random bits per element: two from each 32-bit word."""

import keras
from keras import ops

# Each element's keep/drop draw is a uint16, so the rate is applied in steps of 1/65536.
DRAWS = 65536


def _random_words(shape, seed_generator):
    """Uniformly random int32 words, all 2**32 values, from `seed_generator`'s next seed."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # TF draws full-range words without the range reduction of keras.random.randint (a third
        # of its cost). Its stateless ops take int32 seeds under XLA, as Keras's own cast does.
        seed = tf.cast(tf.math.floormod(seed_generator.next(), tf.int32.max - 1), tf.int32)
        return tf.random.stateless_uniform(shape, seed, minval=None, maxval=None, dtype=tf.int32)
    # randint's upper bound is exclusive, so this range misses one of the 2**32 values.
    return keras.random.randint(shape, -(2**31), 2**31 - 1, dtype="int32", seed=seed_generator)


def uint16_draws(shape, seed_generator):
    """The next uint16 draws [*shape] from `seed_generator`.

    Args:
        shape: Shape of the tensor to drop out; its last axis may be dynamic.
        seed_generator: A `keras.random.SeedGenerator`.
    """
    last = shape[-1]
    half = (last + 1) // 2
    # A trailing axis of 1 keeps view()'s resized axis static when the others are not.
    words = _random_words((*shape[:-1], half, 1), seed_generator)
    draws = ops.reshape(ops.view(words, "uint16"), (*shape[:-1], 2 * half))
    if not isinstance(last, int) or last % 2:
        draws = draws[..., :last]
    return draws
