"""Base of the task models: an encoder plus a head, serialized by head config."""

import keras

from keras_bert_zoo.models.bert_encoder import BertEncoder
from keras_bert_zoo.models.pretrained_model import PretrainedModel


class BertTaskModel(PretrainedModel, keras.Model):
    """A functional model over a `BertEncoder` (kept as `.encoder`) and a head.

    Subclasses build their head and graph in `__init__(encoder, **head_kwargs)`
    and report the head kwargs in `head_config()`; config serialization and
    `from_pretrained` follow from that.
    """

    @classmethod
    def build_from_config(cls, config, dtype=None, **head_kwargs):
        return cls(BertEncoder(config, dtype=dtype), **head_kwargs)

    def get_config(self):
        return {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "name": self.name,
            "trainable": self.trainable,
            **self.head_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
