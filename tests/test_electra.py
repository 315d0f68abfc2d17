"""ELECTRA on the family core: transformers' own ELECTRA models, seeded and saved, and Google's TF1 names."""

import json

import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from conftest import random_inputs
from family_tools import (assert_like_transformers, fine_tune_export_serve_and_distil, outputs_as_transformers,
                          seeded, user_checkpoint)

SENTENCES = ["ELECTRA trains a discriminator to spot replaced tokens.", "Short one.",
             "Its generator is a small masked language model, and only the discriminator is kept for fine-tuning."]


def _hf_config(vocab_size=99, **kwargs):
    # embedding_size below hidden_size: the embeddings are projected, as in ELECTRA-small.
    values = dict(vocab_size=vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                  num_attention_heads=4, intermediate_size=37, max_position_embeddings=64)
    return transformers.ElectraConfig(**{**values, **kwargs})


def _torch_inputs(inputs):
    return {"input_ids": torch.tensor(inputs["input_word_ids"]).long(),
            "attention_mask": torch.tensor(inputs["input_mask"]).long(),
            "token_type_ids": torch.tensor(inputs["input_type_ids"]).long()}


def test_encoder_matches_electra_model_on_real_sentences(tmp_path, minilm_dir):
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    inputs = {name: value.numpy() for name, value in tokenizer(SENTENCES, SENTENCES[::-1], max_length=48).items()}
    reference = seeded(transformers.ElectraModel, _hf_config(vocab_size=tokenizer.vocab_size))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = kbz.Encoder.from_pretrained(str(tmp_path))
    assert type(ours) is kbz.ElectraEncoder and isinstance(ours.config, kbz.ElectraConfig)
    assert ours.config.embedding_size == 16 and ours.embedding_projection is not None
    outputs = ours(inputs)
    assert "pooled_output" not in outputs  # ELECTRA has no pooler.
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs), output_hidden_states=True)
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(outputs["sequence_output"].numpy()[real], expected.last_hidden_state.numpy()[real],
                               atol=1e-5, rtol=0)
    for ours_layer, hf_layer in zip(outputs["encoder_outputs"], expected.hidden_states[1:], strict=True):
        np.testing.assert_allclose(ours_layer.numpy()[real], hf_layer.numpy()[real], atol=1e-5, rtol=0)


@pytest.mark.parametrize("ours_class,hf_class", [
    (kbz.Classifier, transformers.ElectraForSequenceClassification),
    (kbz.TokenClassifier, transformers.ElectraForTokenClassification),
    (kbz.QuestionAnswerer, transformers.ElectraForQuestionAnswering),
    (kbz.MaskedLM, transformers.ElectraForMaskedLM),
])
def test_task_heads_match_electra_heads(tmp_path, ours_class, hf_class):
    # tanh GELU in the layers: ELECTRA's generator head keeps exact GELU whatever hidden_act says.
    reference = seeded(hf_class, _hf_config(num_labels=2 if ours_class is kbz.QuestionAnswerer else 5,
                                             hidden_act="gelu_new"))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = ours_class.from_pretrained(str(tmp_path), require_head=True)
    assert type(ours.encoder) is kbz.ElectraEncoder
    inputs = random_inputs(vocab_size=99)
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs))
    assert_like_transformers(outputs_as_transformers(ours, inputs), expected, inputs)


@pytest.mark.parametrize("ours_class,hf_class,kwargs", [
    (kbz.Encoder, transformers.ElectraModel, {}),
    (kbz.Classifier, transformers.ElectraForSequenceClassification, {"num_classes": 3}),
    (kbz.TokenClassifier, transformers.ElectraForTokenClassification, {"num_classes": 3}),
    (kbz.QuestionAnswerer, transformers.ElectraForQuestionAnswering, {}),
    (kbz.MaskedLM, transformers.ElectraForMaskedLM, {}),
])
def test_save_pretrained_loads_in_transformers(tmp_path, ours_class, hf_class, kwargs):
    config = kbz.ElectraConfig(vocab_size=64, embedding_size=8, hidden_size=16, num_layers=2, num_heads=2,
                               intermediate_size=32, max_position_embeddings=32, dropout=0.0)
    ours = ours_class(config) if ours_class is kbz.Encoder else ours_class(kbz.Encoder(config), **kwargs)
    ours.save_pretrained(str(tmp_path / "saved"))
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert saved["model_type"] == "electra" and saved["architectures"] == [hf_class.__name__]
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


