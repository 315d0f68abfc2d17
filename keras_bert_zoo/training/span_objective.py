"""Loss and running metrics for extractive question answering."""

import tensorflow as tf


class SpanObjective:
    """Mean of the start and end cross-entropies over the sequence positions.

    Labels: {"start_positions": [B], "end_positions": [B]}; position 0 ([CLS])
    marks "no answer in this window", as google-research/bert's run_squad.
    With an optional "answer_mask" [B, T] (1 where a label may point: [CLS]
    and the context's pieces), the softmax runs over those positions alone,
    as XLNet's and ALBERT's `p_mask` does; without it, over every position
    (question and padding too), as BERT's and HF's losses do.
    """

    stat_names = ("loss_total", "examples", "exact")

    @classmethod
    def for_model(cls, model):
        """The objective of `model`'s task (it needs nothing from the model)."""
        return cls()

    def __call__(self, outputs, labels):
        starts = tf.cast(labels["start_positions"], tf.int32)
        ends = tf.cast(labels["end_positions"], tf.int32)
        start_logits = tf.cast(outputs["start_logits"], tf.float32)
        end_logits = tf.cast(outputs["end_logits"], tf.float32)
        if "answer_mask" in labels:
            # The model needn't learn to push the question and padding down first: that is most of a
            # short run's early updates.
            allowed = tf.cast(labels["answer_mask"], tf.bool)
            start_logits = tf.where(allowed, start_logits, -1e4)
            end_logits = tf.where(allowed, end_logits, -1e4)
        start_loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=starts, logits=start_logits)
        end_loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ends, logits=end_logits)
        per_example = (start_loss + end_loss) / 2.0
        exact = tf.logical_and(tf.equal(tf.argmax(start_logits, -1, output_type=tf.int32), starts),
                               tf.equal(tf.argmax(end_logits, -1, output_type=tf.int32), ends))
        stats = {"loss_total": tf.reduce_sum(per_example),
                 "examples": tf.cast(tf.shape(per_example)[0], tf.float32),
                 "exact": tf.reduce_sum(tf.cast(exact, tf.float32))}
        return tf.reduce_mean(per_example), stats

    @staticmethod
    def metrics(stats):
        examples = max(stats["examples"], 1.0)
        return {"loss": stats["loss_total"] / examples, "span_accuracy": stats["exact"] / examples}
