"""Exports run through TF Serving's own loader (C++) and TF1's, compared with Python's tf.saved_model.load."""

import numpy as np
import tensorflow as tf

from keras_bert_zoo.export import read_warmup_requests
from keras_bert_zoo.export.cc_saved_model_session import CcSavedModelSession

REAL_TEXTS = ["A wonderful, heartfelt film.", "Angela Merkel met Emmanuel Macron in Paris on Tuesday.",
              "The Eiffel Tower was completed in 1889.", "naïve café — “quoted” … 東京タワー 😀"]
HOSTILE_TEXTS = ["", " ", "x" * 100_000, "word " * 2_000, b"caf\xc3 \xff\xfe broken utf-8",
                 "\x00\x01\t\r\x1b\x7f control\u200b", "[MASK] [SEP] [CLS] [PAD]",
                 "<s> <mask> </s></s> <pad> <unk> typed by a user"]


def strings(texts):
    """A [B] object array of bytes, as string tensors come back."""
    return np.array([t if isinstance(t, bytes) else t.encode("utf-8") for t in texts], dtype=object)


def text_batches():
    """Batches of real and hostile texts: each text alone, all together, 0 texts and 64."""
    many = [f"{REAL_TEXTS[i % len(REAL_TEXTS)]} ({i})" for i in range(64)]
    return [[t] for t in REAL_TEXTS + HOSTILE_TEXTS] + [REAL_TEXTS + HOSTILE_TEXTS, [], many]


def string_feeds(input_names, texts):
    """One [B] string array per input; a second input gets the texts reversed (questions vs contexts)."""
    return {name: strings(texts[::-1] if i else texts) for i, name in enumerate(sorted(input_names))}


def assert_same_outputs(got, expected, where):
    """Same keys and shapes; floats within 1e-5 of the tensor's scale, strings and integers exactly.

    The C++ session and Python's loader optimize the same graph separately, so
    float sums may round in another order, by an amount that grows with the
    tensor's values: MiniLM's hidden states (up to about 6) differed by
    5e-5 on an AVX-512/AMX Xeon, probabilities stay within 1e-5.
    """
    assert sorted(got) == sorted(expected), where
    for name, value in expected.items():
        value = np.asarray(value)
        assert got[name].shape == value.shape, f"{where} {name}: {got[name].shape} vs {value.shape}"
        if value.dtype.kind == "f":
            scale = max(1.0, float(np.abs(value).max(initial=0.0)))
            np.testing.assert_allclose(got[name], value, atol=1e-5 * scale, rtol=1e-5, err_msg=f"{where} {name}")
        else:
            np.testing.assert_array_equal(got[name], value, err_msg=f"{where} {name}")


def check_through_cc_loader(path, python, id_inputs=None):
    """Loads `path` with C++ LoadSavedModel as TF Serving does and checks every signature against Python.

    Replays the warmup file, then runs every string signature on `text_batches()`,
    and `serve_ids` on `id_inputs` when given.

    Args:
        path: The version directory.
        python: The same export's signatures loaded by `tf.saved_model.load`.
        id_inputs: Optional feeds of `serve_ids`.

    Returns:
        The number of C++ calls made.
    """

    def python_outputs(signature, feeds):
        return {k: v.numpy() for k, v in python[signature](**{k: tf.constant(v) for k, v in feeds.items()}).items()}

    calls = 0
    with CcSavedModelSession(path) as session:
        served = {name: io for name, io in session.signatures.items() if not name.startswith("__")}
        assert sorted(served) == sorted(python)
        warmup = read_warmup_requests(path)
        assert warmup and {signature for signature, _ in warmup} <= set(served)
        for signature, feeds in warmup:
            outputs, _ = session.run(signature, feeds)
            assert_same_outputs(outputs, python_outputs(signature, feeds), f"{path} warmup {signature}")
            calls += 1
        for signature, io in served.items():
            if signature == "serve_ids":
                if id_inputs is not None:
                    outputs, _ = session.run(signature, id_inputs)
                    assert_same_outputs(outputs, python_outputs(signature, id_inputs), f"{path} serve_ids")
                    calls += 1
                continue
            for texts in text_batches():
                feeds = string_feeds(io["inputs"], texts)
                outputs, _ = session.run(signature, feeds)
                assert_same_outputs(outputs, python_outputs(signature, feeds), f"{path} {signature} {texts[:2]!r:.80}")
                calls += 1
    return calls


def tf1_session_outputs(path, requests):
    """Outputs through the TF1 loader (`tf.compat.v1.saved_model.loader.load` in a Session).

    Args:
        path: The SavedModel.
        requests: Signature name -> feeds.

    Returns:
        Signature name -> outputs.
    """
    results = {}
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
        for signature, feeds in requests.items():
            definition = meta_graph.signature_def[signature]
            fetches = {name: info.name for name, info in definition.outputs.items()}
            results[signature] = session.run(
                fetches, {definition.inputs[name].name: value for name, value in feeds.items()})
    return results
