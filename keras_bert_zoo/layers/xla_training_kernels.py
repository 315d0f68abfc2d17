"""When layers switch to their XLA-fused TensorFlow training kernels."""

import keras


def uses_xla_training_kernels(training):
    """Whether a layer call takes its XLA-fused kernels rather than plain keras.ops.

    Only training on the TensorFlow backend does: inference graphs stay free of
    XLA so TF Serving runs the SavedModels, and JAX fuses the plain ops itself.

    Args:
        training: The `training` argument of the layer call.
    """
    return bool(training) and keras.backend.backend() == "tensorflow"
