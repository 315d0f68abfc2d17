"""Exported SavedModels: signatures, fresh-process parity, assets, warmup, fuzzing, REST and the tools."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keras_bert_zoo as kbz
from keras_bert_zoo.export import export_saved_model, read_warmup_requests, write_models_config
from conftest import REPO_ROOT, assert_readable_by_all
from serving_loaders import assert_same_outputs, check_through_cc_loader, strings, tf1_session_outputs
from tf_serving_rest import TfServingRestServer

SEQ = 32
TEXTS = ["A wonderful film with a moving story.", "Angela Merkel met Emmanuel Macron in Paris.", "", "Zoë's café — naïve?",
         "東京タワーは高い。", "emoji 😀🎉 and control\x07chars"]
CONTEXT = ("The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It was designed by the "
           "company of Gustave Eiffel and is about 330 metres tall. ") * 3
QUESTIONS = ["When was the tower completed?", "Who designed it?", "How tall is it?", ""]
INPUTS = {
    "classifier": {"serving_default": {"text": TEXTS}, "serve_pair": {"text_a": TEXTS, "text_b": TEXTS[::-1]}},
    "ner": {"serving_default": {"text": TEXTS + ["word " * 40]}},
    "squad": {"serving_default": {"question": QUESTIONS, "context": [CONTEXT, CONTEXT, "short context", ""]}},
    "encoder": {"serving_default": {"text": TEXTS}},
    "pretrainer": {"serving_default": {"text": ["Paris is the [MASK] of France.", "[MASK] [MASK]", "no mask"]}},
}


def _models(minilm_dir):
    return {
        "classifier": kbz.BertClassifier.from_pretrained(minilm_dir, num_classes=3, label_names=["neg", "neu", "pos"]),
        "ner": kbz.BertTokenClassifier.from_pretrained(minilm_dir, num_classes=3, label_names=["O", "B-X", "I-X"]),
        "squad": kbz.BertQuestionAnswerer.from_pretrained(minilm_dir),
        "encoder": kbz.BertEncoder.from_pretrained(minilm_dir),
        "pretrainer": kbz.BertPretrainer.from_pretrained(minilm_dir),
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory, minilm_dir):
    """Every task exported from MiniLM (heads seeded), with the Keras models kept for comparison."""
    import keras

    keras.utils.set_random_seed(0)
    root = tmp_path_factory.mktemp("saved_models")
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    models = _models(minilm_dir)
    paths = {}
    for name, model in models.items():
        options = {"doc_stride": 8, "max_query_length": 8} if name == "squad" else {}
        paths[name] = export_saved_model(model, tokenizer, str(root / name), max_seq_length=SEQ, **options)
    return root, paths, models, tokenizer


_FRESH_PROCESS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # registers the tokenizer ops
    requests, output = sys.argv[1:]
    results = {}
    for task, (path, signatures) in json.loads(requests).items():
        model = tf.saved_model.load(path)
        for signature, inputs in signatures.items():
            outputs = model.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
            for name, value in outputs.items():
                value = value.numpy()
                # Fixed-width bytes, so the parent reads the file without unpickling.
                results[f"{task}/{signature}/{name}"] = value.astype("S") if value.dtype == object else value
    np.savez(output, **results)
    assert "keras_bert_zoo" not in sys.modules
""")


