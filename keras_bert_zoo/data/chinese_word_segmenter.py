"""Chinese words for whole-word masking, marked on BERT's character-level ids (as Chinese-BERT-wwm)."""

import multiprocessing
import os
import re
import sys
import unicodedata
import weakref

import numpy as np

from keras_bert_zoo.data.pretraining_corpus import concatenate_ranges
from keras_bert_zoo.text.bert_char_classes import python_patterns
from keras_bert_zoo.text.bert_tokenizer import BertTokenizer

# Segmenters that --chinese_word_segmenter names.
CHINESE_WORD_SEGMENTERS = ("jieba",)

# What a forked worker segments with: set by the pool's initializer from the parent's loaded segmenter.
_worker_segmenter = None


def _chinese_words(cut, chinese_word, texts):
    """(starts, ends): character offsets, in the texts joined, of the words of two or more CJK ideographs.

    Args:
        cut: cut(text) -> the segmenter's words, which cover the text in order.
        chinese_word: The compiled pattern of a run of CJK ideographs.
        texts: The texts.
    """
    starts, ends = [], []
    offset = 0
    for text in texts:
        for word in cut(text):
            if len(word) > 1 and chinese_word.fullmatch(word):
                starts.append(offset)
                ends.append(offset + len(word))
            offset += len(word)
    return np.asarray(starts, np.int64), np.asarray(ends, np.int64)


def _set_worker_segmenter(segmenter):
    global _worker_segmenter
    _worker_segmenter = segmenter


def _worker_chinese_words(texts):
    return _chinese_words(_worker_segmenter._jieba.cut, _worker_segmenter._chinese_word, texts)


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

    jieba is pure Python and most of whole-word masking's cost, so more than
    `sentences_per_task` sentences are segmented by `num_processes` forked
    workers, `sentences_per_task` at a time; the marks are the same bytes for
    any number of them. jieba's HMM for unknown words stays on: LTP, which
    Chinese-BERT-wwm and run_chinese_ref.py segment with, is a learnt
    segmenter that keeps unseen names and terms whole too.

    Args:
        name: The segmenter, one of CHINESE_WORD_SEGMENTERS.
        num_processes: Processes that segment; default: the CPUs this process
            may run on. 1, or a platform without fork: this process alone.
        sentences_per_task: Sentences a worker segments per task.

    Raises:
        ValueError: An unknown name.
        ImportError: The segmenter isn't installed; the message says how to install it.
    """

    def __init__(self, name="jieba", num_processes=None, sentences_per_task=2048):
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
        if num_processes is None:
            num_processes = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        # Workers are forked: they inherit the loaded dictionary and import nothing (spawned ones would import
        # TensorFlow with this package).
        self._num_processes = num_processes if "fork" in multiprocessing.get_all_start_methods() else 1
        self._sentences_per_task = sentences_per_task
        self._pool = None

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
        joined = "".join(texts)
        starts, ends = self._segment(texts)
        in_vocab = np.array([characters.issuperset(joined[start:end]) for start, end in zip(starts, ends)], bool)
        codes = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
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
        size = self._sentences_per_task
        if self._num_processes < 2 or len(texts) <= size:
            return _chinese_words(self._jieba.cut, self._chinese_word, texts)
        if self._pool is None:
            self._jieba.initialize()  # Loaded once here, inherited by every worker.
            self._pool = multiprocessing.get_context("fork").Pool(
                self._num_processes, initializer=_set_worker_segmenter, initargs=(self,))
            weakref.finalize(self, self._pool.terminate)
        chunks = [texts[first:first + size] for first in range(0, len(texts), size)]
        offsets = np.cumsum([0] + [sum(map(len, chunk)) for chunk in chunks])
        spans = self._pool.map(_worker_chinese_words, chunks)  # In order, whichever worker finished first.
        return tuple(np.concatenate([np.zeros([0], np.int64)] + [part[i] + offset for part, offset in
                                                                 zip(spans, offsets)]) for i in (0, 1))

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
