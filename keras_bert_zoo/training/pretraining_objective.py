"""The masked-LM (+ next-sentence or sentence-order) loss and metrics of pretraining, and each pretraining model's
objective."""

import tensorflow as tf


def split_pretraining_features(features, replaced_token_detection=False):
    """Maps google-research/bert TFRecord features to (model inputs, labels).

    Args:
        features: Dict with input_ids, input_mask, segment_ids,
            masked_lm_positions, masked_lm_ids, masked_lm_weights and
            next_sentence_labels, batched.
        replaced_token_detection: For ELECTRA's pretrainer, which takes the
            original ids as an input and whose loss runs over input_mask.
    """
    inputs = {
        "input_word_ids": features["input_ids"],
        "input_mask": features["input_mask"],
        "input_type_ids": features["segment_ids"],
        "masked_lm_positions": features["masked_lm_positions"],
    }
    labels = {
        "masked_lm_ids": features["masked_lm_ids"],
        "masked_lm_weights": features["masked_lm_weights"],
        "next_sentence_labels": tf.reshape(features["next_sentence_labels"], [-1]),
    }
    if replaced_token_detection:
        inputs["masked_lm_ids"] = features["masked_lm_ids"]
        labels["input_mask"] = features["input_mask"]
    return inputs, labels


# A pretraining model's sentence-pair output, and its metrics' prefix: next sentence (BERT), sentence order (ALBERT).
SENTENCE_OUTPUTS = {"nsp_logits": "nsp", "sop_logits": "sop"}


def objective_for_model(model):
    """The pretraining objective of a pretraining model: replaced-token detection for ELECTRA's, else masked LM,
    with next-sentence or sentence-order prediction where the model predicts it."""
    from keras_bert_zoo.training.replaced_token_objective import ReplacedTokenObjective

    outputs = model.output
    if "rtd_logits" in outputs:
        return ReplacedTokenObjective()
    sentence_output = next((name for name in SENTENCE_OUTPUTS if name in outputs), None)
    return PretrainingObjective(next_sentence=sentence_output is not None,
                                sentence_output=sentence_output or "nsp_logits")


class PretrainingObjective:
    """MLM cross-entropy averaged over real predictions, plus NSP (or SOP) cross-entropy.

    The MLM loss weighs each position by masked_lm_weights and divides by their
    sum, as google-research/bert does, so padded prediction slots count for
    nothing. Calls return the loss and additive statistics, which the trainer
    sums over replicas and steps before `metrics` turns them into rates.

    Args:
        next_sentence: Whether the model predicts a sentence-pair label;
            masked-LM-only models (`kbz.MaskedLM`) don't.
        sentence_output: The model's output of it: "nsp_logits" (next
            sentence) or "sop_logits" (ALBERT's sentence order). Its labels
            are `next_sentence_labels` either way, the TFRecord feature that
            google-research/albert also keeps for sentence order; metrics
            are named "nsp_..." or "sop_...".
    """

    def __init__(self, next_sentence=True, sentence_output="nsp_logits"):
        if sentence_output not in SENTENCE_OUTPUTS:
            raise ValueError(f"sentence_output must be one of {sorted(SENTENCE_OUTPUTS)}, got {sentence_output!r}.")
        self.next_sentence = next_sentence
        self.sentence_output = sentence_output
        self.prefix = SENTENCE_OUTPUTS[sentence_output]
        self.stat_names = ("mlm_loss_sum", "mlm_weight", "mlm_correct", "examples") + (
            (f"{self.prefix}_loss_sum", f"{self.prefix}_correct") if next_sentence else ())

    @classmethod
    def for_model(cls, model):
        """The objective of `model`'s task: see `objective_for_model`."""
        return objective_for_model(model)

    def __call__(self, outputs, labels):
        mlm_logits = tf.cast(outputs["mlm_logits"], tf.float32)
        weights = tf.cast(labels["masked_lm_weights"], tf.float32)
        mlm_ids = tf.cast(labels["masked_lm_ids"], tf.int32)
        mlm_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=mlm_ids, logits=mlm_logits)
        mlm_loss_sum = tf.reduce_sum(mlm_ce * weights)
        mlm_weight = tf.reduce_sum(weights)
        loss = mlm_loss_sum / (mlm_weight + 1e-5)
        mlm_hits = tf.cast(tf.equal(tf.argmax(mlm_logits, -1, output_type=tf.int32), mlm_ids), tf.float32)
        stats = {"mlm_loss_sum": mlm_loss_sum, "mlm_weight": mlm_weight,
                 "mlm_correct": tf.reduce_sum(mlm_hits * weights),
                 "examples": tf.cast(tf.shape(mlm_ids)[0], tf.float32)}
        if self.next_sentence:
            pair_logits = tf.cast(outputs[self.sentence_output], tf.float32)
            pair_labels = tf.cast(labels["next_sentence_labels"], tf.int32)
            pair_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=pair_labels, logits=pair_logits)
            loss += tf.reduce_mean(pair_ce)
            pair_hits = tf.cast(tf.equal(tf.argmax(pair_logits, -1, output_type=tf.int32), pair_labels), tf.float32)
            stats.update({f"{self.prefix}_loss_sum": tf.reduce_sum(pair_ce),
                          f"{self.prefix}_correct": tf.reduce_sum(pair_hits)})
        return loss, stats

    def metrics(self, stats):
        """Losses and accuracies from summed statistics."""
        mlm_weight = max(stats["mlm_weight"], 1e-5)
        metrics = {"mlm_loss": stats["mlm_loss_sum"] / mlm_weight, "mlm_accuracy": stats["mlm_correct"] / mlm_weight}
        metrics["loss"] = metrics["mlm_loss"]
        if self.next_sentence:
            examples, prefix = max(stats["examples"], 1.0), self.prefix
            metrics.update({f"{prefix}_loss": stats[f"{prefix}_loss_sum"] / examples,
                            f"{prefix}_accuracy": stats[f"{prefix}_correct"] / examples})
            metrics["loss"] += metrics[f"{prefix}_loss"]
        return metrics