def _google_name(hf_key):
    """Google's TF1 name of an ElectraForMaskedLM key, written out from the rules of transformers'
    ELECTRA converter (electra/ for the encoder, generator_predictions/ for the head), independent of ours."""
    name = hf_key.replace("generator_lm_head.bias", "generator_predictions.output_bias")
    name = name.replace("layer.", "layer_").replace(".", "/")
    for hf, google in (("LayerNorm/weight", "LayerNorm/gamma"), ("LayerNorm/bias", "LayerNorm/beta"),
                       ("_embeddings/weight", "_embeddings"), ("/weight", "/kernel")):
        if name.endswith(hf):
            return name[: -len(hf)] + google
    return name


def test_reads_and_writes_google_tf1_electra_checkpoints(tmp_path):
    """A checkpoint in Google's ELECTRA layout, as its releases come (no config file: the sizes follow from
    the shapes, one head per 64 units), loads into our encoder and masked LM with transformers' outputs."""
    import tensorflow as tf

    from keras_bert_zoo.convert import write_google_checkpoint

    # Google's modeling.py "gelu" is the tanh approximation: transformers' "gelu_new".
    reference = seeded(transformers.ElectraForMaskedLM, _hf_config(hidden_size=128, num_attention_heads=2,
                                                                     hidden_act="gelu_new"))
    weights = {}
    for key, value in reference.state_dict().items():
        if key.endswith("position_ids") or key == "generator_lm_head.weight":
            continue
        name = _google_name(key)
        weights[name] = value.numpy().T if name.endswith("/kernel") else value.numpy()
    weights["generator/encoder/layer_0/output/dense/kernel"] = np.zeros((3, 3), np.float32)  # Not the discriminator.
    directory = tmp_path / "electra_small"
    directory.mkdir()
    write_google_checkpoint(str(directory / "electra_small"), weights)
    encoder = kbz.Encoder.from_pretrained(str(directory))
    assert type(encoder) is kbz.ElectraEncoder
    assert (encoder.config.hidden_size, encoder.config.num_heads, encoder.config.embedding_size,
            encoder.config.hidden_act) == (128, 2, 16, "gelu_approx")
    inputs = random_inputs(vocab_size=99)
    with torch.no_grad():
        expected = reference.electra(**_torch_inputs(inputs)).last_hidden_state.numpy()
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(encoder(inputs)["sequence_output"].numpy()[real], expected[real], atol=1e-5, rtol=0)
    masked_lm = kbz.MaskedLM.from_pretrained(str(directory), require_head=True)
    np.testing.assert_array_equal(masked_lm.masked_lm_head.output_bias.numpy(),
                                  weights["generator_predictions/output_bias"])
    # save_google_checkpoint writes Google's names back, and they read as they were written.
    masked_lm.save_google_checkpoint(str(tmp_path / "again"))
    names = {name for name, _ in tf.train.list_variables(str(tmp_path / "again" / "bert_model.ckpt"))}
    assert names == set(weights) - {"generator/encoder/layer_0/output/dense/kernel"}
    again = kbz.Encoder.from_pretrained(str(tmp_path / "again"))
    np.testing.assert_array_equal(again(inputs)["sequence_output"].numpy(), encoder(inputs)["sequence_output"].numpy())


@pytest.mark.parametrize("task,quantize", [("ner", ("none", "int8")), ("classifier", ("none",)),
                                           ("squad", ("none",))])
