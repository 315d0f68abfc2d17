"""Sentence (pair) classification on the pooled [CLS] vector."""

import keras
from keras import ops

from keras_bert_zoo.layers import BertClassificationHead, BertPooler, SplitBitsDropout
from keras_bert_zoo.layers.checkpoint_slice import prefixed
from keras_bert_zoo.models.bert_encoder import INPUT_NAMES, encoder_inputs
from keras_bert_zoo.models.bert_task_model import BertTaskModel


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertClassifier(BertTaskModel):
    """Classifies a text or text pair from the encoder's pooled output.

    Outputs `logits` [B, C] (float32). With `num_classes=1` the single logit is
    a sigmoid score, trained with binary cross-entropy, or with
    `regression=True` a real-valued prediction (STS-B), trained with squared
    error; see `default_loss`. The encoder's last layer runs only at [CLS]
    (the encoder's `output_positions`). A family whose classifier doesn't
    read the pooler has its own dense layer over [CLS] (`pre_classifier`,
    with the config's `pre_classifier_activation`: DistilBERT's ReLU,
    ELECTRA's GELU and RoBERTa's tanh behind dropout).

    Packed training batches (`data.sequence_batches.packed_training_batches`)
    hold several texts per row and add the input `sequence_starts` [R, S],
    the position of each text's [CLS]: `logits` are then [R, S, C], one per
    packed text, each equal to the text's logits alone in a row.

    Args:
        encoder: A `BertEncoder` (exposed as `.encoder`).
        num_classes: Number of classes C (1: binary with one sigmoid logit).
        dropout: Dropout on the pooled output; defaults to the config's
            `classifier_dropout` (DistilBERT's `seq_classif_dropout`).
        label_names: Optional class names, kept for export and predictions
            (two names when num_classes is 1, none for regression).
        regression: The single logit is a regression output.
        **kwargs: Passed to `keras.Model`.
    """

    task = "classifier"

    def __init__(self, encoder, num_classes=2, dropout=None, label_names=None, regression=False, **kwargs):
        if regression and (num_classes != 1 or label_names):
            raise ValueError("A regression head has num_classes=1 and no label_names.")
        self.encoder = encoder
        self.num_classes = num_classes
        self.regression = regression
        self.dropout = encoder.config.classifier_dropout if dropout is None else dropout
        self.label_names = checked_label_names(label_names, max(num_classes, 2))
        self.classifier_head = BertClassificationHead(
            num_classes, self.dropout, encoder.config.initializer_range, dtype=encoder.dtype_policy,
            name="classifier_head")
        # DistilBERT, ELECTRA and RoBERTa classify with a dense layer of their own over [CLS] (RoBERTa's encoder
        # has a pooler, which its classifiers don't read), ELECTRA's and RoBERTa's behind dropout too; ModernBERT
        # with its heads' dense layer and LayerNorm, over [CLS] or the mean of the tokens (`classifier_pooling`).
        self.pre_classifier = encoder.head_transform("pre_classifier")
        if self.pre_classifier is None and encoder.config.pre_classifier_activation is not None:
            self.pre_classifier = BertPooler(
                encoder.config.hidden_size, encoder.config.initializer_range,
                encoder.config.pre_classifier_activation, dtype=encoder.dtype_policy, name="pre_classifier")
        self.pre_classifier_dropout = SplitBitsDropout(
            self.dropout, dtype=encoder.dtype_policy, name="pre_classifier_dropout") if (
                self.pre_classifier is not None and encoder.config.pre_classifier_dropout) else None
        inputs = encoder_inputs()
        if self.pre_classifier is None:
            no_positions = inputs["input_mask"][:, :0]  # The last layer runs at [CLS] alone.
            pooled = encoder(inputs, output_positions=no_positions)["pooled_output"]
        else:
            pooled = self._pre_classify(self._text_vectors(inputs, inputs["input_mask"][:, :1] * 0))
        super().__init__(inputs=inputs, outputs={"logits": self.classifier_head(pooled)}, **kwargs)

    def call(self, inputs, training=None, mask=None):
        if "sequence_starts" not in inputs:
            return super().call(inputs, training=training, mask=mask)
        # The functional graph reads one [CLS] per row; packed rows have one per text.
        starts = inputs["sequence_starts"]
        encoded = self._text_vectors({name: inputs[name] for name in INPUT_NAMES}, starts, training=training)
        rows, slots = ops.shape(starts)[0], ops.shape(starts)[1]
        cls_outputs = ops.reshape(encoded, (-1, 1, encoded.shape[-1]))  # One text per row, as the heads expect.
        if self.pre_classifier is None:
            pooled = self.encoder.pooler(cls_outputs)
        else:
            pooled = self._pre_classify(cls_outputs, training=training)
        logits = self.classifier_head(pooled, training=training)
        return {"logits": ops.reshape(logits, (rows, slots, logits.shape[-1]))}

    def _text_vectors(self, inputs, starts, training=None):
        """[B, S, H]: what the classifier reads of each text starting at `starts` [B, S]: its [CLS] output, or
        the mean of its tokens' outputs where the family pools so."""
        if self.encoder.config.classifier_pooling != "mean":
            return self.encoder(inputs, output_positions=starts, training=training)["sequence_output"]
        sequence = self.encoder(inputs, training=training)["sequence_output"]
        return sequence_means(sequence, inputs["input_mask"], starts)

    def _pre_classify(self, cls_outputs, training=None):
        """The pre-classifier's [N, H] of [N, 1, H] `_text_vectors` (behind dropout where the family has it)."""
        if self.pre_classifier_dropout is not None:
            cls_outputs = self.pre_classifier_dropout(cls_outputs, training=training)
        if isinstance(self.pre_classifier, BertPooler):
            return self.pre_classifier(cls_outputs)  # It reads the first row.
        return self.pre_classifier(cls_outputs[:, 0], training=training)

    @property
    def uses_pooler(self):
        return self.pre_classifier is None

    def default_loss(self):
        """Squared error for regression, binary cross-entropy for one logit, else sparse CE."""
        if self.regression:
            return keras.losses.MeanSquaredError()
        if self.num_classes == 1:
            return keras.losses.BinaryCrossentropy(from_logits=True)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def head_slices(self):
        slices = self.classifier_head.checkpoint_slices()
        if self.pre_classifier is not None:
            slices.update(prefixed("pre_classifier/", self.pre_classifier.checkpoint_slices()))
        return slices

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "dropout": self.dropout,
                "label_names": self.label_names, "regression": self.regression}


def checked_label_names(label_names, expected):
    """`label_names` as a list of `expected` strings, or None."""
    if label_names is None:
        return None
    names = [str(name) for name in label_names]
    if len(names) != expected:
        raise ValueError(f"label_names has {len(names)} names; the head needs {expected}.")
    return names


def sequence_means(sequence, input_mask, starts):
    """[B, S, H]: the mean of `sequence` [B, T, H] over each text's tokens, the text that starts at `starts` [B, S].

    A text's tokens are those numbered as its first one in `input_mask` (all real tokens of a 0/1 row).
    """
    numbers = ops.take_along_axis(input_mask, ops.cast(starts, "int32"), axis=1)  # [B, S]
    members = ops.logical_and(ops.equal(numbers[:, :, None], input_mask[:, None, :]), input_mask[:, None, :] > 0)
    members = ops.cast(members, sequence.dtype)  # [B, S, T]
    totals = ops.einsum("bst,bth->bsh", members, sequence)
    return totals / ops.maximum(ops.sum(members, axis=-1, keepdims=True), 1)