@pytest.fixture(scope="module")
def fresh_process_outputs(exported, tmp_path_factory):
    """Every task's export loaded by `tf.saved_model.load` in one new process without keras_bert_zoo, on INPUTS.

    One process for all the tasks: each export is loaded on its own there, and TensorFlow is
    imported once rather than once per task.
    """
    _, paths, _, _ = exported
    output = tmp_path_factory.mktemp("fresh_process") / "out.npz"
    requests = {task: [paths[task], inputs] for task, inputs in INPUTS.items()}
    result = subprocess.run([sys.executable, "-c", _FRESH_PROCESS, json.dumps(requests), str(output)],
                            capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr
    return dict(np.load(output))


@pytest.mark.parametrize("task", list(INPUTS))
def test_fresh_process_answers_like_the_keras_model(exported, fresh_process_outputs, task):
    root, paths, models, tokenizer = exported
    fresh = {key[len(task) + 1:]: value for key, value in fresh_process_outputs.items() if key.startswith(f"{task}/")}
    module_class = kbz.tasks.spec_of_model(models[task]).serving_module
    options = {"doc_stride": 8, "max_query_length": 8} if task == "squad" else {}
    module = module_class(models[task], tokenizer, SEQ, None, **options)
    functions = {"serving_default": module.signatures()["serving_default"]}
    if task == "classifier":
        functions["serve_pair"] = module.serve_pair
    for signature, inputs in INPUTS[task].items():
        in_process = functions[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        for name, value in in_process.items():
            got = fresh[f"{signature}/{name}"]
            if value.dtype.is_floating:
                np.testing.assert_allclose(got, value.numpy(), atol=1e-5, err_msg=f"{signature}/{name}")
            else:
                np.testing.assert_array_equal(got, value.numpy(), err_msg=f"{signature}/{name}")
    if task == "classifier":
        # And the probabilities are the Keras model's on the tokenizer's inputs.
        logits = models[task](tokenizer(TEXTS, max_length=SEQ))["logits"]
        np.testing.assert_allclose(fresh["serving_default/probabilities"], tf.nn.softmax(logits).numpy(), atol=1e-5)


def test_layout_assets_and_signatures(exported):
    root, paths, _, tokenizer = exported
    for task, path in paths.items():
        assert path.endswith(os.path.join(task, "1"))
        assert {"saved_model.pb", "variables", "assets", "assets.extra"} <= set(os.listdir(path))
        with open(os.path.join(path, "assets", "vocab.txt"), encoding="utf-8") as f:
            assert f.read().splitlines() == tokenizer.vocab
    shown = subprocess.run(["saved_model_cli", "show", "--dir", paths["classifier"], "--all"], capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    for expected in ("signature_def['serving_default']", "signature_def['serve_pair']", "signature_def['serve_ids']",
                     "probabilities", "label_id", "input_word_ids"):
        assert expected in shown.stdout


@pytest.fixture(scope="module")
def all_signatures(exported):
    _, paths, _, tokenizer = exported
    return {task: tf.saved_model.load(path).signatures for task, path in paths.items()}, tokenizer.vocab_size


@pytest.fixture(scope="module")
def moved_exports(exported, tmp_path_factory):
    """Each version directory copied elsewhere; tests hide the originals, so nothing may point home."""
    _, paths, _, _ = exported
    moved = tmp_path_factory.mktemp("moved")
    return {task: str(shutil.copytree(path, moved / task / "1")) for task, path in paths.items()}


@pytest.fixture
def originals_hidden(exported):
    root = exported[0]
    hidden = root.parent / f"{root.name}-hidden"
    os.rename(root, hidden)
    yield
    os.rename(hidden, root)


def _id_inputs(task, tokenizer):
    inputs = {k: v.numpy() for k, v in tokenizer(TEXTS[:3], max_length=SEQ).items()}
    if task == "pretrainer":
        inputs["masked_lm_positions"] = np.array([[1, 2]] * 3, np.int32)
    return inputs


@pytest.mark.parametrize("task", list(INPUTS))
def test_tf_serving_cpp_loader_answers_like_python(exported, all_signatures, moved_exports, originals_hidden, task):
    """TF Serving's own loading path: C++ LoadSavedModel, the warmup file, Session::Run on every signature."""
    calls = check_through_cc_loader(moved_exports[task], all_signatures[0][task], _id_inputs(task, exported[3]))
    assert calls >= 14


def test_tf1_session_loader_answers_like_python(all_signatures, moved_exports, originals_hidden):
    for task, signatures in INPUTS.items():
        requests = {signature: {name: strings(texts) for name, texts in inputs.items()}
                    for signature, inputs in signatures.items()}
        for signature, outputs in tf1_session_outputs(moved_exports[task], requests).items():
            expected = all_signatures[0][task][signature](**{k: tf.constant(v) for k, v in requests[signature].items()})
            assert_same_outputs(outputs, {k: v.numpy() for k, v in expected.items()}, f"{task} {signature}")


def test_outputs_have_the_documented_shapes(exported):
    _, paths, _, _ = exported
    ner = tf.saved_model.load(paths["ner"]).signatures["serving_default"]
    text = "Angela Merkel met Macron in Paris, France. " * 12  # several windows
    out = ner(text=tf.constant([text, ""]))
    words = [w.decode() for w in out["words"].numpy()[0] if w]
    assert len(words) == len(text.split()) + 24 and all(t for t in out["tags"].numpy()[0][: len(words)])
    starts, ends = out["word_start"].numpy()[0], out["word_end"].numpy()[0]
    assert all(text.encode()[s:e].decode() == w for w, s, e in zip(words, starts, ends))
    assert (out["word_start"].numpy()[1] == -1).all() and not any(out["words"].numpy()[1])
    squad = tf.saved_model.load(paths["squad"]).signatures["serving_default"]
    out = squad(question=tf.constant(["Who?", "What?"]), context=tf.constant(["Zoë met Bob in Zürich. " * 9, ""]))
    start, end = int(out["start"][0]), int(out["end"][0])
    context = ("Zoë met Bob in Zürich. " * 9).encode()
    assert 0 <= start < end <= len(context) and context[start:end].decode() == out["answer"].numpy()[0].decode()
    assert int(out["start"][1]) == -1 and out["answer"].numpy()[1] == b""


def test_warmup_requests_replay(exported):
    _, paths, _, _ = exported
    for path in paths.values():
        requests = read_warmup_requests(path)
        assert requests and requests[0][0] == "serving_default"
        model = tf.saved_model.load(path)
        for signature, inputs in requests:
            outputs = model.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
            assert all(v.shape[0] == len(next(iter(inputs.values()))) for v in outputs.values())


def test_versions_are_never_overwritten_and_failures_leave_nothing(exported, minilm_dir, monkeypatch):
    root, paths, models, tokenizer = exported
    second = export_saved_model(models["encoder"], tokenizer, str(root / "encoder"), max_seq_length=SEQ)
    assert second.endswith(os.path.join("encoder", "2"))
    with pytest.raises(FileExistsError, match="never overwritten"):
        export_saved_model(models["encoder"], tokenizer, str(root / "encoder"), version=1, max_seq_length=SEQ)

    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        export_saved_model(models["encoder"], tokenizer, str(root / "encoder"), max_seq_length=SEQ)
    assert sorted(os.listdir(root / "encoder")) == ["1", "2"]


def test_models_config(exported, tmp_path):
    root, _, _, _ = exported
    names = write_models_config(str(root), base_path_prefix="/models")
    assert names == sorted(INPUTS)
    config = (root / "models.config").read_text()
    assert config.startswith("model_config_list {") and 'base_path: "/models/squad"' in config
    assert config.count("config {") == 5 and 'model_platform: "tensorflow"' in config


_FUZZ_TEXT = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    st.sampled_from(["", " ", "\x00", "\ud7ff", "[SEP] [CLS] [MASK]", "😀" * 50, "x" * 100_000, "\x07\x1b\u200b"]),
)


def _every_signature_answers(all_signatures, texts, ids):
    """`texts` through every text signature of every task, and `ids` through the classifier's serve_ids."""
    all_signatures, vocab_size = all_signatures
    values = tf.constant([t.encode("utf-8", "surrogatepass") if isinstance(t, str) else t for t in texts],
                         dtype=tf.string)
    calls = [("classifier", "serving_default", {"text": values}),
             ("classifier", "serve_pair", {"text_a": values, "text_b": values[::-1]}),
             ("ner", "serving_default", {"text": values}),
             ("squad", "serving_default", {"question": values[::-1], "context": values}),
             ("encoder", "serving_default", {"text": values}),
             ("pretrainer", "serving_default", {"text": values})]
    for task, signature, inputs in calls:
        outputs = all_signatures[task][signature](**inputs)
        assert all(v.shape[0] == len(texts) for v in outputs.values()), (task, signature)
    word_ids = tf.constant([ids], tf.int32)
    serve_ids = all_signatures["classifier"]["serve_ids"]
    arguments = dict(input_word_ids=word_ids, input_mask=tf.ones_like(word_ids),
                     input_type_ids=tf.zeros_like(word_ids))
    if min(ids) >= 0 and max(ids) < vocab_size:
        assert serve_ids(**arguments)["logits"].shape == (1, 3)
    else:  # an id outside the vocabulary is a clear error that names the input, not a crash or a wrap-around
        with pytest.raises(tf.errors.InvalidArgumentError, match="input_word_ids must"):
            serve_ids(**arguments)


_FUZZ_IDS = st.lists(st.integers(-5, 40000), min_size=1, max_size=24)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_FUZZ_TEXT, min_size=0, max_size=6), ids=_FUZZ_IDS)
def test_fuzzed_text_gets_an_answer(all_signatures, texts, ids):
    """Batches of 0 to 6 fuzzed texts through every text signature, plus fuzzed ids; the 1,300-batch run is slow."""
    _every_signature_answers(all_signatures, texts, ids)


