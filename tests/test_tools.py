"""The absl tools, run end to end as a user would."""

import json
import os
import re
import subprocess
import sys

import pytest

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, tensorflow_log_lines


def _run_tool(name, *args, timeout=600, **env_vars):
    env = {k: v for k, v in {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env_vars}.items() if v is not None}
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / name), *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_benchmark_tokenizer(tmp_path, minilm_dir):
    texts = tmp_path / "texts.tsv"
    texts.write_text("sentence\tlabel\n" + "".join(
        f"Sentence number {i}: café, naïve… 東京 and more text.\t{i % 2}\n" for i in range(300)), encoding="utf-8")
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", f"--text_file={texts}", "--tsv_column=sentence", "--batch_size=64",
                       "--repeats=1", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    assert "HF BertTokenizerFast (Rust)" in result.stdout and "tf-text FastBertTokenizer" in result.stdout
    assert "ids equal to the Python reference: ours 100.0000% (traced 100.0000%)" in result.stdout
    # The texts hold "…", which FastBertTokenizer folds to "..." and the reference keeps.
    assert "FastBertTokenizer 0.0000%" in result.stdout
    for row in ("eager tokenize(list)", "in tf.function", "one text per call, p50", "new tf.data iterator"):
        assert row in result.stdout
    written = report.read_text()
    assert "Command: `python" in written and "--tsv_column=sentence" in written and "texts=300" in written


def test_benchmark_reports_bad_column(tmp_path):
    texts = tmp_path / "texts.tsv"
    texts.write_text("text\tlabel\nhello\t1\n")
    result = _run_tool("benchmark.py", f"--text_file={texts}", "--tsv_column=sentence")
    assert result.returncode != 0
    assert f"{texts}:1: no column 'sentence'" in result.stderr
    assert "Traceback" not in result.stderr


def test_tensorflow_logs_only_when_asked():
    quiet = _run_tool("run_classifier.py", "--do_train", TF_CPP_MIN_LOG_LEVEL=None)
    shown = _run_tool("run_classifier.py", "--do_train", "--show_tensorflow_logs", TF_CPP_MIN_LOG_LEVEL=None)
    assert quiet.returncode == shown.returncode == 2
    assert "--init_checkpoint is required" in quiet.stderr or "--model_dir is required" in quiet.stderr
    assert not tensorflow_log_lines(quiet.stderr), quiet.stderr
    assert tensorflow_log_lines(shown.stderr), shown.stderr
    # A usage error is its message and one line on --helpfull, not the help text.
    assert len(quiet.stderr.strip().splitlines()) == 2 and "--helpfull" in quiet.stderr, quiet.stderr


def test_quickstart_end_to_end_twice(tmp_path):
    output, saved = tmp_path / "out", tmp_path / "saved_models"
    args = [f"--output_dir={output}", f"--saved_models={saved}", "--pretraining_steps=20", "--num_train_epochs=1"]
    result = _run_tool("quickstart.py", *args, TF_CPP_MIN_LOG_LEVEL=None)
    assert result.returncode == 0, result.stderr
    # A newcomer's first lines are ours: TensorFlow's start-up logging stays hidden.
    assert result.stdout.startswith("[1/4] Pretraining"), result.stdout[:500]
    assert not tensorflow_log_lines(result.stderr), result.stderr
    for stage in ("[1/4]", "[2/4]", "[3/4]", "[4/4]", "pretraining done: mlm_loss",
                  "held-out accuracy: ", "on 200 sentences the model never saw", "Next steps:", "tools/predict.py",
                  "docker run"):
        assert stage in result.stdout
    assert sum(line.startswith(("  positive", "  negative")) for line in result.stdout.splitlines()) == 4
    assert (saved / "sentiment" / "1" / "saved_model.pb").exists() and (saved / "models.config").exists()
    # Run again in the same place: the finished stages are reused, with their results, and a new version exported.
    again = _run_tool("quickstart.py", *args)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("Nothing to train") == 2 and "pretraining done: mlm_loss" in again.stdout
    assert re.search(r"held-out accuracy: (\S+) ", again.stdout).group(1) == re.search(
        r"held-out accuracy: (\S+) ", result.stdout).group(1)
    assert (saved / "sentiment" / "2" / "saved_model.pb").exists()
    # A stage whose flags changed starts over.
    changed = _run_tool("quickstart.py", *args[:2], "--pretraining_steps=10", "--num_train_epochs=1")
    assert changed.returncode == 0, changed.stderr
    assert "pretraining holds a run with other flags; starting it over" in changed.stdout
    assert "step 10/10" in changed.stdout and changed.stdout.count("Nothing to train") == 1
    model = kbz.BertClassifier.from_pretrained(str(output / "sentiment"))
    assert model.label_names == ["negative", "positive"]
    assert kbz.BertPretrainer.from_pretrained(str(output / "pretraining")).encoder.config.hidden_size == 64


