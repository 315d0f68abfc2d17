"""Chinese words for whole-word masking, marked on BERT's character-level ids (as Chinese-BERT-wwm)."""

import unicodedata

import numpy as np

from keras_bert_zoo.text.bert_char_classes import python_patterns
from keras_bert_zoo.text.bert_tokenizer import BertTokenizer

# Segmenters that --chinese_word_segmenter names.
CHINESE_WORD_SEGMENTERS = ("jieba",)


class ChineseWordSegmenter:
    """Marks the characters that continue a segmented Chinese word, for `MaskedLmMasker`.

    BERT's tokenizer makes every CJK ideograph a word of its own, so whole-word
    masking alone masks Chinese one character at a time. Chinese-BERT-wwm
    segments the text into words with an external segmenter and masks all
    characters of a word together; Hugging Face's run_chinese_ref.py marks a
    word's non-initial characters as "##"-like for its collator. This does the
    same with jieba (its default dictionary and HMM for unknown words, jieba's
    own defaults; deterministic), one line at a time: the marks are data
    beside the ids, which stay the tokenizer's.

    A jieba word is grouped when it has two or more characters, all of them CJK
    ideographs in the vocab (as run_chinese_ref.py, only all-Chinese words:
    Latin words and digits keep WordPiece's own "##" grouping, and a word with
    an [UNK] character is masked character by character).

    Args:
        name: The segmenter, one of CHINESE_WORD_SEGMENTERS.

    Raises:
        ValueError: An unknown name.
        ImportError: The segmenter isn't installed; the message says how to install it.
    """

    def __init__(self, name="jieba"):
        if name not in CHINESE_WORD_SEGMENTERS:
            raise ValueError(f"chinese_word_segmenter={name}: one of {', '.join(CHINESE_WORD_SEGMENTERS)}.")
        try:
            import jieba
        except ImportError as e:
            raise ImportError(f"chinese_word_segmenter={name} needs jieba, which is not installed: "
                              "pip install jieba (or pip install keras-bert-zoo[chinese]).") from e
        self.name = name
        self._jieba = jieba.Tokenizer()  # Its own instance of the default dictionary, loaded on first use.
        self._cjk = python_patterns()["cjk"]
        self._vocab, self._tables = None, None

    def word_continuations(self, sentences, token_ids, tokenizer):
        """bool [tokens]: the tokens that continue a segmented Chinese word, whatever their id.

        Args:
            sentences: Texts, as tokenized.
            token_ids: int [tokens] the WordPiece ids of all `sentences`, in order.
            tokenizer: The `BertTokenizer` that made `token_ids`.

        Raises:
            ValueError: The tokenizer isn't WordPiece, whose CJK ideographs are tokens of their own.
        """
        is_character, characters = self._vocab_characters(tokenizer)
        continues = []  # One per in-vocab CJK character of the text, in order.
        for sentence in sentences:
            # The tokenizer's NFC maps CJK compatibility ideographs one to one onto unified ones (in the vocab).
            for word in self._jieba.cut(unicodedata.normalize("NFC", sentence)):
                cjk = self._cjk.findall(word)
                if not cjk:
                    continue
                known = [char in characters for char in cjk]
                if len(cjk) == len(word) > 1 and all(known):
                    continues.append(False)
                    continues.extend([True] * (len(cjk) - 1))
                else:
                    continues.extend([False] * sum(known))
        # Each in-vocab CJK ideograph is one word of BERT's, one token; no other word has CJK characters.
        positions = np.flatnonzero(is_character[token_ids])
        if len(positions) != len(continues):
            raise RuntimeError(f"{len(continues)} CJK characters of the text in the vocab, but {len(positions)} "
                               "such tokens: the tokenizer splits the text unlike BERT's.")
        marks = np.zeros(len(token_ids), bool)
        marks[positions] = continues
        return marks

    def _vocab_characters(self, tokenizer):
        """(bool [vocab_size] whether a token is one CJK ideograph, the set of those tokens), cached per vocab."""
        if not isinstance(tokenizer, BertTokenizer):
            raise ValueError(f"chinese_word_segmenter={self.name} needs a WordPiece (BERT) vocab, whose Chinese "
                             f"characters are tokens of their own, not a {type(tokenizer).__name__}.")
        if self._vocab is not tokenizer.vocab:
            vocab = tokenizer.vocab
            is_character = np.array([len(token) == 1 and self._cjk.match(token) is not None for token in vocab], bool)
            self._vocab, self._tables = vocab, (is_character, {vocab[i] for i in np.flatnonzero(is_character)})
        return self._tables