def test_tools_train_export_and_serve_an_electra_checkpoint(tmp_path, minilm_dir, task, quantize):
    """run_ner / run_classifier / run_squad as a user runs them on an ELECTRA directory; exports answer through TF
    Serving's C++ loader."""
    vocab_size = kbz.BertTokenizer.from_pretrained(minilm_dir).vocab_size
    reference = seeded(transformers.ElectraModel, _hf_config(vocab_size=vocab_size))
    checkpoint = user_checkpoint(tmp_path / "electra", reference, minilm_dir)
    fine_tune_export_serve_and_distil(tmp_path, checkpoint, task, quantize, "Electra", kbz.ElectraEncoder)


def test_pretrainer_discriminator_matches_electra_for_pretraining(tmp_path):
    """save_pretrained writes the discriminator as ElectraForPreTraining and the generator as its own
    ElectraForMaskedLM; transformers' two score the same corrupted text as ours."""
    config = kbz.ElectraConfig(vocab_size=99, embedding_size=16, hidden_size=32, num_layers=2, num_heads=4,
                               intermediate_size=37, max_position_embeddings=64, dropout=0.0, attention_dropout=0.0)
    ours = kbz.Pretrainer(kbz.Encoder(config), seed=1)
    assert type(ours) is kbz.ElectraPretrainer and ours.generator.encoder.config.hidden_size == 8
    assert ours.generator.encoder.embeddings is ours.encoder.embeddings  # One embedding table for both.
    inputs = random_inputs(vocab_size=99, with_positions=True)
    inputs["masked_lm_ids"] = np.take_along_axis(inputs["input_word_ids"], inputs["masked_lm_positions"], 1)
    inputs["input_word_ids"][:, [1, 2, 4]] = 3  # What the masker put there.
    outputs = ours(inputs)
    ours.save_pretrained(str(tmp_path / "saved"))
    discriminator = transformers.ElectraForPreTraining.from_pretrained(str(tmp_path / "saved")).eval()
    generator = transformers.ElectraForMaskedLM.from_pretrained(str(tmp_path / "saved" / "generator")).eval()
    # Only masked positions can be replaced.
    unmasked = np.ones_like(inputs["input_mask"], bool)
    np.put_along_axis(unmasked, inputs["masked_lm_positions"], False, 1)
    assert not outputs["rtd_labels"].numpy()[unmasked].any()
    with torch.no_grad():
        generator_logits = generator(**_torch_inputs(inputs)).logits.numpy()
    np.testing.assert_allclose(outputs["mlm_logits"].numpy(), np.take_along_axis(
        generator_logits, inputs["masked_lm_positions"][:, :, None], 1), atol=1e-5, rtol=0)
    sampled = ours.sampler(outputs["mlm_logits"], inputs["input_word_ids"], inputs["masked_lm_positions"],
                           inputs["masked_lm_ids"])[0].numpy()  # Another draw: any corruption scores alike.
    with torch.no_grad():
        expected = discriminator(**_torch_inputs(dict(inputs, input_word_ids=sampled))).logits.numpy()
    encoder_inputs = {name: inputs[name] for name in ("input_mask", "input_type_ids")}
    got = ours.discriminator_head(ours.encoder(dict(encoder_inputs, input_word_ids=sampled))["sequence_output"])
    got = got.numpy()
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(got[real], expected[real], atol=1e-5, rtol=0)
    again = kbz.Pretrainer.from_pretrained(str(tmp_path / "saved"))
    assert type(again) is kbz.ElectraPretrainer and again.seed == 1
    for mine, loaded in zip(ours.weights, again.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), loaded.numpy(), err_msg=mine.path)


