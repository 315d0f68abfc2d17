"""The reference BERT "basic tokenizer" as TF ops: clean, split CJK and punctuation, lower-case."""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_zoo.text.bert_char_classes import char_classes


class BertTextNormalizer(tf.Module):
    """Splits texts into the words that the reference tokenizer WordPiece's.

    Follows HF's Python `BasicTokenizer` (google-research's tokenization.py
    plus NFC): drops control characters, makes each CJK ideograph and each
    punctuation character a word, and with `lower_case` lower-cases (Python's
    full `str.lower`, final sigma included) and strips accents by NFD. The
    character classes come from Python's `unicodedata`, as the reference's do.
    Invalid UTF-8 is read with U+FFFD replacement, which is then dropped.

    Args:
        lower_case: Whether to lower-case and strip accents.
    """

    def __init__(self, lower_case=True):
        super().__init__(name="bert_text_normalizer")
        self.lower_case = bool(lower_case)
        self._classes = char_classes()

    def words(self, texts):
        """Words of texts [B] as a RaggedTensor [B, (words)] of UTF-8 strings."""
        classes = self._classes
        texts = tf.strings.unicode_transcode(
            texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)
        texts = tf.strings.regex_replace(texts, classes["control"], "")
        texts = tf.strings.regex_replace(texts, classes["cjk"], r" \0 ")
        texts = tf_text.normalize_utf8(texts, "NFC")
        if self.lower_case:
            # ICU's full lower-casing, like Python's str.lower (final sigma included).
            texts = tf.strings.lower(texts, encoding="utf-8")
            texts = tf_text.normalize_utf8(texts, "NFD")
            texts = tf.strings.regex_replace(texts, classes["nonspacing_mark"], "")
        texts = tf.strings.regex_replace(texts, classes["punctuation"], r" \0 ")
        # split() itself splits on ASCII whitespace (and drops the empty words), so only
        # the rest is replaced: far fewer matches than rewriting every space.
        texts = tf.strings.regex_replace(texts, classes["non_ascii_whitespace"], " ")
        return tf.strings.split(texts)
