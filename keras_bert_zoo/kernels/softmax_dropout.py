"""Attention softmax and dropout for training, with XLA-fused dropout and gradient.

The softmax itself stays TensorFlow's oneDNN kernel, which is faster on CPU
than XLA's exp. Dropout (keep, scale, round to the scores' dtype) is one
XLA pass instead of four TF ops, and the gradient of both, softmax included,
is one XLA pass instead of about eight, with its row sums as matrix-vector
products (see `sums`). In a BERT-base step at [32, 12, 128, 128]
that is 11 ms a layer against 16 ms for the ops and their autodiff.
"""

import tensorflow as tf

from keras_bert_zoo.kernels.sums import row_sums


@tf.function(jit_compile=True, autograph=False)
def _dropout(probs, draws, threshold, scale, dtype):
    return tf.cast(tf.where(draws >= threshold, probs * scale, 0.0), dtype)


@tf.function(jit_compile=True, autograph=False)
def _backward(upstream, probs, draws, threshold, scale):
    d_probs = tf.where(draws >= threshold, tf.cast(upstream, tf.float32) * scale, 0.0)
    return tf.cast(probs * (d_probs - row_sums(d_probs * probs)), upstream.dtype)


def xla_softmax_dropout(scores, additive_mask, draws, threshold, scale):
    """Dropout of softmax(scores + additive_mask) over the last axis, as `SplitBitsDropout` applies it.

    The softmax is computed in float32; the dropped probabilities are
    rounded once to the dtype of `scores`, and so is their gradient.

    Args:
        scores: Attention scores [..., S].
        additive_mask: float32, broadcastable to `scores`, added before the softmax.
        draws: uint16 draws shaped like `scores` (`SplitBitsDropout.draws`).
        threshold: Python int; an element is kept where its draw is at least this.
        scale: Python float that multiplies the kept probabilities.
    """

    @tf.custom_gradient
    def softmax_dropout(scores):
        probs = tf.nn.softmax(tf.cast(scores, tf.float32) + additive_mask)
        dropped = _dropout(probs, draws, threshold, scale, scores.dtype)
        return dropped, lambda upstream: _backward(upstream, probs, draws, threshold, scale)

    return softmax_dropout(scores)
