"""Preemption-exact resume, dead workers, and bad flags or files for every tool."""

import json
import random
import signal
import subprocess
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import tensorflow_log_lines, write_vocab
from test_run_pretraining import SHAPE, TINY_CONFIG, _env, _free_ports, _tool, corpus  # noqa: F401 (fixture)

STEPS = 24


def _resume_args(corpus, model_dir):
    return _tool("run_pretraining.py") + [
        f"--bert_config_file={corpus / 'bert_config.json'}", f"--input_file={corpus / 'data.tfrecord'}",
        f"--model_dir={model_dir}", "--train_batch_size=8", "--num_warmup_steps=3", "--learning_rate=1e-3",
        f"--num_train_steps={STEPS}", "--save_checkpoints_steps=4", "--log_steps=4", "--deterministic",
        "--seed=7", *SHAPE]


def _final_variables(model_dir):
    reader = tf.train.load_checkpoint(str(model_dir / f"ckpt-{STEPS}"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_sigkill_at_three_points_then_resume_is_bitwise_exact(corpus, tmp_path):
    uninterrupted = subprocess.run(_resume_args(corpus, tmp_path / "a"), capture_output=True, text=True,
                                   timeout=600, env=_env())
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    rng = random.Random(0)
    for attempt in range(3):
        process = subprocess.Popen(_resume_args(corpus, tmp_path / "b"), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=_env())
        time.sleep(rng.uniform(4.0, 9.0))  # from start-up to mid-training, at random
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finished = subprocess.run(_resume_args(corpus, tmp_path / "b"), capture_output=True, text=True, timeout=600,
                              env=_env())
    assert finished.returncode == 0, finished.stderr
    expected, resumed = _final_variables(tmp_path / "a"), _final_variables(tmp_path / "b")
    assert expected.keys() == resumed.keys() and len(expected) > 50
    for name, value in expected.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)


def test_killed_worker_ends_the_job_instead_of_hanging(corpus, tmp_path):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        args = _resume_args(corpus, tmp_path / "model")
        args = [a for a in args if not a.startswith(("--num_train_steps", "--deterministic"))]
        processes.append(subprocess.Popen(
            args + ["--strategy=multi_worker_mirrored", "--num_train_steps=100000", "--collective_timeout=20"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    for line in processes[1].stdout:
        if line.startswith("step "):
            break
    processes[1].send_signal(signal.SIGKILL)
    start = time.perf_counter()
    try:
        processes[0].wait(timeout=240)
    finally:
        for p in processes:
            p.kill()
    assert processes[0].returncode != 0, "the surviving worker should fail, not finish 100000 steps"
    assert time.perf_counter() - start < 240


def _run_tool(name, *args):
    """Runs a tool as a user would, with TensorFlow's log level unset."""
    env = {k: v for k, v in _env().items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(_tool(name) + list(args), capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "malformed.tsv").write_text("sentence\tlabel\ngood one\tpos\nmissing label\n", encoding="utf-8")
    (root / "bad.conll").write_text("EU B-ORG\nrejects O\nGerman B-MISC I-MISC extra\n", encoding="utf-8")
    (root / "bad.json").write_text("{not json", encoding="utf-8")
    (root / "text.txt").write_text("one sentence.\n\nanother document.\n", encoding="utf-8")
    write_vocab(root / "small_vocab.txt", ["hello"])
    (root / "train.tsv").write_text("sentence\tlabel\na fine film\tpositive\na dull film\tnegative\n")
    (root / "dev.tsv").write_text("sentence\tlabel\nan odd film\tpositive\nan ok film\tneutral\n")
    (root / "train.conll").write_text("Alice B-PER\nsings O\n\nBob B-PER\n", encoding="utf-8")
    (root / "dev.conll").write_text("Paris B-LOC\nsleeps O\n", encoding="utf-8")
    (root / "config.json").write_text(json.dumps(dict(TINY_CONFIG, max_position_embeddings=64)))
    return root


TOOL_CASES = [
    ("build_vocab.py", ["--input_files={root}/nothing*.txt", "--output_vocab={out}/vocab.txt"],
     "--input_files: no file matches"),
    ("build_vocab.py", ["--input_files={root}/text.txt", "--output_vocab={out}/vocab.txt", "--vocab_size=3"],
     "--vocab_size=3"),
    ("create_pretraining_data.py", ["--input_file={root}/text.txt", "--output_file={out}/x.tfrecord",
                                    "--vocab_file={root}/missing.txt"], "--vocab_file"),
    ("create_pretraining_data.py", ["--input_file={root}/text.txt", "--output_file={out}/x.tfrecord",
                                    "--vocab_file={root}/small_vocab.txt", "--max_predictions_per_seq=500"],
     "max_predictions_per_seq"),
    ("run_pretraining.py", ["--bert_config_file={root}/config.json", "--text_file={root}/text.txt",
                            "--vocab_file={root}/small_vocab.txt", "--model_dir={out}/m"],
     "--vocab_file: 6 tokens, but the model's vocab_size is 30522"),
    ("run_pretraining.py", ["--bert_config_file={root}/config.json", "--input_file={root}/text.txt",
                            "--model_dir={out}/m", "--max_seq_length=128"],
     "--max_seq_length=128 exceeds the model's max_position_embeddings=64"),
    ("run_pretraining.py", ["--bert_config_file={root}/bad.json", "--input_file={root}/text.txt",
                            "--model_dir={out}/m"], "bad.json"),
    ("run_pretraining.py", ["--preset=bert_tiny_uncased", "--input_file={root}/text.txt", "--model_dir={out}/m",
                            "--optimizer=sgd"], "--optimizer"),
    ("run_classifier.py", ["--init_checkpoint={minilm}", "--do_train", "--train_file={root}/malformed.tsv",
                           "--model_dir={out}/m"], "malformed.tsv:3"),
    ("run_classifier.py", ["--init_checkpoint={minilm}", "--do_eval", "--eval_file={root}/malformed.tsv",
                           "--model_dir={out}/m", "--vocab_file={root}/small_vocab.txt"],
     "--vocab_file: 6 tokens, but the checkpoint's vocab_size is 30522"),
    ("run_classifier.py", ["--init_checkpoint={minilm}", "--do_train", "--train_file={root}/malformed.tsv",
                           "--model_dir={out}/m", "--strategy=tpu_pod"], "--strategy"),
    ("run_ner.py", ["--init_checkpoint={minilm}", "--do_train", "--train_file={root}/bad.conll",
                    "--model_dir={out}/m"], "bad.conll:3"),
    # Labels of the evaluation data that training can't know stop the run before it trains.
    ("run_classifier.py", ["--init_checkpoint={minilm}", "--do_train", "--train_file={root}/train.tsv", "--do_eval",
                           "--eval_file={root}/dev.tsv", "--model_dir={out}/m"],
     "--eval_file: {root}/dev.tsv:3: unknown label 'neutral'"),
    ("run_ner.py", ["--init_checkpoint={minilm}", "--do_train", "--train_file={root}/train.conll", "--do_eval",
                    "--eval_file={root}/dev.conll", "--model_dir={out}/m"], "--eval_file: Sentence 0: tag 'B-LOC'"),
    # Output paths that can't be written stop the tool before any work.
    ("run_classifier.py", ["--init_checkpoint={minilm}", "--do_train", "--train_file={root}/train.tsv",
                           "--model_dir={root}/text.txt/m"], "--model_dir={root}/text.txt/m lies under the file"),
    ("run_pretraining.py", ["--preset=bert_tiny_uncased", "--input_file={root}/text.txt",
                            "--model_dir={root}/text.txt"], "--model_dir={root}/text.txt is a file"),
    ("export_saved_model.py", ["--init_checkpoint={minilm}", "--task=encoder", "--export_dir={root}/text.txt"],
     "--export_dir={root}/text.txt is a file, not a directory"),
    ("convert_checkpoint.py", ["--init_checkpoint={minilm}", "--output_dir={root}/text.txt"],
     "--output_dir={root}/text.txt is a file"),
    ("build_vocab.py", ["--input_files={root}/text.txt", "--output_vocab={out}/missing/vocab.txt"],
     "--output_vocab={out}/missing/vocab.txt: the directory {out}/missing does not exist"),
    ("create_pretraining_data.py", ["--input_file={root}/text.txt", "--output_file={out}/missing/x.tfrecord",
                                    "--vocab_file={root}/small_vocab.txt"], "--output_file={out}/missing/x.tfrecord"),
    ("quickstart.py", ["--output_dir={root}/text.txt", "--saved_models={out}/s"], "--output_dir={root}/text.txt"),
    ("run_squad.py", ["--init_checkpoint={minilm}", "--do_eval", "--eval_file={root}/bad.json",
                      "--model_dir={out}/m"], "bad.json"),
    ("export_saved_model.py", ["--init_checkpoint={minilm}", "--task=translation", "--export_dir={out}/m"],
     "--task"),
    ("export_saved_model.py", ["--init_checkpoint={minilm}", "--task=encoder", "--export_dir={out}/m",
                               "--max_seq_length=4096"], "max_seq_length=4096"),
    ("export_saved_model.py", ["--init_checkpoint={minilm}", "--task=classifier", "--export_dir={out}/m"],
     "holds an encoder model, with no BertClassifier head weights; its head would be freshly initialized. "
     "Export it with --task=encoder"),
    ("convert_checkpoint.py", ["--init_checkpoint={root}/nothing", "--output_dir={out}/c"],
     "nothing does not exist"),
    ("convert_checkpoint.py", ["--init_checkpoint={minilm}", "--output_dir={out}/c",
                               "--vocab_file={root}/small_vocab.txt"],
     "--vocab_file: 6 tokens, but the model's vocab_size is 30522"),
    ("quickstart.py", ["--pretraining_steps=0", "--output_dir={out}/q", "--saved_models={out}/s"],
     "--pretraining_steps=0: must be at least 1"),
    ("quickstart.py", ["--init_checkpoint={root}/nothing", "--output_dir={out}/q", "--saved_models={out}/s"],
     "nothing does not exist"),
    ("benchmark.py", ["--text_file={root}/missing.txt"], "missing.txt does not exist"),
    ("benchmark.py", ["--text_file={root}/text.txt", "--batch_size=0", "--append_to={out}/B.md"],
     "--batch_size=0: must be at least 1"),
    ("gpu_benchmark.py", ["--presets=bert_huge", "--output={out}/g.jsonl"], "--presets: unknown bert_huge"),
    ("gpu_benchmark.py", ["--precision=fp8", "--output={out}/g.jsonl"], "--precision=fp8"),
    ("predict.py", ["--saved_model={root}", "--input_file={root}/text.txt", "--output_file={out}/p.jsonl"],
     "saved_model.pb"),
    ("predict.py", ["--server_url=localhost:8501", "--input_file={root}/text.txt", "--output_file={out}/p.jsonl"],
     "not a TF Serving predict URL"),
    ("predict.py", ["--server_url=http://localhost:8501/v1/models/m:predict", "--input_file={root}/text.txt",
                    "--output_file={out}/missing/p.jsonl"], "--output_file={out}/missing/p.jsonl"),
]


@pytest.mark.parametrize("tool,args,message", TOOL_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(TOOL_CASES)])
def test_bad_flags_and_files_exit_2_without_partial_outputs(bad_inputs, tmp_path, minilm_dir, tool, args, message):
    out = tmp_path / "out"
    out.mkdir()
    result = _run_tool(tool, *[a.format(root=bad_inputs, out=out, minilm=minilm_dir) for a in args])
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert message.format(root=bad_inputs, out=out) in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and not tensorflow_log_lines(result.stderr), result.stderr
    # The message and where the flags are documented, not the whole help text above it.
    assert len(result.stderr.strip().splitlines()) < 5 and "--helpfull" in result.stderr, result.stderr
    assert not [p for p in out.rglob("*") if p.is_file()], "no partial outputs"
    assert "Fine-tuning on" not in result.stdout, "stopped before any work"
