"""Extractive QA: start and end logits of the answer span over the tokens."""

import keras
from keras import ops

from keras_bert_zoo.layers import BertClassificationHead
from keras_bert_zoo.layers.checkpoint_slice import prefixed
from keras_bert_zoo.models.bert_encoder import encoder_inputs
from keras_bert_zoo.models.bert_task_model import BertTaskModel


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertQuestionAnswerer(BertTaskModel):
    """Scores every token as answer start and end.

    Outputs `start_logits` and `end_logits`, each [B, T] float32. The span
    weights are stored as google-research/bert's `cls/squad/output_weights`.

    Args:
        encoder: A `BertEncoder` (exposed as `.encoder`).
        **kwargs: Passed to `keras.Model`.
    """

    task = "question_answerer"
    uses_pooler = False

    def __init__(self, encoder, **kwargs):
        self.encoder = encoder
        # The family's layer before the span head (ModernBERT's, which drops out at classifier_dropout).
        self.pre_classifier = encoder.head_transform("pre_classifier")
        self.span_head = BertClassificationHead(
            2, 0.0 if self.pre_classifier is None else encoder.config.classifier_dropout,
            encoder.config.initializer_range, dtype=encoder.dtype_policy, name="span_head")
        inputs = encoder_inputs()
        sequence = encoder(inputs)["sequence_output"]
        if self.pre_classifier is not None:
            sequence = self.pre_classifier(sequence)
        logits = self.span_head(sequence)
        start_logits, end_logits = ops.unstack(logits, 2, axis=-1)
        super().__init__(inputs=inputs, outputs={"start_logits": start_logits, "end_logits": end_logits}, **kwargs)

    def head_slices(self):
        slices = prefixed("cls/squad/", self.span_head.checkpoint_slices())
        if self.pre_classifier is not None:
            slices.update(prefixed("pre_classifier/", self.pre_classifier.checkpoint_slices()))
        return slices
