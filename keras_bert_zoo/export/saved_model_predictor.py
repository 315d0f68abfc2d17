"""Running an exported SavedModel signature on batches of JSON-like inputs."""

import os

import numpy as np
import tensorflow as tf

from keras_bert_zoo.export.saved_model_export import versions


class SavedModelPredictor:
    """Calls one signature of a SavedModel on disk.

    Args:
        path: A version directory (…/NAME/3), or a model base path whose newest
            version is used.
        signature: Signature name.
    """

    def __init__(self, path, signature="serving_default"):
        found = versions(path)
        if found and not os.path.isfile(os.path.join(path, "saved_model.pb")):
            path = os.path.join(path, str(found[-1]))
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise ValueError(f"{path} holds no saved_model.pb (nor integer version directories).")
        import tensorflow_text  # noqa: F401  Registers the tokenizer ops the graph uses.

        self.path = path
        self._model = tf.saved_model.load(path)
        if signature not in self._model.signatures:
            raise ValueError(f"{path} has no signature {signature!r}; it has {sorted(self._model.signatures)}.")
        self._function = self._model.signatures[signature]
        self.input_specs = self._function.structured_input_signature[1]

    @property
    def input_names(self):
        return sorted(self.input_specs)

    def predict(self, inputs):
        """Outputs (NumPy arrays, batch first) for `inputs`: input name -> list of B values."""
        missing = set(self.input_specs) - set(inputs)
        if missing:
            raise ValueError(f"Inputs {sorted(missing)} are missing; the signature takes {self.input_names}.")
        tensors = {name: tf.constant(np.asarray(inputs[name]), dtype=spec.dtype)
                   for name, spec in self.input_specs.items()}
        return {name: value.numpy() for name, value in self._function(**tensors).items()}
