"""ELECTRA beyond what every family shares (test_family_parity): Google's TF1 names, and replaced-token-detection
pretraining against transformers' generator and discriminator."""

import numpy as np
import torch
import transformers

import keras_bert_zoo as kbz
from conftest import random_inputs
from family_tools import seeded
from test_family_parity import FAMILIES, torch_inputs

ELECTRA = FAMILIES["electra"]


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
    reference = seeded(transformers.ElectraForMaskedLM,
                       ELECTRA.hf_config(99, hidden_size=128, num_attention_heads=2, hidden_act="gelu_new"))
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
        expected = reference.electra(**torch_inputs(ELECTRA, inputs)).last_hidden_state.numpy()
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
        generator_logits = generator(**torch_inputs(ELECTRA, inputs)).logits.numpy()
    np.testing.assert_allclose(outputs["mlm_logits"].numpy(), np.take_along_axis(
        generator_logits, inputs["masked_lm_positions"][:, :, None], 1), atol=1e-5, rtol=0)
    sampled = ours.sampler(outputs["mlm_logits"], inputs["input_word_ids"], inputs["masked_lm_positions"],
                           inputs["masked_lm_ids"])[0].numpy()  # Another draw: any corruption scores alike.
    with torch.no_grad():
        expected = discriminator(**torch_inputs(ELECTRA, dict(inputs, input_word_ids=sampled))).logits.numpy()
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
        tensors = torch_inputs(ELECTRA, inputs)
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
