"""Post-training int8 quantization of task models, for exports that compute with int8 kernels."""

import contextlib
import gc

import keras

from keras_bert_zoo.layers.float32_bias_grad_dense import INT8_KERNELS, Float32BiasGradDense

QUANTIZE_MODES = ("none", "int8")


@contextlib.contextmanager
def frozen_heap():
    """Keeps the garbage collector off the objects that exist on entry, for Keras's `quantize` calls.

    Keras's `Dense.quantize` deletes the float kernel through `Layer.__delattr__`, which runs a
    full `gc.collect()` per Dense layer: about a second each once TensorFlow and a model fill the
    heap. `gc.freeze` moves what exists into the permanent generation, which collections skip;
    objects made inside are collected as always, and the frozen ones are handed back on exit.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def check_quantize_options(mode, int8_kernel="portable"):
    """Raises unless `quantize_model(model, mode, int8_kernel)` can run in this process.

    Args:
        mode: As for `quantize_model`.
        int8_kernel: As for `quantize_model`.

    Raises:
        ValueError: An unknown mode or kernel, or "onednn" with a mode other than "int8".
        RuntimeError: "onednn" while TensorFlow's oneDNN ops are off (TF_ENABLE_ONEDNN_OPTS).
    """
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_MODES)}, got {mode!r}.")
    if int8_kernel not in INT8_KERNELS:
        raise ValueError(f"int8_kernel must be one of {', '.join(INT8_KERNELS)}, got {int8_kernel!r}.")
    if int8_kernel == "onednn":
        if mode != "int8":
            raise ValueError(f"int8_kernel='onednn' computes int8 layers; mode is {mode!r}.")
        from keras_bert_zoo.kernels.onednn_int8 import require_onednn

        require_onednn()


def quantize_model(model, mode, int8_kernel="portable"):
    """Quantizes the Dense layers of `model` in place, with Keras's own `quantize`.

    In "int8" mode every Dense kernel becomes an int8 variable with a float32
    scale per output unit (abs-max). With the default `int8_kernel="portable"`
    each Dense layer quantizes its inputs per row at run time and multiplies
    int8 by int8 into int32 (TensorFlow's BatchMatMulV3): standard ops, which
    TF Serving runs anywhere, but slower than float32 on CPU.
    `int8_kernel="onednn"` computes the same int8 weights with oneDNN's
    u8 x s8 kernel (activations quantized per call over the whole tensor),
    faster than float32 on x86 CPUs (AVX2 and up); it needs TF_ENABLE_ONEDNN_OPTS=1
    in this process and in the server's (see `Float32BiasGradDense.set_int8_kernel`;
    other Dense classes keep the portable kernel).
    Embeddings, layer norms, the attention products and the task heads'
    own weights stay float: the masked-LM head reads the word-embedding
    table as floats, which `model.quantize("int8")` would make int8 too.

    Args:
        model: A built task model or encoder, not yet quantized.
        mode: One of `QUANTIZE_MODES`; "none" leaves the model as it is.
        int8_kernel: One of `INT8_KERNELS`: how the int8 layers multiply in
            the inference graph (it is not saved with the model's config).

    Returns:
        `model`.

    Raises:
        ValueError: An unknown mode or kernel, "onednn" with mode "none", or
            the model's Dense layers are already quantized.
        RuntimeError: "onednn" while this process's TensorFlow has oneDNN off
            (the model is left as it was).
    """
    check_quantize_options(mode, int8_kernel)
    if mode != "none":
        with frozen_heap():
            model.quantize(mode, filters=lambda layer: isinstance(layer, keras.layers.Dense))
    if int8_kernel != "portable":
        use_int8_kernel(model, int8_kernel)
    return model


def use_int8_kernel(model, int8_kernel):
    """Sets the kernel every int8 `Float32BiasGradDense` of `model` multiplies with in graphs traced from now on.

    So one quantized model can be exported with either kernel, e.g. portable first, then oneDNN's.

    Args:
        model: A model quantized by `quantize_model(model, "int8")`.
        int8_kernel: One of `INT8_KERNELS` (see `Float32BiasGradDense.set_int8_kernel`).

    Returns:
        `model`.
    """
    for layer in model._flatten_layers():
        if isinstance(layer, Float32BiasGradDense):
            layer.set_int8_kernel(int8_kernel)
    return model
