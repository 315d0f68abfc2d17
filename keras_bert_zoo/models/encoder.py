"""`kbz.Encoder`: the encoder of whichever family a config or checkpoint is."""

from keras_bert_zoo.models.bert_encoder import BertEncoder, encoder_class_for


class Encoder:
    """Builds or loads the encoder of any registered family (`config.architecture_registry`).

    `kbz.Encoder(config)` returns the encoder of the config's family
    (`kbz.BertEncoder` for a `BertConfig`, `kbz.DistilBertEncoder` for a
    `DistilBertConfig`, ...), and `kbz.Encoder.from_pretrained(path)` the
    one that a checkpoint's config.json `model_type` names. Every family's
    encoder is a `BertEncoder` subclass with the same inputs and outputs.
    """

    def __new__(cls, config, **kwargs):
        return encoder_class_for(config)(config, **kwargs)

    @staticmethod
    def from_pretrained(path_or_preset, **kwargs):
        """The family's encoder with the checkpoint's weights (arguments as `BertEncoder.from_pretrained`)."""
        return BertEncoder.from_pretrained(path_or_preset, **kwargs)
