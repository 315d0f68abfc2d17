"""The feed-forward activations a BertConfig can name."""

import math

import keras
from keras import ops

from keras_bert_zoo.kernels import uses_fast_kernels, xla_gelu


def hidden_activation(name, x, training=False):
    """Applies the activation `name` ("gelu", "gelu_approx", "relu", "silu", "tanh").

    Args:
        name: Activation name.
        x: Input tensor.
        training: In training on the TensorFlow backend, GELU runs as XLA-fused
            kernels (see `keras_bert_zoo.kernels.gelu`); inference keeps plain ops, so SavedModels
            need no XLA in TF Serving.
    """
    if name in ("gelu", "gelu_approx"):
        approximate = name == "gelu_approx"
        if uses_fast_kernels(training):
            return xla_gelu(x, approximate)
        if not approximate and keras.backend.backend() == "tensorflow":
            return _erf_gelu(x)
        return ops.gelu(x, approximate=approximate)
    if name == "relu":
        return ops.relu(x)
    if name == "silu":
        return ops.silu(x)
    if name == "tanh":
        return ops.tanh(x)
    raise ValueError(f"Unknown hidden activation {name!r}.")


def _erf_gelu(x):
    """Exact GELU as x * (0.5 * (1 + erf(x / sqrt(2)))).

    The same function as `ops.gelu(x, approximate=False)`, which TensorFlow writes with erfc; written
    with erf, TensorFlow's graph optimizer (remapper, with oneDNN on) fuses it into the preceding
    MatMul + BiasAdd as one oneDNN kernel, where the erfc form stays four elementwise passes.
    """
    return x * (0.5 * (1.0 + ops.erf(x * (1.0 / math.sqrt(2.0)))))