def test_convert_checkpoint_between_layouts(tmp_path, minilm_dir):
    import numpy as np
    import tensorflow as tf
    from safetensors.numpy import load_file

    from conftest import random_inputs, write_vocab
    from test_google_checkpoint import _google_names

    vocab = write_vocab(tmp_path / "vocab.txt", [f"w{i}" for i in range(59)])
    config = kbz.BertConfig(vocab_size=64, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
                            max_position_embeddings=32, hidden_act="gelu_approx")
    pretrainer = kbz.BertPretrainer(kbz.BertEncoder(config))
    inputs = random_inputs(with_positions=True)
    expected = pretrainer(inputs)["mlm_logits"].numpy()
    pretrainer.save_pretrained(str(tmp_path / "hf"), tokenizer=kbz.BertTokenizer(vocab))

    result = _run_tool("convert_checkpoint.py", f"--init_checkpoint={tmp_path / 'hf'}",
                       f"--output_dir={tmp_path / 'google'}", "--output_format=google")
    assert result.returncode == 0, result.stderr
    assert "BertPretrainer (pretrainer)" in result.stdout
    google = tmp_path / "google"
    assert json.loads((google / "bert_config.json").read_text())["hidden_act"] == "gelu"  # Google's tanh GELU
    assert (google / "vocab.txt").read_text() == (tmp_path / "vocab.txt").read_text()
    # Every variable under the original graph's name, equal to the HF file's tensor (transposed where HF is).
    reader = tf.train.load_checkpoint(str(google / "bert_model.ckpt"))
    hf_state = load_file(str(tmp_path / "hf" / "model.safetensors"))
    names = _google_names(2)
    assert set(reader.get_variable_to_shape_map()) == set(names)
    for name, (key, transpose) in names.items():
        np.testing.assert_array_equal(reader.get_tensor(name), hf_state[key].T if transpose else hf_state[key])
    reloaded = kbz.BertPretrainer.from_pretrained(str(google))
    np.testing.assert_allclose(reloaded(inputs)["mlm_logits"].numpy(), expected, atol=1e-5)

    back = _run_tool("convert_checkpoint.py", f"--init_checkpoint={google}", f"--output_dir={tmp_path / 'hf2'}")
    assert back.returncode == 0, back.stderr
    round_trip = load_file(str(tmp_path / "hf2" / "model.safetensors"))
    assert round_trip.keys() == hf_state.keys()
    for key, value in hf_state.items():
        np.testing.assert_array_equal(round_trip[key], value, err_msg=key)

    # MiniLM's GELU is exact erf, which Google's bert_config.json can't name: refused, nothing written.
    refused = _run_tool("convert_checkpoint.py", f"--init_checkpoint={minilm_dir}",
                        f"--output_dir={tmp_path / 'minilm_google'}", "--output_format=google")
    assert refused.returncode == 2 and "--output_format=google" in refused.stderr and "tanh" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "minilm_google").exists()


