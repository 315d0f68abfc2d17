"""ELECTRA's loss: the generator's masked LM plus 50 x the discriminator's replaced-token detection."""

import tensorflow as tf


class ReplacedTokenObjective:
    """Generator masked-LM cross-entropy plus weighted discriminator binary cross-entropy.

    As google-research/electra's `run_pretraining.py`: the generator's loss is
    averaged over real predictions (masked_lm_weights), the discriminator's
    over every real token (input_mask), and the total is
    `generator_weight` x the first + `discriminator_weight` x the second.
    Calls return the loss and additive statistics, which the trainer sums over
    replicas and steps before `metrics` turns them into rates.

    Args:
        generator_weight: Weight of the generator's loss (ELECTRA: 1).
        discriminator_weight: Weight of the discriminator's loss (ELECTRA: 50).
    """

    stat_names = ("mlm_loss_sum", "mlm_weight", "mlm_correct", "rtd_loss_sum", "rtd_tokens", "rtd_correct",
                  "rtd_replaced", "examples")

    def __init__(self, generator_weight=1.0, discriminator_weight=50.0):
        self.generator_weight = generator_weight
        self.discriminator_weight = discriminator_weight

    def __call__(self, outputs, labels):
        mlm_logits = tf.cast(outputs["mlm_logits"], tf.float32)
        rtd_logits = tf.cast(outputs["rtd_logits"], tf.float32)
        replaced = tf.cast(outputs["rtd_labels"], tf.float32)
        weights = tf.cast(labels["masked_lm_weights"], tf.float32)
        mlm_ids = tf.cast(labels["masked_lm_ids"], tf.int32)
        tokens = tf.cast(labels["input_mask"] > 0, tf.float32)  # Packed rows number their sequences 1, 2, ...
        mlm_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=mlm_ids, logits=mlm_logits)
        rtd_ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=replaced, logits=rtd_logits) * tokens
        mlm_loss_sum, mlm_weight = tf.reduce_sum(mlm_ce * weights), tf.reduce_sum(weights)
        rtd_loss_sum, rtd_tokens = tf.reduce_sum(rtd_ce), tf.reduce_sum(tokens)
        loss = (self.generator_weight * mlm_loss_sum / (mlm_weight + 1e-6)
                + self.discriminator_weight * rtd_loss_sum / (rtd_tokens + 1e-6))
        mlm_hits = tf.cast(tf.equal(tf.argmax(mlm_logits, -1, output_type=tf.int32), mlm_ids), tf.float32)
        rtd_hits = tf.cast(tf.equal(tf.cast(rtd_logits > 0, tf.float32), replaced), tf.float32)
        stats = {
            "mlm_loss_sum": mlm_loss_sum,
            "mlm_weight": mlm_weight,
            "mlm_correct": tf.reduce_sum(mlm_hits * weights),
            "rtd_loss_sum": rtd_loss_sum,
            "rtd_tokens": rtd_tokens,
            "rtd_correct": tf.reduce_sum(rtd_hits * tokens),
            "rtd_replaced": tf.reduce_sum(replaced * tokens),
            "examples": tf.cast(tf.shape(mlm_ids)[0], tf.float32),
        }
        return loss, stats

    def metrics(self, stats):
        """Losses and accuracies from summed statistics; `replaced_share` is the share of replaced tokens."""
        mlm_weight = max(stats["mlm_weight"], 1e-6)
        tokens = max(stats["rtd_tokens"], 1e-6)
        metrics = {
            "mlm_loss": stats["mlm_loss_sum"] / mlm_weight,
            "mlm_accuracy": stats["mlm_correct"] / mlm_weight,
            "rtd_loss": stats["rtd_loss_sum"] / tokens,
            "rtd_accuracy": stats["rtd_correct"] / tokens,
            "replaced_share": stats["rtd_replaced"] / tokens,
        }
        metrics["loss"] = (self.generator_weight * metrics["mlm_loss"]
                           + self.discriminator_weight * metrics["rtd_loss"])
        return metrics
