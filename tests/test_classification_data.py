"""Classifier inputs from TSV/CSV/JSONL files and TFDS (mocked, no downloads)."""

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

import keras_bert_zoo as kbz
from conftest import write_vocab
from keras_bert_zoo.data.classification_data import (read_classification_data, read_classification_file,
                                                     read_tfds_classification)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_tsv_by_header_names_with_sorted_numeric_labels(tmp_path):
    path = _write(tmp_path / "train.tsv", 'sentence\tlabel\nit is "great"\t10\n\nmeh\t2\nbad\t0\nfine\t2\n')
    data = read_classification_file(path)
    assert data.texts == ['it is "great"', "meh", "bad", "fine"]  # quotes are text, blank lines ignored
    assert data.label_names == ["0", "2", "10"] and data.labels.tolist() == [2, 1, 0, 1]
    assert data.text_pairs is None and data.num_skipped == 0 and not data.is_regression
    names = read_classification_file(path, label_names=["10", "2", "0"]).labels.tolist()
    assert names == [0, 1, 2, 1]


def test_pairs_by_column_index_without_header(tmp_path):
    path = _write(tmp_path / "pairs.tsv", "p1\tA man sleeps.\tA person rests.\tentailment\n"
                                          "p2\tA dog barks.\tA cat meows.\tcontradiction\n")
    data = read_classification_file(path, text_column=1, text_b_column="2", label_column=3, has_header=False)
    assert data.texts == ["A man sleeps.", "A dog barks."]
    assert data.text_pairs == ["A person rests.", "A cat meows."]
    assert data.label_names == ["contradiction", "entailment"] and data.labels.tolist() == [1, 0]


def test_read_classification_data_reads_the_file_without_tfds_name_and_head_keeps_the_first(tmp_path):
    path = _write(tmp_path / "pairs.jsonl", "".join(json.dumps({"a": f"t{i}", "b": f"u{i}", "y": "xy"[i % 2]}) + "\n"
                                                    for i in range(3)))
    data = read_classification_data(path, text_column="a", text_b_column="b", label_column="y")
    assert data.label_names == ["x", "y"] and data.labels.tolist() == [0, 1, 0]
    first = data.head(2)
    assert (first.texts, first.text_pairs, first.labels.tolist()) == (["t0", "t1"], ["u0", "u1"], [0, 1])
    assert first.label_names == data.label_names and len(data.head(None)) == 3


def test_csv_with_quoted_multiline_field_names_the_right_line(tmp_path):
    path = _write(tmp_path / "d.csv", 'label,text\npos,"line one\nline two, still one field"\nneg,ok\nneg\n')
    with pytest.raises(ValueError, match=r"d\.csv:5: row has 1 columns, expected 2"):
        read_classification_file(path, text_column="text")
    data = read_classification_file(path, text_column="text", skip_bad_examples=True)
    assert data.texts == ["line one\nline two, still one field", "ok"] and data.num_skipped == 1


@pytest.mark.parametrize("body, message", [
    ("sentence\tlabel\ngood\t1\n \t0\n", r":3: empty or non-text text"),
    ("sentence\tlabel\ngood\t1\nbad\t7\n", r":3: unknown label '7'"),
    ("sentence\tlabel\ngood\t1\nbad\t0\textra\n", r":3: row has 3 columns, expected 2"),
])
def test_malformed_rows_name_file_and_line(tmp_path, body, message):
    path = _write(tmp_path / "bad.tsv", body)
    with pytest.raises(ValueError, match=r"bad\.tsv" + message):
        read_classification_file(path, label_names=["0", "1"])
    data = read_classification_file(path, label_names=["0", "1"], skip_bad_examples=True)
    assert data.texts == ["good"] and data.labels.tolist() == [1] and data.num_skipped == 1


def test_missing_column_is_an_error(tmp_path):
    path = _write(tmp_path / "d.tsv", "text\tlabel\na\t1\n")
    with pytest.raises(ValueError, match=r"d\.tsv:1: no column 'sentence'"):
        read_classification_file(path)


