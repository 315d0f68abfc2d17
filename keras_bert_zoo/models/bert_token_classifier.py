"""Per-token classification (NER tagging) on the sequence output."""

import keras

from keras_bert_zoo.layers import BertClassificationHead
from keras_bert_zoo.layers.checkpoint_slice import prefixed
from keras_bert_zoo.models.bert_classifier import checked_label_names
from keras_bert_zoo.models.bert_encoder import encoder_inputs
from keras_bert_zoo.models.bert_task_model import BertTaskModel

# What a tagger's words are: the basic tokenizer's words, or single characters.
WORD_UNITS = ("word", "char")


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertTokenClassifier(BertTaskModel):
    """Tags every token: outputs `logits` [B, T, C] (float32).

    Args:
        encoder: A `BertEncoder` (exposed as `.encoder`).
        num_classes: Number of tags C.
        dropout: Dropout on the sequence output; defaults to the encoder's rate.
        label_names: Optional tag names ("O", "B-PER", ...).
        word_unit: What the tagger tags: "word" (the basic tokenizer's words,
            as CoNLL-2003) or "char" (every non-space character, as Chinese
            NER data). Saved with the head, so exports serve the same unit.
        **kwargs: Passed to `keras.Model`.
    """

    task = "token_classifier"
    uses_pooler = False

    def __init__(self, encoder, num_classes=2, dropout=None, label_names=None, word_unit="word", **kwargs):
        if word_unit not in WORD_UNITS:
            raise ValueError(f"word_unit must be one of {WORD_UNITS}, got {word_unit!r}.")
        self.encoder = encoder
        self.word_unit = word_unit
        self.num_classes = num_classes
        # The family's layer before the output layer (ModernBERT's), whose heads drop out at classifier_dropout.
        self.pre_classifier = encoder.head_transform("pre_classifier")
        default_dropout = encoder.config.dropout if self.pre_classifier is None else encoder.config.classifier_dropout
        self.dropout = default_dropout if dropout is None else dropout
        self.label_names = checked_label_names(label_names, num_classes)
        self.classifier_head = BertClassificationHead(
            num_classes, self.dropout, encoder.config.initializer_range, dtype=encoder.dtype_policy,
            name="classifier_head")
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        if self.pre_classifier is not None:
            sequence = self.pre_classifier(sequence)
        super().__init__(inputs=inputs, outputs={"logits": self.classifier_head(sequence)}, **kwargs)

    def head_slices(self):
        slices = self.classifier_head.checkpoint_slices()
        if self.pre_classifier is not None:
            slices.update(prefixed("pre_classifier/", self.pre_classifier.checkpoint_slices()))
        return slices

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "dropout": self.dropout,
                "label_names": self.label_names, "word_unit": self.word_unit}