def test_batch_of_512(exported):
    _, paths, _, _ = exported
    classifier = tf.saved_model.load(paths["classifier"]).signatures["serving_default"]
    out = classifier(text=tf.constant([f"sentence number {i}" for i in range(512)]))
    assert out["probabilities"].shape == (512, 3) and out["label"].shape == (512,)


def _tool(name, *args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / name), *args], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def test_export_and_predict_tools_with_rest_server(tmp_path, minilm_dir):
    # A two-layer, 32-wide classifier with MiniLM's vocabulary: the tools and the server, not the model, are tested.
    model_dir = tmp_path / "model"
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    config = kbz.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_layers=2, num_heads=2,
                            intermediate_size=64, max_position_embeddings=64)
    kbz.BertClassifier(kbz.BertEncoder(config), num_classes=2, label_names=["neg", "pos"]).save_pretrained(
        str(model_dir), tokenizer=tokenizer)
    export_dir = tmp_path / "saved_models" / "sentiment"
    result = _tool("export_saved_model.py", f"--init_checkpoint={model_dir}", "--task=classifier",
                   f"--export_dir={export_dir}", "--max_seq_length=32")
    assert result.returncode == 0, result.stderr
    assert (export_dir / "1" / "saved_model.pb").exists() and (tmp_path / "saved_models" / "models.config").exists()
    texts = tmp_path / "texts.txt"
    texts.write_text("a great film\nterrible\n\n", encoding="utf-8")
    local = _tool("predict.py", f"--saved_model={export_dir}", f"--input_file={texts}",
                  f"--output_file={tmp_path / 'local.jsonl'}")
    assert local.returncode == 0, local.stderr
    server = TfServingRestServer({"sentiment": str(export_dir / "1")})
    try:
        remote = _tool("predict.py", f"--server_url={server.url('sentiment')}", f"--input_file={texts}",
                       f"--output_file={tmp_path / 'remote.jsonl'}", "--batch_size=2")
        assert remote.returncode == 0, remote.stderr
        missing = _tool("predict.py", f"--server_url={server.url('nope')}", f"--input_file={texts}")
        assert missing.returncode != 0 and "HTTP 404" in missing.stderr and "Traceback" not in missing.stderr
    finally:
        server.stop()
    local_rows = [json.loads(line) for line in (tmp_path / "local.jsonl").read_text().splitlines()]
    remote_rows = [json.loads(line) for line in (tmp_path / "remote.jsonl").read_text().splitlines()]
    assert [r["text"] for r in local_rows] == ["a great film", "terrible", ""]
    assert [r["label"] for r in local_rows] == [r["label"] for r in remote_rows]
    np.testing.assert_allclose([r["probabilities"] for r in local_rows], [r["probabilities"] for r in remote_rows],
                               atol=1e-6)
    again = _tool("export_saved_model.py", f"--init_checkpoint={model_dir}", "--task=classifier",
                  f"--export_dir={export_dir}", "--version=1")
    assert again.returncode == 2 and "never overwritten" in again.stderr


