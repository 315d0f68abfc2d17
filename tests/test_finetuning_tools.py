"""run_classifier, run_ner and run_squad end to end from the real MiniLM checkpoint, on data written here."""

import json
import os
import re
import subprocess
import sys

import pytest

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, assert_readable_by_all, tensorflow_log_lines

POSITIVE = ["a delightful film", "wonderful acting and a moving story", "great fun from start to end",
            "a charming, clever comedy", "beautiful and heartfelt", "brilliant performances all round"]
NEGATIVE = ["a dull mess", "boring and far too long", "terrible acting and a silly plot",
            "a tedious, lifeless sequel", "painfully bad", "an awful waste of time"]


def _run(tool, *args, timeout=600):
    """Runs a tool under umask 022, as a service or a login shell would, checking it logs no TensorFlow C++ line."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / tool), *args], capture_output=True,
                            text=True, env=env, timeout=timeout, preexec_fn=lambda: os.umask(0o022))
    assert not tensorflow_log_lines(result.stderr), result.stderr
    return result


def _model_dir_contents(model_dir):
    """{relative path: bytes} of every file under `model_dir`."""
    return {str(p.relative_to(model_dir)): p.read_bytes() for p in sorted(model_dir.rglob("*")) if p.is_file()}


def _common(minilm_dir, model_dir):
    return [f"--init_checkpoint={minilm_dir}", f"--model_dir={model_dir}", "--train_batch_size=8",
            "--eval_batch_size=16", "--learning_rate=1e-4", "--log_steps=5"]


def test_run_classifier(tmp_path, minilm_dir):
    rows = [(t, "pos") for t in POSITIVE] + [(t, "neg") for t in NEGATIVE]
    train = tmp_path / "train.tsv"
    train.write_text("sentence\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows * 3), encoding="utf-8")
    predict = tmp_path / "predict.jsonl"
    predict.write_text("".join(json.dumps({"sentence": t}) + "\n" for t in ["what a lovely film", "so dull"]))
    model_dir = tmp_path / "model"
    result = _run("run_classifier.py", *_common(minilm_dir, model_dir), "--do_train", "--do_eval", "--do_predict",
                  f"--train_file={train}", f"--eval_file={train}", f"--predict_file={predict}",
                  "--num_train_epochs=2", "--max_seq_length=32")
    assert result.returncode == 0, result.stderr
    results = json.loads((model_dir / "eval_results.json").read_text())
    assert {"accuracy", "f1", "mcc"} <= set(results) and results["eval_examples"] == 36
    assert "Eval results: accuracy=" in result.stdout and "step 9/9" in result.stdout
    # The library's warnings read as plain warnings, not in a log format like TensorFlow's C++ lines.
    assert f"WARNING: {minilm_dir} holds an encoder model" in result.stderr, result.stderr
    predictions = [json.loads(line) for line in (model_dir / "predictions.jsonl").read_text().splitlines()]
    assert [p["text"] for p in predictions] == ["what a lovely film", "so dull"]
    assert all(p["label"] in ("neg", "pos") and abs(sum(p["probabilities"]) - 1) < 1e-4 for p in predictions)
    model = kbz.BertClassifier.from_pretrained(str(model_dir))  # the model_dir itself is a checkpoint
    assert model.label_names == ["neg", "pos"]
    # Evaluation and prediction alone reuse the trained checkpoint in --model_dir, with no --init_checkpoint.
    again = _run("run_classifier.py", f"--model_dir={model_dir}", "--do_eval", f"--eval_file={train}",
                 "--do_predict", f"--predict_file={predict}", "--max_seq_length=32")
    assert again.returncode == 0, again.stderr
    assert json.loads((model_dir / "eval_results.json").read_text())["accuracy"] == results["accuracy"]
    assert_readable_by_all(model_dir)
    _rerun_into_the_model_dir(tmp_path, minilm_dir, model_dir, train, results)
    _export_the_classifier_run(tmp_path, model_dir)


def _rerun_into_the_model_dir(tmp_path, minilm_dir, model_dir, train, results):
    """The same run again trains nothing and evaluates; other data stops before any work; overwriting retrains."""
    args = [*_common(minilm_dir, model_dir), "--do_train", "--do_eval", f"--eval_file={train}",
            "--num_train_epochs=2", "--max_seq_length=32"]
    finished = _run("run_classifier.py", *args, f"--train_file={train}")
    assert finished.returncode == 0, finished.stderr
    assert "holds this run, finished at step 9: nothing to train" in finished.stdout
    assert not re.search(r"^step \d+/", finished.stdout, re.M)
    assert f"accuracy={results['accuracy']:.4f}" in finished.stdout
    other = tmp_path / "other.tsv"
    other.write_text("sentence\tlabel\n" + "".join(f"{t} indeed\t{l}\n" for t, l in
                                                    [(t, "pos") for t in POSITIVE] + [(t, "neg") for t in NEGATIVE]))
    before = _model_dir_contents(model_dir)
    refused = _run("run_classifier.py", *args, f"--train_file={other}")
    assert refused.returncode == 2, refused.stderr
    assert f"--train_file: was {train}" in refused.stderr and f"now {other}" in refused.stderr
    assert "--overwrite_model_dir" in refused.stderr and "Traceback" not in refused.stderr
    assert _model_dir_contents(model_dir) == before, "a refused rerun changes nothing"
    overwritten = _run("run_classifier.py", *args, f"--train_file={other}", "--overwrite_model_dir",
                       "--num_train_epochs=1")
    assert overwritten.returncode == 0, overwritten.stderr
    assert "Deleted the checkpoints and results of the earlier run" in overwritten.stdout
    assert "Resuming" not in overwritten.stdout and "step 2/2" in overwritten.stdout
    assert sorted(p.name for p in model_dir.glob("ckpt-*.index")) == ["ckpt-2.index"]
    record = json.loads((model_dir / "training_run.json").read_text())
    assert record["data"]["train_file"][0]["file"] == str(other) and record["finished"]["step"] == 2


def _export_the_classifier_run(tmp_path, model_dir):
    """Exports as the classifier it is; refuses any task whose head would be fresh, leaving nothing behind."""
    saved_models = tmp_path / "saved_models"
    for task in ("squad", "ner", "pretrainer"):
        refused = _run("export_saved_model.py", f"--model_dir={model_dir}", f"--task={task}",
                       f"--export_dir={saved_models / task}")
        assert refused.returncode == 2, refused.stderr
        assert "holds a classifier model" in refused.stderr and "--task=classifier" in refused.stderr
        assert "Traceback" not in refused.stderr and not saved_models.exists()
    exported = _run("export_saved_model.py", f"--model_dir={model_dir}", "--task=classifier",
                    f"--export_dir={saved_models / 'sst2'}", "--max_seq_length=32")
    assert exported.returncode == 0, exported.stderr
    assert sorted(os.listdir(saved_models)) == ["batching_parameters.txt", "models.config", "sst2"]
    assert_readable_by_all(saved_models)


def test_run_ner(tmp_path, minilm_dir):
    sentences = [
        [("Alice", "B-PER"), ("visited", "O"), ("Paris", "B-LOC"), ("in", "O"), ("May", "O"), (".", "O")],
        [("Bob", "B-PER"), ("Smith", "I-PER"), ("works", "O"), ("for", "O"), ("Acme", "B-ORG"), ("Corp", "I-ORG")],
        [("Zoë", "B-PER"), ("flew", "O"), ("to", "O"), ("Zürich", "B-LOC"), ("!", "O")],
        [("東京", "B-LOC"), ("is", "O"), ("large", "O")],
    ]
    text = "-DOCSTART- -X- -X- O\n\n" + "".join(
        "".join(f"{w} NN O {t}\n" for w, t in sentence) + "\n" for sentence in sentences * 4)
    data = tmp_path / "train.txt"
    data.write_text(text, encoding="utf-8")
    model_dir = tmp_path / "model"
    result = _run("run_ner.py", *_common(minilm_dir, model_dir), "--do_train", "--do_eval", "--do_predict",
                  f"--train_file={data}", f"--eval_file={data}", f"--predict_file={data}", "--num_train_epochs=2",
                  "--max_seq_length=16")
    assert result.returncode == 0, result.stderr
    results = json.loads((model_dir / "eval_results.json").read_text())
    assert {"precision", "recall", "f1"} <= set(results)
    predicted = (model_dir / "predictions.txt").read_text(encoding="utf-8").split("\n\n")
    assert predicted[0].splitlines()[0].startswith("Alice\t") and len(predicted[0].splitlines()) == 6


def test_run_ner_trains_mirrored_on_two_cpu_devices(tmp_path, minilm_dir):
    # The strategy is set up before the tokenizer's first TensorFlow op, which would fix the devices.
    data = tmp_path / "train.txt"
    data.write_text("".join("Alice NN O B-PER\nvisited NN O O\nParis NN O B-LOC\n\n" for _ in range(16)))
    model_dir = tmp_path / "model"
    result = _run("run_ner.py", *_common(minilm_dir, model_dir), "--do_train", f"--train_file={data}",
                  "--num_train_epochs=1", "--max_seq_length=16", "--cpu_devices=2", "--strategy=mirrored")
    assert result.returncode == 0, result.stderr
    assert "Fine-tuning on 16 examples for 2 steps" in result.stdout and (model_dir / "checkpoint").exists()


def test_run_squad(tmp_path, minilm_dir):
    context = ("The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It was designed by "
               "Gustave Eiffel's company and is about 330 metres tall.")
    questions = [("When was the Eiffel Tower completed?", "1889"), ("Where is the tower?", "Paris"),
                 ("How tall is it?", "about 330 metres")]
    squad = {"version": "1.1", "data": [{"title": "Eiffel", "paragraphs": [{"context": context, "qas": [
        {"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
        for i, (q, a) in enumerate(questions)]}]}]}
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(squad))
    model_dir = tmp_path / "model"
    result = _run("run_squad.py", *_common(minilm_dir, model_dir), "--do_train", "--do_eval",
                  f"--train_file={data}", f"--eval_file={data}", "--num_train_epochs=3", "--max_seq_length=48",
                  "--doc_stride=16", "--max_query_length=16")
    assert result.returncode == 0, result.stderr
    results = json.loads((model_dir / "eval_results.json").read_text())
    assert {"exact_match", "f1"} <= set(results) and 0 <= results["f1"] <= 100
    predictions = json.loads((model_dir / "predictions.json").read_text())
    assert set(predictions) == {"q0", "q1", "q2"} and all(p in context for p in predictions.values())
    nbest = json.loads((model_dir / "nbest_predictions.json").read_text())
    assert len(nbest["q0"]) >= 2 and abs(sum(e["probability"] for e in nbest["q0"]) - 1) < 1e-3


@pytest.mark.parametrize("tool,args,message", [
    ("run_classifier.py", ["--do_train"], "--model_dir is required"),
    ("run_classifier.py", ["--model_dir=/tmp/x"], "Nothing to do"),
    ("run_classifier.py", ["--do_train", "--model_dir=/tmp/x", "--init_checkpoint=/nonexistent"],
     "--init_checkpoint=/nonexistent does not exist"),
    ("run_ner.py", ["--do_eval", "--model_dir=/tmp/x", "--init_checkpoint=bert_tiny_uncased",
                    "--eval_file=/nonexistent.txt"], "--eval_file=/nonexistent.txt does not exist"),
    ("run_squad.py", ["--do_train", "--model_dir=/tmp/x", "--init_checkpoint=bert_tiny_uncased",
                      "--max_seq_length=1000"], "--max_seq_length=1000"),
    ("run_ner.py", ["--do_train", "--model_dir=/tmp/x", "--init_checkpoint=bert_tiny_uncased",
                    "--adam_epsilon=0"], "--adam_epsilon must be positive"),
    ("run_squad.py", ["--do_train", "--model_dir=/tmp/x", "--init_checkpoint=bert_tiny_uncased",
                      "--optimizer_semantics=hf"], "--optimizer_semantics"),
])
def test_bad_flags_exit_2(tool, args, message):
    result = _run(tool, *args, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
