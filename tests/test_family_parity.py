"""Every family on the core against transformers' own models: seeded small configs written with
save_pretrained, read by ours (every output within 1e-5), ours written back and read by transformers, and
the tools as a user runs them on a directory of the family. A family is one entry of FAMILIES."""

import dataclasses
import json
import typing

import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from conftest import random_inputs
from family_tools import (assert_like_transformers, fine_tune_export_serve_and_distil, outputs_as_transformers,
                          seeded, user_checkpoint, write_tokenizer)


@dataclasses.dataclass(frozen=True)
class Family:
    """What the tests need to know of a family (transformers' side and ours)."""

    hf_prefix: str  # "DistilBert": transformers' classes are hf_prefix + "Model", + "ForMaskedLM", ...
    hf_config: typing.Callable  # (vocab_size, **kwargs) -> a small transformers config.
    config: typing.Any  # A small config of ours, for models we build and save.
    encoder_class: type
    token_types: bool  # Whether the family reads input_type_ids.
    pooler: bool = False  # Whether its XModel has a pooler (its heads then still don't read it).
    tokenizer_kind: str = "wordpiece"  # What `family_tools.write_tokenizer` writes for its checkpoints,
    tokenizer_layout: str = "xlm-roberta"  # and a SentencePiece model's ids and file name.
    head_config: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)  # For the heads' parity.

    def hf_class(self, suffix):
        return getattr(transformers, self.hf_prefix + suffix)


FAMILIES = {
    "distilbert": Family(
        "DistilBert",
        lambda vocab_size, **kwargs: transformers.DistilBertConfig(
            vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64, **kwargs),
        kbz.DistilBertConfig(vocab_size=64, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
                             max_position_embeddings=32, dropout=0.0),
        kbz.DistilBertEncoder, token_types=False),
    # embedding_size below hidden_size: the embeddings are projected, as in ELECTRA-small. tanh GELU in the
    # layers for the heads: ELECTRA's generator head keeps exact GELU whatever hidden_act says.
    "electra": Family(
        "Electra",
        lambda vocab_size, **kwargs: transformers.ElectraConfig(**{**dict(
            vocab_size=vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64), **kwargs}),
        kbz.ElectraConfig(vocab_size=64, embedding_size=8, hidden_size=16, num_layers=2, num_heads=2,
                          intermediate_size=32, max_position_embeddings=32, dropout=0.0),
        kbz.ElectraEncoder, token_types=True, head_config={"hidden_act": "gelu_new"}),
    # RoBERTa's real layout: one token type, positions past the pad id (66 rows: 64 tokens), LayerNorm eps 1e-5.
    # Its masked-LM head keeps exact GELU whatever hidden_act says.
    "roberta": Family(
        "Roberta",
        lambda vocab_size, **kwargs: transformers.RobertaConfig(**{**dict(
            vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=66, type_vocab_size=1, layer_norm_eps=1e-5), **kwargs}),
        kbz.RobertaConfig(vocab_size=64, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
                          max_position_embeddings=32, dropout=0.0),
        kbz.RobertaEncoder, token_types=False, pooler=True, head_config={"hidden_act": "gelu_new"},
        tokenizer_kind="bpe"),
    # transformers' default of two token types: the first row is still the only one used.
    "xlm-roberta": Family(
        "XLMRoberta",
        lambda vocab_size, **kwargs: transformers.XLMRobertaConfig(**{**dict(
            vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=66, type_vocab_size=2, layer_norm_eps=1e-5), **kwargs}),
        kbz.XlmRobertaConfig(vocab_size=64, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
                             max_position_embeddings=32, dropout=0.0),
        kbz.XlmRobertaEncoder, token_types=False, pooler=True, tokenizer_kind="sentencepiece"),
    # The released layout: one block shared by every layer, narrower embeddings projected; tanh GELU (gelu_new).
    # Other sharings (groups, inner groups) are in test_albert.py.
    "albert": Family(
        "Albert",
        lambda vocab_size, **kwargs: transformers.AlbertConfig(**{**dict(
            vocab_size=vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64), **kwargs}),
        kbz.AlbertConfig(vocab_size=64, embedding_size=8, hidden_size=16, num_layers=2, num_heads=2,
                         intermediate_size=32, max_position_embeddings=32),
        kbz.AlbertEncoder, token_types=True, pooler=True, tokenizer_kind="sentencepiece", tokenizer_layout="albert"),
    # Rotary positions, GeGLU, pre-norm; layer 0 global, layers 1-2 sliding windows of 8 tokens (ours: 4). Its special
    # ids are those of its tokenizer.json (family_tools.MODERNBERT_SPECIAL_TOKENS), its length 8,192 tokens.
    # Longer inputs, packing, mean pooling and the tokenizer's NFC: test_modernbert.py.
    "modernbert": Family(
        "ModernBert",
        lambda vocab_size, **kwargs: transformers.ModernBertConfig(**{**dict(
            vocab_size=vocab_size, hidden_size=32, intermediate_size=24, num_hidden_layers=3, num_attention_heads=4,
            local_attention=8, max_position_embeddings=8192, pad_token_id=5, bos_token_id=3, eos_token_id=4,
            cls_token_id=3, sep_token_id=4, attn_implementation="eager"), **kwargs}),
        kbz.ModernBertConfig(vocab_size=64, hidden_size=16, num_layers=3, num_heads=2, intermediate_size=24,
                             max_position_embeddings=64, local_attention=4, pad_token_id=5, cls_token_id=3,
                             sep_token_id=4),
        kbz.ModernBertEncoder, token_types=False, tokenizer_kind="modernbert"),
}
# Ours, and transformers' class suffix.
HEADS = [(kbz.Classifier, "ForSequenceClassification"), (kbz.TokenClassifier, "ForTokenClassification"),
         (kbz.QuestionAnswerer, "ForQuestionAnswering"), (kbz.MaskedLM, "ForMaskedLM")]