def test_rest_client_times_out(tmp_path):
    import socket

    from keras_bert_zoo.export.rest_predictor import RestPredictor

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts, never answers
    try:
        client = RestPredictor(f"http://127.0.0.1:{silent.getsockname()[1]}/v1/models/m:predict", timeout=0.5)
        with pytest.raises(RuntimeError, match="did not answer within 0.5s"):
            client.predict({"text": ["hello"]})
    finally:
        silent.close()
    with pytest.raises(ValueError, match="not a TF Serving predict URL"):
        RestPredictor("http://localhost:8501/models/m")


_SCALE_TEXT = st.one_of(st.text(max_size=400), st.binary(max_size=400),
                        st.sampled_from(["", "\x00", "[MASK]", "😀 " * 30, "a" * 2000]))


@pytest.mark.slow
@settings(max_examples=1300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_SCALE_TEXT, min_size=8, max_size=8), ids=_FUZZ_IDS)
def test_ten_thousand_inputs_across_all_signatures(all_signatures, texts, ids):
    """1,300 batches of 8 texts (10,400 inputs) through every text signature, plus fuzzed ids.

    Minutes of MiniLM calls, so slow; `test_fuzzed_text_gets_an_answer` makes the same calls
    on 60 batches in the default run.
    """
    _every_signature_answers(all_signatures, texts, ids)


