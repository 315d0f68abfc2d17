"""Loading google-research/bert TF1 checkpoints written with the original variable names."""

import json

import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from keras_bert_zoo.convert import write_google_checkpoint
from conftest import random_inputs

# google-research/bert modeling.py / run_pretraining.py names, written out by hand from the original
# graph, with the HF key and whether HF stores the transpose ([out, in] Linear weights).
_EMBEDDINGS = {
    "bert/embeddings/word_embeddings": ("bert.embeddings.word_embeddings.weight", False),
    "bert/embeddings/token_type_embeddings": ("bert.embeddings.token_type_embeddings.weight", False),
    "bert/embeddings/position_embeddings": ("bert.embeddings.position_embeddings.weight", False),
    "bert/embeddings/LayerNorm/beta": ("bert.embeddings.LayerNorm.bias", False),
    "bert/embeddings/LayerNorm/gamma": ("bert.embeddings.LayerNorm.weight", False),
}
_LAYER = {
    "attention/self/query/kernel": ("attention.self.query.weight", True),
    "attention/self/query/bias": ("attention.self.query.bias", False),
    "attention/self/key/kernel": ("attention.self.key.weight", True),
    "attention/self/key/bias": ("attention.self.key.bias", False),
    "attention/self/value/kernel": ("attention.self.value.weight", True),
    "attention/self/value/bias": ("attention.self.value.bias", False),
    "attention/output/dense/kernel": ("attention.output.dense.weight", True),
    "attention/output/dense/bias": ("attention.output.dense.bias", False),
    "attention/output/LayerNorm/beta": ("attention.output.LayerNorm.bias", False),
    "attention/output/LayerNorm/gamma": ("attention.output.LayerNorm.weight", False),
    "intermediate/dense/kernel": ("intermediate.dense.weight", True),
    "intermediate/dense/bias": ("intermediate.dense.bias", False),
    "output/dense/kernel": ("output.dense.weight", True),
    "output/dense/bias": ("output.dense.bias", False),
    "output/LayerNorm/beta": ("output.LayerNorm.bias", False),
    "output/LayerNorm/gamma": ("output.LayerNorm.weight", False),
}
_TOP = {
    "bert/pooler/dense/kernel": ("bert.pooler.dense.weight", True),
    "bert/pooler/dense/bias": ("bert.pooler.dense.bias", False),
    "cls/predictions/transform/dense/kernel": ("cls.predictions.transform.dense.weight", True),
    "cls/predictions/transform/dense/bias": ("cls.predictions.transform.dense.bias", False),
    "cls/predictions/transform/LayerNorm/beta": ("cls.predictions.transform.LayerNorm.bias", False),
    "cls/predictions/transform/LayerNorm/gamma": ("cls.predictions.transform.LayerNorm.weight", False),
    "cls/predictions/output_bias": ("cls.predictions.bias", False),
    "cls/seq_relationship/output_weights": ("cls.seq_relationship.weight", False),
    "cls/seq_relationship/output_bias": ("cls.seq_relationship.bias", False),
}


def _google_names(num_layers):
    names = dict(_EMBEDDINGS)
    for i in range(num_layers):
        for leaf, (hf_leaf, transpose) in _LAYER.items():
            names[f"bert/encoder/layer_{i}/{leaf}"] = (f"bert.encoder.layer.{i}.{hf_leaf}", transpose)
    names.update(_TOP)
    return names


@pytest.fixture
def google_checkpoint(tmp_path):
    """A random HF BertForPreTraining, and the same weights as a Google checkpoint directory."""
    hf_config = transformers.BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=40, hidden_act="gelu_new")
    reference = transformers.BertForPreTraining(hf_config).eval()
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    state = {key: value.numpy() for key, value in reference.state_dict().items()}
    weights = {name: (state[key].T if transpose else state[key]).copy()
               for name, (key, transpose) in _google_names(2).items()}
    # Optimizer slots and the step counter sit beside the weights in real training checkpoints.
    weights["bert/pooler/dense/kernel/adam_m"] = np.zeros((32, 32), np.float32)
    weights["global_step"] = np.array(1000, np.int64)
    directory = tmp_path / "uncased_L-2_H-32_A-4"
    directory.mkdir()
    write_google_checkpoint(str(directory / "bert_model.ckpt"), weights)
    (directory / "bert_config.json").write_text(json.dumps({
        "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 37, "max_position_embeddings": 40,
        "num_attention_heads": 4, "num_hidden_layers": 2, "type_vocab_size": 2, "vocab_size": 99}))
    return directory, weights, reference


