"""Chinese words for whole-word masking, marked on BERT's character-level ids (as Chinese-BERT-wwm)."""

import re
import sys
import unicodedata

import numpy as np

from keras_bert_zoo.data.pretraining_corpus import concatenate_ranges
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
        self._chinese_word = re.compile(python_patterns()["cjk"].pattern + "+")
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
        is_character_token, is_character_code, characters = self._vocab_characters(tokenizer)
        # The tokenizer's NFC maps CJK compatibility ideographs one to one onto unified ones (in the vocab).
        texts = [unicodedata.normalize("NFC", sentence) for sentence in sentences]
        starts, ends = [], []  # Character offsets in the joined texts of the later characters of grouped words.
        text_start = 0
        for text in texts:
            word_start = text_start
            for word in self._jieba.cut(text):  # The words cover the text, in order.
                if len(word) > 1 and self._chinese_word.fullmatch(word) and characters.issuperset(word):
                    starts.append(word_start + 1)
                    ends.append(word_start + len(word))
                word_start += len(word)
            text_start += len(text)
        codes = np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32)
        continues = np.zeros(len(codes), bool)
        continues[concatenate_ranges(np.asarray(starts, np.int64), np.asarray(ends, np.int64))] = True
        continues = continues[is_character_code[codes]]  # One per in-vocab CJK character, in order.
        # Each in-vocab CJK ideograph is one word of BERT's, one token; no other word has CJK characters.
        positions = np.flatnonzero(is_character_token[token_ids])
        if len(positions) != len(continues):
            raise RuntimeError(f"{len(continues)} CJK characters of the text in the vocab, but {len(positions)} "
                               "such tokens: the tokenizer splits the text unlike BERT's.")
        marks = np.zeros(len(token_ids), bool)
        marks[positions] = continues
        return marks

    def _vocab_characters(self, tokenizer):
        """The vocab's CJK ideographs, cached per vocab: bool [vocab_size] by token, bool by code point, and a set.

        Raises:
            ValueError: The tokenizer isn't WordPiece.
        """
        if not isinstance(tokenizer, BertTokenizer):
            raise ValueError(f"chinese_word_segmenter={self.name} needs a WordPiece (BERT) vocab, whose Chinese "
                             f"characters are tokens of their own, not a {type(tokenizer).__name__}.")
        if self._vocab is not tokenizer.vocab:
            vocab = tokenizer.vocab
            is_token = np.array([len(token) == 1 and self._chinese_word.fullmatch(token) is not None
                                 for token in vocab], bool)
            characters = {vocab[i] for i in np.flatnonzero(is_token)}
            is_code = np.zeros(sys.maxunicode + 1, bool)
            is_code[[ord(char) for char in characters]] = True
            self._vocab, self._tables = vocab, (is_token, is_code, characters)
        return self._tables
