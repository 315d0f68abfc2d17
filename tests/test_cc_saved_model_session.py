"""CcSavedModelSession: TF's C++ LoadSavedModel + Session::Run agree with tf.saved_model.load."""

import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_zoo.export.cc_saved_model_session import (
    CcSavedModelSession,
    CcSessionError,
    build_serving_session_binary,
    tf_text_op_libraries,
)

INVALID_ARGUMENT = 3
FAILED_PRECONDITION = 9


class _TextModule(tf.Module):
    """A variable, a hash table (an init op the loader must run) and a tf-text kernel."""

    def __init__(self):
        super().__init__()
        self.scale = tf.Variable(0.37)
        self.weights = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(["good", "bad", "café"], [1.5, -2.25, 0.125]), default_value=0.0)
        self.tokenizer = tf_text.WhitespaceTokenizer()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(self, text):
        tokens = self.tokenizer.tokenize(text)
        lengths = tf.strings.length(text)
        scores = tf.cast(lengths, tf.float32) * self.scale + tf.reduce_sum(self.weights.lookup(tokens), axis=1)
        return {"lengths": lengths, "num_tokens": tokens.row_lengths(), "scores": scores, "text": tf.identity(text)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def checked(self, values):
        tf.debugging.assert_non_negative(values, message="values must be non-negative")
        return {"scaled": values * self.scale}


@pytest.fixture(scope="session")
def serving_session_binary():
    return build_serving_session_binary()


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("text_module") / "1")
    module = _TextModule()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve, "checked": module.checked})
    return path


@pytest.fixture(scope="module")
def python_signatures(export_dir):
    return tf.saved_model.load(export_dir).signatures


@pytest.fixture(scope="module")
def session(export_dir, serving_session_binary):
    with CcSavedModelSession(export_dir, binary=serving_session_binary) as cc_session:
        yield cc_session


def _strings(texts):
    # dtype=object: a numpy bytes array ("S") would drop trailing NULs.
    return np.array([t.encode() if isinstance(t, str) else t for t in texts], dtype=object)


def _assert_same(cc_outputs, python_outputs):
    assert sorted(cc_outputs) == sorted(python_outputs)
    for key, expected in python_outputs.items():
        expected, got = expected.numpy(), cc_outputs[key]
        assert got.shape == expected.shape, key
        if expected.dtype.kind in "fc":
            assert got.dtype == expected.dtype, key
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=key)
        else:
            # Strings come back as object arrays of bytes on both sides; ints must match exactly.
            assert got.dtype == expected.dtype, key
            np.testing.assert_array_equal(got, expected, err_msg=key)


TEXTS = ["good film", "bad  bad\tgood", "", " ", "café — “quoted” 東京 😀 [CLS]", "good " * 50]
CASES = {
    "empty_batch": [],
    "batch_of_64": [TEXTS[i % len(TEXTS)] + str(i) for i in range(64)],
    "100k_characters": ["good " + "x" * 99_990 + " bad"],
    "invalid_utf8": [b"caf\xc3 \xff\xfe good", b"\x80", b"\xc3"],
    "nul_and_control": [b"\x00", b"good\x00bad", b"trailing nul\x00\x00", "\x01\x02\t\r\n\x1b[31m\x7f good"],
}


def test_signatures_listed(session):
    # The listing is the MetaGraphDef's, init op signature included, as saved_model_cli shows it.
    assert session.signatures == {
        "__saved_model_init_op": {"inputs": [], "outputs": ["__saved_model_init_op"]},
        "serving_default": {"inputs": ["text"], "outputs": ["lengths", "num_tokens", "scores", "text"]},
        "checked": {"inputs": ["values"], "outputs": ["scaled"]},
    }


@pytest.mark.parametrize("texts", CASES.values(), ids=CASES.keys())
def test_outputs_match_python_loader(session, python_signatures, texts):
    batch = _strings(texts)
    outputs, seconds = session.run("serving_default", {"text": batch})
    _assert_same(outputs, python_signatures["serving_default"](text=tf.constant(batch, tf.string)))
    np.testing.assert_array_equal(outputs["text"], batch)
    assert 0 < seconds < 60


def test_hundreds_of_calls(session, python_signatures):
    rng = np.random.default_rng(0)
    for i in range(200):
        batch = _strings([bytes(rng.integers(0, 256, size=rng.integers(0, 40), dtype=np.uint8)) for _ in range(i % 5)])
        outputs, _ = session.run("serving_default", {"text": batch})
        _assert_same(outputs, python_signatures["serving_default"](text=tf.constant(batch, tf.string)))