SENTENCES = ["ELECTRA trains a discriminator to spot replaced tokens.", "Short one.",
             "DistilBERT was distilled from bert-base-uncased by Hugging Face in 2019, and runs about sixty percent "
             "faster."]


def torch_inputs(family, inputs):
    tensors = {"input_ids": torch.tensor(inputs["input_word_ids"]).long(),
               "attention_mask": torch.tensor(inputs["input_mask"]).long()}
    if family.token_types:
        tensors["token_type_ids"] = torch.tensor(inputs["input_type_ids"]).long()
    return tensors


def test_encoder_picks_the_family_and_names_unsupported_ones(tmp_path, minilm_dir):
    assert type(kbz.Encoder.from_pretrained(minilm_dir)) is kbz.BertEncoder
    assert type(kbz.Encoder(kbz.BertConfig(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
                                           intermediate_size=8))) is kbz.BertEncoder
    transformers.MPNetModel(transformers.MPNetConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=16)).save_pretrained(tmp_path, safe_serialization=True)
    with pytest.raises(ValueError, match=r"config\.json: model_type 'mpnet' is not supported; supported: albert, "
                                         r"bert, distilbert, electra, modernbert, roberta, xlm-roberta\."):
        kbz.Encoder.from_pretrained(str(tmp_path))
    with pytest.raises(TypeError, match="DistilBertEncoder takes a DistilBertConfig"):
        kbz.DistilBertEncoder(kbz.BertConfig(vocab_size=10, hidden_size=8, num_layers=1, num_heads=2,
                                             intermediate_size=8))


@pytest.mark.parametrize("name", FAMILIES)
def test_encoder_matches_on_real_sentences(tmp_path, minilm_dir, name):
    family = FAMILIES[name]
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    inputs = {key: value.numpy() for key, value in tokenizer(SENTENCES, SENTENCES[::-1], max_length=48).items()}
    reference = seeded(family.hf_class("Model"), family.hf_config(tokenizer.vocab_size))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = kbz.Encoder.from_pretrained(str(tmp_path))
    assert type(ours) is family.encoder_class and type(ours.config) is type(family.config)
    outputs = ours(inputs)
    with torch.no_grad():
        expected = reference(**torch_inputs(family, inputs), output_hidden_states=True)
    if family.pooler:
        np.testing.assert_allclose(outputs["pooled_output"].numpy(), expected.pooler_output.numpy(), atol=1e-5, rtol=0)
    else:
        assert "pooled_output" not in outputs
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(outputs["sequence_output"].numpy()[real], expected.last_hidden_state.numpy()[real],
                               atol=1e-5, rtol=0)
    for ours_layer, hf_layer in zip(outputs["encoder_outputs"], expected.hidden_states[1:], strict=True):
        np.testing.assert_allclose(ours_layer.numpy()[real], hf_layer.numpy()[real], atol=1e-5, rtol=0)
    if not family.token_types:  # Any input_type_ids then give the same outputs.
        changed = dict(inputs, input_type_ids=np.ones_like(inputs["input_type_ids"]))
        np.testing.assert_array_equal(ours(changed)["sequence_output"].numpy(), outputs["sequence_output"].numpy())


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("ours_class,suffix", HEADS, ids=[suffix for _, suffix in HEADS])
def test_task_heads_match(tmp_path, name, ours_class, suffix):
    family = FAMILIES[name]
    num_labels = 2 if ours_class is kbz.QuestionAnswerer else 5
    reference = seeded(family.hf_class(suffix), family.hf_config(99, num_labels=num_labels, **family.head_config))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = ours_class.from_pretrained(str(tmp_path), require_head=True)
    assert type(ours.encoder) is family.encoder_class
    inputs = random_inputs(vocab_size=99)
    with torch.no_grad():
        expected = reference(**torch_inputs(family, inputs))
    assert_like_transformers(outputs_as_transformers(ours, inputs), expected, inputs)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("ours_class,suffix", [(kbz.Encoder, "Model"), *HEADS],
                         ids=["Model", *[suffix for _, suffix in HEADS]])
