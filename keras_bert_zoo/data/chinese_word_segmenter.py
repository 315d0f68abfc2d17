"""Chinese words for whole-word masking, marked on BERT's character-level ids (as Chinese-BERT-wwm)."""

import re
import sys
import unicodedata

import numpy as np

from keras_bert_zoo.data.jieba_word_spans import JiebaWordSpans
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

    jieba's cut is pure Python, at about 2.3 us a character most of whole-word
    masking's cost: `JiebaWordSpans` runs the same segmentation, from the
    same jieba dictionary and HMM, vectorized (5x fewer CPU-seconds on the
    Chinese corpus, the same words). jieba's HMM for unknown words stays on:
    LTP, which Chinese-BERT-wwm and run_chinese_ref.py segment with, is a
    learnt segmenter that keeps unseen names and terms whole too.

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
        self._spans = None
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
        is_character_token, is_character_code = self._vocab_characters(tokenizer)
        # The tokenizer's NFC maps CJK compatibility ideographs one to one onto unified ones (in the vocab).
        texts = [unicodedata.normalize("NFC", sentence) for sentence in sentences]
        joined = "".join(texts)
        starts, ends = self._segment(texts)
        codes = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
        in_vocab_before = np.concatenate([[0], np.cumsum(is_character_code[codes])])
        in_vocab = in_vocab_before[ends] - in_vocab_before[starts] == ends - starts
        continues = np.zeros(len(codes), bool)
        # The later characters of grouped words continue them.
        continues[concatenate_ranges(starts[in_vocab] + 1, ends[in_vocab])] = True
        continues = continues[is_character_code[codes]]  # One per in-vocab CJK character, in order.
        # Each in-vocab CJK ideograph is one word of BERT's, one token; no other word has CJK characters.
        positions = np.flatnonzero(is_character_token[token_ids])
        if len(positions) != len(continues):
            raise RuntimeError(f"{len(continues)} CJK characters of the text in the vocab, but {len(positions)} "
                               "such tokens: the tokenizer splits the text unlike BERT's.")
        marks = np.zeros(len(token_ids), bool)
        marks[positions] = continues
        return marks

    def _segment(self, texts):
        """(starts, ends) of the words of two or more CJK ideographs in the texts joined, in order."""
        if self._spans is None:
            self._spans = JiebaWordSpans(self._jieba)
        return self._spans.spans(texts)

    def _vocab_characters(self, tokenizer):
        """The vocab's CJK ideographs, cached per vocab: bool [vocab_size] by token and bool by code point.

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
            is_code = np.zeros(sys.maxunicode + 1, bool)
            is_code[[ord(vocab[i]) for i in np.flatnonzero(is_token)]] = True
            self._vocab, self._tables = vocab, (is_token, is_code)
        return self._tables