def test_convert_checkpoint_keeps_task_heads(tmp_path, minilm_dir):
    import numpy as np

    classifier = kbz.BertClassifier.from_pretrained(minilm_dir, num_classes=2, label_names=["neg", "pos"])
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    classifier.save_pretrained(str(tmp_path / "sst2"), tokenizer=tokenizer)
    result = _run_tool("convert_checkpoint.py", f"--init_checkpoint={tmp_path / 'sst2'}",
                       f"--output_dir={tmp_path / 'copy'}")
    assert result.returncode == 0, result.stderr
    copy = kbz.BertClassifier.from_pretrained(str(tmp_path / "copy"))
    inputs = tokenizer(["a fine film", "dull"], max_length=16)
    np.testing.assert_allclose(copy(inputs)["logits"].numpy(), classifier(inputs)["logits"].numpy(), atol=1e-5)
    assert copy.label_names == ["neg", "pos"]


@pytest.mark.slow  # About a minute: ours and keras-hub's step at two precisions.
def test_benchmark_pretraining_step_on_a_tiny_model(tmp_path):
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=pretraining_step", "--preset=bert_tiny_uncased",
                       "--train_batch_size=4", "--max_seq_length=32", "--max_predictions_per_seq=5", "--steps=2",
                       "--precisions=float32,mixed_bfloat16", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    rows = [line for line in report.read_text().splitlines() if line.startswith("| pretraining step |")]
    assert len(rows) == 2 and all("keras-hub BertMaskedLM" in row and "GFLOP/s matmul" in row for row in rows)
    assert "precision=float32" in rows[0] and "precision=mixed_bfloat16" in rows[1]


def test_gpu_benchmark_runs_both_models_on_jax(tmp_path):
    # The device run's script, end to end on the CPU with a tiny model.
    output = tmp_path / "gpu.jsonl"
    result = _run_tool("gpu_benchmark.py", "--presets=bert_tiny_uncased", "--batch_size=4", "--seq_length=16",
                       "--predictions=3", "--steps=2", "--matmul_size=256", f"--output={output}",
                       KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    assert result.returncode == 0, result.stderr
    (line,) = output.read_text().splitlines()
    row = json.loads(line)
    assert row["preset"] == "bert_tiny_uncased" and row["peak_tflops"] > 0
    for name in ("ours", "keras_hub"):
        assert row[name]["seq_per_s"] > 0 and 0 < row[name]["mfu"] == row[name]["tflops"] / row["peak_tflops"]
    assert row["ratio"] == row["ours"]["seq_per_s"] / row["keras_hub"]["seq_per_s"]


def test_benchmark_serving_against_hf(tmp_path, minilm_dir):
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"sentence {i} was a fine, fine film.\n" for i in range(40)), encoding="utf-8")
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=serving", f"--text_file={texts}", f"--init_checkpoint={minilm_dir}",
                       "--intra_op_threads=1", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    rows = [line for line in report.read_text().splitlines() if line.startswith("| serving ")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| serving latency p50 (batch 1)", "| serving latency p99 (batch 1)", "| serving throughput (batch 32)"]
    difference = float(rows[0].rsplit("largest probability difference ", 1)[1].split(" ")[0])
    assert difference < 1e-5 and "BertForSequenceClassification (torch)" in rows[0]
    assert "tf_intra_op_threads=1, tf_inter_op_threads=default" in rows[0]


def test_benchmark_serving_through_cc_loader(tmp_path, minilm_dir):
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"sentence {i} was a dull film.\n" for i in range(10)), encoding="utf-8")
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=serving", "--serving_loader=cc", f"--text_file={texts}",
                       f"--init_checkpoint={minilm_dir}", "--max_seq_length=16", "--intra_op_threads=1",
                       "--inter_op_threads=1", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    rows = [line for line in report.read_text().splitlines() if line.startswith("| serving ")]
    assert len(rows) == 3
    for row in rows:
        assert "serving_loader=cc" in row and "tf_intra_op_threads=1, tf_inter_op_threads=1" in row
    difference = float(rows[0].rsplit("largest probability difference ", 1)[1].split(" ")[0])
    assert difference < 1e-5


def test_benchmark_serving_int8(tmp_path, minilm_dir):
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"sentence {i} was a fine film.\n" for i in range(10)), encoding="utf-8")
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=serving", "--quantize=int8", f"--text_file={texts}",
                       f"--init_checkpoint={minilm_dir}", "--max_seq_length=16", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    rows = [line for line in report.read_text().splitlines() if line.startswith("| serving ")]
    assert len(rows) == 3 and all("quantize=int8" in row for row in rows)
    difference = float(rows[0].rsplit("largest probability difference ", 1)[1].split(" ")[0])
    assert 0 < difference < 0.2  # int8 against the float32 peer: not equal, but close.


