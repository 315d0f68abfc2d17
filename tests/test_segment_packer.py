"""SegmentPacker: its graph and NumPy paths give the same rows, for BERT's layout and a RoBERTa-like one."""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from transformers import BertTokenizerFast
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

import keras_bert_zoo as kbz
from keras_bert_zoo.text import SegmentPacker
from conftest import write_vocab

PAD, UNK, CLS, SEP = 0, 1, 2, 3  # write_vocab's first ids
BERT = SegmentPacker([CLS], [SEP], [SEP], PAD)
ROBERTA = SegmentPacker([0], [2, 2], [2], pad_id=1, second_type_id=0)  # <s> a </s></s> b </s>, <pad> = 1
NAMES = ("input_word_ids", "input_mask", "input_type_ids")


def _segment(length, first):
    return list(range(first, first + length))


def _rows(packer, word_ids, type_ids):
    """Expected packed rows from their ids (None for padding columns) and type ids."""
    return {"input_word_ids": [packer.pad_id if i is None else i for i in word_ids],
            "input_mask": [int(i is not None) for i in word_ids], "input_type_ids": type_ids}


def _graph_rows(packer, segments, max_length, length=None):
    ragged = [tf.ragged.constant(rows, tf.int32, row_splits_dtype=tf.int64) if rows else
              tf.RaggedTensor.from_row_lengths(tf.zeros([0], tf.int32), tf.zeros([0], tf.int64)) for rows in segments]
    packed = tf.function(lambda *parts: packer.pack(list(parts), max_length, length))(*ragged)
    return {name: values.numpy() for name, values in packed.items()}


@pytest.mark.parametrize("packer, segments, max_length, expected", [
    (BERT, [[10, 11, 12]], 6, _rows(BERT, [CLS, 10, 11, 12, SEP, None], [0] * 6)),
    (BERT, [[10, 11, 12, 13, 14]], 5, _rows(BERT, [CLS, 10, 11, 12, SEP], [0] * 5)),
    (BERT, [[10, 11, 12], [20, 21]], 8, _rows(BERT, [CLS, 10, 11, 12, SEP, 20, 21, SEP], [0] * 5 + [1] * 3)),
    # Longest first: the longer segment loses tokens until both are equal, then the second first.
    (BERT, [[10, 11, 12, 13, 14, 15], [20, 21]], 8,
     _rows(BERT, [CLS, 10, 11, 12, SEP, 20, 21, SEP], [0] * 5 + [1] * 3)),
    (BERT, [[10], [20, 21, 22, 23, 24]], 7, _rows(BERT, [CLS, 10, SEP, 20, 21, 22, SEP], [0] * 3 + [1] * 4)),
    (BERT, [[10, 11, 12], [20, 21, 22]], 6, _rows(BERT, [CLS, 10, 11, SEP, 20, SEP], [0] * 4 + [1] * 2)),
    (BERT, [[], [20]], 6, _rows(BERT, [CLS, SEP, 20, SEP, None, None], [0, 0, 1, 1, 0, 0])),
    (ROBERTA, [[10, 11, 12]], 4, _rows(ROBERTA, [0, 10, 11, 2], [0] * 4)),
    (ROBERTA, [[10, 11], [20]], 8, _rows(ROBERTA, [0, 10, 11, 2, 2, 20, 2, None], [0] * 8)),
    (ROBERTA, [[10, 11, 12], [20, 21]], 7, _rows(ROBERTA, [0, 10, 11, 2, 2, 20, 2], [0] * 7)),
])
def test_rows_by_hand(packer, segments, max_length, expected):
    row = packer.pack_row(segments, max_length)
    graph = _graph_rows(packer, [[segment] for segment in segments], max_length, max_length)
    for name in NAMES:
        assert row[name].tolist() == expected[name], name
        assert row[name].dtype == np.int32
        assert graph[name].tolist() == [expected[name]], name
        assert graph[name].dtype == np.int32


@pytest.mark.parametrize("packer", [BERT, ROBERTA], ids=["bert", "roberta"])
def test_graph_and_numpy_rows_agree_for_singles_and_pairs_with_truncation(packer):
    lengths = range(0, 9)
    for max_length in (7, 9, 12):
        firsts = [_segment(n, 10) for n in lengths]
        singles = _graph_rows(packer, [firsts], max_length, max_length)
        for row, first in enumerate(firsts):
            single = packer.pack_row([first], max_length)
            assert all(single[name].tolist() == singles[name][row].tolist() for name in NAMES), (first, max_length)
        pairs = list(itertools.product(lengths, lengths))
        firsts, seconds = [_segment(a, 10) for a, _ in pairs], [_segment(b, 30) for _, b in pairs]
        graph = _graph_rows(packer, [firsts, seconds], max_length, max_length)
        for row, (first, second) in enumerate(zip(firsts, seconds)):
            pair = packer.pack_row([first, second], max_length)
            assert all(pair[name].tolist() == graph[name][row].tolist() for name in NAMES), (first, second)
            kept = int(pair["input_mask"].sum()) - packer.num_special_tokens(2)
            assert kept == min(len(first) + len(second), max_length - packer.num_special_tokens(2))