def test_save_pretrained_loads_in_transformers(tmp_path, name, ours_class, suffix):
    family = FAMILIES[name]
    kwargs = {"num_classes": 3} if ours_class in (kbz.Classifier, kbz.TokenClassifier) else {}
    ours = ours_class(family.config) if ours_class is kbz.Encoder else ours_class(kbz.Encoder(family.config),
                                                                                  **kwargs)
    ours.save_pretrained(str(tmp_path / "saved"))
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert saved["model_type"] == name and saved["architectures"] == [family.hf_prefix + suffix]
    reference = family.hf_class(suffix).from_pretrained(str(tmp_path / "saved")).eval()
    inputs = random_inputs(vocab_size=64)
    with torch.no_grad():
        expected = reference(**torch_inputs(family, inputs))
    got = outputs_as_transformers(ours, inputs)
    assert_like_transformers(got, expected, inputs)
    # And back: our reader takes what we wrote.
    again = outputs_as_transformers(type(ours).from_pretrained(str(tmp_path / "saved")), inputs)
    for key, value in again.items():
        np.testing.assert_array_equal(value, got[key])


# ALBERT's and ModernBERT's classifier cases (training, both exports, the C++ loader and distillation) run by
# default; their NER and SQuAD cases, about five more minutes each on two cores, are slow.
TOOL_CASES = [pytest.param(name, task, quantize, marks=[pytest.mark.slow] if name in ("albert", "modernbert") and
                           task != "classifier" else []) for name in FAMILIES
              for task, quantize in (("ner", ("none", "int8")), ("classifier", ("none", "int8")),
                                     ("squad", ("none", "int8")))]


@pytest.mark.parametrize("name,task,quantize", TOOL_CASES)
def test_tools_train_export_serve_and_distil(tmp_path, minilm_dir, name, task, quantize):
    """run_ner / run_classifier / run_squad as a user runs them on a directory of the family with its kind of
    tokenizer; the exports answer through TF Serving's C++ loader, and distill.py makes a student of the family."""
    family = FAMILIES[name]
    vocab_size = write_tokenizer(family.tokenizer_kind, tmp_path / "tokenizer", minilm_dir, family.tokenizer_layout)
    checkpoint = user_checkpoint(tmp_path / name, seeded(family.hf_class("Model"), family.hf_config(vocab_size)),
                                 tmp_path / "tokenizer")
    fine_tune_export_serve_and_distil(tmp_path, checkpoint, task, quantize, family.hf_prefix, family.encoder_class)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("ours_class", [kbz.Encoder, kbz.Classifier, kbz.TokenClassifier, kbz.QuestionAnswerer,
                                        kbz.MaskedLM, kbz.Pretrainer])
def test_keras_file_round_trip(tmp_path, name, ours_class):
    """model.save("x.keras") and keras.models.load_model give the family's model back, outputs unchanged
    (ELECTRA's pretrainer: its generator and shared embeddings too)."""
    import keras

    family = FAMILIES[name]
    encoder = kbz.Encoder(family.config)
    # A seeded sampler draws the same replacements again after loading.
    kwargs = {"seed": 1} if ours_class is kbz.Pretrainer and name == "electra" else {}
    model = encoder if ours_class is kbz.Encoder else ours_class(encoder, **kwargs)
    inputs = random_inputs(vocab_size=64, with_positions=True)
    inputs["masked_lm_ids"] = np.full_like(inputs["masked_lm_positions"], 7)
    inputs = {key: value for key, value in inputs.items() if key in model.input}
    model.save(str(tmp_path / "model.keras"))
    restored = keras.models.load_model(str(tmp_path / "model.keras"))
    assert type(restored) is type(model) and type(restored.encoder if ours_class is not kbz.Encoder else restored) \
        is family.encoder_class
    expected, got = model(inputs), restored(inputs)
    for key in ("sequence_output", "logits", "start_logits", "mlm_logits", "rtd_logits", "rtd_labels"):
        if key in expected:
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(expected[key]), err_msg=key)
