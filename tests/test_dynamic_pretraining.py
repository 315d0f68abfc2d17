"""The dynamic-masking pretraining dataset, and the reader of pretraining TFRecords."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from conftest import write_vocab
from keras_bert_zoo.data import dynamic_pretraining_dataset, read_pretraining_records
from keras_bert_zoo.data.create_pretraining_data import create_pretraining_data
from keras_bert_zoo.text import BertTokenizer

WORDS = [f"w{i}" for i in range(50)]
NUM_DOCUMENTS = 40
SEQ_LENGTH = 64
PREDICTIONS = 10


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(text file, tokenizer): documents of two ~20-token sentences, each naming its document ("docN")."""
    directory = tmp_path_factory.mktemp("dynamic")
    rng = np.random.default_rng(0)
    documents = ["\n".join(f"doc{d} " + " ".join(rng.choice(WORDS, 19)) for _ in range(2))
                 for d in range(NUM_DOCUMENTS)]
    path = directory / "corpus.txt"
    path.write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    vocab = write_vocab(directory / "vocab.txt", WORDS + [f"doc{d}" for d in range(NUM_DOCUMENTS)])
    return str(path), BertTokenizer(vocab)


def _dataset(corpus, **options):
    path, tokenizer = corpus
    return dynamic_pretraining_dataset(path, tokenizer, max_seq_length=SEQ_LENGTH,
                                       max_predictions_per_seq=PREDICTIONS, short_seq_prob=0.0, **options)


def _take(dataset, count):
    return {name: value.numpy() for name, value in next(iter(dataset.batch(count))).items()}


def _unmasked(features):
    ids = features["input_ids"].copy()
    rows, slots = np.nonzero(features["masked_lm_weights"])
    ids[rows, features["masked_lm_positions"][rows, slots]] = features["masked_lm_ids"][rows, slots]
    return ids


def _documents_of_segment_a(features, tokenizer):
    """The document number ("docN") each instance's segment A starts with."""
    return [int(tokenizer.vocab[token][3:]) for token in _unmasked(features)[:, 1]]


def test_elements_follow_the_record_layout(corpus):
    _, tokenizer = corpus
    dataset = _dataset(corpus)
    int_spec = {name: tf.TensorSpec([SEQ_LENGTH], tf.int32) for name in ("input_ids", "input_mask", "segment_ids")}
    assert dataset.element_spec == {
        **int_spec,
        "masked_lm_positions": tf.TensorSpec([PREDICTIONS], tf.int32),
        "masked_lm_ids": tf.TensorSpec([PREDICTIONS], tf.int32),
        "masked_lm_weights": tf.TensorSpec([PREDICTIONS], tf.float32),
        "next_sentence_labels": tf.TensorSpec([], tf.int32),
    }
    features = _take(dataset, 200)
    ids = _unmasked(features)
    length = features["input_mask"].sum(axis=1)
    assert (ids[:, 0] == tokenizer.cls_id).all()
    assert ((ids == tokenizer.sep_id).sum(axis=1) == 2).all()
    count = features["masked_lm_weights"].sum(axis=1)
    assert (count == np.minimum(PREDICTIONS, np.maximum(1, np.rint(length * 0.15)))).all()
    assert 0.3 < features["next_sentence_labels"].mean() < 0.8


def test_each_epoch_draws_fresh_masks(corpus):
    # An epoch has one or two instances per document: this spans four epochs or more. A document's
    # two sentences pair up as actual next in half of the epochs, so most such pairs recur.
    features = _take(_dataset(corpus), 8 * NUM_DOCUMENTS)
    occurrences = collections.defaultdict(list)
    for row, ids in enumerate(_unmasked(features)):
        occurrences[ids.tobytes()].append(row)
    repeated = [rows for rows in occurrences.values() if len(rows) > 1]
    assert len(repeated) >= NUM_DOCUMENTS // 2
    same_masks = sum(len({features["masked_lm_positions"][row].tobytes() for row in rows}) < len(rows)
                     for rows in repeated)
    assert same_masks <= len(repeated) // 10


def test_same_seed_same_instances(corpus):
    first = _take(_dataset(corpus, seed=3), 100)
    again = _take(_dataset(corpus, seed=3), 100)
    other = _take(_dataset(corpus, seed=4), 100)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["input_ids"], other["input_ids"])


def test_input_pipelines_share_out_the_documents(corpus):
    _, tokenizer = corpus
    seen = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline)
        features = _take(_dataset(corpus, input_context=context), 2 * NUM_DOCUMENTS)
        seen.append(set(_documents_of_segment_a(features, tokenizer)))
    assert seen[0] == set(range(0, NUM_DOCUMENTS, 2)) and seen[1] == set(range(1, NUM_DOCUMENTS, 2))


def test_rejects_more_pipelines_than_documents(corpus):
    context = tf.distribute.InputContext(num_input_pipelines=NUM_DOCUMENTS + 1, input_pipeline_id=0)
    with pytest.raises(ValueError, match=f"{NUM_DOCUMENTS} document"):
        _dataset(corpus, input_context=context)


@pytest.fixture(scope="module")
def record_files(corpus, tmp_path_factory):
    path, tokenizer = corpus
    directory = tmp_path_factory.mktemp("records")
    files = [str(directory / f"part-{i}.tfrecord") for i in range(3)]
    create_pretraining_data(path, files, tokenizer, max_seq_length=SEQ_LENGTH, max_predictions_per_seq=PREDICTIONS,
                            dupe_factor=3, log=lambda line: None)
    return files


def _read_all(files, **options):
    dataset = read_pretraining_records(files, SEQ_LENGTH, PREDICTIONS, shuffle=False, **options)
    return [element["input_ids"].numpy().tobytes() for element in dataset]


def test_reader_shards_files_per_input_pipeline(record_files):
    in_order = _read_all(record_files)
    per_file = [_read_all([path]) for path in record_files]
    assert in_order == per_file[0] + per_file[1] + per_file[2]
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=0)
    assert _read_all(",".join(record_files), input_context=context) == per_file[0] + per_file[2]
    # More pipelines than files: each pipeline takes every fourth record.
    shares = [_read_all(record_files, input_context=tf.distribute.InputContext(4, pipeline, 1))
              for pipeline in range(4)]
    assert shares[1] == in_order[1::4] and sorted(sum(shares, [])) == sorted(in_order)


def test_reader_shuffles_and_repeats_for_training(record_files):
    total = len(_read_all(record_files))
    dataset = read_pretraining_records(record_files, SEQ_LENGTH, PREDICTIONS, seed=1)
    assert dataset.element_spec["masked_lm_weights"] == tf.TensorSpec([PREDICTIONS], tf.float32)
    assert dataset.element_spec["next_sentence_labels"] == tf.TensorSpec([], tf.int32)
    ids = [element["input_ids"].numpy().tobytes() for element in dataset.take(2 * total)]
    assert len(ids) == 2 * total
    assert ids[:total] != _read_all(record_files)
