"""The absl tools, run end to end as a user would."""

import os
import subprocess
import sys


import keras_bert_zoo as kbz
from conftest import REPO_ROOT


def _run_tool(name, *args, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
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
    assert "ids equal to the Python reference: ours 100.0000%" in result.stdout
    # The texts hold "…", which FastBertTokenizer folds to "..." and the reference keeps.
    assert "peer 0.0000%" in result.stdout
    written = report.read_text()
    assert "Command: `python" in written and "--tsv_column=sentence" in written and "texts=300" in written


def test_benchmark_reports_bad_column(tmp_path):
    texts = tmp_path / "texts.tsv"
    texts.write_text("text\tlabel\nhello\t1\n")
    result = _run_tool("benchmark.py", f"--text_file={texts}", "--tsv_column=sentence")
    assert result.returncode != 0
    assert f"{texts}:1: no column 'sentence'" in result.stderr
    assert "Traceback" not in result.stderr


def test_quickstart_end_to_end(tmp_path):
    output, saved = tmp_path / "out", tmp_path / "saved_models"
    result = _run_tool("quickstart.py", f"--output_dir={output}", f"--saved_models={saved}",
                       "--pretraining_steps=20", "--num_train_epochs=1")
    assert result.returncode == 0, result.stderr
    for stage in ("[1/4]", "[2/4]", "[3/4]", "[4/4]", "pretraining done: mlm_loss", "held-out accuracy:"):
        assert stage in result.stdout
    assert sum(line.startswith(("  positive", "  negative")) for line in result.stdout.splitlines()) == 4
    assert (saved / "sentiment" / "1" / "saved_model.pb").exists() and (saved / "models.config").exists()
    model = kbz.BertClassifier.from_pretrained(str(output / "sentiment"))
    assert model.label_names == ["negative", "positive"]
    assert kbz.BertPretrainer.from_pretrained(str(output / "pretraining")).encoder.config.hidden_size == 64
