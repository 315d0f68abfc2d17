"""SQuAD model inputs: question + context windows (doc stride), answer positions, max-context marks."""

import dataclasses
import logging

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.squad_context_pieces import context_pieces, uses_word_pieces
from keras_bert_zoo.data.word_pieces import in_batches, tokenize_batched


@dataclasses.dataclass
class SquadFeatures:
    """Fixed-length windows of SQuAD examples: question and a span of context pieces, packed the family's way.

    BERT packs `[CLS] question [SEP] context [SEP]`, RoBERTa and XLM-R
    `<s> question </s></s> context </s>`; position 0 holds [CLS] (<s>).

    Long contexts give several windows, `doc_stride` pieces apart. Each
    context piece records its characters in the example's context, which
    maps any predicted piece span straight back to context text.

    Args:
        input_word_ids: int32 [N, T].
        input_mask: int32 [N, T].
        input_type_ids: int32 [N, T], the family's: BERT's 1 on the context and its [SEP].
        start_positions: int32 [N], position of the first gold answer's first
            piece; 0 ([CLS]) when the window doesn't hold the whole answer,
            the question is unanswerable, or the answer wasn't found.
        end_positions: int32 [N], the same for its last piece.
        example_index: int32 [N], index of the window's example in the list given.
        token_char_starts: int32 [N, T], first context character of each
            context piece; -1 on special tokens, question and padding.
        token_char_ends: int32 [N, T], one past its last character; -1 likewise.
        token_is_max_context: bool [N, T], whether this window gives the piece
            its most context (of all windows holding it), as the original's
            `_check_is_max_context`: answers may only start there.
        num_answers_not_found: Examples whose (first) gold answer isn't at
            its answer_start in the context; with `is_training` they have no
            windows.
    """

    input_word_ids: np.ndarray
    input_mask: np.ndarray
    input_type_ids: np.ndarray
    start_positions: np.ndarray
    end_positions: np.ndarray
    example_index: np.ndarray
    token_char_starts: np.ndarray
    token_char_ends: np.ndarray
    token_is_max_context: np.ndarray
    num_answers_not_found: int = 0

    def __len__(self):
        return len(self.input_word_ids)

    def model_inputs(self):
        """Dict of the three int32 [N, T] encoder inputs."""
        return {"input_word_ids": self.input_word_ids, "input_mask": self.input_mask,
                "input_type_ids": self.input_type_ids}

    def answer_mask(self):
        """int32 [N, T]: 1 where a span label may point, [CLS] ("no answer here") and the context's pieces."""
        mask = (self.token_char_starts >= 0).astype(np.int32)
        mask[:, 0] = 1
        return mask

    def training_labels(self, answer_mask=True):
        """The labels of `SpanObjective`: {"start_positions", "end_positions"} [N], and "answer_mask" [N, T].

        Args:
            answer_mask: Include `answer_mask()`, so the loss's softmax runs over
                [CLS] and the context alone (run_squad's --span_loss_positions=context).
        """
        labels = {"start_positions": self.start_positions, "end_positions": self.end_positions}
        if answer_mask:
            labels["answer_mask"] = self.answer_mask()
        return labels


