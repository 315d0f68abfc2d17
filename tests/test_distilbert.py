"""DistilBERT on the family core: transformers' own DistilBERT models, seeded and saved, against ours."""

import json

import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from conftest import random_inputs
from family_tools import (assert_like_transformers, fine_tune_export_serve_and_distil, outputs_as_transformers,
                          seeded, user_checkpoint)

SENTENCES = ["DistilBERT keeps half of BERT's layers.", "Short one.",
             "It was distilled from bert-base-uncased by Hugging Face in 2019, and runs about sixty percent faster."]


def _hf_config(vocab_size=99, **kwargs):
    return transformers.DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                                         max_position_embeddings=64, **kwargs)


def _torch_inputs(inputs):
    return {"input_ids": torch.tensor(inputs["input_word_ids"]).long(),
            "attention_mask": torch.tensor(inputs["input_mask"]).long()}


def test_encoder_matches_distilbert_model_on_real_sentences(tmp_path, minilm_dir):
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    inputs = {name: value.numpy() for name, value in tokenizer(SENTENCES, max_length=40).items()}
    reference = seeded(transformers.DistilBertModel, _hf_config(vocab_size=tokenizer.vocab_size))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = kbz.Encoder.from_pretrained(str(tmp_path))
    assert type(ours) is kbz.DistilBertEncoder and isinstance(ours.config, kbz.DistilBertConfig)
    outputs = ours(inputs)
    assert "pooled_output" not in outputs  # DistilBERT has no pooler.
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs), output_hidden_states=True)
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(outputs["sequence_output"].numpy()[real], expected.last_hidden_state.numpy()[real],
                               atol=1e-5, rtol=0)
    for ours_layer, hf_layer in zip(outputs["encoder_outputs"], expected.hidden_states[1:], strict=True):
        np.testing.assert_allclose(ours_layer.numpy()[real], hf_layer.numpy()[real], atol=1e-5, rtol=0)
    # Token types don't exist for DistilBERT: any input_type_ids give the same outputs.
    changed = dict(inputs, input_type_ids=np.ones_like(inputs["input_type_ids"]))
    np.testing.assert_array_equal(ours(changed)["sequence_output"].numpy(), outputs["sequence_output"].numpy())


@pytest.mark.parametrize("ours_class,hf_class", [
    (kbz.BertClassifier, transformers.DistilBertForSequenceClassification),
    (kbz.BertTokenClassifier, transformers.DistilBertForTokenClassification),
    (kbz.BertQuestionAnswerer, transformers.DistilBertForQuestionAnswering),
    (kbz.MaskedLM, transformers.DistilBertForMaskedLM),
])
def test_task_heads_match_distilbert_heads(tmp_path, ours_class, hf_class):
    reference = seeded(hf_class, _hf_config(num_labels=2 if ours_class is kbz.BertQuestionAnswerer else 5))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = ours_class.from_pretrained(str(tmp_path), require_head=True)
    assert type(ours.encoder) is kbz.DistilBertEncoder
    inputs = random_inputs(vocab_size=99)
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs))
    assert_like_transformers(outputs_as_transformers(ours, inputs), expected, inputs)


@pytest.mark.parametrize("ours_class,hf_class,kwargs", [
    (kbz.Encoder, transformers.DistilBertModel, {}),
    (kbz.BertClassifier, transformers.DistilBertForSequenceClassification, {"num_classes": 3}),
    (kbz.BertTokenClassifier, transformers.DistilBertForTokenClassification, {"num_classes": 3}),
    (kbz.MaskedLM, transformers.DistilBertForMaskedLM, {}),
])
def test_save_pretrained_loads_in_transformers(tmp_path, ours_class, hf_class, kwargs):
    config = kbz.DistilBertConfig(vocab_size=64, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
                                  max_position_embeddings=32, dropout=0.0)
    ours = ours_class(config) if ours_class is kbz.Encoder else ours_class(kbz.Encoder(config), **kwargs)
    ours.save_pretrained(str(tmp_path / "saved"))
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert saved["model_type"] == "distilbert" and saved["architectures"] == [hf_class.__name__]
    reference = hf_class.from_pretrained(str(tmp_path / "saved")).eval()
    inputs = random_inputs(vocab_size=64)
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs))
    got = outputs_as_transformers(ours, inputs)
    assert_like_transformers(got, expected, inputs)
    # And back: our reader takes what we wrote.
    again = outputs_as_transformers(type(ours).from_pretrained(str(tmp_path / "saved")), inputs)
    for name, value in again.items():
        np.testing.assert_array_equal(value, got[name])


def test_encoder_picks_the_family_and_names_unsupported_ones(tmp_path, minilm_dir):
    assert type(kbz.Encoder.from_pretrained(minilm_dir)) is kbz.BertEncoder
    assert type(kbz.Encoder(kbz.BertConfig(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
                                           intermediate_size=8))) is kbz.BertEncoder
    transformers.RobertaModel(transformers.RobertaConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16)
    ).save_pretrained(tmp_path, safe_serialization=True)
    with pytest.raises(ValueError, match=r"config\.json: model_type 'roberta' is not supported; supported: bert, "
                                         r"distilbert"):
        kbz.Encoder.from_pretrained(str(tmp_path))
    with pytest.raises(TypeError, match="DistilBertEncoder takes a DistilBertConfig"):
        kbz.DistilBertEncoder(kbz.BertConfig(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
                                             intermediate_size=8))


@pytest.mark.parametrize("task,quantize", [("ner", ("none", "int8")), ("classifier", ("none",)),
                                           ("squad", ("none",))])
def test_tools_train_export_and_serve_a_distilbert_checkpoint(tmp_path, minilm_dir, task, quantize):
    """run_ner / run_classifier / run_squad as a user runs them on a DistilBERT directory; exports answer through TF
    Serving's C++ loader."""
    vocab_size = kbz.BertTokenizer.from_pretrained(minilm_dir).vocab_size
    reference = seeded(transformers.DistilBertModel, _hf_config(vocab_size=vocab_size))
    checkpoint = user_checkpoint(tmp_path / "distilbert", reference, minilm_dir)
    fine_tune_export_serve_and_distil(tmp_path, checkpoint, task, quantize, "DistilBert", kbz.DistilBertEncoder)
