"""int8 Dense matmuls on oneDNN's u8 x s8 kernels (AVX2, AVX-512 or VNNI on x86), through TensorFlow's public ops.

`tf.raw_ops.QuantizedMatMulWithBiasAndDequantize` has a real CPU kernel only where TensorFlow's
oneDNN ops are on (TF_ENABLE_ONEDNN_OPTS=1 before TensorFlow loads; off by default on AMD CPUs);
elsewhere it is a placeholder whose run fails with "Missing 0-th output". The kernel takes
unsigned activations, so each call quantizes x - min(x) over the whole tensor to 0..128 (see
`onednn_int8_matmul`) and adds min(x) * (column sums of the int8 kernel) back through the op's
float bias. One range per call, as in PyTorch's `quantize_dynamic`, keeps the quantization to one
pass; per-row ranges cost about 15% of int8 MiniLM's throughput here in broadcast multiplies.
"""

import os

import numpy as np
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


def onednn_enabled():
    """Whether this process's TensorFlow runs its oneDNN kernels (fixed when TensorFlow loads)."""
    return _pywrap_util_port.IsMklEnabled()


def require_onednn():
    """Raises RuntimeError, saying how to turn them on, unless TensorFlow's oneDNN kernels are on.

    Raises:
        RuntimeError: oneDNN is off in this process.
    """
    if not onednn_enabled():
        raise RuntimeError(
            f"The onednn int8 kernel needs TensorFlow's oneDNN ops, which are off in this process "
            f"({ONEDNN_ENV}={os.environ.get(ONEDNN_ENV, '<unset>')}): set {ONEDNN_ENV}=1 in the environment "
            f"before TensorFlow is imported, and in the server's too (TF Serving: docker run -e {ONEDNN_ENV}=1); "
            "without it the exported graph fails at run time. Or use the portable int8 kernel.")


def onednn_int8_constants(kernel, kernel_scale, bias):
    """The per-unit float vectors `onednn_int8_matmul` adds and scales by, computed once per layer.

    Args:
        kernel: The [depth, units] int8 kernel (values round(w * kernel_scale)).
        kernel_scale: The [units] float scale of each kernel column.
        bias: The [units] float bias, or None.

    Returns:
        (column_sums, scaled_bias, inverse_scale): float32 constants of shape [units].
    """
    kernel_scale = np.asarray(kernel_scale, np.float32)
    bias = np.zeros_like(kernel_scale) if bias is None else np.asarray(bias, np.float32)
    return (tf.constant(np.asarray(kernel, np.float32).sum(axis=0)), tf.constant(bias * kernel_scale),
            tf.constant(1.0 / kernel_scale))


def onednn_int8_matmul(inputs, kernel, constants):
    """inputs @ (kernel / kernel_scale) + bias, with activations quantized per call and an int8 matmul.

    Args:
        inputs: Float [..., depth] activations.
        kernel: The [depth, units] int8 kernel, a tensor or variable.
        constants: `onednn_int8_constants` of the same kernel, scale and bias.

    Returns:
        Float32 [..., units].
    """
    column_sums, scaled_bias, inverse_scale = constants
    shape = tf.shape(inputs)
    x = tf.reshape(tf.cast(inputs, tf.float32), [-1, inputs.shape[-1]])
    # MIN_COMBINED maps [min_range, max_range] onto 0..255, i.e. quantizes x - min(x) without computing it.
    # Doubling the range puts x on 0..128: without VNNI (e.g. on AVX2) oneDNN sums pairs of u8 x s8 products
    # in int16, which 128 * 127 * 2 fits and 255 * 127 * 2 overflows (PyTorch's x86 int8 keeps activations
    # to 7 bits for the same reason). The op's output range is the one it used (stretched to hold 0, and
    # widened when tiny), which the shift and scale must match. Holding 0 here too keeps an empty batch's
    # range (inf, -inf) valid.
    x_min, x_max = tf.minimum(tf.reduce_min(x), 0.0), tf.maximum(tf.reduce_max(x), 0.0)
    q = tf.raw_ops.QuantizeV2(input=x, min_range=x_min, max_range=2.0 * x_max - x_min, T=tf.quint8,
                              mode="MIN_COMBINED")
    low = q.output_min
    # min_b/max_b of +-127 dequantize the kernel to its own int8 values; kernel_scale is divided out after.
    y = tf.raw_ops.QuantizedMatMulWithBiasAndDequantize(
        a=q.output, b=tf.bitcast(tf.convert_to_tensor(kernel), tf.qint8), bias=low * column_sums + scaled_bias,
        min_a=0.0, max_a=q.output_max - low, min_b=-127.0, max_b=127.0, min_freezed_output=-1.0,
        max_freezed_output=1.0, Toutput=tf.float32, input_quant_mode="SCALED")
    return tf.reshape(y * inverse_scale, tf.concat([shape[:-1], [kernel.shape[-1]]], 0))
