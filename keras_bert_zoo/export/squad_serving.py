"""Serving signature of a BertQuestionAnswerer: the answer span in the context, from raw text."""

import tensorflow as tf

from keras_bert_zoo.data.squad_context_pieces import context_pieces
from keras_bert_zoo.export.serving_module import TEXT, ServingModule


class SquadServing(ServingModule):
    """`serving_default` {question, context} -> {answer [B] string, start, end [B] byte offsets, score [B]}.

    As google-research/bert's run_squad: the question keeps `max_query_length`
    pieces; a context longer than one window is split into windows
    `doc_stride` pieces apart; a span may start only where its window gives
    the piece the most context, ends at or after its start and spans at most
    `max_answer_length` pieces; the highest start + end logit wins. The
    answer runs from its first piece's start to its last piece's end, each
    piece covering its own characters of the context, as run_squad decodes
    it (`keras_bert_zoo.data.squad_context_pieces`): exact spans inside
    unspaced (Chinese) text too. `context[start:end]` (bytes) is `answer`. With no candidate (empty
    context) the answer is "", start and end -1, score 0. Also `serve_ids`.

    Args:
        model, tokenizer, max_seq_length, vocab_asset: As `ServingModule`.
        doc_stride: Pieces between window starts.
        max_query_length: Question pieces kept.
        max_answer_length: Longest answer in pieces.
    """

    def __init__(self, model, tokenizer, max_seq_length, vocab_asset, doc_stride=128, max_query_length=64,
                 max_answer_length=30):
        super().__init__(model, tokenizer, max_seq_length, vocab_asset)
        if not 0 < max_query_length < max_seq_length - tokenizer.packer.num_special_tokens(2):
            raise ValueError(f"max_query_length={max_query_length} leaves no room for context in "
                             f"max_seq_length={max_seq_length}.")
        if doc_stride < 1 or max_answer_length < 1:
            raise ValueError("doc_stride and max_answer_length must be positive.")
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length
        self.max_answer_length = max_answer_length

    def signatures(self):
        return {"serving_default": self.serve_text.get_concrete_function(),
                "serve_ids": self.serve_ids.get_concrete_function()}

    def warmup_requests(self):
        return {"serving_default": {
            "question": ["Where is the Eiffel Tower?", "Who?"],
            "context": ["The Eiffel Tower stands in Paris, France.", ""]}}

    @tf.function(input_signature=[TEXT, TEXT])
    def serve_text(self, question, context):
        questions = tf.cast(self.tokenizer.tokenize(question)[:, : self.max_query_length], tf.int32)
        document, piece_starts, piece_ends = context_pieces(self.tokenizer, context)  # [B, (pieces)]
        windows = self._windows(questions, document)
        outputs = self.model(windows["inputs"], training=False)
        best = self._best_spans(outputs["start_logits"], outputs["end_logits"], windows, document)
        # Gathers below read one dummy entry so that examples without an answer stay in range.
        start_piece = tf.gather(tf.concat([document.row_starts(), [0]], 0), best["example_index"]) + best["start"]
        end_piece = start_piece + best["length"] - 1
        flat_starts = tf.concat([piece_starts.flat_values, [0]], 0)
        flat_ends = tf.concat([piece_ends.flat_values, [0]], 0)
        found = best["found"]
        start = tf.where(found, tf.gather(flat_starts, tf.where(found, start_piece, 0)), -1)
        end = tf.where(found, tf.gather(flat_ends, tf.where(found, end_piece, 0)), -1)
        answer = tf.where(found, tf.strings.substr(context, tf.maximum(start, 0), tf.maximum(end - start, 0)), "")
        return {"answer": answer, "start": start, "end": end, "score": tf.where(found, best["score"], 0.0)}

    def _windows(self, questions, document):
        """Question and window packed the family's way (BERT's [CLS] q [SEP] w [SEP]) for every doc-stride window."""
        packer = self.tokenizer.packer
        doc_length = document.row_lengths()
        room = self.max_seq_length - packer.num_special_tokens(2) - tf.cast(questions.row_lengths(), tf.int64)
        extra = tf.maximum(doc_length - room, 0)
        count = 1 + (extra + self.doc_stride - 1) // self.doc_stride
        example = tf.repeat(tf.range(tf.size(count, out_type=tf.int64)), count)
        start = tf.ragged.range(count).flat_values * self.doc_stride
        length = tf.maximum(tf.minimum(tf.gather(room, example), tf.gather(doc_length, example) - start), 0)
        first = tf.gather(document.row_starts(), example) + start
        context = tf.gather(document.flat_values, tf.ragged.range(first, first + length))
        question = tf.gather(questions, example)
        return {"inputs": packer.pack([question, context], self.max_seq_length), "example": example, "start": start,
                "length": length, "context_offset": packer.segment_starts([question.row_lengths(), length])[1],
                "num_examples": tf.size(count)}

    def _best_spans(self, start_logits, end_logits, windows, document):
        """The best allowed span of each example: its window, start, length and score."""
        length = windows["length"]
        span = tf.reduce_max(tf.concat([length, [0]], 0))
        offsets = tf.range(span, dtype=tf.int64)
        in_window = offsets[None, :] < length[:, None]
        positions = tf.minimum(windows["context_offset"][:, None] + offsets[None, :],
                               tf.cast(tf.shape(start_logits)[1] - 1, tf.int64))
        starts = tf.gather(start_logits, positions, batch_dims=1)
        ends = tf.gather(end_logits, positions, batch_dims=1)
        starts_allowed = in_window & self._max_context(windows, document, offsets, in_window)
        answer_offsets = tf.range(self.max_answer_length, dtype=tf.int64)
        end_index = offsets[:, None] + answer_offsets[None, :]  # [span, A]
        end_scores = tf.gather(ends, tf.minimum(end_index, tf.maximum(span - 1, 0)), axis=1)
        scores = starts[:, :, None] + end_scores
        allowed = starts_allowed[:, :, None] & (end_index[None] < length[:, None, None])
        scores = tf.reshape(tf.where(allowed, scores, -float("inf")), [tf.shape(scores)[0], -1])
        # A -inf column keeps max and argmax defined for windows without context.
        scores = tf.concat([scores, tf.fill([tf.shape(scores)[0], 1], -float("inf"))], 1)
        window_best = tf.reduce_max(scores, 1)
        flat_best = tf.argmax(scores, 1)
        example = windows["example"]
        num_examples = windows["num_examples"]
        example_best = tf.math.unsorted_segment_max(window_best, example, num_examples)
        window_ids = tf.range(tf.size(example, out_type=tf.int64))
        is_best = window_best >= tf.gather(example_best, example)
        chosen = tf.math.unsorted_segment_min(tf.where(is_best, window_ids, tf.int64.max), example, num_examples)
        found = (chosen < tf.size(example, out_type=tf.int64)) & (example_best > -float("inf"))
        chosen = tf.where(found, chosen, 0)
        flat = tf.gather(tf.concat([flat_best, [0]], 0), chosen)
        answer_length = self.max_answer_length
        return {
            "found": found,
            "example_index": tf.range(num_examples),
            "start": tf.gather(tf.concat([windows["start"], [0]], 0), chosen) + flat // answer_length,
            "length": flat % answer_length + 1,
            "score": tf.where(found, example_best, 0.0),
        }

    def _max_context(self, windows, document, offsets, in_window):
        """[windows, span] whether this window gives the piece more context than any other."""
        length = windows["length"]
        score = tf.cast(tf.minimum(offsets[None, :], length[:, None] - 1 - offsets[None, :]), tf.float32)
        score += 0.01 * tf.cast(length[:, None], tf.float32)
        piece = tf.gather(document.row_starts(), windows["example"])[:, None] + windows["start"][:, None] + offsets
        window = tf.broadcast_to(tf.range(tf.size(length, out_type=tf.int64))[:, None], tf.shape(piece))
        num_pieces = tf.size(document.flat_values, out_type=tf.int64)
        safe_piece = tf.where(in_window, piece, num_pieces)  # out-of-window slots go to a spare segment
        best_score = tf.math.unsorted_segment_max(tf.where(in_window, score, -1.0), safe_piece, num_pieces + 1)
        is_best = in_window & (score >= tf.gather(best_score, safe_piece))
        # Ties go to the earliest window, as the original's strict ">" comparison.
        first = tf.math.unsorted_segment_min(tf.where(is_best, window, tf.int64.max), safe_piece, num_pieces + 1)
        return is_best & tf.equal(window, tf.gather(first, safe_piece))