def test_jsonl_labels_regression_and_bad_lines(tmp_path):
    lines = [json.dumps({"text": "good", "label": 1}), "{not json", json.dumps({"text": "bad", "label": 0}),
             json.dumps(["a list"]), json.dumps({"text": "odd"}), "", json.dumps({"text": "ok", "label": True})]
    path = _write(tmp_path / "d.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"d\.jsonl:2: bad JSON"):
        read_classification_file(path, text_column="text")
    data = read_classification_file(path, text_column="text", skip_bad_examples=True)
    assert data.texts == ["good", "bad", "ok"] and data.num_skipped == 3
    assert data.label_names == ["0", "1", "True"] and data.labels.tolist() == [1, 0, 2]

    path = _write(tmp_path / "scores.jsonl", '{"s": "a", "y": "2.5"}\n{"s": "b", "y": 4}\n{"s": "c", "y": "high"}\n')
    with pytest.raises(ValueError, match=r"scores\.jsonl:3: label 'high' is not a number"):
        read_classification_file(path, text_column="s", label_column="y", regression=True)
    data = read_classification_file(path, text_column="s", label_column="y", regression=True, skip_bad_examples=True)
    assert data.is_regression and data.labels.dtype == np.float32 and data.labels.tolist() == [2.5, 4.0]


def test_unlabeled_file_and_model_inputs(tmp_path):
    path = _write(tmp_path / "predict.tsv", "id\tsentence\n1\thello world\n2\tworld\n")
    data = read_classification_file(path, label_column=None)
    assert data.labels is None and data.label_names is None and len(data) == 2
    tokenizer = kbz.BertTokenizer(write_vocab(tmp_path / "vocab.txt", ["hello", "world"]))
    inputs = data.model_inputs(tokenizer, max_seq_length=6)
    assert inputs["input_word_ids"].tolist() == [[2, 5, 6, 3, 0, 0], [2, 6, 3, 0, 0, 0]]
    assert inputs["input_mask"].dtype == np.int32 and inputs["input_mask"].sum() == 7


@pytest.mark.parametrize("name, pairs, label_names", [
    ("glue/sst2", False, ["negative", "positive"]),
    ("glue/mnli", True, ["entailment", "neutral", "contradiction"]),
    ("imdb_reviews", False, ["neg", "pos"]),
    ("glue/stsb", True, None),
])
def test_tfds_datasets_map_features_and_label_names(tmp_path, name, pairs, label_names):
    with tfds.testing.mock_data(num_examples=5, data_dir=str(tmp_path)):
        data = read_tfds_classification(name, "train", data_dir=str(tmp_path), skip_bad_examples=True)
    assert len(data) + data.num_skipped == 5
    assert all(isinstance(text, str) and text.strip() for text in data.texts)
    assert (data.text_pairs is not None) == pairs
    assert data.label_names == label_names
    if label_names is None:
        assert data.is_regression and data.labels.dtype == np.float32
    else:
        assert data.labels.dtype == np.int32 and set(data.labels) <= set(range(len(label_names)))


def test_tfds_unmappable_features_need_explicit_keys(tmp_path):
    with tfds.testing.mock_data(num_examples=2, data_dir=str(tmp_path)):
        with pytest.raises(ValueError, match="pass the keys explicitly"):
            read_tfds_classification("glue/sst2", "train", data_dir=str(tmp_path), text_key="missing")


def test_column_index_out_of_range_and_csv_errors(tmp_path):
    path = _write(tmp_path / "d.tsv", "a\tb\n")
    with pytest.raises(ValueError, match=r"d\.tsv:1: no column 2 in rows of 2 columns"):
        read_classification_file(path, text_column=0, label_column=2, has_header=False)
    path = _write(tmp_path / "d.csv", "text,label\nok,1\n" + "x" * 200_000 + ",1\n")
    with pytest.raises(ValueError, match=r"d\.csv:3: field larger than field limit"):
        read_classification_file(path, text_column="text")
