"""Hinton et al.'s distillation loss: hard labels plus the teacher's temperature-softened outputs."""

import numpy as np
import tensorflow as tf

_CLASS_KEY = "teacher_{}_{}"
_SPAN_KEY = "teacher_{}"


def teacher_labels(teacher_outputs, output_names=("logits",), span_outputs=False):
    """The teacher's outputs as label arrays for `DistillationObjective`.

    Class logits [N, C] or per token [N, T, C] become one [N] or [N, T]
    array per class: the batching cuts and pads any array whose axis 1
    could be time, so [N, C] can't travel whole. Span logits [N, T] (a
    distribution over positions, SQuAD's start and end) travel whole and are
    cut and padded like the inputs.

    Args:
        teacher_outputs: The teacher's outputs (e.g. from `predict`).
        output_names: The outputs to distil.
        span_outputs: They are span logits [N, T], not class logits.

    Returns:
        Dict of label arrays, to merge with the task's own labels.
    """
    labels = {}
    for name in output_names:
        logits = np.asarray(teacher_outputs[name], np.float32)
        if span_outputs:
            labels[_SPAN_KEY.format(name)] = logits
        else:
            labels.update({_CLASS_KEY.format(name, c): logits[..., c] for c in range(logits.shape[-1])})
    return labels


def with_teacher_only_examples(inputs, labels, extra_inputs, extra_labels):
    """Appends examples that only the teacher labels, marking them with "hard_weight" 0.

    Args:
        inputs: Dict of the labelled examples' input arrays [N, ...].
        labels: Dict of their label arrays [N, ...].
        extra_inputs: Dict of the same input arrays for M unlabelled examples.
        extra_labels: Dict of the same label arrays for them (placeholders
            the task loss never sees).

    Returns:
        (inputs, labels) of all N + M examples; labels gain "hard_weight" [N + M],
        1 for the labelled examples and 0 for the others.
    """
    count, extra_count = len(inputs["input_word_ids"]), len(extra_inputs["input_word_ids"])
    merged_inputs = {k: np.concatenate([v, extra_inputs[k]]) for k, v in inputs.items()}
    merged_labels = {k: np.concatenate([v, extra_labels[k]]) for k, v in labels.items()}
    merged_labels["hard_weight"] = np.concatenate([np.ones(count, np.float32), np.zeros(extra_count, np.float32)])
    return merged_inputs, merged_labels


class DistillationObjective:
    """`alpha` x the task's loss + (1 - `alpha`) x T^2 x KL(teacher_T || student_T).

    teacher_T and student_T are the outputs softened by the temperature T:
    softmax(logits / T) over the classes, or the sigmoid of one logit (a
    binary head), or over the positions of span logits (SQuAD); a regression
    head matches the teacher's value by squared error. T^2 keeps the soft
    gradients' scale independent of T (Hinton et al., 2015). With several
    outputs (start and end logits) the soft term is their mean.

    Labels: the task objective's, those of `teacher_labels` (see
    `self.teacher_labels`), and optionally "hard_weight" [B]: 1 for examples
    with a true label, 0 for those only the teacher labelled (their task
    labels are ignored).

    Args:
        hard_objective: The task's objective (e.g. `ClassificationObjective`).
        temperature: T, at least 1 in practice.
        alpha: Weight of the task's (hard-label) loss, in [0, 1].
        output_names: The outputs distilled.
        regression: The output is a real value, not logits.
        soft_weights_key: The label of per-position weights of the soft
            term for per-token outputs [B, T, C] (NER: "label_weights", so
            padding and special tokens don't count); None: each example
            counts once.
        span_mask_key: For span outputs [B, T] (SQuAD's "start_logits" and
            "end_logits"): the label [B, T] that is 1 at the positions the
            softmax runs over (the hard objective's "answer_mask"); the
            others get no probability. None: class outputs.
    """

    def __init__(self, hard_objective, temperature=2.0, alpha=0.5, output_names=("logits",), regression=False,
                 soft_weights_key=None, span_mask_key=None):
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
        self.hard_objective = hard_objective
        self.temperature, self.alpha = temperature, alpha
        self.output_names = tuple(output_names)
        self.regression = regression
        self.soft_weights_key = soft_weights_key
        self.span_mask_key = span_mask_key
        self.stat_names = ("examples", "soft_loss_total", "soft_weight", *(f"hard_{n}" for n in hard_objective.stat_names))

    def teacher_labels(self, teacher_outputs):
        """`teacher_labels` of this objective's outputs."""
        return teacher_labels(teacher_outputs, self.output_names, span_outputs=self.span_mask_key is not None)

    def soft_loss(self, student_logits, teacher_logits, span_mask=None):
        """Distillation loss (scaled by T^2) per example [B] or per position [B, T].

        Args:
            student_logits: [B, C], [B, T, C], or span logits [B, T].
            teacher_logits: The teacher's, same shape.
            span_mask: For span logits, [B, T] 1 where the softmax runs.
        """
        student = tf.cast(student_logits, tf.float32) / self.temperature
        teacher = tf.cast(teacher_logits, tf.float32) / self.temperature
        if self.regression:
            return tf.square(student[..., 0] - teacher[..., 0]) * self.temperature ** 2
        if span_mask is not None:
            # As the hard span loss: masked positions get ~0 probability, so they add nothing to the KL.
            allowed = tf.cast(span_mask, tf.bool)
            student = tf.where(allowed, student, -1e4)
            teacher = tf.where(allowed, teacher, -1e4)
        elif student.shape[-1] == 1:
            # A binary head's one logit: the two-class softmax over [0, logit].
            student = tf.concat([tf.zeros_like(student), student], -1)
            teacher = tf.concat([tf.zeros_like(teacher), teacher], -1)
        log_teacher = tf.nn.log_softmax(teacher)
        kl = tf.reduce_sum(tf.exp(log_teacher) * (log_teacher - tf.nn.log_softmax(student)), -1)
        return kl * self.temperature ** 2

    def _teacher_logits(self, name, labels, width):
        if self.span_mask_key is not None:
            return labels[_SPAN_KEY.format(name)]
        return tf.stack([labels[_CLASS_KEY.format(name, c)] for c in range(width)], -1)

    def __call__(self, outputs, labels):
        span_mask = labels[self.span_mask_key] if self.span_mask_key is not None else None
        soft = tf.add_n([
            self.soft_loss(outputs[name], self._teacher_logits(name, labels, outputs[name].shape[-1]), span_mask)
            for name in self.output_names]) / len(self.output_names)
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