def test_benchmark_serving_int8_against_float32_and_torch_int8(tmp_path, minilm_dir):
    """The oneDNN int8 export against the float32 export of the same weights and against torch's quantize_dynamic,
    all through the C++ loader on a oneDNN server (the tool restarts itself with oneDNN on)."""
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"sentence {i} was a fine film.\n" for i in range(10)), encoding="utf-8")
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=serving_int8", f"--text_file={texts}",
                       f"--init_checkpoint={minilm_dir}", "--max_seq_length=16", "--intra_op_threads=1",
                       "--inter_op_threads=1", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    rows = [line for line in report.read_text().splitlines() if line.startswith("| serving ")]
    assert [row.split(" | ")[0] for row in rows[::3]] == [
        "| serving int8 export vs float32 export: latency p50 (batch 1)",
        "| serving int8 export vs peer int8: latency p50 (batch 1)",
        "| serving float32 export vs peer: latency p50 (batch 1)"]
    assert "quantize_dynamic int8" in rows[3] and all("TF_ENABLE_ONEDNN_OPTS=1" in row for row in rows)
    differences = [[float(x) for x in re.search(r"ours ([-+.e0-9]+), peer ([-+.e0-9]+);", row).groups()]
                   for row in rows[::3]]
    # Ours and torch's int8 are close to float32, not equal; our float32 export equals HF's float32.
    assert 0 < differences[0][0] < 0.2 and 0 < differences[1][1] < 0.2 and differences[2][0] < 1e-5


def test_benchmark_long_context_on_the_tiny_shape(tmp_path):
    """Both sides' children run at two lengths and report time and peak memory per length."""
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=long_context", "--long_context_shape=tiny",
                       "--long_context_lengths=40,80", "--steps=1", "--repeats=1", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    rows = [line.split(" | ") for line in report.read_text().splitlines() if line.startswith("| ModernBERT ")]
    assert [row[0] for row in rows] == [f"| ModernBERT {kind}, {length} tokens" for length in (40, 80)
                                        for kind in ("forward", "training step", "peak memory")]
    for row in rows:
        assert "nan" not in row[1] + row[2] and "failed" not in row[-1]


def test_benchmark_chinese_segmentation_agrees_with_jieba(tmp_path):
    lines = tmp_path / "zh.txt"
    lines.write_text("我们在北京大学学习自然语言处理。\n王小二和李晓明在中关村创业\n\n他用iPhone12拍了很多照片\n",
                     encoding="utf-8")
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=chinese_segmentation", f"--text_file={lines}", "--repeats=1",
                       f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    row = next(line for line in report.read_text().splitlines() if line.startswith("| Chinese word segmentation"))
    assert "the same, span for span" in row and "DIFFERENT" not in row


def test_benchmark_bpe_tokenizer_against_rust_and_keras_hub(tmp_path):
    from keras_bert_zoo.data.samples import PRETRAINING_CORPUS
    from keras_bert_zoo.text.byte_pair_trainer import train_byte_pair_vocab

    corpus = tmp_path / "corpus.txt"
    # Chinese, an accented letter, a contraction and two spaces take every path of the pre-tokenization.
    extra = "\n\u4f60\u597d\uff0c\u4e16\u754c\u3002 caf\u00e9 don't  stop\n"
    corpus.write_text(PRETRAINING_CORPUS + extra, encoding="utf-8")
    train_byte_pair_vocab([str(corpus)], tmp_path / "bpe", vocab_size=400, min_frequency=1)
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=tokenizer", "--tokenizer_kind=bpe",
                       f"--tokenizer_dir={tmp_path / 'bpe'}", f"--corpora=text={corpus}", "--batch_size=4",
                       "--repeats=1", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    rows = [line for line in report.read_text().splitlines() if line.startswith("| bpe tokenizer")]
    assert len(rows) == 2 and all("ours 100.0000%" in row and "first pass (no word remembered yet)" in row
                                  and "slice back to the token on 100.0000%" in row for row in rows)


