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
    return _cut(texts, starts, ends)


def split_characters_with_offsets(texts):
    """Splits texts [B] into characters, each a word, with byte offsets; whitespace separates and is no word.

    As a character-tagged CoNLL file reads (one character a line): CJK,
    punctuation, digits and Latin letters alike, full-width ones too ("１９９８"
    is four words). Whitespace is what Python's `str.split()` splits on.
    Invalid UTF-8 bytes make words of their own.

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
