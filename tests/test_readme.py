"""Every Python block of README.md runs as written, in a fresh process, so the README can't rot."""

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
# (heading, block) for each ```python block, with the nearest heading above it.
BLOCKS = [(re.findall(r"^#+ (.+)$", README[:match.start()], re.M)[-1], match.group(1))
          for match in re.finditer(r"^```python\n(.*?)^```$", README, re.M | re.S)]
# tests/test_export.py runs this one and checks its export through TF Serving's C++ loader.
CHECKED_ELSEWHERE = {"Your own task"}
GRPC_PORT = 8500  # What the README's gRPC client dials.


def _run(block, cwd):
    return subprocess.run([sys.executable, "-c", block], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def test_readme_blocks_are_found():
    headings = [heading for heading, _ in BLOCKS]
    assert len(BLOCKS) >= 5 and "API tour" in headings and "Your own task" in headings, headings


@pytest.fixture(scope="module")
def sentiment_server(tmp_path_factory, minilm_dir):
    """The export the README's gRPC client asks for, "sentiment", served on localhost:8500."""
    import keras_bert_zoo as kbz
    from keras_bert_zoo.export import export_saved_model
    from tf_serving_grpc import TfServingGrpcServer

    encoder = kbz.BertEncoder(kbz.BertConfig.from_preset("bert_tiny_uncased"))
    model = kbz.BertClassifier(encoder, num_classes=2, label_names=["negative", "positive"])
    path = export_saved_model(model, kbz.BertTokenizer.from_pretrained(minilm_dir),
                              str(tmp_path_factory.mktemp("exports") / "sentiment"), max_seq_length=32)
    server = TfServingGrpcServer({"sentiment": path}, f"localhost:{GRPC_PORT}")
    yield server
    server.stop()


@pytest.mark.parametrize("heading,block", [pytest.param(h, b, id=f"{i}-{h}") for i, (h, b) in enumerate(BLOCKS)
                                           if h not in CHECKED_ELSEWHERE])
def test_readme_block_runs_as_written(request, tmp_path, heading, block):
    if "prediction_service_pb2_grpc" in block:
        request.getfixturevalue("sentiment_server")
    result = _run(block, tmp_path)
    assert result.returncode == 0, f"README block under '{heading}' failed:\n{result.stderr[-3000:]}"
    if "prediction_service_pb2_grpc" in block:
        assert result.stdout.strip() in ("[b'negative']", "[b'positive']"), result.stdout