def test_benchmark_rejects_negative_threads():
    result = _run_tool("benchmark.py", "--benchmark=pretraining_step", "--inter_op_threads=-1")
    assert result.returncode == 2 and "--inter_op_threads=-1" in result.stderr


def test_seconds_in_turns_takes_turns_through_parts_of_the_batches():
    from benchmarks.alternating_timing import seconds_in_turns

    calls = []
    runs = {"ours": lambda b: calls.append(("ours", b)), "peer": lambda b: calls.append(("peer", b))}
    seconds = seconds_in_turns(runs, [0, 1, 2, 3, 4], turns=2)
    assert calls == [("ours", 0), ("ours", 1), ("ours", 2), ("peer", 0), ("peer", 1), ("peer", 2),
                     ("ours", 3), ("ours", 4), ("peer", 3), ("peer", 4)]
    assert all(len(values) == 5 and min(values) >= 0 for values in seconds.values())


def test_alternating_seconds_takes_turns():
    from benchmarks.alternating_timing import alternating_seconds

    calls = []
    seconds = alternating_seconds({"ours": lambda: calls.append("ours"), "peer": lambda: calls.append("peer")}, 3)
    assert calls == ["ours", "peer"] * 3
    assert all(len(values) == 3 and min(values) >= 0 for values in seconds.values())


def _sst2_like_rows():
    """Full review sentences followed, as in SST-2 train, by phrases of their parse trees."""
    sentences = [(f"a {w} film with {x} acting and a {w} story", 1) for w, x in
                 [("moving", "fine"), ("clever", "superb"), ("warm", "lovely"), ("bright", "great")]]
    sentences += [(f"a {w} film with {x} acting and a {w} plot", 0) for w, x in
                  [("dull", "flat"), ("tired", "awful"), ("limp", "poor"), ("stale", "wooden")]]
    phrases = [(" ".join(s.split()[i:i + 3]), label) for s, label in sentences for i in (0, 3)]
    return sentences + phrases


def test_sst2_full_sentence_split_holds_out_sentences_and_their_phrases():
    from benchmarks.finetuning_quality import sst2_full_sentence_split

    rows = _sst2_like_rows()
    texts, labels = [t for t, _ in rows], [l for _, l in rows]
    train, train_labels, heldout, heldout_labels = sst2_full_sentence_split(texts, labels, 3, seed=1)
    assert len(heldout) == 3 and set(heldout) <= {t for t, _ in rows[:8]}
    assert dict(zip(heldout, heldout_labels)) == {t: l for t, l in rows if t in heldout}
    for sentence in heldout:
        assert not any(phrase in sentence for phrase in train)  # No phrase of a held-out sentence trains.
    assert len(train) == len(train_labels) and any(len(t.split()) == 3 for t in train)
    with pytest.raises(ValueError, match="Only 8 full sentences"):
        sst2_full_sentence_split(texts, labels, 9)


def test_compression_data_leaves_held_out_sentences_out_of_the_unlabeled_text(tmp_path):
    from benchmarks.compression_benchmark import write_compression_data
    from keras_bert_zoo.data import read_classification_file

    rows = _sst2_like_rows()
    texts, labels = [t for t, _ in rows], [l for _, l in rows]
    positive, negative = tmp_path / "rt.pos", tmp_path / "rt.neg"
    # rt-polarity spells SST-2's "it 's" as "it's"; and it is Latin-1.
    positive.write_bytes("".join(f"{t.replace(' ', '  ')} !\n" for t in texts[:8:2]).encode("latin-1")
                         + "une critique trop polie\n".encode("latin-1"))
    negative.write_bytes("une critique caf\xe9 \nrien a voir\n".encode("latin-1"))
    train, eval_file, unlabeled, heldout, heldout_labels = write_compression_data(
        texts, labels, tmp_path, max_train=5, num_heldout=3, unlabeled_files=[positive, negative], max_unlabeled=10)
    assert len(read_classification_file(train, text_column="sentence").texts) == 5
    assert read_classification_file(eval_file, text_column="sentence").texts == heldout and len(heldout) == 3
    kept = open(unlabeled, encoding="utf-8").read().splitlines()
    assert kept[:2] == [kept[0], "une critique café"] and "rien a voir" in kept  # Files interleaved.
    squeezed = {" ".join(t.split()) for t in heldout}
    assert not any(" ".join(t.rstrip(" !").split()) in squeezed for t in kept)
    assert len(kept) == 4 - sum(t in squeezed for t in texts[:8:2]) + 3


