"""create_pretraining_data: instance statistics, determinism, records, bad inputs, and the tool end to end."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO_ROOT, write_vocab
from keras_bert_zoo.data.create_pretraining_data import create_pretraining_data
from keras_bert_zoo.data.example_serialization import serialize_examples
from keras_bert_zoo.data.pretraining_corpus import TokenizedCorpus, read_corpus, wikitext_to_sentence_lines
from keras_bert_zoo.data.pretraining_instances import SPAN_DTYPE, _truncate, pair_segments
from keras_bert_zoo.data.pretraining_records import read_pretraining_records
from keras_bert_zoo.data.tfrecord_framing import frame_records
from keras_bert_zoo.text import BertTokenizer

STEMS = ["walk", "talk", "jump", "read", "play", "sing", "cook", "paint", "swim", "climb", "dance", "write",
         "build", "clean", "drive", "fish", "laugh", "learn", "listen", "watch"]
SUFFIXES = ["", "", "ing", "ed", "s"]
NUM_DOCUMENTS = 60
SEQ_LENGTH = 64
PREDICTIONS = 20


def _write_corpus(path):
    """Documents of sentences; each sentence names its document ("docN") and has ## pieces."""
    rng = np.random.default_rng(0)
    documents = []
    for document in range(NUM_DOCUMENTS):
        sentences = []
        for _ in range(rng.integers(20, 40)):
            words = [STEMS[i] + SUFFIXES[j] for i, j in zip(rng.integers(0, len(STEMS), rng.integers(5, 12)),
                                                            rng.integers(0, len(SUFFIXES), 12))]
            sentences.append(f"doc{document} " + " ".join(words) + " .")
        documents.append("\n".join(sentences))
    path.write_text("\n\n".join(documents) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("corpus")
    _write_corpus(directory / "corpus.txt")
    tokens = STEMS + ["##ing", "##ed", "##s", "."] + [f"doc{i}" for i in range(NUM_DOCUMENTS)]
    write_vocab(directory / "vocab.txt", tokens)
    return directory


@pytest.fixture(scope="module")
def tokenizer(corpus_dir):
    return BertTokenizer(str(corpus_dir / "vocab.txt"), lower_case=True)


def _create(corpus_dir, tokenizer, output_files, **options):
    options = {"max_seq_length": SEQ_LENGTH, "max_predictions_per_seq": PREDICTIONS, "dupe_factor": 10,
               "log": lambda line: None, **options}
    return create_pretraining_data(str(corpus_dir / "corpus.txt"), [str(p) for p in output_files], tokenizer,
                                   **options)


def _load(paths, max_seq_length=SEQ_LENGTH, max_predictions_per_seq=PREDICTIONS):
    dataset = read_pretraining_records([str(p) for p in paths], max_seq_length, max_predictions_per_seq,
                                       shuffle=False).batch(1_000_000)
    return {name: value.numpy() for name, value in next(iter(dataset)).items()}


def _unmasked(features):
    """input_ids with the masked positions restored to their labels."""
    ids = features["input_ids"].copy()
    rows, slots = np.nonzero(features["masked_lm_weights"])
    ids[rows, features["masked_lm_positions"][rows, slots]] = features["masked_lm_ids"][rows, slots]
    return ids


@pytest.fixture(scope="module")
def instances(corpus_dir, tokenizer, tmp_path_factory):
    path = tmp_path_factory.mktemp("instances") / "instances.tfrecord"
    count = _create(corpus_dir, tokenizer, [path])
    features = _load([path])
    assert len(features["input_ids"]) == count
    return features


def test_instances_are_bert_pairs(instances, tokenizer):
    ids = _unmasked(instances)
    length = instances["input_mask"].sum(axis=1)
    positions = np.arange(SEQ_LENGTH)
    assert len(ids) > 2000
    assert (instances["input_mask"] == (positions < length[:, None])).all()
    assert (ids[:, 0] == tokenizer.cls_id).all()
    assert ((ids == tokenizer.sep_id).sum(axis=1) == 2).all()
    assert (ids[np.arange(len(ids)), length - 1] == tokenizer.sep_id).all()
    first_sep = np.argmax(ids == tokenizer.sep_id, axis=1)
    assert (first_sep >= 2).all() and (length - first_sep >= 3).all()  # A and B are non-empty.
    segment_b = (positions > first_sep[:, None]) & (positions < length[:, None])
    assert (instances["segment_ids"] == segment_b).all()
    assert (ids[positions >= length[:, None]] == 0).all()
    # Some instances are shorter than the maximum: short_seq_prob targets.
    assert 0.02 < (length < SEQ_LENGTH - 5).mean() < 0.5


def test_masking_statistics(instances, tokenizer):
    weights = instances["masked_lm_weights"]
    length = instances["input_mask"].sum(axis=1)
    count = weights.sum(axis=1)
    assert (count == np.minimum(PREDICTIONS, np.maximum(1, np.rint(length * 0.15)))).all()
    assert 0.14 < count.sum() / (length - 3).sum() < 0.17  # About 15% of the non-special tokens.
    # Predictions come first, in position order, then zero padding.
    assert (np.diff(weights, axis=1) <= 0).all()
    positions = instances["masked_lm_positions"]
    real = weights > 0
    assert (np.where(real[:, 1:], np.diff(positions, axis=1), 1) > 0).all()
    assert (positions[~real] == 0).all() and (instances["masked_lm_ids"][~real] == 0).all()
    # [CLS], [SEP] and padding are never predicted.
    labels = instances["masked_lm_ids"][real]
    assert not np.isin(labels, [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id]).any()
    assert (positions[real] > 0).all()
    rows = np.nonzero(real)[0]
    assert (positions[real] < length[rows] - 1).all()
    # 80% [MASK], 10% the original token, 10% a random one.
    shown = instances["input_ids"][rows, positions[real]]
    assert abs((shown == tokenizer.mask_id).mean() - 0.8) < 0.015
    assert abs((shown == labels).mean() - 0.1) < 0.015
    assert abs(((shown != labels) & (shown != tokenizer.mask_id)).mean() - 0.1) < 0.015


def test_next_sentence_labels(instances, tokenizer):
    labels = instances["next_sentence_labels"]
    assert set(np.unique(labels)) == {0, 1}
    # Half random, plus chunks of a single sentence, which are always random next (as the original;
    # test_statistics_match_the_original holds the share to the original's on the same corpus).
    assert 0.48 < labels.mean() < 0.6
    # Each sentence starts with its document's "docN": B is from A's document iff it's the actual next.
    marker_ids = {tokenizer.vocab.index(f"doc{i}") for i in range(NUM_DOCUMENTS)}
    ids = _unmasked(instances)
    first_sep = np.argmax(ids == tokenizer.sep_id, axis=1)
    checked = 0
    for row, label in enumerate(labels):
        documents_a = marker_ids.intersection(ids[row, 1:first_sep[row]])
        documents_b = marker_ids.intersection(ids[row, first_sep[row] + 1:])
        if documents_a and documents_b:
            assert (documents_a == documents_b) == (label == 0), row
            checked += 1
    assert checked > len(labels) // 2


def test_max_predictions_per_seq_caps_predictions(corpus_dir, tokenizer, tmp_path):
    _create(corpus_dir, tokenizer, [tmp_path / "capped.tfrecord"], max_predictions_per_seq=5, dupe_factor=2)
    features = _load([tmp_path / "capped.tfrecord"], max_predictions_per_seq=5)
    count = features["masked_lm_weights"].sum(axis=1)
    assert count.max() == 5 and (count == 5).mean() > 0.9


def _words(ids, tokenizer):
    """(row, [positions]) of each whole word: a token and the ## pieces right after it."""
    is_piece = np.array([token.startswith("##") for token in tokenizer.vocab])
    special = {tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id}
    for row in range(len(ids)):
        word = []
        for position, token in enumerate(ids[row]):
            if token in special or not (word and is_piece[token]):
                if word:
                    yield row, word
                word = [] if token in special else [position]
            else:
                word.append(position)


@pytest.mark.parametrize("whole_word", [True, False], ids=["whole_word", "wordpiece"])
def test_whole_word_masking(corpus_dir, tokenizer, tmp_path, whole_word):
    path = tmp_path / "masked.tfrecord"
    _create(corpus_dir, tokenizer, [path], do_whole_word_mask=whole_word, dupe_factor=3)
    features = _load([path])
    masked = np.zeros(features["input_ids"].shape, bool)
    rows, slots = np.nonzero(features["masked_lm_weights"])
    masked[rows, features["masked_lm_positions"][rows, slots]] = True
    multi_piece = [(row, word) for row, word in _words(_unmasked(features), tokenizer) if len(word) > 1]
    partly_masked = sum(0 < masked[row, word].sum() < len(word) for row, word in multi_piece)
    assert len(multi_piece) > 1000
    if whole_word:
        assert partly_masked == 0
        length = features["input_mask"].sum(axis=1)
        budget = np.minimum(PREDICTIONS, np.maximum(1, np.rint(length * 0.15)))
        count = masked.sum(axis=1)
        assert (count <= budget).all() and count.mean() > 0.9 * budget.mean()
    else:
        assert partly_masked > 100


def test_same_seed_same_bytes_any_sharding_or_workers(corpus_dir, tokenizer, tmp_path):
    def files(name, count, **options):
        paths = [tmp_path / f"{name}-{i}.tfrecord" for i in range(count)]
        _create(corpus_dir, tokenizer, paths, dupe_factor=8, **options)
        return [p.read_bytes() for p in paths]

    single = files("single", 1, num_workers=1)
    assert files("single_again", 1, num_workers=2) == single
    sharded = files("sharded", 3, num_workers=2)
    assert files("sharded_again", 3, num_workers=1) == sharded
    assert files("other_seed", 1, random_seed=7) != single
    # Shards deal the single file's records round-robin.
    records = list(tf.data.TFRecordDataset(str(tmp_path / "single-0.tfrecord")).as_numpy_iterator())
    assert len(records) > 4096  # More than one chunk of work.
    for shard in range(3):
        path = str(tmp_path / f"sharded-{shard}.tfrecord")
        assert list(tf.data.TFRecordDataset(path).as_numpy_iterator()) == records[shard::3]


def test_failure_leaves_no_output(corpus_dir, tokenizer, tmp_path, monkeypatch):
    import keras_bert_zoo.data.create_pretraining_data as module

    calls = []

    def failing_serialize(features):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return serialize_examples(features)

    monkeypatch.setattr(module, "serialize_examples", failing_serialize)
    with pytest.raises(RuntimeError, match="disk full"):
        _create(corpus_dir, tokenizer, [tmp_path / "a.tfrecord", tmp_path / "b.tfrecord"], dupe_factor=40)
    assert os.listdir(tmp_path) == []


def test_truncation_is_longest_first():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 80, size=(2000, 2))
    spans = np.zeros(len(lengths), SPAN_DTYPE)
    spans["a_start"], spans["b_start"] = 1000, 5000
    spans["a_end"], spans["b_end"] = 1000 + lengths[:, 0], 5000 + lengths[:, 1]
    truncated = _truncate(spans, 61, rng)
    for (a, b), span in zip(lengths, truncated):
        kept_a, kept_b = a, b  # The reference: one token at a time from the longer side (B on ties).
        while kept_a + kept_b > 61:
            if kept_a > kept_b:
                kept_a -= 1
            else:
                kept_b -= 1
        assert (span["a_end"] - span["a_start"], span["b_end"] - span["b_start"]) == (kept_a, kept_b)
        assert 1000 <= span["a_start"] and span["a_end"] <= 1000 + a
        assert 5000 <= span["b_start"] and span["b_end"] <= 5000 + b
    trimmed_front = truncated["a_start"] - 1000
    trimmed = lengths[:, 0] - (truncated["a_end"] - truncated["a_start"])
    assert abs(trimmed_front.sum() / trimmed.sum() - 0.5) < 0.02  # Front or back at random.


