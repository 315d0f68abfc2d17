"""Token-classification (NER) model inputs: word-aligned labels, windows for long sentences."""

import dataclasses
import logging

import numpy as np

from keras_bert_zoo.data.word_pieces import tokenize_batched

# Label id of positions the loss ignores (as Hugging Face's -100): every piece
# but a word's first, [CLS], [SEP], padding, and all of unlabeled data.
IGNORE_LABEL_ID = -100


@dataclasses.dataclass
class NerFeatures:
    """Fixed-length arrays of NER windows, and where each word's prediction sits.

    Each window is `[CLS] pieces [SEP]` padding, N windows of length T. The
    first piece of every word carries the word's tag; the loss must skip the
    other positions: `labels` is IGNORE_LABEL_ID (-100) there and
    `label_weights` 0. A loss that can't take -100 (Keras' sparse
    cross-entropy) should use `np.maximum(labels, 0)` with `label_weights`
    as sample weights. Every word is in exactly one window.

    Args:
        input_word_ids: int32 [N, T].
        input_mask: int32 [N, T], 1 on [CLS], pieces and [SEP].
        input_type_ids: int32 [N, T], all 0.
        labels: int32 [N, T] tag ids at first pieces, IGNORE_LABEL_ID elsewhere.
        label_weights: float32 [N, T], 1.0 at first pieces, else 0.
        sentence_index: int32 [N], the sentence each window comes from.
        word_index: int32 [N, T], the word (index in its sentence) whose first
            piece is at that position, else -1.
        sentence_lengths: int32 [S], words per sentence.
        label_names: Tag names in id order.
    """

    input_word_ids: np.ndarray
    input_mask: np.ndarray
    input_type_ids: np.ndarray
    labels: np.ndarray
    label_weights: np.ndarray
    sentence_index: np.ndarray
    word_index: np.ndarray
    sentence_lengths: np.ndarray
    label_names: list

    def __len__(self):
        return len(self.input_word_ids)

    def model_inputs(self):
        """Dict of the three int32 [N, T] encoder inputs."""
        return {"input_word_ids": self.input_word_ids, "input_mask": self.input_mask,
                "input_type_ids": self.input_type_ids}

    def training_labels(self):
        """The labels of `TokenClassificationObjective`: {"labels", "label_weights"}, each [N, T]."""
        return {"labels": self.labels, "label_weights": self.label_weights}

    def word_tags(self, predictions):
        """Maps window predictions back to one tag per original word.

        Args:
            predictions: int [N, T] tag ids, or float [N, T, C] logits or
                probabilities (arg-maxed).

        Returns:
            A list of sentences, each the list of its words' tag names.
        """
        predictions = np.asarray(predictions)
        if predictions.ndim == 3:
            predictions = predictions.argmax(-1)
        if predictions.shape != self.word_index.shape:
            raise ValueError(f"predictions {predictions.shape} don't match the windows {self.word_index.shape}.")
        sentence_starts = np.concatenate([[0], np.cumsum(self.sentence_lengths)])
        rows, positions = np.nonzero(self.word_index >= 0)
        word_tag_ids = np.full(sentence_starts[-1], -1, np.int64)
        word_tag_ids[sentence_starts[self.sentence_index[rows]] + self.word_index[rows, positions]] = (
            predictions[rows, positions])
        names = np.array(self.label_names, object)[word_tag_ids]
        return [names[start:end].tolist() for start, end in zip(sentence_starts[:-1], sentence_starts[1:])]


