"""Words of raw text with their byte offsets: the reference basic tokenizer's words, or characters."""

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
    return cut_words(texts, starts, ends)


def split_characters_with_offsets(texts):
    """Splits texts [B] into characters, each a word, with byte offsets; whitespace separates and is no word.

    As a character-tagged CoNLL file reads (one character a line): CJK,
    punctuation, digits and Latin letters alike, full-width ones too ("１９９８"
    is four words). Whitespace is what Python's `str.split()` splits on.
    An invalid UTF-8 byte is a word of its own.

    Returns:
        (words, starts, ends): RaggedTensors [B, (W)]; a word is texts[b][start:end].
    """
    # Decoding gives every character's first byte; invalid bytes decode to U+FFFD one by one.
    _, starts = tf.strings.unicode_decode_with_offsets(texts, "UTF-8", errors="replace")
    # A character ends where the next one starts, the last one with its text.
    rows, flat_starts = starts.value_rowids(), starts.flat_values
    is_last = tf.range(tf.size(flat_starts, out_type=tf.int64)) == tf.gather(starts.row_limits(), rows) - 1
    text_ends = tf.gather(tf.cast(tf.strings.length(texts), tf.int64), rows)
    ends = starts.with_flat_values(tf.where(is_last, text_ends, tf.concat([flat_starts[1:], [0]], 0)))
    characters, _, _ = cut_words(texts, starts, ends)
    keep = ~tf.strings.regex_full_match(characters.flat_values, char_classes()["whitespace"])
    starts, ends = (tf.ragged.boolean_mask(offsets, characters.with_flat_values(keep)) for offsets in (starts, ends))
    return cut_words(texts, starts, ends)


def cut_words(texts, starts, ends):
    """(words, starts, ends): the words that byte offsets [B, (W)] cut from texts [B].

    Bytes are gathered from one split of the texts, not a substring of a
    copy of its text per word, so the cost grows with the bytes, not with
    words times text length.
    """
    text_bytes = tf.strings.bytes_split(texts)
    base = tf.gather(text_bytes.row_starts(), starts.value_rowids())
    word_bytes = tf.gather(text_bytes.flat_values,
                           tf.ragged.range(base + starts.flat_values, base + ends.flat_values))
    return starts.with_flat_values(tf.strings.reduce_join(word_bytes, axis=-1)), starts, ends
