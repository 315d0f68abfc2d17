"""The one rule for when layers take the fast kernels in this package."""

import keras


def uses_fast_kernels(training):
    """Whether a layer call takes its fast kernel rather than plain keras.ops.

    Only training on the TensorFlow backend does: inference graphs stay free of
    XLA and custom gradients so TF Serving runs the SavedModels, and JAX fuses
    the plain ops itself.

    Args:
        training: The `training` argument of the layer call.
    """
    return bool(training) and keras.backend.backend() == "tensorflow"
