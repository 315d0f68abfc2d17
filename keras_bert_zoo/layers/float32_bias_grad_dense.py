"""Dense layer whose bias gradient is summed with float32 accumulation."""

import keras
from keras import ops

from keras_bert_zoo.kernels import matmul_add_bias, uses_fast_kernels


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class Float32BiasGradDense(keras.layers.Dense):
    """`keras.layers.Dense` whose bias gradient is accumulated in float32.

    TensorFlow's BiasAddGrad sums a bfloat16 gradient in bfloat16, so under
    mixed precision the bias gradient of a [batch * seq, units] activation
    loses most of its digits (over 4096 rows of unit normals the error is
    about half the sum). Here the sum is a matmul of a row of ones with the
    gradient's rows, taken in float32; on CPU it is also faster than
    BiasAddGrad. In training the forward pass computes
    Dense's result over rows, so that TensorFlow fuses the bias add into the
    matmul (see `matmul_add_bias`). Inference, LoRA kernels and quantized
    calls are Dense's.

    Args:
        **kwargs: Passed to `keras.layers.Dense`.
    """

    def call(self, inputs, training=None):
        # Inference takes Dense's own ops, which at batch 1 run 0.5 ms faster (MiniLM) than the fused
        # form: serving latency is dominated by the number of ops, training by the passes over memory.
        if self.bias is None or not uses_fast_kernels(training):
            return super().call(inputs, training=training)
        # A tensor, not a variable: on TF, a custom gradient otherwise has to list the variables it reads.
        kernel = ops.cast(self.kernel, self.compute_dtype)
        return self.activation(matmul_add_bias(inputs, kernel, ops.cast(self.bias, kernel.dtype)))

    def quantize(self, mode=None, type_check=True, config=None):
        # Dense refuses subclasses by default, since they may change call(); a quantized layer runs Dense's
        # quantized_call, never this class's call, so its result is Dense's.
        super().quantize(mode, type_check=False, config=config)