def squad_features(tokenizer, examples, max_seq_length=384, doc_stride=128, max_query_length=64,
                   is_training=False):
    """Turns SQuAD examples into model windows, as google-research/bert's run_squad.py does.

    Contexts are tokenized whole, and each piece keeps the characters it
    covers (`context_pieces`, what the served signature answers with too):
    WordPiece's own characters, so an answer inside unspaced text (Chinese,
    or "Pad" of "ThinkPad") is an exact span. The contexts of all distinct
    examples and all questions are tokenized in a few large calls.
    The question keeps its first `max_query_length` pieces. The context
    pieces are covered by windows of the room left beside the family's
    special tokens, each starting `doc_stride` pieces after the previous
    one. The gold answer span is the tightest piece span covering its
    characters (the original's `_improve_answer_span`, done on character
    offsets; for BPE and SentencePiece what transformers' run_qa computes
    from offset mappings). A gold answer whose text isn't at answer_start in
    the context is counted, one example is logged, and with `is_training`
    the example is left out.

    Args:
        tokenizer: A `keras_bert_zoo.text` tokenizer (`kbz.Tokenizer.from_pretrained`).
        examples: `SquadExample`s.
        max_seq_length: Window length T.
        doc_stride: Pieces between the starts of consecutive windows.
        max_query_length: Most question pieces kept.
        is_training: Leave out examples whose answer isn't found.

    Returns:
        A `SquadFeatures`.
    """
    if doc_stride <= 0:
        raise ValueError(f"doc_stride={doc_stride} must be positive.")
    packer = tokenizer.packer
    window_answer = _tightest_answer if uses_word_pieces(tokenizer) else _run_qa_answer
    contexts = _tokenize_contexts(tokenizer, list({e.context_text: None for e in examples}))
    query_ids, query_splits = tokenize_batched(tokenizer, [e.question_text for e in examples])

    rows = []
    not_found = []
    for index, example in enumerate(examples):
        piece_ids, char_starts, char_ends = contexts[example.context_text]
        answer = None
        if example.answer_texts and not example.is_impossible:
            answer = _answer_pieces(example, char_starts, char_ends)
            if answer is None:
                not_found.append(example)
                if is_training:
                    continue
        query = query_ids[query_splits[index]:query_splits[index + 1]][:max_query_length]
        window_length = max_seq_length - len(query) - packer.num_special_tokens(2)
        if window_length <= 0:
            raise ValueError(f"max_seq_length={max_seq_length} leaves no room for the context after the "
                             f"{len(query)} question pieces of {example.qas_id}; lower max_query_length.")
        window_starts = _window_starts(len(piece_ids), window_length, doc_stride)
        best_window = _max_context_windows(len(piece_ids), window_starts, window_length)
        for window, start in enumerate(window_starts):
            end = min(start + window_length, len(piece_ids))
            rows.append((index, query, start, end, window, best_window, answer))
    if not_found:
        example = not_found[0]
        logging.warning(
            "%d gold answers are not at their answer_start in the context%s; e.g. question %s: %r at %d, "
            "where the context has %r.", len(not_found), " and are left out" if is_training else "",
            example.qas_id, example.answer_texts[0], example.answer_starts[0],
            example.context_text[example.answer_starts[0]:example.answer_starts[0] + len(example.answer_texts[0])])

    shape = (len(rows), max_seq_length)
    features = SquadFeatures(
        input_word_ids=np.zeros(shape, np.int32),
        input_mask=np.zeros(shape, np.int32),
        input_type_ids=np.zeros(shape, np.int32),
        start_positions=np.zeros(len(rows), np.int32),
        end_positions=np.zeros(len(rows), np.int32),
        example_index=np.array([row[0] for row in rows], np.int32),
        token_char_starts=np.full(shape, -1, np.int32),
        token_char_ends=np.full(shape, -1, np.int32),
        token_is_max_context=np.zeros(shape, bool),
        num_answers_not_found=len(not_found))
    for row, (index, query, start, end, window, best_window, answer) in enumerate(rows):
        piece_ids, char_starts, char_ends = contexts[examples[index].context_text]
        for name, values in packer.pack_row([query, piece_ids[start:end]], max_seq_length).items():
            getattr(features, name)[row] = values
        offset = packer.segment_starts([len(query), end - start])[1]
        features.token_char_starts[row, offset:offset + end - start] = char_starts[start:end]
        features.token_char_ends[row, offset:offset + end - start] = char_ends[start:end]
        features.token_is_max_context[row, offset:offset + end - start] = best_window[start:end] == window
        pieces = None if answer is None else window_answer(answer, char_starts, char_ends, start, end)
        if pieces is not None:
            features.start_positions[row] = pieces[0] - start + offset
            features.end_positions[row] = pieces[1] - start + offset
    return features