@pytest.mark.slow  # Six tool runs and twelve exports: about five minutes on two busy cores.
def test_benchmark_compression_of_ner_over_seeds(tmp_path):
    """Teachers and students trained by the tools per seed, served float32 and int8 by the C++ loader."""
    words = ["peter", "lives", "in", "paris", "the", "tower", "is", "berlin", "u", "s"]
    checkpoint = _tiny_hf_checkpoint(tmp_path, words)
    sentences = [f"Peter B-PER\nlives O\nin O\n{city} B-LOC\n. O\n\n" for city in ("Paris", "Berlin", "U.S.")]
    conll = tmp_path / "train.txt"
    conll.write_text("".join(sentences * 4))
    report, work_dir = tmp_path / "BENCH.md", tmp_path / "work"
    flags = ["--benchmark=compression", "--compression_task=ner", f"--text_file={conll}", f"--eval_file={conll}",
             f"--init_checkpoint={checkpoint}", "--seeds=0,1", "--student_num_layers=1", "--max_texts=8",
             "--max_unlabeled=4", "--eval_examples=6", "--max_seq_length=16", "--train_batch_size=4",
             f"--work_dir={work_dir}", f"--append_to={report}"]
    result = _run_tool("benchmark.py", *flags)
    assert result.returncode == 0, result.stderr
    assert (work_dir / "unlabeled.txt").read_text().splitlines() == [
        f"Peter lives in {city} ." for city in ("U.S.", "Paris", "Berlin", "U.S.")]
    text = report.read_text()
    for side in ("teacher float32", "teacher int8", "student_l1 float32", "student_l1 int8"):
        assert f"compression ner, {side}, held-out entity F1" in text and f"compression ner, {side}, latency" in text
    assert "seeds=0,1" in text and "torch quantize_dynamic int8" in text
    # The served tags, mapped back to CoNLL's words ("U.S." is four served words), score as the tool's own eval.
    served = {int(seed): float(f1) for seed, f1 in re.findall(
        r"compression ner, seed (\d): teacher float32 ([\d.]+)", result.stdout)}
    for seed in (0, 1):
        tool = json.loads((work_dir / f"seed{seed}" / "teacher" / "eval_results.json").read_text())
        assert served[seed] == pytest.approx(100 * tool["f1"], abs=0.01)
    assert len(list(work_dir.glob("seed*/*/eval_results.json"))) == 4


