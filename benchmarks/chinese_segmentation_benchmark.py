"""Chinese word segmentation for whole-word masking: `JiebaWordSpans` against jieba's own `cut`, on the same lines."""

import time

import numpy as np

from benchmarks.report import BenchmarkRow
from keras_bert_zoo.data.jieba_word_spans import JiebaWordSpans

# ChineseWordSegmenter's batches (tokenize_documents' 8,192 sentences).
_BATCH = 8192


def jieba_spans(cut, texts):
    """The spans of `cut`'s words of two or more of jieba's ideographs, in the texts joined."""
    starts, ends, offset = [], [], 0
    for text in texts:
        for word in cut(text):
            if len(word) > 1 and all("\u4e00" <= char <= "\u9fd5" for char in word):
                starts.append(offset)
                ends.append(offset + len(word))
            offset += len(word)
    return np.array(starts, np.int64), np.array(ends, np.int64)


def _batched_spans(spans, texts):
    starts, ends, offset = [], [], 0
    for first in range(0, len(texts), _BATCH):
        batch = texts[first:first + _BATCH]
        batch_starts, batch_ends = spans(batch)
        starts.append(batch_starts + offset)
        ends.append(batch_ends + offset)
        offset += sum(map(len, batch))
    return np.concatenate(starts), np.concatenate(ends)


def benchmark_chinese_segmentation(texts, repeats=1):
    """CPU-seconds of ours and of jieba's `cut` over `texts`, taking turns, and whether the words agree.

    Both run in this process from one loaded jieba dictionary; ours in
    ChineseWordSegmenter's batches of 8,192 lines. CPU time (this process's)
    is what a busy machine doesn't inflate.

    Args:
        texts: Lines of Chinese text.
        repeats: Turns each; the least CPU time of each counts.
    """
    import jieba

    tokenizer = jieba.Tokenizer()
    start = time.process_time()
    tokenizer.initialize()
    load_seconds = time.process_time() - start
    start = time.process_time()
    ours = JiebaWordSpans(tokenizer)
    build_seconds = time.process_time() - start
    runs = {"ours": lambda: _batched_spans(ours.spans, texts), "jieba": lambda: jieba_spans(tokenizer.cut, texts)}
    seconds, words = {name: [] for name in runs}, {}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.process_time()
            words[name] = run()
            seconds[name].append(time.process_time() - start)
    same = all(np.array_equal(a, b) for a, b in zip(words["ours"], words["jieba"]))
    characters = sum(map(len, texts))
    return [BenchmarkRow(
        "Chinese word segmentation (words of two or more ideographs)", "characters per CPU-s",
        characters / min(seconds["ours"]), characters / min(seconds["jieba"]), "jieba Tokenizer.cut (HMM on)",
        dict(lines=len(texts), characters=characters, repeats=repeats),
        f"{len(words['jieba'][0]):,} words from jieba; ours {'the same, span for span' if same else 'DIFFERENT'}; "
        f"ours {min(seconds['ours']):.2f} CPU-s, jieba {min(seconds['jieba']):.2f} CPU-s; jieba's dictionary "
        f"loads in {load_seconds:.2f} CPU-s, ours builds its trie from it in {build_seconds:.2f} CPU-s")]