def _tokenize_contexts(tokenizer, contexts):
    """{context: (piece ids, piece char starts, piece char ends)}: `context_pieces`' byte spans as characters."""
    values, splits = in_batches(
        lambda batch: dict(zip(("ids", "starts", "ends"), context_pieces(tokenizer, tf.constant(batch, tf.string)))),
        contexts)
    result = {}
    for context, first, last in zip(contexts, splits[:-1], splits[1:]):
        encoded = np.frombuffer(context.encode("utf-8"), np.uint8)
        # Characters before each byte offset; the spans start and end on character boundaries.
        chars_before = np.concatenate([[0], np.cumsum((encoded & 0xC0) != 0x80)]).astype(np.int32)
        result[context] = (values["ids"][first:last].astype(np.int32), chars_before[values["starts"][first:last]],
                           chars_before[values["ends"][first:last]])
    return result


def _answer_pieces(example, char_starts, char_ends):
    """Where the first gold answer lies among the context pieces, or None if it isn't at answer_start.

    Returns:
        A dict: "chars", the answer's (start, end) characters; "tightest", the
        first and last pieces overlapping it; "run_qa", the last piece starting
        at or before its start and the first ending at or after its end
        (piece offsets never decrease, so sorted searches find them).
    """
    text, start = example.answer_texts[0], example.answer_starts[0]
    end = start + len(text)
    if start < 0 or example.context_text[start:end] != text:
        return None
    overlapping = np.flatnonzero((char_ends > start) & (char_starts < end))
    if not len(overlapping):
        return None  # Only whitespace or characters the tokenizer drops.
    return {"chars": (start, end), "tightest": (overlapping[0], overlapping[-1]),
            "run_qa": (np.searchsorted(char_starts, start, side="right") - 1, np.searchsorted(char_ends, end))}


def _tightest_answer(answer, char_starts, char_ends, window_start, window_end):
    """The answer's (first, last) pieces in a window, as google-research/bert's run_squad: the tightest
    span, if the window holds it; else None."""
    first, last = answer["tightest"]
    return (first, last) if window_start <= first and last < window_end else None


def _run_qa_answer(answer, char_starts, char_ends, window_start, window_end):
    """The answer's (first, last) pieces in a window, as transformers' run_qa (prepare_train_features) labels it.

    The window must cover the answer's characters; its last piece starting
    at or before the answer and its first piece ending at or after it are
    the span. Where those cross (an answer within one character whose bytes
    are several tokens), they are swapped, which gives the tightest span.
    """
    start, end = answer["chars"]
    if not (char_starts[window_start] <= start and char_ends[window_end - 1] >= end):
        return None
    first, last = answer["run_qa"]
    first, last = min(first, window_end - 1), max(last, window_start)
    return (first, last) if first <= last else (last, first)


def _window_starts(num_pieces, window_length, doc_stride):
    """First piece of each window: every doc_stride pieces until a window reaches the end."""
    starts = [0]
    while starts[-1] + window_length < num_pieces:
        starts.append(starts[-1] + min(window_length, doc_stride))
    return starts


def _max_context_windows(num_pieces, window_starts, window_length):
    """For each piece, the first window giving it the most context.

    A piece's context in a window is min(pieces left of it, pieces right of
    it) + 0.01 * window length, as the original's `_check_is_max_context`.
    """
    best_score = np.full(num_pieces, -np.inf)
    best_window = np.zeros(num_pieces, np.int32)
    for window, start in enumerate(window_starts):
        end = min(start + window_length, num_pieces)
        positions = np.arange(start, end)
        score = np.minimum(positions - start, end - 1 - positions) + 0.01 * (end - start)
        better = score > best_score[start:end]
        best_score[start:end][better] = score[better]
        best_window[start:end][better] = window
    return best_window