@pytest.mark.slow  # Two fine-tunings of MiniLM and a keras-hub one: minutes on two cores.
def test_benchmark_finetuning_quality_runs_both_sides(tmp_path, minilm_dir):
    texts = tmp_path / "sst2.tsv"
    texts.write_text("sentence\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in _sst2_like_rows() * 2))
    report = tmp_path / "BENCH.md"
    result = _run_tool("benchmark.py", "--benchmark=finetuning_quality", f"--text_file={texts}",
                       f"--init_checkpoint={minilm_dir}", "--eval_examples=2", "--seeds=0",
                       "--tool_variants=torch=--optimizer_semantics=torch,google=--optimizer_semantics=google",
                       "--max_seq_length=16", "--train_batch_size=8", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    assert "SST-2 held-out sentences, torch" in result.stdout and "SST-2 held-out sentences, google" in result.stdout
    assert "keras-hub: " in result.stdout and "--seeds=0" in report.read_text()
    bad = _run_tool("benchmark.py", "--benchmark=finetuning_quality", f"--text_file={texts}", "--eval_examples=2",
                    "--tool_variants=default=,google")
    assert bad.returncode == 2 and "--tool_variants: 'google' is not NAME=FLAGS" in bad.stderr


def _tiny_hf_checkpoint(directory, words):
    from conftest import write_vocab

    vocab = write_vocab(directory / "vocab.txt", words + [c for w in words for c in w.lower()] + ["?", ".", ","])
    tokenizer = kbz.BertTokenizer(vocab)
    config = kbz.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_layers=2, num_heads=2,
                            intermediate_size=32, max_position_embeddings=256, hidden_act="gelu")
    kbz.BertEncoder(config).save_pretrained(str(directory), tokenizer=tokenizer)
    return str(directory)


@pytest.mark.slow  # Five tool runs with HF torch and JAX beside them: about two minutes.
def test_benchmark_ner_and_squad_quality_run_tool_and_hf_sides(tmp_path):
    """Both held-out benchmarks, end to end on a tiny checkpoint: the tools in their processes, then HF torch."""
    words = ["peter", "lives", "in", "paris", "where", "does", "live", "the", "tower", "is", "berlin"]
    checkpoint = _tiny_hf_checkpoint(tmp_path, words)
    conll = tmp_path / "train.txt"
    conll.write_text("-DOCSTART- O\n\n" + "".join(
        f"Peter B-PER\nlives O\nin O\n{city} B-LOC\n. O\n\n" for city in ("Paris", "Berlin") * 4))
    report = tmp_path / "BENCH.md"
    ner = _run_tool("benchmark.py", "--benchmark=ner_quality", f"--text_file={conll}", f"--eval_file={conll}",
                    f"--init_checkpoint={checkpoint}", "--seeds=0", "--max_seq_length=16", "--train_batch_size=4",
                    "--num_train_epochs=2", "--tool_variants=default=,HF batches=--nolength_buckets "
                    "--learning_rate_decay=none", f"--append_to={report}")
    assert ner.returncode == 0, ner.stderr
    assert "default: " in ner.stdout and "HF batches: " in ner.stdout and "HF torch: " in ner.stdout
    assert "% entity f1" in ner.stdout and "epochs=2" in ner.stdout
    articles = [{"title": city, "paragraphs": [{"context": f"Peter lives in {city}. The tower is in {city}.",
                                                "qas": [{"id": f"{city}{i}", "question": question, "answers": [
                                                    {"text": city, "answer_start": 15}]}
                                                        for i, question in enumerate(("Where does Peter live?",
                                                                                      "Where is the tower?"))]}]}
                for city in ("Paris", "Berlin")]
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"version": "1.1", "data": articles}))
    result = _run_tool("benchmark.py", "--benchmark=squad_quality", f"--text_file={squad}",
                       f"--init_checkpoint={checkpoint}", "--seeds=0", "--max_seq_length=192", "--train_batch_size=2",
                       "--eval_examples=0", f"--append_to={report}")
    assert result.returncode == 0, result.stderr
    assert "pipelines crossed on seed 0: our model, our pipeline F1" in result.stdout
    assert "eval_questions=2" in result.stdout and "HF model, HF pipeline" in result.stdout
    # The recipe ablation runs HF torch alone, on the JAX backend, as on the GPU machine without TensorFlow.
    ablation = tmp_path / "ABLATION.md"
    result = _run_tool("benchmark.py", "--benchmark=squad_recipe_ablation", f"--text_file={squad}",
                       f"--init_checkpoint={checkpoint}", "--seeds=0", "--max_seq_length=192", "--train_batch_size=2",
                       "--recipe_variants=hf,google+length_buckets+answer_mask", f"--append_to={ablation}",
                       KERAS_BACKEND="jax")
    assert result.returncode == 0, result.stderr
    assert "seed 0 google+length_buckets+answer_mask: F1" in result.stdout
    assert "| hf |" in ablation.read_text() and "--recipe_variants=" in ablation.read_text()
    bad = _run_tool("benchmark.py", "--benchmark=squad_recipe_ablation", f"--text_file={squad}",
                    "--recipe_variants=hf,adam", KERAS_BACKEND="jax")
    assert bad.returncode == 2 and "Unknown recipe variant(s) ['adam']" in bad.stderr
    bad = _run_tool("benchmark.py", "--benchmark=ner_quality", f"--text_file={conll}")
    assert bad.returncode == 2 and "--eval_file" in bad.stderr