@pytest.mark.parametrize("packer", [BERT, ROBERTA], ids=["bert", "roberta"])
def test_spans_of_one_array_pack_as_the_graph_does(packer):
    rng = np.random.default_rng(0)
    values = rng.integers(10, 100, 500).astype(np.int32)
    starts = [rng.integers(0, 250, 40), rng.integers(250, 490, 40)]
    lengths = [rng.integers(0, 6, 40), rng.integers(0, 6, 40)]
    length = 12 + packer.num_special_tokens(2)
    packed = packer.pack_spans(values, [(start, start + n) for start, n in zip(starts, lengths)], length)
    segments = [[values[s:s + n].tolist() for s, n in zip(start, count)] for start, count in zip(starts, lengths)]
    graph = _graph_rows(packer, segments, length, length)
    for name in NAMES:
        np.testing.assert_array_equal(packed[name], graph[name], err_msg=name)
        assert packed[name].dtype == np.int32
    column = np.arange(length)
    first, second = packer.segment_starts([lengths[0], lengths[1]])
    in_first = (column >= first) & (column < first + lengths[0][:, None])
    in_second = (column >= second[:, None]) & (column < second[:, None] + lengths[1][:, None])
    np.testing.assert_array_equal(packed["segment_mask"], in_first | in_second)


def test_padded_to_the_longest_row_and_empty_batches():
    packed = _graph_rows(BERT, [[[10], [10, 11, 12]]], 16)
    assert packed["input_word_ids"].tolist() == [[CLS, 10, SEP, PAD, PAD], [CLS, 10, 11, 12, SEP]]
    empty = _graph_rows(BERT, [[]], 16)
    assert all(empty[name].shape == (0, 2) for name in NAMES)


def test_segment_starts_and_special_tokens():
    assert BERT.segment_starts([4, 7]) == [1, 6]
    assert ROBERTA.segment_starts([4, 7]) == [1, 7]
    assert (BERT.num_special_tokens(1), BERT.num_special_tokens(2)) == (2, 3)
    assert (ROBERTA.num_special_tokens(1), ROBERTA.num_special_tokens(2)) == (2, 4)
    with pytest.raises(ValueError, match="max_length=4 leaves no room"):
        BERT.pack_row([[10], [20]], 4)
    with pytest.raises(ValueError, match="max_length=2 leaves no room"):
        _graph_rows(BERT, [[[10]]], 2)


def test_the_tokenizers_packer_packs_as_transformers_bert(tmp_path):
    vocab = write_vocab(tmp_path / "vocab.txt", [f"w{i}" for i in range(40)])
    packer = kbz.BertTokenizer(vocab).packer
    fast = BertTokenizerFast(vocab)  # positionally: vocab_file= builds an empty vocab in transformers 5
    reference = BertTokenizerLegacy(vocab)
    words = [f"w{i}" for i in range(40)]
    for max_length, a, b in itertools.product((5, 8, 13), range(0, 9), range(0, 9)):
        first, second = " ".join(words[:a]), " ".join(words[20:20 + b])
        ids = [fast(text, add_special_tokens=False)["input_ids"] for text in (first, second)]
        # BertTokenizerFast truncates ties from the first segment; google-research's
        # _truncate_seq_pair (and the legacy Python tokenizer) from the second, as ours.
        expected = reference.prepare_for_model(*ids, truncation="longest_first", max_length=max_length,
                                               padding="max_length", return_token_type_ids=True)
        packed = packer.pack_row(ids, max_length)
        assert packed["input_word_ids"].tolist() == expected["input_ids"], (a, b, max_length)
        assert packed["input_type_ids"].tolist() == expected["token_type_ids"], (a, b, max_length)
        assert packed["input_mask"].tolist() == expected["attention_mask"], (a, b, max_length)
        if b:  # transformers reads an empty second text as none
            expected = fast(first, second, padding="max_length", max_length=19)  # nothing truncated
            packed = packer.pack_row(ids, 19)
            assert packed["input_word_ids"].tolist() == expected["input_ids"]
            assert packed["input_type_ids"].tolist() == expected["token_type_ids"]
        expected = fast(first, truncation=True, max_length=max_length, padding="max_length")
        assert packer.pack_row(ids[:1], max_length)["input_word_ids"].tolist() == expected["input_ids"]
