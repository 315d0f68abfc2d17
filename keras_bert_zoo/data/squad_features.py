"""SQuAD model inputs: question + context windows (doc stride), answer positions, max-context marks."""

import dataclasses
import logging
import re

import numpy as np

from keras_bert_zoo.data.word_pieces import tokenize_batched, word_pieces

# The original run_squad.py's whitespace: doc tokens are what lies between these.
_DOC_TOKEN = re.compile(r"[^ \t\r\n\u202f]+")


@dataclasses.dataclass
class SquadFeatures:
    """Fixed-length windows `[CLS] question [SEP] context piece span [SEP]` of SQuAD examples.

    Long contexts give several windows, `doc_stride` pieces apart. Each
    context piece records its characters in the example's context, which
    maps any predicted piece span straight back to context text.

    Args:
        input_word_ids: int32 [N, T].
        input_mask: int32 [N, T].
        input_type_ids: int32 [N, T], 1 on the context and its [SEP].
        start_positions: int32 [N], position of the first gold answer's first
            piece; 0 ([CLS]) when the window doesn't hold the whole answer,
            the question is unanswerable, or the answer wasn't found.
        end_positions: int32 [N], the same for its last piece.
        example_index: int32 [N], index of the window's example in the list given.
        token_char_starts: int32 [N, T], first context character of each
            context piece; -1 on [CLS], question, [SEP] and padding.
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

    The context is split into whitespace doc tokens (as the original); the
    doc tokens of all distinct contexts and all questions are tokenized in a
    few large calls. The question keeps its first `max_query_length`
    pieces. The context pieces are covered by windows of the room left,
    each starting `doc_stride` pieces after the previous one. The gold
    answer span is the tightest piece span covering its characters (the
    original's `_improve_answer_span`, done on character offsets). A gold
    answer whose text isn't at answer_start in the context is counted, one
    example is logged, and with `is_training` the example is left out.

    Args:
        tokenizer: A `keras_bert_zoo.text.BertTokenizer`.
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
    contexts = _tokenize_contexts(tokenizer, {e.context_text: None for e in examples})
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
        if answer is not None and start <= answer[0] and answer[1] < end:
            features.start_positions[row] = answer[0] - start + offset
            features.end_positions[row] = answer[1] - start + offset
    return features


def _tokenize_contexts(tokenizer, contexts):
    """{context: (piece ids, piece char starts, piece char ends)}, offsets into the context."""
    token_spans = [[m.span() for m in _DOC_TOKEN.finditer(context)] for context in contexts]
    doc_tokens = [context[s:e] for context, spans in zip(contexts, token_spans) for s, e in spans]
    pieces = word_pieces(tokenizer, doc_tokens)
    if pieces.num_unaligned_words:
        logging.info("%d context words could not be aligned character by character; their pieces span "
                     "the whole word.", pieces.num_unaligned_words)
    token_starts = np.array([s for spans in token_spans for s, _ in spans], np.int32)
    piece_token_starts = np.repeat(token_starts, np.diff(pieces.splits))
    char_starts = pieces.char_starts + piece_token_starts
    char_ends = pieces.char_ends + piece_token_starts
    result = {}
    token_offset = 0
    for context, spans in zip(contexts, token_spans):
        first, last = pieces.splits[token_offset], pieces.splits[token_offset + len(spans)]
        result[context] = (pieces.ids[first:last], char_starts[first:last], char_ends[first:last])
        token_offset += len(spans)
    return result


def _answer_pieces(example, char_starts, char_ends):
    """(first, last) context pieces of the first gold answer, or None if it isn't at answer_start."""
    text, start = example.answer_texts[0], example.answer_starts[0]
    end = start + len(text)
    if start < 0 or example.context_text[start:end] != text:
        return None
    overlapping = np.flatnonzero((char_ends > start) & (char_starts < end))
    if not len(overlapping):
        return None  # Only whitespace or characters the tokenizer drops.
    return overlapping[0], overlapping[-1]


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
