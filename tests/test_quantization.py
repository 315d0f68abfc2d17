"""int8 exports (--quantize=int8): int8 variables, answers near the float model's, in Python and TF Serving's loader."""

import contextlib
import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo import BertConfig
from keras_bert_zoo.export import export_saved_model, quantize_model, read_warmup_requests
from keras_bert_zoo.export.cc_saved_model_session import CcSavedModelSession
from keras_bert_zoo.export.quantization import frozen_heap
from keras_bert_zoo.kernels import onednn_int8
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense
from conftest import REPO_ROOT, write_vocab
from serving_loaders import string_feeds, strings, text_batches

WORDS = "the a film movie was is wonderful dull great terrible story plot actors boring moving not very".split()
PROTOTYPES = ["A wonderful, moving film.", "The stock market fell sharply today.", "The team won the football match."]
TEXTS = ["What a beautiful and touching movie.", "I loved the actors and the story.", "A dull, lifeless film.",
         "Shares dropped after the earnings report.", "The central bank raised interest rates.",
         "Oil prices climbed again.", "The striker scored twice in the final.", "Our club lost the game at home.",
         "The coach praised his players.", "Angela Merkel met Emmanuel Macron in Paris.", "",
         "Zoë's café — naïve?", "東京タワーは高い。", "emoji 😀🎉", "The Eiffel Tower was completed in 1889.",
         "Investors worry about inflation.", "A gripping thriller with a twist.", "The referee showed a red card."]
# Measured on MiniLM with the prototype head below (logits up to ~10): int8 probabilities differ from
# float32's by at most 0.06 on TEXTS and 0.14 on pairs of them; the argmax is the same.
PROBABILITY_ATOL = 0.2
SEQ = 32


def _dense_layers(model):
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dense)]


def _prototype_classifier(minilm_dir, tokenizer):
    """MiniLM with a head that picks the nearest of three prototype texts, so that answers vary by text."""
    model = kbz.BertClassifier.from_pretrained(minilm_dir, num_classes=3, label_names=["film", "finance", "sport"])
    inputs = tokenizer.pack(tf.constant(PROTOTYPES), max_length=SEQ)
    pooled = model.encoder(inputs, training=False)["pooled_output"].numpy()
    directions = pooled - pooled.mean(axis=0)
    model.classifier_head.output_weights.assign(20.0 * directions / np.linalg.norm(directions, axis=1, keepdims=True))
    return model