def _numbered_corpus(rng):
    """(a corpus of 400 sentences in 40 documents whose token ids are their offsets, its document offsets)."""
    segment_lengths = rng.integers(1, 30, 400)
    documents = np.concatenate([[0], np.sort(rng.choice(np.arange(1, 400), 39, replace=False)), [400]])
    corpus = TokenizedCorpus(token_ids=np.arange(segment_lengths.sum(), dtype=np.int32),
                             segment_offsets=np.concatenate([[0], np.cumsum(segment_lengths)]),
                             document_offsets=documents)
    return corpus, documents


def test_pairs_use_every_sentence_once_per_round():
    rng = np.random.default_rng(1)
    corpus, documents = _numbered_corpus(rng)
    spans = pair_segments(corpus, max_seq_length=10_000, short_seq_prob=0.0, rounds=1, rng=rng)
    document_of_token = np.searchsorted(corpus.segment_offsets[documents], np.arange(corpus.num_tokens),
                                        side="right") - 1
    actual = spans["is_random_next"] == 0
    # Without truncation, A and the actual next B cover each document's tokens exactly once.
    covered = np.zeros(corpus.num_tokens, int)
    own_document_ranges = zip(np.concatenate([spans["a_start"], spans["b_start"][actual]]),
                              np.concatenate([spans["a_end"], spans["b_end"][actual]]))
    for start, end in own_document_ranges:
        covered[start:end] += 1
    assert (covered == 1).all()
    assert (spans["a_end"][actual] == spans["b_start"][actual]).all()
    # A random next B comes from another document.
    random_next = spans[~actual]
    assert len(random_next) > 10
    assert (document_of_token[random_next["a_start"]] != document_of_token[random_next["b_start"]]).all()
    assert (document_of_token[random_next["b_start"]] == document_of_token[random_next["b_end"] - 1]).all()


