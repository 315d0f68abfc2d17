"""Post-training int8 quantization of task models, for exports that compute with int8 kernels."""

import keras

QUANTIZE_MODES = ("none", "int8")


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
        model.quantize(mode, filters=lambda layer: isinstance(layer, keras.layers.Dense))
    return model