@pytest.fixture(scope="module")
def exports(minilm_dir, tmp_path_factory):
    """The float32 and int8 exports of the same classifier, the int8 Keras model, and both exports' signatures.

    One model is exported as float32, then quantized in place and exported again, and each
    export is loaded once by `tf.saved_model.load` for all the tests.
    """
    root = tmp_path_factory.mktemp("saved_models")
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    model = _prototype_classifier(minilm_dir, tokenizer)
    float_path = export_saved_model(model, tokenizer, str(root / "float"), max_seq_length=SEQ)
    int8_model = quantize_model(model, "int8")
    int8_path = export_saved_model(int8_model, tokenizer, str(root / "int8"), max_seq_length=SEQ)
    signatures = {path: tf.saved_model.load(path).signatures for path in (float_path, int8_path)}
    return float_path, int8_path, int8_model, signatures


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A tiny classifier saved with save_pretrained, for the tool."""
    root = tmp_path_factory.mktemp("tiny")
    tokenizer = kbz.BertTokenizer(write_vocab(root / "vocab.txt", WORDS))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_layers=2, num_heads=2,
                        intermediate_size=64, max_position_embeddings=32)
    kbz.BertClassifier(kbz.BertEncoder(config), num_classes=2).save_pretrained(str(root / "model"), tokenizer)
    return root / "model"


def _int8_variables(path):
    dtypes = tf.train.load_checkpoint(os.path.join(path, "variables", "variables")).get_variable_to_dtype_map()
    return sum(dtype == tf.int8 for dtype in dtypes.values())


def _probabilities(signatures, texts):
    return signatures["serving_default"](text=tf.constant(texts))["probabilities"].numpy()


def test_int8_export_answers_like_the_float_export(exports):
    float_path, int8_path, _, signatures = exports
    expected, got = _probabilities(signatures[float_path], TEXTS), _probabilities(signatures[int8_path], TEXTS)
    assert np.abs(got - expected).max() < PROBABILITY_ATOL
    assert len(set(expected.argmax(axis=1))) == 3
    np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))


def test_int8_export_stores_every_dense_kernel_as_int8(exports):
    _, int8_path, int8_model, _ = exports
    dense = _dense_layers(int8_model)
    assert dense and all(layer.quantization_mode == "int8" for layer in dense)
    assert _int8_variables(int8_path) == len(dense)


def test_int8_export_answers_in_tf_serving_cpp_loader(exports):
    """C++ LoadSavedModel and Session::Run: warmup replays, any text gets an answer, near the float model's.

    Not held to Python's int8 answers within 1e-5 as float exports are: the two
    loaders optimize the graph apart, and a last-bit difference can move an
    activation across an int8 rounding step (measured: logits 0.2 apart).
    """
    float_path, int8_path, _, signatures = exports
    float_signatures = signatures[float_path]
    pairs = {"text_a": strings(TEXTS), "text_b": strings(TEXTS[::-1])}
    with CcSavedModelSession(int8_path) as session:
        assert sorted(name for name in session.signatures if not name.startswith("__")) == sorted(float_signatures)
        for signature, feeds in read_warmup_requests(int8_path):
            session.run(signature, feeds)
        for texts in text_batches():
            outputs, _ = session.run("serving_default", {"text": strings(texts)})
            assert outputs["probabilities"].shape == (len(texts), 3) and outputs["label"].shape == (len(texts),)
        for signature, feeds in {"serving_default": {"text": strings(TEXTS)}, "serve_pair": pairs}.items():
            got, _ = session.run(signature, feeds)
            expected = float_signatures[signature](**{k: tf.constant(v) for k, v in feeds.items()})
            assert np.abs(got["probabilities"] - expected["probabilities"].numpy()).max() < PROBABILITY_ATOL
            np.testing.assert_array_equal(got["label"], expected["label"].numpy())


TINY_TASKS = {
    "ner": lambda encoder: kbz.BertTokenClassifier(encoder, num_classes=3, label_names=["O", "B-X", "I-X"]),
    "squad": kbz.BertQuestionAnswerer,
    "pretrainer": kbz.BertPretrainer,
}


@pytest.mark.parametrize("task", list(TINY_TASKS))
def test_int8_exports_of_other_tasks_answer_in_tf_serving_cpp_loader(tiny_model_dir, tmp_path, task):
    """Every signature, on any text, answers in C++ with the keys and shapes that Python's loader gives."""
    tokenizer = kbz.BertTokenizer.from_pretrained(str(tiny_model_dir))
    model = quantize_model(TINY_TASKS[task](kbz.BertEncoder.from_pretrained(str(tiny_model_dir))), "int8")
    options = {"doc_stride": 4, "max_query_length": 4} if task == "squad" else {}
    path = export_saved_model(model, tokenizer, str(tmp_path / task), max_seq_length=SEQ, **options)
    assert _int8_variables(path) == len(_dense_layers(model))
    python = tf.saved_model.load(path).signatures
    with CcSavedModelSession(path) as session:
        served = {name: io for name, io in session.signatures.items() if not name.startswith("__")}
        assert sorted(served) == sorted(python)
        for signature, feeds in read_warmup_requests(path):
            session.run(signature, feeds)
        for signature, io in served.items():
            if signature == "serve_ids":
                continue
            for texts in text_batches():
                feeds = string_feeds(io["inputs"], texts)
                got, _ = session.run(signature, feeds)
                expected = python[signature](**{k: tf.constant(v) for k, v in feeds.items()})
                assert {k: v.shape for k, v in got.items()} == {k: tuple(v.shape) for k, v in expected.items()}


def test_model_quantize_reaches_float32_bias_grad_dense():
    """Keras's Dense.quantize refuses subclasses unless told; ours runs Dense's int8 call."""
    layer = Float32BiasGradDense(8)
    x = np.random.default_rng(0).normal(size=(4, 16)).astype("float32")
    expected = layer(x).numpy()
    with frozen_heap():
        layer.quantize("int8")
    assert layer.quantization_mode == "int8" and layer._kernel.dtype == "int8"
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=0.05)


def test_quantize_model_rejects_unknown_modes(tiny_model_dir):
    model = kbz.BertClassifier.from_pretrained(str(tiny_model_dir))
    with pytest.raises(ValueError, match="quantize must be one of none, int8, got 'int4'"):
        quantize_model(model, "int4")
    assert all(layer.quantization_mode is None for layer in _dense_layers(model))
    assert quantize_model(model, "none") is model
    assert all(layer.quantization_mode is None for layer in _dense_layers(model))


def test_keras_model_quantize_reaches_every_dense_layer(tiny_model_dir):
    model = kbz.BertClassifier.from_pretrained(str(tiny_model_dir))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with frozen_heap():
            model.quantize("int8")
    assert all(layer.quantization_mode == "int8" for layer in _dense_layers(model))
    assert not [w for w in caught if "Float32BiasGradDense" in str(w.message)]


def _export_tool_command(*args):
    return [sys.executable, str(REPO_ROOT / "tools" / "export_saved_model.py"), *args]


_TOOL_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
# Unset, as users run it: the tool restarts itself with TF_ENABLE_ONEDNN_OPTS=1 for the onednn kernel.
_ONEDNN_ENV = {name: value for name, value in _TOOL_ENV.items() if name != "TF_ENABLE_ONEDNN_OPTS"}