def test_failed_run_raises_invalid_argument_and_session_survives(session, python_signatures):
    with pytest.raises(CcSessionError, match="values must be non-negative") as failure:
        session.run("checked", {"values": np.array([1.0, -1.0], np.float32)})
    assert failure.value.code == INVALID_ARGUMENT
    assert isinstance(failure.value, RuntimeError)
    values = np.array([0.0, 2.5, 1e6], np.float32)
    outputs, _ = session.run("checked", {"values": values})
    _assert_same(outputs, python_signatures["checked"](values=tf.constant(values)))


def _truncated_floats():
    proto = tf.make_tensor_proto(np.zeros([3], np.float32))
    proto.tensor_content = proto.tensor_content[:5]
    return proto


@pytest.mark.parametrize("signature, inputs, code", [
    ("no_such_signature", {"text": [b"good"]}, FAILED_PRECONDITION),
    ("serving_default", {"no_such_key": [b"good"]}, INVALID_ARGUMENT),
    ("serving_default", {}, INVALID_ARGUMENT),
    ("serving_default", {"text": np.array([1, 2], np.int32)}, INVALID_ARGUMENT),
    ("serving_default", {"text": [b"good"], "extra": [b"good"]}, INVALID_ARGUMENT),
    ("checked", {"values": _truncated_floats()}, INVALID_ARGUMENT),
])
def test_bad_requests_answer_with_status(session, signature, inputs, code):
    with pytest.raises(CcSessionError) as failure:
        session.run(signature, inputs)
    assert failure.value.code == code
    outputs, _ = session.run("serving_default", {"text": ["good"]})
    assert outputs["num_tokens"].tolist() == [1]


def test_not_a_saved_model(tmp_path, serving_session_binary):
    not_a_model = tmp_path / "not_a_model"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("no saved_model.pb here")
    with pytest.raises(RuntimeError, match="not_a_model"):
        CcSavedModelSession(str(not_a_model), binary=serving_session_binary)


def test_thread_options_accepted(export_dir, serving_session_binary):
    with CcSavedModelSession(export_dir, intra_op_threads=1, inter_op_threads=2,
                             binary=serving_session_binary) as threaded:
        outputs, _ = threaded.run("serving_default", {"text": ["good bad"]})
    assert outputs["num_tokens"].tolist() == [2]


def test_child_death_raises_with_stderr(export_dir, serving_session_binary):
    cc_session = CcSavedModelSession(export_dir, binary=serving_session_binary)
    cc_session._process.kill()
    cc_session._process.wait()
    with pytest.raises(RuntimeError, match="exited with code -9"):
        cc_session.run("serving_default", {"text": ["good"]})
    with pytest.raises(RuntimeError, match="closed"):
        cc_session.run("serving_default", {"text": ["good"]})


def test_build_is_cached_in_process(serving_session_binary):
    start = time.perf_counter()
    assert build_serving_session_binary() == serving_session_binary
    assert time.perf_counter() - start < 0.01


def test_tf_text_op_libraries():
    libraries = tf_text_op_libraries()
    assert libraries == sorted(libraries)
    assert any(path.endswith("_whitespace_tokenizer_v2.so") for path in libraries)


def test_trace_returns_outputs_and_step_stats(session, python_signatures):
    batch = _strings(["good bad", "café"])
    outputs, seconds, step_stats = session.trace("serving_default", {"text": batch})
    _assert_same(outputs, python_signatures["serving_default"](text=tf.constant(batch, tf.string)))
    labels = [node.timeline_label for device in step_stats.dev_stats for node in device.node_stats]
    assert any("WhitespaceTokenizeWithOffsetsV2" in label for label in labels)
    assert any("LookupTableFindV2" in label for label in labels)
    assert 0 < seconds < 60
    _, _, untraced = session._call(0, "serving_default", {"text": batch})
    assert not untraced.dev_stats


def test_load_answers_every_request_from_concurrent_clients(session):
    requests = [{"text": _strings(["good"] * (i % 3 + 1))} for i in range(24)]
    wall, latencies = session.load("serving_default", requests, clients=4, max_seconds=60)
    assert len(latencies) == 24
    assert 0 < latencies.max() <= wall < 60


def test_load_stops_at_the_deadline(session):
    wall, latencies = session.load("serving_default", [{"text": _strings(["good"])}] * 1000, clients=2,
                                   max_seconds=0)
    assert len(latencies) == 0 and wall < 1


def test_failed_load_raises_and_session_survives(session):
    requests = [{"values": np.array([1.0], np.float32)}, {"values": np.array([-1.0], np.float32)}]
    with pytest.raises(CcSessionError, match="values must be non-negative"):
        session.load("checked", requests, clients=2, max_seconds=60)
    with pytest.raises(CcSessionError) as failure:
        session.load("no_such_signature", requests, clients=2, max_seconds=60)
    assert failure.value.code == FAILED_PRECONDITION
    outputs, _ = session.run("serving_default", {"text": ["good"]})
    assert outputs["num_tokens"].tolist() == [1]