def test_serialization_equals_protobuf():
    rng = np.random.default_rng(0)
    features = {"ids": rng.integers(0, 2**40, (20, 7)) * (rng.random((20, 7)) < 0.5),
                "negative": rng.integers(-2**62, 2**62, (20, 3)),
                "weights": rng.random((20, 4)).astype(np.float32), "label": rng.integers(0, 2, 20)}
    data, used = serialize_examples(features)
    for row in range(20):
        example = tf.train.Example()
        for name, values in features.items():
            feature = example.features.feature[name]
            (feature.float_list if name == "weights" else feature.int64_list).value.extend(
                np.atleast_1d(values[row]).tolist())
        assert data[row][used[row]].tobytes() == example.SerializeToString(deterministic=True), row


def test_framing_equals_tfrecord_writer(tmp_path):
    rng = np.random.default_rng(0)
    records = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for size in rng.integers(0, 3000, 50)]
    records[10:10] = [b"", b""]  # Empty records too.
    with tf.io.TFRecordWriter(str(tmp_path / "reference.tfrecord")) as writer:
        for record in records:
            writer.write(record)
    framed = frame_records(np.frombuffer(b"".join(records), np.uint8), [len(r) for r in records])
    assert framed.tobytes() == (tmp_path / "reference.tfrecord").read_bytes()


