"""LayerNorm as two XLA-fused TensorFlow kernels: one forward, one backward.

Keras's LayerNorm and its autodiff gradient are about twenty elementwise and
reduction ops, each a pass over the activations. Here the forward pass and a
hand-written gradient are one XLA function each, computed in float32 and
rounded once to the input dtype. Every sum over rows or columns is a
matrix-vector product (see `sums`): a [4096, 768] forward and backward
take 3.0 ms, against 7.7 ms with reduces and 9.9 ms as Keras's ops.
"""

import tensorflow as tf

from keras_bert_zoo.kernels.sums import column_sums, row_sums


def _row_means(rows):
    """Means of the rows of `rows` [N, H], as [N, 1]."""
    # Sum, then divide, as reduce_mean does: a constant row then has its value as the mean exactly.
    return row_sums(rows) / rows.shape[-1]


def _normalized_rows(x, epsilon):
    """`x` as float32 rows [N, H] with mean 0 and variance 1, and their inverse deviations [N, 1]."""
    rows = tf.reshape(tf.cast(x, tf.float32), [-1, x.shape[-1]])
    centered = rows - _row_means(rows)
    inverse_deviation = tf.math.rsqrt(_row_means(centered * centered) + epsilon)
    return centered * inverse_deviation, inverse_deviation


@tf.function(jit_compile=True, autograph=False)
def _forward(x, gamma, beta, epsilon):
    normalized, _ = _normalized_rows(x, epsilon)
    return tf.reshape(tf.cast(normalized * gamma + beta, x.dtype), tf.shape(x))


@tf.function(jit_compile=True, autograph=False)
def _backward(x, gamma, upstream, epsilon):
    normalized, inverse_deviation = _normalized_rows(x, epsilon)
    upstream_rows = tf.reshape(tf.cast(upstream, tf.float32), [-1, x.shape[-1]])
    scaled = upstream_rows * gamma
    # The gradient of (x - mean) / deviation: the upstream less its projections on 1 and on the normalized row.
    d_x = inverse_deviation * (scaled - _row_means(scaled) - normalized * _row_means(scaled * normalized))
    d_gamma = column_sums(upstream_rows * normalized)
    return tf.reshape(tf.cast(d_x, x.dtype), tf.shape(x)), d_gamma, column_sums(upstream_rows)


def xla_layer_norm(x, gamma, beta, epsilon):
    """LayerNorm over the last axis of a TensorFlow tensor, with an XLA-fused forward and gradient.

    Args:
        x: Float tensor [..., H] with a static last axis.
        gamma: float32 scale [H].
        beta: float32 offset [H].
        epsilon: Python float added to the variance.

    Returns:
        The normalized tensor, in `x`'s dtype. The gradients of `gamma` and
        `beta` are float32 sums.
    """

    @tf.custom_gradient
    def layer_norm(x, gamma, beta):
        return _forward(x, gamma, beta, epsilon), lambda upstream: _backward(x, gamma, upstream, epsilon)

    return layer_norm(x, gamma, beta)
