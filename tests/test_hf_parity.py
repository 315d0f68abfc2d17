"""Numerical parity with HF transformers (torch) on real and random BERT weights."""

import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from conftest import random_inputs

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "BERT was introduced by researchers at Google in 2018.",
    "Short one.",
    "Fine-tuning a pretrained encoder on a few thousand labelled examples often works remarkably well, "
    "even for tasks that look quite different from masked language modelling.",
]


def _torch_inputs(inputs):
    return {
        "input_ids": torch.tensor(inputs["input_word_ids"]).long(),
        "attention_mask": torch.tensor(inputs["input_mask"]).long(),
        "token_type_ids": torch.tensor(inputs["input_type_ids"]).long(),
    }


def test_minilm_encoder_matches_hf(minilm_dir):
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    inputs = {k: v.numpy() for k, v in tokenizer(SENTENCES, max_length=48).items()}
    assert inputs["input_mask"].sum(1).min() < 10 < inputs["input_mask"].sum(1).max()  # really padded
    ours = kbz.BertEncoder.from_pretrained(minilm_dir)
    assert ours.config.hidden_act == "gelu"
    outputs = ours(inputs)
    reference = transformers.BertModel.from_pretrained(minilm_dir).eval()
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs), output_hidden_states=True)
    real = inputs["input_mask"].astype(bool)
    # Padded positions carry no meaning: HF's own eager and SDPA kernels differ there by 1e-4.
    sequence_diff = np.abs(outputs["sequence_output"].numpy() - expected.last_hidden_state.numpy())[real]
    assert sequence_diff.max() <= 1e-5
    assert np.abs(outputs["pooled_output"].numpy() - expected.pooler_output.numpy()).max() <= 1e-5
    assert len(outputs["encoder_outputs"]) == 6
    for ours_layer, hf_layer in zip(outputs["encoder_outputs"], expected.hidden_states[1:]):
        assert np.abs(ours_layer.numpy() - hf_layer.numpy())[real].max() <= 1e-5


def _tiny_hf_config(**kwargs):
    return transformers.BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=40, hidden_act="gelu_new", **kwargs)


def _randomize(model):
    # Non-trivial biases and LayerNorm weights, so a missed or swapped tensor shows.
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


def test_pretrainer_matches_hf_bert_for_pretraining(tmp_path):
    reference = _randomize(transformers.BertForPreTraining(_tiny_hf_config()))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = kbz.BertPretrainer.from_pretrained(str(tmp_path))
    assert ours.encoder.config.hidden_act == "gelu_approx"
    inputs = random_inputs(vocab_size=99, with_positions=True)
    outputs = ours(inputs)
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs))
    positions = inputs["masked_lm_positions"]
    hf_mlm = np.take_along_axis(expected.prediction_logits.numpy(), positions[..., None], axis=1)
    np.testing.assert_allclose(outputs["mlm_logits"].numpy(), hf_mlm, atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs["nsp_logits"].numpy(), expected.seq_relationship_logits.numpy(),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("ours_class,hf_class,output_names", [
    (kbz.BertClassifier, transformers.BertForSequenceClassification, {"logits": "logits"}),
    (kbz.BertTokenClassifier, transformers.BertForTokenClassification, {"logits": "logits"}),
    (kbz.BertQuestionAnswerer, transformers.BertForQuestionAnswering,
     {"start_logits": "start_logits", "end_logits": "end_logits"}),
])
def test_task_heads_match_hf(tmp_path, ours_class, hf_class, output_names):
    num_labels = 2 if ours_class is kbz.BertQuestionAnswerer else 3
    reference = _randomize(hf_class(_tiny_hf_config(num_labels=num_labels)))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = ours_class.from_pretrained(str(tmp_path))
    inputs = random_inputs(vocab_size=99)
    outputs = ours(inputs)
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs))
    real = inputs["input_mask"].astype(bool)
    for ours_name, hf_name in output_names.items():
        got, want = outputs[ours_name].numpy(), getattr(expected, hf_name).numpy()
        if ours_class is not kbz.BertClassifier:
            got, want = got[real], want[real]
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("ours_class,hf_class,kwargs", [
    (kbz.BertEncoder, transformers.BertModel, {}),
    (kbz.BertPretrainer, transformers.BertForPreTraining, {}),
    (kbz.BertClassifier, transformers.BertForSequenceClassification, {"num_classes": 3,
                                                                      "label_names": ["neg", "neu", "pos"]}),
])
def test_save_pretrained_loads_in_transformers(tmp_path, tiny_config, ours_class, hf_class, kwargs):
    ours = ours_class.build_from_config(tiny_config, **kwargs)
    ours.save_pretrained(str(tmp_path / "saved"))
    reference = hf_class.from_pretrained(str(tmp_path / "saved")).eval()
    inputs = random_inputs(vocab_size=tiny_config.vocab_size, with_positions=True)
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs))
    outputs = ours({name: value for name, value in inputs.items() if name in ours.input})
    real = inputs["input_mask"].astype(bool)
    if ours_class is kbz.BertEncoder:
        np.testing.assert_allclose(outputs["sequence_output"].numpy()[real],
                                   expected.last_hidden_state.numpy()[real], atol=1e-5, rtol=0)
    elif ours_class is kbz.BertPretrainer:
        np.testing.assert_allclose(outputs["nsp_logits"].numpy(), expected.seq_relationship_logits.numpy(),
                                   atol=1e-5, rtol=0)
    else:
        np.testing.assert_allclose(outputs["logits"].numpy(), expected.logits.numpy(), atol=1e-5, rtol=0)
        assert reference.config.id2label == {0: "neg", 1: "neu", 2: "pos"}
