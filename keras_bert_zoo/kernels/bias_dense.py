"""Matmul plus bias whose bias gradient is summed with float32 accumulation."""

from keras import ops


def matmul_add_bias(inputs, kernel, bias, transpose_kernel=False):
    """`inputs @ kernel + bias`, with the bias gradient accumulated in float32.

    The product is taken over rows [N, in] of `inputs` and the bias is added
    to those rows, so on TensorFlow the MatMul and BiasAdd fuse into one
    oneDNN kernel. The bias gradient is a float32 matmul of a row of ones with
    the upstream gradient's rows (see `keras_bert_zoo.layers.Float32BiasGradDense`), rounded once to
    the gradient's dtype.

    Args:
        inputs: Tensor [..., in].
        kernel: Tensor (not a variable) [in, units], or [units, in] when `transpose_kernel`.
        bias: Tensor (not a variable) [units], in the dtype of `inputs`.
        transpose_kernel: Whether to multiply by the transpose of `kernel`.

    Returns:
        Tensor [..., units].
    """
    @ops.custom_gradient
    def product(rows, kernel, bias):
        # Differentiating with respect to the rows and kernel, not the product, leaves the product one
        # consumer (the bias add), which TensorFlow's remapper needs to fuse them.
        weights = ops.transpose(kernel) if transpose_kernel else kernel

        def grad(*args, upstream=None):
            if upstream is None:  # The JAX backend passes it positionally.
                (upstream,) = args
            # float32 operands: a bfloat16 matmul accumulates in float32 only on some CPUs (not on AVX2 alone).
            ones = ops.ones((1, ops.shape(upstream)[0]), dtype="float32")
            d_bias = ops.cast(ops.matmul(ones, ops.cast(upstream, "float32")), upstream.dtype)
            d_weights = ops.matmul(ops.transpose(rows), upstream)
            return (ops.matmul(upstream, ops.transpose(weights)),
                    ops.transpose(d_weights) if transpose_kernel else d_weights,
                    ops.reshape(d_bias, ops.shape(bias)))

        return ops.add(ops.matmul(rows, weights), bias), grad

    if len(inputs.shape) == 2:
        return product(inputs, kernel, bias)
    units = ops.shape(kernel)[0 if transpose_kernel else 1]
    rows = ops.reshape(inputs, (-1, ops.shape(inputs)[-1]))
    return ops.reshape(product(rows, kernel, bias), (*ops.shape(inputs)[:-1], units))