def test_corpus_reading_errors_name_the_culprit(tokenizer, tmp_path):
    with pytest.raises(ValueError, match=r"No input file matches '.*missing\*\.txt'"):
        read_corpus(str(tmp_path / "missing*.txt"), tokenizer)
    (tmp_path / "blank.txt").write_text("\n  \n\n")
    with pytest.raises(ValueError, match="blank.txt: every line is blank"):
        read_corpus(str(tmp_path / "blank.txt"), tokenizer)
    (tmp_path / "latin1.txt").write_bytes("walk\n\ncaf\xe9 walk\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt:3: not valid UTF-8"):
        read_corpus(str(tmp_path / "latin1.txt"), tokenizer)


def test_documents_split_at_blank_lines_and_files(tokenizer, tmp_path):
    (tmp_path / "a.txt").write_text("walk walk\n\n\n  \ntalk\njump\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("read\n\x07\nplay\n", encoding="utf-8")
    corpus, files = read_corpus(f"{tmp_path}/a.txt,{tmp_path}/b*.txt", tokenizer)
    assert files == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    assert corpus.document_offsets.tolist() == [0, 1, 3, 5]  # The control-only line has no tokens.
    assert corpus.segment_offsets.tolist() == [0, 2, 3, 4, 5, 6]
    shard = corpus.shard(1, 2)
    assert shard.token_ids.tolist() == corpus.token_ids[2:4].tolist()
    assert shard.document_offsets.tolist() == [0, 2]


def test_wikitext_to_sentence_lines():
    raw = (" \n = Robert Boulter = \n \n Robert Boulter is an actor . He had a role in 2000 . \n \n"
           " = = Career = = \n \n In 2006 , he starred in St. Louis ! Why ? \n \n"
           " = Second Article = \n \n It begins here . \n")
    assert wikitext_to_sentence_lines(raw) == (
        "Robert Boulter is an actor .\nHe had a role in 2000 .\nIn 2006 , he starred in St. Louis !\nWhy ?\n"
        "\nIt begins here .\n")


def _run_tool(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, str(REPO_ROOT / "tools" / "create_pretraining_data.py"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_sentence_order_pairs_swap_the_actual_next_half_of_the_time():
    """ALBERT's SOP pairs (google-research/albert, random_next_sentence=False): B is A's actual next, A and B swapped
    with label 1 half of the time; only a chunk of one sentence takes another document's B, labelled 1, as there."""
    rng = np.random.default_rng(2)
    corpus, documents = _numbered_corpus(rng)
    spans = pair_segments(corpus, max_seq_length=10_000, short_seq_prob=0.0, rounds=5, rng=rng, sentence_order=True)
    document_of_token = np.searchsorted(corpus.segment_offsets[documents], np.arange(corpus.num_tokens),
                                        side="right") - 1
    same_document = document_of_token[spans["a_start"]] == document_of_token[spans["b_start"]]
    in_order = spans["a_end"] == spans["b_start"]
    swapped = spans["b_end"] == spans["a_start"]
    labels = spans["is_random_next"]
    assert (in_order[labels == 0] & same_document[labels == 0]).all()
    assert (swapped | ~same_document)[labels == 1].all()
    assert ((labels == 1) == (swapped | ~same_document)).all()
    assert 0.4 < swapped.mean() < 0.6 and (~same_document).mean() < 0.1
    # Next-sentence pairs keep every actual next in order.
    nsp = pair_segments(corpus, 10_000, 0.0, 5, np.random.default_rng(2), sentence_order=False)
    actual = nsp["is_random_next"] == 0
    assert (nsp["a_end"] == nsp["b_start"])[actual].all() and 0.45 < (~actual).mean() < 0.7


def test_tool_writes_sentence_order_pairs(corpus_dir, tmp_path):
    """--norandom_next_sentence: every pair's sentences are from one document, half of them swapped (label 1)."""
    output = tmp_path / "sop.tfrecord"
    process = _run_tool(f"--input_file={corpus_dir}/corpus.txt", f"--output_file={output}",
                        f"--vocab_file={corpus_dir / 'vocab.txt'}", "--max_seq_length=64", "--dupe_factor=2",
                        "--norandom_next_sentence")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    features = _load([output])
    tokenizer = BertTokenizer(str(corpus_dir / "vocab.txt"), lower_case=True)
    marker_ids = {tokenizer.vocab.index(f"doc{i}") for i in range(NUM_DOCUMENTS)}
    ids = _unmasked(features)
    first_sep = np.argmax(ids == tokenizer.sep_id, axis=1)
    same = [marker_ids.intersection(row[1:sep]) == marker_ids.intersection(row[sep + 1:])
            for row, sep in zip(ids, first_sep)]
    labels = features["next_sentence_labels"]
    assert 0.45 < labels.mean() < 0.6 and np.mean(same) > 0.9
    assert all(same[row] for row in np.flatnonzero(labels == 0))


def test_tool_end_to_end(corpus_dir, tmp_path):
    output = tmp_path / "out"
    process = _run_tool(f"--input_file={corpus_dir}/corpus*.txt", f"--output_dir={output}", "--num_shards=2",
                        f"--vocab_file={corpus_dir / 'vocab.txt'}", "--max_seq_length=64", "--dupe_factor=2",
                        "--do_whole_word_mask")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert sorted(os.listdir(output)) == ["part-00000-of-00002.tfrecord", "part-00001-of-00002.tfrecord"]
    count = int(stdout.split("Wrote ")[1].split(" instances")[0].replace(",", ""))
    assert "instances/s" in stdout and count > 100
    features = _load([output / name for name in sorted(os.listdir(output))])
    assert len(features["input_ids"]) == count


def test_tool_bad_inputs_exit_2_without_output(corpus_dir, tmp_path):
    good = {"input_file": f"{corpus_dir}/corpus.txt", "vocab_file": str(corpus_dir / "vocab.txt")}
    (tmp_path / "bad_vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nwalk\n")
    cases = [  # (flag changes, what the message must name)
        ({"max_predictions_per_seq": "200"}, "--max_predictions_per_seq=200: exceeds max_seq_length=128"),
        ({"max_seq_length": "long"}, "--max_seq_length=long"),
        ({"input_file": f"{tmp_path}/nothing*.txt"}, "No input file matches"),
        ({"vocab_file": str(tmp_path / "bad_vocab.txt")}, "bad_vocab.txt lacks the special token(s) [MASK]"),
    ]
    processes = []
    for index, (changes, _) in enumerate(cases):
        flags = {**good, **changes, "output_dir": str(tmp_path / f"out{index}"), "num_shards": "2"}
        processes.append(_run_tool(*(f"--{name}={value}" for name, value in flags.items())))
    for (changes, message), process in zip(cases, processes):
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 2, (changes, stderr)
        assert message in stderr, (changes, stderr)
        assert "Traceback" not in stderr
    assert os.listdir(tmp_path) == ["bad_vocab.txt"]


# The original's pretraining input_fn, on TF 2: run_pretraining imports modeling, which imports
# tf.contrib (gone in TF 2) for layer_norm; decoding records doesn't use it.
_ORIGINAL_DECODER = textwrap.dedent("""
    import sys, types
    import numpy as np
    sys.modules["tensorflow.contrib"] = types.ModuleType("tensorflow.contrib")
    sys.modules["tensorflow.contrib"].layers = None
    from bert import run_pretraining
    path, max_seq_length, max_predictions_per_seq, count, output = sys.argv[1:]
    input_fn = run_pretraining.input_fn_builder([path], int(max_seq_length), int(max_predictions_per_seq),
                                                is_training=False)
    batch = next(iter(input_fn({"batch_size": int(count)})))
    np.savez(output, **{name: value.numpy() for name, value in batch.items()})
""")


def _run_python(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


@pytest.fixture(scope="module")
def original_records(corpus_dir, tmp_path_factory):
    """Records of the same corpus by google-research/bert's create_pretraining_data.py (bert-tensorflow)."""
    path = tmp_path_factory.mktemp("original") / "original.tfrecord"
    process = _run_python("-m", "bert.create_pretraining_data", f"--input_file={corpus_dir / 'corpus.txt'}",
                          f"--output_file={path}", f"--vocab_file={corpus_dir / 'vocab.txt'}",
                          f"--max_seq_length={SEQ_LENGTH}", f"--max_predictions_per_seq={PREDICTIONS}",
                          "--dupe_factor=10", "--random_seed=1")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return path


def test_reads_original_records(original_records):
    features = _load([original_records])
    for name, value in features.items():
        assert value.dtype == (np.float32 if name == "masked_lm_weights" else np.int32), name
    for row, record in enumerate(tf.data.TFRecordDataset(str(original_records)).take(50).as_numpy_iterator()):
        example = tf.train.Example.FromString(record).features.feature
        for name, value in features.items():
            expected = (example[name].float_list if name == "masked_lm_weights" else example[name].int64_list).value
            assert np.atleast_1d(value[row]).tolist() == list(expected), (row, name)


def test_statistics_match_the_original(instances, original_records, tokenizer):
    """Same corpus and options: the instances are alike in number, length, masks and NSP share."""
    original = _load([original_records])

    def statistics(features):
        length = features["input_mask"].sum(axis=1)
        rows, slots = np.nonzero(features["masked_lm_weights"])
        shown = features["input_ids"][rows, features["masked_lm_positions"][rows, slots]]
        return {"instances": len(length), "length": length.mean(), "short": (length < SEQ_LENGTH - 5).mean(),
                "predictions": len(rows) / len(length), "random_next": features["next_sentence_labels"].mean(),
                "mask_share": (shown == tokenizer.mask_id).mean()}

    ours, theirs = statistics(instances), statistics(original)
    # Short targets are drawn per document and round, so lengths vary by about 0.6 tokens between seeds.
    tolerances = {"instances": 0.05 * theirs["instances"], "length": 2.0, "short": 0.05, "predictions": 0.3,
                  "random_next": 0.04, "mask_share": 0.02}
    for name, tolerance in tolerances.items():
        assert abs(ours[name] - theirs[name]) <= tolerance, (name, ours[name], theirs[name])


def test_original_decoder_reads_our_records(instances, corpus_dir, tokenizer, tmp_path):
    path = tmp_path / "ours.tfrecord"
    _create(corpus_dir, tokenizer, [path], dupe_factor=1)
    ours = _load([path])
    count = len(ours["input_ids"])
    process = _run_python("-c", _ORIGINAL_DECODER, str(path), str(SEQ_LENGTH), str(PREDICTIONS), str(count),
                          str(tmp_path / "decoded.npz"))
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    decoded = np.load(tmp_path / "decoded.npz")
    assert sorted(decoded.files) == sorted(ours)
    for name, value in ours.items():
        np.testing.assert_array_equal(decoded[name].reshape(value.shape), value, err_msg=name)


def test_benchmark_against_the_original(corpus_dir):
    from benchmarks.pretraining_data_benchmark import PEER_NAME, benchmark_create_pretraining_data

    [row] = benchmark_create_pretraining_data(str(corpus_dir / "corpus.txt"), str(corpus_dir / "vocab.txt"),
                                              max_seq_length=SEQ_LENGTH, dupe_factor=2)
    assert (row.name, row.unit, row.peer_name) == ("create_pretraining_data", "instances/s", PEER_NAME)
    assert row.ours > 0 and row.peer > 0
    assert row.settings["dupe_factor"] == 2 and row.settings["input"] == "corpus.txt"
    assert "instances: ours" in row.notes and "random next: ours" in row.notes
