"""Dense layer whose bias gradient is summed with float32 accumulation."""

import keras
from keras import ops


@ops.custom_gradient
def add_bias(x, bias):
    """`x + bias` for `bias` [units] and `x` [..., units], whose bias gradient is accumulated in float32.

    The bias gradient is a matmul of a row of ones with the upstream gradient's
    rows (see `Float32BiasGradDense`), rounded once to the gradient's dtype.
    """

    def grad(*args, upstream=None):
        if upstream is None:  # The JAX backend passes it positionally.
            (upstream,) = args
        rows = ops.reshape(upstream, (-1, ops.shape(upstream)[-1]))
        ones = ops.ones((1, ops.shape(rows)[0]), dtype=rows.dtype)
        return upstream, ops.reshape(ops.matmul(ones, rows), ops.shape(bias))

    return ops.add(x, bias), grad


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class Float32BiasGradDense(keras.layers.Dense):
    """`keras.layers.Dense` whose bias gradient is accumulated in float32.

    TensorFlow's BiasAddGrad sums a bfloat16 gradient in bfloat16, so under
    mixed precision the bias gradient of a [batch * seq, units] activation
    loses most of its digits (over 4096 rows of unit normals the error is
    about half the sum). Here the sum is a matmul of a row of ones with the
    gradient, which oneDNN, cuBLAS and XLA accumulate in float32; on CPU it
    is also faster than BiasAddGrad. The forward pass is Dense's, and so are
    its LoRA kernel and its quantized calls.

    Args:
        **kwargs: Passed to `keras.layers.Dense`.
    """

    def call(self, inputs, training=None):
        if self.bias is None:
            return super().call(inputs, training=training)
        x = ops.matmul(inputs, self.kernel)
        return self.activation(add_bias(x, ops.cast(self.bias, x.dtype)))
