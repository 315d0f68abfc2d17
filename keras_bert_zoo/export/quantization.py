"""Post-training int8 quantization of task models, for exports that compute with int8 kernels."""

import contextlib
import gc

import keras

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


def quantize_model(model, mode):
    """Quantizes the Dense layers of `model` in place, with Keras's own `quantize`.

    In "int8" mode every Dense kernel becomes an int8 variable with a float32
    scale per output unit (abs-max), and at run time each Dense layer
    quantizes its inputs per row and multiplies int8 by int8 into int32
    (TensorFlow's BatchMatMulV3): standard ops, which TF Serving runs.
    Embeddings, layer norms, the attention products and the task heads'
    own weights stay float: the masked-LM head reads the word-embedding
    table as floats, which `model.quantize("int8")` would make int8 too.

    Args:
        model: A built task model or encoder, not yet quantized.
        mode: One of `QUANTIZE_MODES`; "none" leaves the model as it is.

    Returns:
        `model`.

    Raises:
        ValueError: An unknown mode, or the model's Dense layers are already
            quantized.
    """
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_MODES)}, got {mode!r}.")
    if mode != "none":
        with frozen_heap():
            model.quantize(mode, filters=lambda layer: isinstance(layer, keras.layers.Dense))
    return model