def test_pretrainer_restores_every_google_variable(google_checkpoint):
    directory, weights, reference = google_checkpoint
    model = kbz.BertPretrainer.from_pretrained(str(directory))
    assert model.encoder.config.hidden_act == "gelu_approx"  # Google's "gelu" is the tanh form.
    slices = model.checkpoint_slices()
    assert set(slices) == set(_google_names(2))
    for name, part in slices.items():
        value = np.split(part.variable.numpy(), part.count, axis=-1)[part.index]
        np.testing.assert_array_equal(value, weights[name], err_msg=name)
    inputs = random_inputs(vocab_size=99, with_positions=True)
    outputs = model(inputs)
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor(inputs["input_word_ids"]).long(),
                             attention_mask=torch.tensor(inputs["input_mask"]).long(),
                             token_type_ids=torch.tensor(inputs["input_type_ids"]).long())
    hf_mlm = np.take_along_axis(expected.prediction_logits.numpy(), inputs["masked_lm_positions"][..., None], 1)
    np.testing.assert_allclose(outputs["mlm_logits"].numpy(), hf_mlm, atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs["nsp_logits"].numpy(), expected.seq_relationship_logits.numpy(),
                               atol=1e-5, rtol=0)


def test_checkpoint_prefix_and_encoder(google_checkpoint):
    directory, weights, _ = google_checkpoint
    encoder = kbz.BertEncoder.from_pretrained(str(directory / "bert_model.ckpt"))
    np.testing.assert_array_equal(encoder.embeddings.word_embeddings.embeddings.numpy(),
                                  weights["bert/embeddings/word_embeddings"])


def test_shape_mismatch_names_the_variable(google_checkpoint, tmp_path):
    directory, weights, _ = google_checkpoint
    weights = dict(weights)
    weights["bert/encoder/layer_1/intermediate/dense/kernel"] = np.zeros((32, 38), np.float32)
    broken = tmp_path / "broken"
    broken.mkdir()
    write_google_checkpoint(str(broken / "bert_model.ckpt"), weights)
    (broken / "bert_config.json").write_text((directory / "bert_config.json").read_text())
    with pytest.raises(ValueError, match=r"'bert/encoder/layer_1/intermediate/dense/kernel'.*"
                                         r"shape \(32, 38\), but the model expects \(32, 37\)"):
        kbz.BertEncoder.from_pretrained(str(broken))


def test_missing_variable_is_named(google_checkpoint, tmp_path):
    directory, weights, _ = google_checkpoint
    weights = {k: v for k, v in weights.items() if k != "bert/encoder/layer_0/attention/self/key/bias"}
    broken = tmp_path / "missing"
    broken.mkdir()
    write_google_checkpoint(str(broken / "bert_model.ckpt"), weights)
    (broken / "bert_config.json").write_text((directory / "bert_config.json").read_text())
    with pytest.raises(ValueError, match="lacks variable.*bert/encoder/layer_0/attention/self/key/bias"):
        kbz.BertEncoder.from_pretrained(str(broken))


def test_classifier_from_pretraining_checkpoint_gets_fresh_head(google_checkpoint, caplog):
    directory, weights, _ = google_checkpoint
    model = kbz.BertClassifier.from_pretrained(str(directory), num_classes=3)
    assert model.classifier_head.output_weights.shape == (3, 32)
    assert "head is freshly initialized" in caplog.text
    np.testing.assert_array_equal(model.encoder.pooler.dense.bias.numpy(), weights["bert/pooler/dense/bias"])
