"""Loss and running metrics for per-token tagging (NER)."""

import tensorflow as tf


class TokenClassificationObjective:
    """Cross-entropy over the tokens that carry a label.

    Labels: {"labels": [B, T] tag ids, "label_weights": [B, T]}: 1 on the first
    wordpiece of each word, 0 on continuation pieces, special tokens and padding.

    By default the loss is the mean over the batch's labelled tokens (HF's
    and torch's `ignore_index` mean). When batches are drawn by length, that
    mean weighs a token of a batch of short sentences several times more
    than one of a batch of long ones. With `labels_per_batch`, the batch's
    summed loss is divided by what an average batch holds instead, so every
    labelled token of the training set weighs the same however batches are
    drawn (or packed into rows).

    Args:
        labels_per_batch: Mean labelled tokens of a training batch (of one
            replica); None: the mean over each batch's labelled tokens.
    """

    stat_names = ("loss_total", "weight", "correct", "examples")

    def __init__(self, labels_per_batch=None):
        if labels_per_batch is not None and labels_per_batch <= 0:
            raise ValueError(f"labels_per_batch must be positive, got {labels_per_batch}.")
        self.labels_per_batch = labels_per_batch

    @classmethod
    def for_model(cls, model):
        """The objective of `model`'s task (it needs nothing from the model)."""
        return cls()

    def __call__(self, outputs, labels):
        logits = tf.cast(outputs["logits"], tf.float32)
        tags = tf.cast(labels["labels"], tf.int32)
        weights = tf.cast(labels["label_weights"], tf.float32)
        # Ignored positions may hold any id (such as -100); clip so the loss op accepts them.
        safe_tags = tf.clip_by_value(tags, 0, tf.shape(logits)[-1] - 1)
        per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe_tags, logits=logits)
        hits = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tags), tf.float32)
        weight = tf.reduce_sum(weights)
        loss_total = tf.reduce_sum(per_token * weights)
        examples = tf.cast(tf.shape(tags)[0], tf.float32)
        stats = {"loss_total": loss_total, "weight": weight, "correct": tf.reduce_sum(hits * weights),
                 "examples": examples}
        if self.labels_per_batch is not None:
            return loss_total / self.labels_per_batch, stats
        return loss_total / tf.maximum(weight, 1.0), stats

    @staticmethod
    def metrics(stats):
        weight = max(stats["weight"], 1.0)
        return {"loss": stats["loss_total"] / weight, "accuracy": stats["correct"] / weight}
