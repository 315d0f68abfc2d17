"""Performance kernels the layers dispatch to, each behind `uses_fast_kernels`.

Kernels import only Keras, TensorFlow and config, never the layers above them.
"""

from keras_bert_zoo.kernels.bias_dense import matmul_add_bias
from keras_bert_zoo.kernels.dispatch import uses_fast_kernels
from keras_bert_zoo.kernels.dropout_draws import DRAWS, uint16_draws


def xla_gelu(x, approximate):
    """GELU with XLA-fused forward and gradient; see `keras_bert_zoo.kernels.gelu`."""
    # TensorFlow loads only when a TF training step takes the kernel, so JAX never imports it.
    from keras_bert_zoo.kernels.gelu import xla_gelu as kernel

    return kernel(x, approximate)


def xla_layer_norm(x, gamma, beta, epsilon):
    """LayerNorm with XLA-fused forward and gradient; see `keras_bert_zoo.kernels.layer_norm`."""
    from keras_bert_zoo.kernels.layer_norm import xla_layer_norm as kernel

    return kernel(x, gamma, beta, epsilon)


def xla_softmax_dropout(scores, additive_mask, draws, threshold, scale):
    """Softmax and dropout with an XLA-fused gradient; see `keras_bert_zoo.kernels.softmax_dropout`."""
    from keras_bert_zoo.kernels.softmax_dropout import xla_softmax_dropout as kernel

    return kernel(scores, additive_mask, draws, threshold, scale)