def ner_features(tokenizer, sentences, tags, label_names, max_seq_length):
    """Tokenizes sentences of words into NER windows with word-aligned labels.

    All words of all sentences go through the tokenizer in a few large
    calls. A word that yields no piece (control or zero-width characters
    only) becomes [UNK], so every word has a first piece and a prediction.
    Sentences longer than a window are cut into consecutive windows at word
    boundaries by `window_layout`'s rule, the one the served signature
    follows, so both tag every word in the same context; a word keeps at
    most a quarter of a window's pieces (its tag is on the first, so no
    word loses its prediction; this is logged).

    Args:
        tokenizer: A `keras_bert_zoo.text.BertTokenizer`.
        sentences: Lists of words (e.g. from `read_conll_file`).
        tags: Matching lists of tags, or None for unlabeled data.
        label_names: Tag names in id order (e.g. `ner_label_names` of the
            training tags); a tag outside them raises ValueError.
        max_seq_length: Window length T, at least 3.

    Returns:
        An `NerFeatures`.
    """
    packer = tokenizer.packer
    budget = max_seq_length - packer.num_special_tokens(1)
    if budget < 1:
        raise ValueError(f"max_seq_length={max_seq_length} leaves no room for a word next to the special tokens.")
    sentence_lengths = np.array([len(words) for words in sentences], np.int32)
    sentence_starts = np.concatenate([[0], np.cumsum(sentence_lengths)])
    tag_ids = None if tags is None else _tag_ids(tags, label_names, sentence_lengths)
    ids, splits = tokenize_batched(tokenizer, [word for words in sentences for word in words], words=True)
    piece_counts = np.diff(splits)
    max_pieces, stride = window_layout(budget)
    if (piece_counts > max_pieces).any():
        logging.warning("%d words have more than %d pieces; their windows keep their first %d pieces.",
                        (piece_counts > max_pieces).sum(), max_pieces, max_pieces)
    window_counts = np.clip(piece_counts, 1, max_pieces)  # An empty word becomes one [UNK].

    # A word goes to the window of its first piece's offset in its sentence, integer-divided by the stride.
    word_sentence = np.repeat(np.arange(len(sentences)), sentence_lengths)
    piece_ends = np.cumsum(window_counts)
    first_piece = piece_ends - window_counts - np.concatenate([[0], piece_ends])[sentence_starts[:-1]][word_sentence]
    key = np.stack([word_sentence, first_piece // stride], axis=1)
    starts_window = np.ones(len(key), bool)
    starts_window[1:] = (key[1:] != key[:-1]).any(axis=1)
    window_starts = np.flatnonzero(starts_window)
    window_ends = np.append(window_starts[1:], len(key))
    # (sentence, first word, end word), words numbered across sentences.
    windows = [(word_sentence[first], first, end) for first, end in zip(window_starts, window_ends)]

    shape = (len(windows), max_seq_length)
    inputs = {name: np.zeros(shape, np.int32) for name in ("input_word_ids", "input_mask", "input_type_ids")}
    labels = np.full(shape, IGNORE_LABEL_ID, np.int32)
    word_index = np.full(shape, -1, np.int32)
    for row, (sentence, first, end) in enumerate(windows):
        segment = np.concatenate([ids[splits[word]:splits[word + 1]][:max_pieces] if piece_counts[word] else
                                  [tokenizer.unk_id] for word in range(first, end)])
        for name, values in packer.pack_row([segment], max_seq_length).items():
            inputs[name][row] = values
        counts = window_counts[first:end]
        first_pieces = packer.segment_starts([len(segment)])[0] + np.cumsum(counts) - counts
        word_index[row, first_pieces] = np.arange(first, end) - sentence_starts[sentence]
        if tag_ids is not None:
            labels[row, first_pieces] = tag_ids[first:end]
    return NerFeatures(
        **inputs,
        labels=labels,
        label_weights=(word_index >= 0).astype(np.float32),
        sentence_index=np.array([window[0] for window in windows], np.int32),
        word_index=word_index,
        sentence_lengths=sentence_lengths,
        label_names=list(label_names))


def window_layout(budget):
    """How NER cuts sentences into windows of `budget` pieces: (max pieces per word, stride).

    A word keeps at most `max pieces` (a quarter of the room, at least one).
    A window holds the words whose first piece, counted from the sentence
    start, lies in one `stride`-long stretch; the last of them starts at
    most stride - 1 pieces after the first, so with its pieces the window
    fits. The rule needs no scan over the words, so the served signature
    computes the same windows in the graph.
    """
    max_pieces = max(1, budget // 4)
    return max_pieces, budget - max_pieces + 1


def _tag_ids(tags, label_names, sentence_lengths):
    """Flat int32 tag ids of all words; ValueError on a length mismatch or an unknown tag."""
    if len(tags) != len(sentence_lengths):
        raise ValueError(f"{len(sentence_lengths)} sentences but {len(tags)} tag sequences.")
    ids = {name: i for i, name in enumerate(label_names)}
    flat = []
    for sentence, (sentence_tags, length) in enumerate(zip(tags, sentence_lengths)):
        if len(sentence_tags) != length:
            raise ValueError(f"Sentence {sentence} has {length} words but {len(sentence_tags)} tags.")
        unknown = [tag for tag in sentence_tags if tag not in ids]
        if unknown:
            raise ValueError(f"Sentence {sentence}: tag {unknown[0]!r} is not one of the label names {label_names}.")
        flat.extend(ids[tag] for tag in sentence_tags)
    return np.array(flat, np.int32)
