"""JiebaWordSpans against jieba's own `Tokenizer.cut`: the same words of two or more ideographs, span for span."""

import random

import jieba
import numpy as np
import pytest

from benchmarks.chinese_segmentation_benchmark import jieba_spans
from keras_bert_zoo.data.jieba_word_spans import JiebaWordSpans

# Names and terms the dictionary lacks (the HMM's), Latin and digits inside blocks, full-width digits and
# CJK extension A (outside jieba's blocks), "\r\n", and jieba's block symbols.
SENTENCES = [
    "我们在北京大学学习自然语言处理。", "他用iPhone12拍了很多照片，然后上传到网络。", "１９９８年江泽民主席发表新年讲话",
    "IBM公司的T恤卖3.5%以上", "王小二和李晓明在中关村创业", "\u3400\u3401研究生命科学", "第一行\r\n第二行 第三行\t结束",
    "C++和C#都是编程语言，a-b_c.d%e&f+g", "", "。，！", "饕餮耄耋魑魅魍魉", "结婚的和尚未结婚的", "\u9fd5\u9fd6\u9fd4中文",
]


@pytest.fixture(scope="module")
def segmenter():
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer, JiebaWordSpans(tokenizer)


def _random_texts(tokenizer, count, seed):
    """Texts of dictionary words (some holding Latin letters or digits), lone ideographs, common or rare, and the
    other characters of SENTENCES, in random runs; some of them one long block."""
    rng = random.Random(seed)
    words = sorted(word for word, frequency in tokenizer.FREQ.items() if frequency)
    latin_words = [word for word in words if any(char.isascii() for char in word)]
    others = sorted({char for sentence in SENTENCES for char in sentence if not "\u4e00" <= char <= "\u9fd5"})
    texts = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randrange(40)):
            kind = rng.random()
            if kind < 0.55:
                pieces.append(rng.choice(words))
            elif kind < 0.6:
                pieces.append(rng.choice(latin_words))
            elif kind < 0.85:
                pieces.append(chr(rng.randrange(0x4E00, 0x9FD6)))
            else:
                pieces.append(rng.choice(others))
        texts.append("".join(pieces))
    texts.append("".join(rng.choice(words) for _ in range(400)))  # One block of ~1,000 characters.
    return texts


def test_sentences_match_jieba(segmenter):
    tokenizer, spans = segmenter
    expected = jieba_spans(tokenizer.cut, SENTENCES)
    starts, ends = spans.spans(SENTENCES)
    np.testing.assert_array_equal(starts, expected[0])
    np.testing.assert_array_equal(ends, expected[1])
    joined = "".join(SENTENCES)
    words = {joined[start:end] for start, end in zip(starts, ends)}
    assert {"北京大学", "自然语言", "中关村", "王小二", "李晓明"} <= words  # The last two are the HMM's.
    assert not words & {"T恤", "IBM"}


@pytest.mark.parametrize("seed", range(3))
def test_random_texts_match_jieba(segmenter, seed):
    tokenizer, spans = segmenter
    texts = _random_texts(tokenizer, 300, seed)
    expected = jieba_spans(tokenizer.cut, texts)
    starts, ends = spans.spans(texts)
    assert len(expected[0]) > 2000
    np.testing.assert_array_equal(starts, expected[0])
    np.testing.assert_array_equal(ends, expected[1])


def test_texts_are_cut_on_their_own(segmenter):
    tokenizer, spans = segmenter
    # "北京" + "大学" across two texts: never one word.
    texts = ["我在北京", "大学学习", "北京大学", ""]
    starts, ends = spans.spans(texts)
    np.testing.assert_array_equal(np.stack([starts, ends]), np.stack(jieba_spans(tokenizer.cut, texts)))
    assert [("".join(texts))[start:end] for start, end in zip(starts, ends)][-1] == "北京大学"
    assert all(end <= 4 or start >= 4 for start, end in zip(starts, ends))
    empty = spans.spans([])
    assert empty[0].shape == (0,) and empty[1].shape == (0,)


def test_equal_scores_take_the_later_end(tmp_path):
    # log(1/100) == 2 * log(10/100) in float64: "甲乙" and "甲" + "乙" score the same, and jieba's max over
    # (score, end) tuples takes the word; a dictionary word's characters stay single otherwise.
    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("甲 10\n乙 10\n甲乙 1\n丙 79\n", encoding="utf-8")
    tokenizer = jieba.Tokenizer(str(dictionary))
    tokenizer.tmp_dir = str(tmp_path)
    tokenizer.initialize()
    texts = ["甲乙", "丙甲乙丙"]
    assert list(tokenizer.cut(texts[0])) == ["甲乙"]
    starts, ends = JiebaWordSpans(tokenizer).spans(texts)
    np.testing.assert_array_equal(np.stack([starts, ends]), np.stack(jieba_spans(tokenizer.cut, texts)))
    np.testing.assert_array_equal(starts, [0, 3])
