"""WordPiece tokenization of many texts per tokenizer call, and each piece's characters in its word."""

import dataclasses
import re
import unicodedata

import numpy as np

# Strings per tokenizer call: large batches are fast; the bound caps one call's memory.
_TOKENIZE_BATCH = 16384
# Words of these characters only normalize one character to one (at most lower-cased).
_PLAIN_ASCII = re.compile(r"[!-~]*")


def tokenize_batched(tokenizer, texts, words=False):
    """Token ids of many texts, a few large tokenizer calls in all.

    Args:
        tokenizer: A tokenizer of `keras_bert_zoo.text`.
        texts: A list of strings.
        words: The texts are words of running text (`tokenizer.tokenize_words`).

    Returns:
        (ids, splits): int32 [P] ids of all texts in order, and int64
        [len(texts) + 1] offsets; text i has ids[splits[i]:splits[i + 1]].
    """
    tokenize = tokenizer.tokenize_words if words else tokenizer.tokenize
    values, splits = in_batches(lambda batch: {"ids": tokenize(batch)}, texts)
    return values["ids"].astype(np.int32), splits


def in_batches(tokenize, texts):
    """Runs `tokenize` on batches of texts and concatenates its outputs.

    Args:
        tokenize: Takes a list of strings to a dict of RaggedTensors [B, (N)]
            with the same row lengths.
        texts: A list of strings.

    Returns:
        (values, splits): {name: NumPy [N] flat values of all texts in
        order}, and int64 [len(texts) + 1] offsets of each text's values.
    """
    values, lengths = {}, [np.zeros([0], np.int64)]
    # At least one call, so that no texts still give every output, empty.
    for start in range(0, max(len(texts), 1), _TOKENIZE_BATCH):
        outputs = tokenize(list(texts[start:start + _TOKENIZE_BATCH]))
        for name, ragged in outputs.items():
            values.setdefault(name, []).append(ragged.flat_values.numpy())
        lengths.append(ragged.row_lengths().numpy())
    return ({name: np.concatenate(parts) for name, parts in values.items()},
            np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64))


@dataclasses.dataclass
class WordPieces:
    """The pieces of many words, stored flat, with their character spans in their word.

    Word w has pieces `ids[splits[w]:splits[w + 1]]` (none when it normalizes
    to nothing, e.g. control characters only). Piece p covers characters
    `[char_starts[p], char_ends[p])` of its word, so accents, CJK and
    punctuation keep their place: "(Café)" -> "(", "cafe", ")" -> spans
    (0, 1), (1, 5), (5, 6). A word whose normalization can't be aligned
    character by character (rare: e.g. Hangul jamo that NFC composes) gives
    every piece the whole word; `num_unaligned_words` counts those.

    Args:
        ids: int32 [P] WordPiece ids.
        splits: int64 [W + 1] piece offsets of words.
        char_starts: int32 [P] first character of each piece in its word.
        char_ends: int32 [P] one past its last character.
        num_unaligned_words: Words whose pieces all span the whole word.
    """

    ids: np.ndarray
    splits: np.ndarray
    char_starts: np.ndarray
    char_ends: np.ndarray
    num_unaligned_words: int = 0


def word_pieces(tokenizer, words):
    """Tokenizes words (whitespace-free strings) and finds each piece's characters.

    The tokenizer's alignment gives each piece's characters in its
    normalized word ([UNK]: the whole word it replaces). Normalizing each
    grapheme (a character and its combining marks) alone with the
    tokenizer's own normalizer tells how many normalized characters each
    grapheme makes; laying the pieces over those counts maps them back to
    the original characters. Plain ASCII words skip this: their characters
    map one to one.

    Args:
        tokenizer: A `keras_bert_zoo.text.BertTokenizer`.
        words: A list of strings, typically whitespace-split tokens.

    Returns:
        A `WordPieces`.
    """
    aligned, splits = in_batches(lambda batch: tokenizer.tokenize_with_alignment(batch, "UTF8_CHAR"), words)
    ids = aligned["ids"]
    piece_lengths = aligned["ends"] - aligned["starts"]
    word_of_piece = np.repeat(np.arange(len(words)), np.diff(splits))
    # Offsets in the word's normalized text, taken as its normalized words joined.
    ends = np.cumsum(piece_lengths)
    starts = ends - piece_lengths
    starts -= np.concatenate([[0], ends])[splits[:-1]][word_of_piece]
    ends = starts + piece_lengths
    char_starts, char_ends = starts.astype(np.int32), ends.astype(np.int32)

    word_lengths = np.array([len(w) for w in words], np.int64)
    piece_total = np.bincount(word_of_piece, weights=piece_lengths, minlength=len(words))
    plain = np.array([bool(_PLAIN_ASCII.fullmatch(w)) for w in words], bool)
    slow = np.flatnonzero(~(plain & (piece_total == word_lengths)))

    normalized_lengths = _normalized_lengths(tokenizer, [words[w] for w in slow])
    num_unaligned = 0
    for w in slow:
        first, last = splits[w], splits[w + 1]
        lengths = piece_lengths[first:last]
        graphemes = _graphemes(words[w])
        if lengths.sum() != sum(normalized_lengths[g] for g in graphemes):
            char_starts[first:last], char_ends[first:last] = 0, len(words[w])
            num_unaligned += last > first
            continue
        grapheme_ends = np.cumsum([normalized_lengths[g] for g in graphemes])
        grapheme_starts = np.cumsum([0] + [len(g) for g in graphemes])
        piece_ends = np.cumsum(lengths)
        # A piece starts at the grapheme holding its first normalized character and ends
        # with the one holding its last, so graphemes that normalize to nothing stay outside.
        first_grapheme = np.searchsorted(grapheme_ends, piece_ends - lengths, side="right")
        last_grapheme = np.searchsorted(grapheme_ends, piece_ends, side="left")
        char_starts[first:last] = grapheme_starts[first_grapheme]
        char_ends[first:last] = grapheme_starts[last_grapheme + 1]
    return WordPieces(ids, splits, char_starts, char_ends, num_unaligned)


def _graphemes(word):
    """Splits a word before every character that is not a combining mark."""
    graphemes = []
    for char in word:
        if graphemes and unicodedata.combining(char):
            graphemes[-1] += char
        else:
            graphemes.append(char)
    return graphemes


def _normalized_words(tokenizer, texts):
    """The tokenizer's normalized words of each text, as lists of str."""
    if not texts:
        return []
    return [[w.decode("utf-8") for w in row] for row in tokenizer.words(texts).to_list()]


def _normalized_lengths(tokenizer, words):
    """{grapheme: number of characters it normalizes to} for the graphemes of `words`."""
    graphemes = sorted({g for word in words for g in _graphemes(word)})
    return {g: sum(map(len, row)) for g, row in zip(graphemes, _normalized_words(tokenizer, graphemes))}