@contextlib.contextmanager
def _tool_in_background(root, env, *args):
    """`export_saved_model.py` on the tiny classifier into <root>/saved_models/sentiment, started now.

    The tool's process takes most of a minute (TensorFlow's import, then tracing), mostly
    while this process is busy with its own exports, so it runs beside them on another core.

    Yields:
        A function that waits for the tool and returns (its CompletedProcess, its --export_dir).
    """
    export_dir = root / "saved_models" / "sentiment"
    command = _export_tool_command(f"--export_dir={export_dir}", f"--max_seq_length={SEQ}", *args)
    with open(root / "stdout.txt", "w+", encoding="utf-8") as stdout, \
            open(root / "stderr.txt", "w+", encoding="utf-8") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, text=True, env=env)

        def finish():
            process.wait(timeout=600)
            stdout.seek(0)
            stderr.seek(0)
            return subprocess.CompletedProcess(command, process.returncode, stdout.read(), stderr.read()), export_dir

        try:
            yield finish
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture(scope="module", autouse=True)
def int8_tool_export(tiny_model_dir, tmp_path_factory):
    """`export_saved_model.py --quantize=int8` on the tiny classifier, started as this module starts.

    `test_export_tool_quantize_flag` waits for it and checks what it did.
    """
    with _tool_in_background(tmp_path_factory.mktemp("tool"), _TOOL_ENV, f"--init_checkpoint={tiny_model_dir}",
                             "--task=classifier", "--quantize=int8") as finish:
        yield finish


@pytest.fixture(scope="module", autouse=True)
def onednn_tool_export(tiny_model_dir, tmp_path_factory):
    """`--quantize=int8 --int8_kernel=onednn` on the tiny classifier, TF_ENABLE_ONEDNN_OPTS unset.

    TF_ENABLE_ONEDNN_OPTS takes effect only before TensorFlow loads, and this process has it as
    the machine's default (off on AMD CPUs), so the onednn kernel is exported (by the tool, which
    restarts itself with oneDNN on) and served in processes of its own.
    """
    with _tool_in_background(tmp_path_factory.mktemp("onednn_tool"), _ONEDNN_ENV,
                             f"--init_checkpoint={tiny_model_dir}", "--task=classifier", "--quantize=int8",
                             "--int8_kernel=onednn") as finish:
        yield finish


def test_export_tool_quantize_flag(tiny_model_dir, int8_tool_export, tmp_path):
    export_dir = tmp_path / "saved_models" / "sentiment"
    bad = subprocess.run(_export_tool_command(f"--init_checkpoint={tiny_model_dir}", "--task=classifier",
                                              f"--export_dir={export_dir}", "--quantize=int4"),
                         capture_output=True, text=True, timeout=600, env=_TOOL_ENV)
    assert bad.returncode == 2 and "--quantize" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "saved_models").exists()
    good, export_dir = int8_tool_export()
    assert good.returncode == 0, good.stderr
    assert "(int8)" in good.stdout and (export_dir.parent / "models.config").exists()
    # Per block: qkv, attention output, intermediate and output; then the pooler.
    assert _int8_variables(str(export_dir / "1")) == 2 * 4 + 1


def _log_odds(probabilities):
    """logit[1] - logit[0] of two-class softmax probabilities."""
    return np.log(probabilities[:, 1]) - np.log(probabilities[:, 0])


# On the tiny random classifier over TEXTS, onednn log-odds differ from float32's and from portable int8's by
# 1-7% of the largest log-odds, depending on the random weights (its log-odds are only about 0.005); a wrong
# shift or scale moves them by about 100%. The kernel's arithmetic is checked exactly by the next test.
ONEDNN_RELATIVE_TOLERANCE = 0.2


def test_onednn_int8_export_answers_in_tf_serving_cpp_loader(tiny_model_dir, onednn_tool_export):
    """The tool's onednn export loads in C++ with oneDNN on and answers any text near float32 and portable int8."""
    tool, export_dir = onednn_tool_export()
    assert tool.returncode == 0, tool.stderr
    assert "(int8, onednn kernel)" in tool.stdout
    path = str(export_dir / "1")
    tokenizer = kbz.BertTokenizer.from_pretrained(str(tiny_model_dir))
    model = kbz.BertClassifier.from_pretrained(str(tiny_model_dir))
    inputs = tokenizer.pack(tf.constant(TEXTS), max_length=SEQ)
    expected = {"float32": model(inputs, training=False)["logits"].numpy()}
    expected["portable"] = quantize_model(model, "int8")(inputs, training=False)["logits"].numpy()
    with CcSavedModelSession(path, env={onednn_int8.ONEDNN_ENV: "1"}) as session:
        for signature, feeds in read_warmup_requests(path):
            session.run(signature, feeds)
        for texts in text_batches():
            outputs, _ = session.run("serving_default", {"text": strings(texts)})
            assert outputs["probabilities"].shape == (len(texts), 2)
        got, _ = session.run("serving_default", {"text": strings(TEXTS)})
    got = _log_odds(got["probabilities"])
    for name, logits in expected.items():
        want = logits[:, 1] - logits[:, 0]
        assert np.abs(got - want).max() < ONEDNN_RELATIVE_TOLERANCE * np.abs(want).max(), name


