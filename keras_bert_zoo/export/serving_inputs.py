"""In-graph preparation of raw serving text: words with byte offsets, and their WordPieces."""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_zoo.text.bert_char_classes import char_classes

def split_words_with_offsets(texts):
    """Splits texts [B] into words as the reference basic tokenizer does, with byte offsets.

    Whitespace separates words; each punctuation character and CJK ideograph
    is a word of its own. Offsets index the input bytes, so clients can cut
    the words out of what they sent.

    Returns:
        (words, starts, ends): RaggedTensors [B, (W)]; a word is texts[b][start:end].
    """
    classes = char_classes()
    # tf-text's splitter stops at NUL bytes; a same-length stand-in keeps the offsets.
    _, starts, ends = tf_text.regex_split_with_offsets(
        tf.strings.regex_replace(texts, r"\x00", "\x01"),
        delim_regex_pattern=f"{classes['whitespace']}+|{classes['punctuation']}|{classes['cjk']}",
        keep_delim_regex_pattern=f"{classes['punctuation']}|{classes['cjk']}",
    )
    return _cut(texts, starts, ends)


def split_characters_with_offsets(texts):
    """Splits texts [B] into characters, each a word, with byte offsets; whitespace separates and is no word.

    As a character-tagged CoNLL file reads (one character a line): CJK,
    punctuation, digits and Latin letters alike, full-width ones too ("１９９８"
    is four words). Whitespace is what Python's `str.split()` splits on.
    Invalid UTF-8 bytes are words of one byte each.

    Returns:
        (words, starts, ends): RaggedTensors [B, (W)]; a word is texts[b][start:end].
    """
    whitespace = char_classes()["whitespace"]
    character = "[^" + whitespace[1:]
    _, starts, ends = tf_text.regex_split_with_offsets(
        tf.strings.regex_replace(texts, r"\x00", "\x01"),
        delim_regex_pattern=f"{whitespace}+|{character}", keep_delim_regex_pattern=character)
    return _cut(texts, starts, ends)


def _cut(texts, starts, ends):
    """(words, starts, ends): the words that the byte offsets [B, (W)] cut from texts [B]."""
    words = tf.strings.substr(tf.gather(texts, starts.value_rowids()), starts.flat_values,
                              ends.flat_values - starts.flat_values)
    return starts.with_flat_values(words), starts, ends


def word_pieces(tokenizer, words, max_pieces_per_word=None):
    """Token ids of each word as in running text, never empty: a word that normalizes to nothing becomes [UNK].

    Args:
        tokenizer: A tokenizer of `keras_bert_zoo.text`.
        words: RaggedTensor [B, (W)] of words.
        max_pieces_per_word: Keep at most this many pieces of a word.

    Returns:
        RaggedTensor [B, (W), (P)] of int32 ids.
    """
    pieces = tokenizer.tokenize_words(words.flat_values)
    if max_pieces_per_word:
        pieces = pieces[:, :max_pieces_per_word]
    lengths = pieces.row_lengths()
    count = tf.size(lengths, out_type=tf.int64)
    unknown = tf.RaggedTensor.from_row_lengths(tf.fill([count], tf.constant(tokenizer.unk_id, pieces.dtype)),
                                               tf.ones_like(lengths))
    # Row i of `pieces`, or the [UNK] row i where the word has no piece.
    rows = tf.where(lengths == 0, count + tf.range(count), tf.range(count))
    return words.with_flat_values(tf.gather(tf.concat([pieces, unknown], 0), rows))