def test_serve_ids_rejects_ids_out_of_range(all_signatures):
    signatures, vocab_size = all_signatures
    ids = tf.constant([[2, 7, 3]], tf.int32)
    good = dict(input_word_ids=ids, input_mask=tf.ones_like(ids), input_type_ids=tf.zeros_like(ids))
    assert signatures["encoder"]["serve_ids"](**good)["pooled_output"].shape == (1, 384)
    pretrainer = signatures["pretrainer"]["serve_ids"]
    assert pretrainer(**good, masked_lm_positions=tf.constant([[1, 2]]))["mlm_logits"].shape == (1, 2, vocab_size)
    bad_cases = [
        ("input_word_ids must be less than", dict(good, input_word_ids=tf.constant([[2, vocab_size, 3]]))),
        ("input_type_ids must not be negative", dict(good, input_type_ids=tf.constant([[0, -1, 0]]))),
        ("input_type_ids must be less than 2", dict(good, input_type_ids=tf.constant([[0, 2, 0]]))),
    ]
    for message, inputs in bad_cases:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            signatures["encoder"]["serve_ids"](**inputs)
    for positions, message in (([[1, -1]], "must not be negative"), ([[1, 3]], "must be less than")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"masked_lm_positions {message}"):
            pretrainer(**good, masked_lm_positions=tf.constant(positions))


def _readme_python_block(heading):
    """The first ```python block after `heading` in README.md."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(heading):]
    return section[section.index("```python\n") + len("```python\n"):section.index("\n```", section.index("```python"))]


def test_readme_custom_task_exports_and_answers_through_cpp_loader(tmp_path):
    block = _readme_python_block("### Your own task")
    result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    path = tmp_path / "saved_models" / "review_score" / "1"
    assert result.stdout.startswith("saved_models/review_score/1 [")
    assert 'name: "review_score"' in (tmp_path / "saved_models" / "models.config").read_text()
    assert_readable_by_all(tmp_path / "saved_models")
    python = tf.saved_model.load(str(path)).signatures
    ids = {"input_word_ids": np.array([[2, 2000, 3]], np.int32), "input_mask": np.ones((1, 3), np.int32),
           "input_type_ids": np.zeros((1, 3), np.int32)}
    assert check_through_cc_loader(str(path), python, ids) >= 14
