"""Hinton et al.'s distillation loss: hard labels plus the teacher's temperature-softened outputs."""

import numpy as np
import tensorflow as tf

_TEACHER_KEY = "teacher_{}_{}"


def teacher_labels(teacher_outputs, output_name="logits"):
    """The teacher's logits [N, ..., C] as label arrays for `DistillationObjective`.

    Each class becomes its own [N, ...] array: the batching pads any array whose
    axis 1 could be time, so a [N, C] array can't travel whole.

    Args:
        teacher_outputs: The teacher's outputs (e.g. from `predict`).
        output_name: Which output to distil.

    Returns:
        Dict of label arrays, to merge with the task's own labels.
    """
    logits = np.asarray(teacher_outputs[output_name], np.float32)
    return {_TEACHER_KEY.format(output_name, c): logits[..., c] for c in range(logits.shape[-1])}


class DistillationObjective:
    """`alpha` x the task's loss + (1 - `alpha`) x T^2 x KL(teacher_T || student_T).

    teacher_T and student_T are the outputs softened by the temperature T:
    softmax(logits / T) over the last axis, or the sigmoid of one logit
    (a binary head); a regression head matches the teacher's value by squared
    error. T^2 keeps the soft gradients' scale independent of T (Hinton et
    al., 2015).

    Labels: the task objective's, those of `teacher_labels`, and optionally
    "hard_weight" [B]: 1 for examples with a true label, 0 for those only the
    teacher labelled (their task labels are ignored).

    Args:
        hard_objective: The task's objective (e.g. `ClassificationObjective`).
        temperature: T, at least 1 in practice.
        alpha: Weight of the task's (hard-label) loss, in [0, 1].
        output_name: The output distilled.
        regression: The output is a real value, not logits.
        soft_weights_key: The label of per-position weights of the soft
            term for per-token outputs [B, T, C] (NER: "label_weights", so
            padding and special tokens don't count); None: each example
            counts once.
    """

    def __init__(self, hard_objective, temperature=2.0, alpha=0.5, output_name="logits", regression=False,
                 soft_weights_key=None):
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
        self.hard_objective = hard_objective
        self.temperature, self.alpha = temperature, alpha
        self.output_name = output_name
        self.regression = regression
        self.soft_weights_key = soft_weights_key
        self.stat_names = ("examples", "soft_loss_total", "soft_weight", *(f"hard_{n}" for n in hard_objective.stat_names))

    def soft_loss(self, student_logits, teacher_logits):
        """Distillation loss (scaled by T^2) per example [B] or per position [B, T]."""
        student = tf.cast(student_logits, tf.float32) / self.temperature
        teacher = tf.cast(teacher_logits, tf.float32) / self.temperature
        if self.regression:
            return tf.square(student[..., 0] - teacher[..., 0]) * self.temperature ** 2
        if student.shape[-1] == 1:
            # A binary head's one logit: the two-class softmax over [0, logit].
            student = tf.concat([tf.zeros_like(student), student], -1)
            teacher = tf.concat([tf.zeros_like(teacher), teacher], -1)
        log_teacher = tf.nn.log_softmax(teacher)
        kl = tf.reduce_sum(tf.exp(log_teacher) * (log_teacher - tf.nn.log_softmax(student)), -1)
        return kl * self.temperature ** 2

    def __call__(self, outputs, labels):
        logits = outputs[self.output_name]
        teacher = tf.stack([labels[_TEACHER_KEY.format(self.output_name, c)] for c in range(logits.shape[-1])], -1)
        soft = self.soft_loss(logits, teacher)
        hard_outputs, hard_labels = outputs, labels
        if "hard_weight" in labels:
            # Only truly labelled examples enter the task loss.
            keep = labels["hard_weight"] > 0
            hard_outputs = {k: tf.boolean_mask(v, keep) for k, v in outputs.items()}
            hard_labels = {k: tf.boolean_mask(v, keep) for k, v in labels.items()}
        hard, hard_stats = self.hard_objective(hard_outputs, hard_labels)
        hard = tf.where(hard_stats["examples"] > 0, hard, 0.0)
        weights = (tf.cast(labels[self.soft_weights_key], tf.float32) if self.soft_weights_key
                   else tf.ones_like(soft))
        soft_total, soft_weight = tf.reduce_sum(soft * weights), tf.reduce_sum(weights)
        loss = self.alpha * hard + (1 - self.alpha) * soft_total / tf.maximum(soft_weight, 1.0)
        stats = {"examples": tf.cast(tf.shape(soft)[0], tf.float32), "soft_loss_total": soft_total,
                 "soft_weight": soft_weight}
        stats.update({f"hard_{k}": v for k, v in hard_stats.items()})
        return loss, stats

    def metrics(self, stats):
        hard = self.hard_objective.metrics({n: stats[f"hard_{n}"] for n in self.hard_objective.stat_names})
        return {"soft_loss": stats["soft_loss_total"] / max(stats["soft_weight"], 1.0),
                **{f"hard_{k}": v for k, v in hard.items()}}
