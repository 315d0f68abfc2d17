"""Dense layer whose bias gradient is summed with float32 accumulation."""

import keras
from keras import ops

from keras_bert_zoo.kernels import matmul_add_bias, uses_fast_kernels

# How an int8 layer multiplies at inference; see `Float32BiasGradDense.set_int8_kernel`.
INT8_KERNELS = ("portable", "onednn")


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
    calls are Dense's, except that an int8 layer's inference can take
    oneDNN's int8 matmul instead (`set_int8_kernel`).

    Args:
        *args: Passed to `keras.layers.Dense`.
        **kwargs: Passed to `keras.layers.Dense`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._onednn_int8_constants = None

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

    def set_int8_kernel(self, int8_kernel):
        """Picks the matmul of this int8 layer's inference calls (training calls stay Dense's).

        "portable" is Keras's: inputs quantized per row to int8, int8 x int8 into int32
        (BatchMatMulV3), standard ops that run anywhere. "onednn" quantizes each call's inputs
        over the whole tensor to 7-bit unsigned values and runs oneDNN's u8 x s8 kernel
        (`onednn_int8_matmul`), which needs TF_ENABLE_ONEDNN_OPTS=1 wherever the graph runs.
        The choice shapes the traced graph only: it is not in `get_config`, so a deserialized
        layer computes with the portable kernel. "onednn" reads the kernel, scale and bias as
        they are now; set it after the weights are final.

        Args:
            int8_kernel: One of `INT8_KERNELS`.

        Raises:
            ValueError: An unknown kernel, or "onednn" on a layer that is not int8 or has LoRA.
            RuntimeError: "onednn" while this process's TensorFlow has oneDNN off.
        """
        if int8_kernel not in INT8_KERNELS:
            raise ValueError(f"int8_kernel must be one of {', '.join(INT8_KERNELS)}, got {int8_kernel!r}.")
        if int8_kernel == "portable":
            self._onednn_int8_constants = None
            return
        if self.quantization_mode != "int8" or self.lora_enabled:
            raise ValueError(f"{self.name}: the onednn kernel computes int8 layers without LoRA; this one has "
                             f"quantization_mode={self.quantization_mode!r}, lora_enabled={self.lora_enabled}.")
        from keras_bert_zoo.kernels.onednn_int8 import onednn_int8_constants, require_onednn

        require_onednn()
        self._onednn_int8_constants = onednn_int8_constants(
            ops.convert_to_numpy(self._kernel), ops.convert_to_numpy(self.kernel_scale),
            None if self.bias is None else ops.convert_to_numpy(self.bias))

    @property
    def int8_kernel(self):
        """The kernel `set_int8_kernel` picked: "onednn" or "portable"."""
        return "portable" if self._onednn_int8_constants is None else "onednn"

    def _int8_call(self, inputs, training=None):
        if training or self.int8_kernel == "portable":
            return super()._int8_call(inputs, training=training)
        from keras_bert_zoo.kernels.onednn_int8 import onednn_int8_matmul

        x = ops.cast(onednn_int8_matmul(inputs, self._kernel, self._onednn_int8_constants), self.compute_dtype)
        return self.activation(x)
