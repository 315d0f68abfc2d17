"""Base of the task models: an encoder plus a head, serialized by head config."""

import logging
import types

import keras

from keras_bert_zoo.models.bert_encoder import encoder_class_for
from keras_bert_zoo.models.bert_preprocessor import (BertPreprocessor, is_raw_text, is_text_dataset,
                                                     preprocessed_dataset)
from keras_bert_zoo.models.pretrained_model import PretrainedModel

logger = logging.getLogger(__name__)


class BertTaskModel(PretrainedModel, keras.Model):
    """A functional model over a `BertEncoder` (kept as `.encoder`) and a head.

    Subclasses build their head and graph in `__init__(encoder, **head_kwargs)`
    and add the head kwargs to `get_config()`; `head_config()`,
    `save_pretrained` and `from_pretrained` follow from that.

    `fit`, `evaluate` and `predict` also take raw strings, or a
    (texts, text_pairs) tuple, as arrays or tf.data datasets, when the model
    has a `preprocessor` (`from_pretrained` gives it the checkpoint's
    tokenizer; `model.preprocessor = None` leaves the bare model).
    """

    @classmethod
    def build_from_config(cls, config, dtype=None, **kwargs):
        return cls(encoder_class_for(config)(config, dtype=dtype), **kwargs)

    @classmethod
    def from_pretrained(cls, path_or_preset, *args, **kwargs):
        model = super().from_pretrained(path_or_preset, *args, **kwargs)
        # Built on first use: most callers (tools, exports) tokenize by themselves.
        model._text_inputs.vocab_source = path_or_preset
        return model

    @property
    def _text_inputs(self):
        # A SimpleNamespace, which neither Keras nor tf.Module tracks: the preprocessor stays out
        # of training checkpoints and SavedModel exports.
        if "_text_inputs_holder" not in self.__dict__:
            self.__dict__["_text_inputs_holder"] = types.SimpleNamespace(preprocessor=None, vocab_source=None)
        return self.__dict__["_text_inputs_holder"]

    @property
    def preprocessor(self):
        """The `BertPreprocessor` that raw strings go through, or None."""
        holder = self._text_inputs
        if holder.vocab_source is not None:
            source, holder.vocab_source = holder.vocab_source, None
            from keras_bert_zoo.text import Tokenizer  # TensorFlow and tf-text: not for JAX-only use.

            try:
                holder.preprocessor = BertPreprocessor(Tokenizer.from_pretrained(source))
            except ValueError as e:
                logger.warning("%s: no tokenizer for raw-text inputs (%s).", source, e)
        return holder.preprocessor

    @preprocessor.setter
    def preprocessor(self, value):
        self._text_inputs.vocab_source = None
        self._text_inputs.preprocessor = value

    def _text_dataset(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False):
        """`x` as a dataset of preprocessed batches if it is raw text, else None."""
        if not (is_raw_text(x) or is_text_dataset(x)):
            return None
        if self.preprocessor is None:
            raise ValueError(f"{type(self).__name__} got raw strings but has no preprocessor; pass token dicts "
                             "or set model.preprocessor = BertPreprocessor(tokenizer).")
        return preprocessed_dataset(self.preprocessor, x, y, sample_weight, batch_size, shuffle)

    def fit(self, x=None, y=None, batch_size=None, validation_data=None, shuffle=True, sample_weight=None,
            **kwargs):
        dataset = self._text_dataset(x, y, sample_weight, batch_size, shuffle)
        if dataset is not None:  # Shuffled already, if asked: Keras doesn't shuffle datasets.
            x, y, sample_weight, batch_size, shuffle = dataset, None, None, None, False
        parts = validation_data if isinstance(validation_data, tuple) else (validation_data,)
        validation_dataset = self._text_dataset(*parts, batch_size=kwargs.get("validation_batch_size"))
        if validation_dataset is not None:
            validation_data = validation_dataset
        return super().fit(x, y, batch_size=batch_size, validation_data=validation_data, shuffle=shuffle,
                           sample_weight=sample_weight, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, **kwargs):
        dataset = self._text_dataset(x, y, sample_weight, batch_size)
        if dataset is not None:
            x, y, sample_weight, batch_size = dataset, None, None, None
        return super().evaluate(x, y, batch_size=batch_size, sample_weight=sample_weight, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        dataset = self._text_dataset(x, batch_size=batch_size)
        if dataset is not None:
            x, batch_size = dataset, None
        return super().predict(x, batch_size=batch_size, **kwargs)

    def head_config(self):
        # get_config() would build a pending preprocessor (reading its vocab), which is no head argument.
        holder = self._text_inputs
        kept = holder.preprocessor, holder.vocab_source
        holder.preprocessor = holder.vocab_source = None
        try:
            return super().head_config()
        finally:
            holder.preprocessor, holder.vocab_source = kept

    def get_config(self):
        config = {"encoder": keras.saving.serialize_keras_object(self.encoder), "name": self.name,
                  "trainable": self.trainable}
        if self.preprocessor is not None:
            config["preprocessor"] = keras.saving.serialize_keras_object(self.preprocessor)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        preprocessor = config.pop("preprocessor", None)
        model = cls(**config)
        if preprocessor is not None:
            model.preprocessor = keras.saving.deserialize_keras_object(preprocessor)
        return model
