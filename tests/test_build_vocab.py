"""tools/build_vocab.py: a learned vocab round-trips through BertTokenizer."""

import os
import subprocess
import sys

import numpy as np

import keras_bert_zoo as kbz
from keras_bert_zoo.text import BertTextNormalizer
from conftest import REPO_ROOT

CORPUS = [
    "The river bends twice before it reaches the old mill, where children fish for trout.",
    "Naïve readers skim; careful readers re-read the footnotes (all 42 of them).",
    "Über-fast trains connect Zürich, Genève and Lugano every hour.",
    "東京と大阪を結ぶ新幹線は速い。",
    "Fishermen, fishing, fished: the fisher's fish fishes fish!",
]


def _run(*args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "build_vocab.py"), *args],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def test_vocab_round_trips_through_tokenizer(tmp_path):
    rng = np.random.default_rng(0)
    lines = [CORPUS[i] for i in rng.integers(0, len(CORPUS), 400)]
    (tmp_path / "a.txt").write_text("\n".join(lines[:200]), encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(lines[200:]), encoding="utf-8")
    vocab_file = tmp_path / "vocab.txt"
    result = _run(f"--input_files={tmp_path}/a.txt,{tmp_path}/b*.txt", f"--output_vocab={vocab_file}",
                  "--vocab_size=300", "--num_unused_tokens=2")
    assert result.returncode == 0, result.stderr
    tokens = vocab_file.read_text(encoding="utf-8").splitlines()
    assert tokens[:7] == ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(tokens) == len(set(tokens)) <= 300
    tokenizer = kbz.BertTokenizer(str(vocab_file), lower_case=True)
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.mask_id) == (0, 3, 6)
    words = BertTextNormalizer(lower_case=True).words(CORPUS).to_list()
    for text, expected_words, ids in zip(CORPUS, words, tokenizer.tokenize(CORPUS).to_list()):
        assert tokenizer.unk_id not in ids, text
        pieces = [tokenizer.id_to_token(i) for i in ids]
        rebuilt = " ".join(pieces).replace(" ##", "").split()
        assert rebuilt == [w.decode() for w in expected_words]
    assert len(tokenizer.tokenize("fishermen fishing")) < len("fishermen fishing")  # real subwords


def test_bad_flags_exit_2(tmp_path):
    result = _run(f"--input_files={tmp_path}/missing*.txt", f"--output_vocab={tmp_path}/v.txt")
    assert result.returncode == 2 and "--input_files: no file matches" in result.stderr
    (tmp_path / "c.txt").write_text("hello\n")
    result = _run(f"--input_files={tmp_path}/c.txt", f"--output_vocab={tmp_path}/nodir/v.txt")
    assert result.returncode == 2 and "--output_vocab" in result.stderr
    assert not (tmp_path / "v.txt").exists()
