"""Losses and running metrics for sentence classification and regression."""

import tensorflow as tf


class ClassificationObjective:
    """Softmax cross-entropy (C > 1), sigmoid binary cross-entropy (C = 1), or MSE (regression).

    Labels: {"labels": [B]} holding class ids, 0/1 for the binary head, or
    float targets for regression. Packed batches have logits [R, S, C] and
    labels [R, S] with `label_weights` [R, S] (0 in empty slots); the loss
    is then the mean over the weighted examples.

    Args:
        num_classes: Width of the logits.
        regression: Treat the single logit as a real-valued prediction.
    """

    def __init__(self, num_classes, regression=False):
        if regression and num_classes != 1:
            raise ValueError("Regression needs num_classes=1.")
        self.num_classes = num_classes
        self.regression = regression
        self.stat_names = ("loss_total", "examples") + (() if regression else ("correct",))

    @classmethod
    def for_model(cls, model):
        """The objective of a `BertClassifier`: its width and whether it regresses."""
        return cls(model.num_classes, model.regression)

    def __call__(self, outputs, labels):
        logits = tf.cast(outputs["logits"], tf.float32)
        logits = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
        targets = tf.reshape(labels["labels"], [-1])
        weights = tf.reshape(tf.cast(labels["label_weights"], tf.float32), [-1]) if "label_weights" in labels else None
        if self.regression:
            per_example = tf.square(logits[:, 0] - tf.cast(targets, tf.float32))
        elif self.num_classes == 1:
            binary = tf.cast(targets, tf.float32)
            per_example = tf.nn.sigmoid_cross_entropy_with_logits(labels=binary, logits=logits[:, 0])
            hits = tf.equal(tf.cast(logits[:, 0] > 0, tf.float32), binary)
        else:
            targets = tf.cast(targets, tf.int32)
            per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
            hits = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), targets)
        if weights is None:
            weights = tf.ones_like(per_example)
        examples = tf.reduce_sum(weights)
        stats = {"loss_total": tf.reduce_sum(per_example * weights), "examples": examples}
        if not self.regression:
            stats["correct"] = tf.reduce_sum(tf.cast(hits, tf.float32) * weights)
        return stats["loss_total"] / tf.maximum(examples, 1.0), stats

    def metrics(self, stats):
        examples = max(stats["examples"], 1.0)
        metrics = {"loss": stats["loss_total"] / examples}
        if not self.regression:
            metrics["accuracy"] = stats["correct"] / examples
        return metrics