def test_replaced_token_detection_loss_curve_matches_a_torch_transcription(tmp_path):
    """30 updates of ELECTRA's objective, ours against transformers' generator and discriminator driven by a
    transcription of google-research/electra's loss (generator MLM + 50 x discriminator BCE), dropout 0, the
    same Gumbel noise on both sides."""
    import keras
    import tensorflow as tf

    from keras_bert_zoo.training import ReplacedTokenObjective, create_optimizer
    from test_optimizer_parity import EPSILON, PEAK_LR, STEPS, WARMUP, _batches, _our_losses, _torch_adamw_step

    tf.keras.utils.set_random_seed(5)
    config = kbz.ElectraConfig(vocab_size=30522, embedding_size=16, hidden_size=32, num_layers=2, num_heads=2,
                               intermediate_size=64, max_position_embeddings=64, dropout=0.0, attention_dropout=0.0)
    ours = kbz.Pretrainer(kbz.Encoder(config), seed=11)
    ours.save_pretrained(str(tmp_path / "start"))
    discriminator = transformers.ElectraForPreTraining.from_pretrained(str(tmp_path / "start"),
                                                                       attn_implementation="eager")
    generator = transformers.ElectraForMaskedLM.from_pretrained(str(tmp_path / "start" / "generator"),
                                                                attn_implementation="eager")
    generator.electra.embeddings = discriminator.electra.embeddings  # ELECTRA shares them.
    generator.generator_lm_head.weight = discriminator.electra.embeddings.word_embeddings.weight
    discriminator.electra.embeddings.word_embeddings.padding_idx = None  # BERT's (and ours) update [PAD] too.
    reference = torch.nn.ModuleDict({"discriminator": discriminator, "generator": generator}).train()
    torch_step = _torch_adamw_step(reference)

    def torch_loss(inputs, labels, uniform):
        tensors = _torch_inputs(inputs)
        positions = torch.tensor(inputs["masked_lm_positions"]).long()
        weights = torch.tensor(labels["masked_lm_weights"])
        logits = generator(**tensors).logits.gather(1, positions[:, :, None].expand(-1, -1, config.vocab_size))
        targets = torch.tensor(labels["masked_lm_ids"]).long()
        ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        generator_loss = (ce * weights).sum() / (weights.sum() + 1e-6)
        gumbel = -torch.log(-torch.log(torch.tensor(uniform) + 1e-9) + 1e-9)
        sampled = (logits.detach() + gumbel).argmax(-1)
        rows, slots = (positions > 0).nonzero(as_tuple=True)  # Position 0: an unused prediction slot.
        original, corrupted = tensors["input_ids"].clone(), tensors["input_ids"].clone()
        original[rows, positions[rows, slots]] = targets[rows, slots]
        corrupted[rows, positions[rows, slots]] = sampled[rows, slots]
        replaced = (corrupted != original).float()
        scores = discriminator(**dict(tensors, input_ids=corrupted)).logits
        tokens = tensors["attention_mask"].float()
        bce = torch.nn.functional.binary_cross_entropy_with_logits(scores, replaced, reduction="none") * tokens
        return generator_loss + 50.0 * bce.sum() / (tokens.sum() + 1e-6)

    batches = [(dict(inputs, masked_lm_ids=labels["masked_lm_ids"]), dict(labels, input_mask=inputs["input_mask"]))
               for inputs, labels in _batches(config.vocab_size, "pretrainer")]
    # The sampler's draws, one per step: the same stateless draws from a copy of its seed state.
    probe = keras.random.SeedGenerator(0)
    probe.state.assign(ours.sampler.seed_generator.state.value)
    noise = [keras.random.uniform((*inputs["masked_lm_positions"].shape, config.vocab_size), seed=probe).numpy()
             for inputs, _ in batches]
    optimizer = create_optimizer("adamw", PEAK_LR, STEPS, WARMUP, semantics="torch", epsilon=EPSILON)
    our_losses = _our_losses(ours, ReplacedTokenObjective(), optimizer, batches)
    their_losses = []
    for (inputs, labels), uniform in zip(batches, noise, strict=True):
        loss = torch_loss(inputs, labels, uniform)
        reference.zero_grad()
        loss.backward()
        torch_step()
        their_losses.append(float(loss.detach()))
    np.testing.assert_allclose(our_losses, their_losses, atol=1e-5, rtol=0)
    # It learns, slowly at this rate from a random start: parity is not of a flat curve.
    assert np.mean(their_losses[-5:]) < np.mean(their_losses[:5]) - 0.03, their_losses
