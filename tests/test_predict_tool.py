"""tools/predict.py as a user runs it on an exported classifier: TSV, CSV, JSONL and plain text, pairs, bad columns."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.export import export_saved_model
from conftest import REPO_ROOT, write_vocab

WORDS = "the a film movie was is great terrible story plot boring".split()


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny random classifier's export: serving_default {text} and serve_pair {text_a, text_b}."""
    root = tmp_path_factory.mktemp("predict_tool")
    tokenizer = kbz.BertTokenizer(write_vocab(root / "vocab.txt", WORDS))
    config = kbz.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_layers=1, num_heads=2,
                            intermediate_size=32, max_position_embeddings=32)
    model = kbz.BertClassifier(kbz.BertEncoder(config), num_classes=2, label_names=["neg", "pos"])
    return export_saved_model(model, tokenizer, str(root / "sentiment"), max_seq_length=16)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def _predict(*args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "predict.py"), *args], capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def _records(jsonl):
    return [json.loads(line) for line in jsonl.splitlines()]


def test_csv_with_header_predicts_each_row_on_pure_jsonl_stdout(saved_model, tmp_path):
    path = _write(tmp_path / "dev.csv", 'sentence,label\n"the film, was great",1\n\nterrible plot,0\n')
    result = _predict(f"--saved_model={saved_model}", f"--input_file={path}")
    assert result.returncode == 0, result.stderr
    records = _records(result.stdout)  # Every stdout line is a prediction: the summary goes to stderr.
    assert [r["text"] for r in records] == ["the film, was great", "terrible plot"]
    assert all(r["label"] in ("neg", "pos") and len(r["probabilities"]) == 2 for r in records)
    assert f"Read 2 texts from {path} (CSV, column 'sentence')" in result.stderr


def test_tsv_text_column_by_index_with_output_file(saved_model, tmp_path):
    path = _write(tmp_path / "dev.tsv", 'review\tlabel\na "great" movie\tpos\nboring\tneg\n')
    output = tmp_path / "out.jsonl"
    result = _predict(f"--saved_model={saved_model}", f"--input_file={path}", "--text_column=0",
                      f"--output_file={output}")
    assert result.returncode == 0, result.stderr
    assert [r["text"] for r in _records(output.read_text(encoding="utf-8"))] == ['a "great" movie', "boring"]
    assert f"Read 2 texts from {path} (TSV, column '0')" in result.stdout
    assert f"Wrote 2 predictions to {output}" in result.stdout


def test_jsonl_keyed_by_input_names_or_by_text_column(saved_model, tmp_path):
    by_input = _write(tmp_path / "by_input.jsonl", '{"text": "great film"}\n\n{"text": ""}\n')
    result = _predict(f"--saved_model={saved_model}", f"--input_file={by_input}")
    assert result.returncode == 0, result.stderr
    assert [r["text"] for r in _records(result.stdout)] == ["great film", ""]
    assert f"Read 2 examples from {by_input} (JSONL, key 'text')" in result.stderr

    by_column = _write(tmp_path / "by_column.jsonl", '{"sentence": "great film", "label": 1}\n'
                                                     '{"sentence": "boring", "label": 0}\n')
    result = _predict(f"--saved_model={saved_model}", f"--input_file={by_column}", "--text_column=sentence")
    assert result.returncode == 0, result.stderr
    assert [r["text"] for r in _records(result.stdout)] == ["great film", "boring"]
    assert f"Read 2 texts from {by_column} (JSONL, key 'sentence')" in result.stderr


def test_plain_text_is_one_text_per_line_whatever_the_extension(saved_model, tmp_path):
    path = _write(tmp_path / "reviews.txt", "sentence,label\ngreat film\n\n")
    result = _predict(f"--saved_model={saved_model}", f"--input_file={path}")
    assert result.returncode == 0, result.stderr
    assert [r["text"] for r in _records(result.stdout)] == ["sentence,label", "great film", ""]
    assert f"Read 3 texts from {path} (plain text, one per line)" in result.stderr


def test_pair_columns_feed_serve_pair_in_input_name_order(saved_model, tmp_path):
    premises, hypotheses = ["the film was great", "a boring plot"], ["great story", "the movie is great"]
    path = _write(tmp_path / "pairs.csv", "id,premise,hypothesis,label\n" + "".join(
        f"{i},{a},{b},x\n" for i, (a, b) in enumerate(zip(premises, hypotheses))))
    result = _predict(f"--saved_model={saved_model}", f"--input_file={path}", "--signature=serve_pair",
                      "--text_column=premise", "--text_b_column=hypothesis")
    assert result.returncode == 0, result.stderr
    records = _records(result.stdout)
    assert [(r["text_a"], r["text_b"]) for r in records] == list(zip(premises, hypotheses))
    assert f"Read 2 text pairs from {path} (CSV, columns 'premise' as text_a, 'hypothesis' as text_b)" in result.stderr
    serve_pair = tf.saved_model.load(saved_model).signatures["serve_pair"]
    expected = serve_pair(text_a=tf.constant(premises), text_b=tf.constant(hypotheses))["probabilities"].numpy()
    np.testing.assert_allclose([r["probabilities"] for r in records], expected, atol=1e-6)


@pytest.mark.parametrize("name,text,args,message", [
    ("dev.csv", "text,label\ngreat,1\n", [], "dev.csv:1: no column 'sentence' in header ['text', 'label']"),
    ("dev.jsonl", '{"sentence": "great"}\n{"text": "boring"}\n', ["--text_column=sentence"],
     "dev.jsonl:2: no field 'sentence'"),
    ("dev.tsv", "sentence\tlabel\ngreat\t1\n", ["--signature=serve_pair"],
     "dev.tsv: the signature's inputs ['text_a', 'text_b'] take a text pair: give text_b_column too"),
    ("dev.tsv", "sentence\tother\tlabel\ngreat\tfilm\t1\n", ["--text_b_column=other"],
     "dev.tsv: a text pair needs a signature with two inputs; this one takes ['text']"),
], ids=["csv-missing-column", "jsonl-missing-field", "pair-signature-without-text-b", "text-b-for-one-input"])
def test_bad_columns_exit_2_before_predicting(saved_model, tmp_path, name, text, args, message):
    path = _write(tmp_path / name, text)
    output = tmp_path / "out.jsonl"
    result = _predict(f"--saved_model={saved_model}", f"--input_file={path}", f"--output_file={output}", *args)
    assert result.returncode == 2, result.stderr
    assert f"--input_file: {tmp_path}/{message}" in result.stderr and "Traceback" not in result.stderr
    assert not output.exists()