_ONEDNN_MATMUL_SCRIPT = """
import sys
import numpy as np
from keras_bert_zoo.kernels.onednn_int8 import onednn_enabled, onednn_int8_constants, onednn_int8_matmul
assert onednn_enabled()
data = np.load(sys.argv[1])
constants = onednn_int8_constants(data["kernel"], data["kernel_scale"], data["bias"])
np.save(sys.argv[2], onednn_int8_matmul(data["inputs"], data["kernel"], constants).numpy())
"""


def test_onednn_int8_matmul_is_the_quantized_product(tmp_path):
    """In a oneDNN process, the kernel gives exactly the product of its 7-bit activations and int8 weights.

    The inputs sit near their maximum and two kernel columns are all +-127, where 8-bit activations
    would overflow the int16 pair sums of oneDNN's AVX2 kernel; a wrong shift or scale would show too.
    """
    rng = np.random.default_rng(0)
    inputs = rng.uniform(2.5, 3.0, (2, 5, 64)).astype(np.float32)
    inputs[0, 0, 0] = -1.0
    kernel = rng.integers(-127, 128, (64, 6)).astype(np.int8)
    kernel[:, 0], kernel[:, 1] = 127, -127
    kernel_scale = rng.uniform(50.0, 200.0, 6).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    np.savez(tmp_path / "data.npz", inputs=inputs, kernel=kernel, kernel_scale=kernel_scale, bias=bias)
    subprocess.run([sys.executable, "-c", _ONEDNN_MATMUL_SCRIPT, str(tmp_path / "data.npz"), str(tmp_path / "out.npy")],
                   check=True, timeout=300, env=dict(_TOOL_ENV, TF_ENABLE_ONEDNN_OPTS="1"), cwd=REPO_ROOT)
    got = np.load(tmp_path / "out.npy")
    # The kernel's quantization: [min(x), max(x)] (holding 0) onto 0..127.5, rounded.
    low, high = min(inputs.min(), 0.0), max(inputs.max(), 0.0)
    step = 2.0 * (high - low) / 255.0
    activations = np.round((inputs - low) / step) * step + low
    want = activations @ (kernel.astype(np.float64) / kernel_scale) + bias
    assert got.shape == (2, 5, 6)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_onednn_kernel_needs_onednn_on(tiny_model_dir, monkeypatch):
    """With oneDNN off, quantize_model refuses before touching the model, saying what to set."""
    monkeypatch.setattr(onednn_int8, "onednn_enabled", lambda: False)
    model = kbz.BertClassifier.from_pretrained(str(tiny_model_dir))
    with pytest.raises(RuntimeError, match="TF_ENABLE_ONEDNN_OPTS=1 .*server"):
        quantize_model(model, "int8", int8_kernel="onednn")
    assert all(layer.quantization_mode is None for layer in _dense_layers(model))
    with pytest.raises(ValueError, match="int8_kernel must be one of portable, onednn, got 'vnni'"):
        quantize_model(model, "int8", int8_kernel="vnni")
    with pytest.raises(ValueError, match="int8_kernel='onednn' computes int8 layers"):
        quantize_model(model, "none", int8_kernel="onednn")


def test_export_tool_int8_kernel_flag(tiny_model_dir, tmp_path):
    """--int8_kernel=onednn needs --quantize=int8 and, in the tool's process, oneDNN on."""
    common = [f"--init_checkpoint={tiny_model_dir}", "--task=classifier", "--int8_kernel=onednn",
              f"--export_dir={tmp_path / 'saved_models' / 'sentiment'}"]
    unquantized = subprocess.run(_export_tool_command(*common), capture_output=True, text=True, timeout=600,
                                 env=_TOOL_ENV)
    assert unquantized.returncode == 2 and "--int8_kernel" in unquantized.stderr
    off = subprocess.run(_export_tool_command(*common, "--quantize=int8"), capture_output=True, text=True,
                         timeout=600, env=dict(_TOOL_ENV, TF_ENABLE_ONEDNN_OPTS="0"))
    assert off.returncode == 2 and "Traceback" not in off.stderr
    assert "--int8_kernel=onednn" in off.stderr and "TF_ENABLE_ONEDNN_OPTS=1" in off.stderr
    assert not (tmp_path / "saved_models").exists()
