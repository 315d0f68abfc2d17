"""ALBERT beyond the FAMILIES table (tests/test_family_parity.py): layer sharing by groups and inner groups,
the pretraining heads (MLM + sentence order), Google's TF1 checkpoints, the config files, and students."""

import json

import numpy as np
import pytest
import tensorflow as tf
import torch
import transformers

import keras_bert_zoo as kbz
from conftest import random_inputs
from family_tools import masked_positions, seeded

# google-research/albert's variable of each transformers key (its modeling.py and run_pretraining.py scopes), written
# here from those files so that a checkpoint in Google's names is made without our own name maps.
_GOOGLE_BLOCK = {
    "attention.query": "attention_1/self/query", "attention.key": "attention_1/self/key",
    "attention.value": "attention_1/self/value", "attention.dense": "attention_1/output/dense",
    "attention.LayerNorm": "LayerNorm", "ffn": "ffn_1/intermediate/dense",
    "ffn_output": "ffn_1/intermediate/output/dense", "full_layer_layer_norm": "LayerNorm_1"}
_GOOGLE_OTHER = {
    "albert.embeddings.word_embeddings": "bert/embeddings/word_embeddings",
    "albert.embeddings.position_embeddings": "bert/embeddings/position_embeddings",
    "albert.embeddings.token_type_embeddings": "bert/embeddings/token_type_embeddings",
    "albert.embeddings.LayerNorm": "bert/embeddings/LayerNorm",
    "albert.encoder.embedding_hidden_mapping_in": "bert/encoder/embedding_hidden_mapping_in",
    "albert.pooler": "bert/pooler/dense", "predictions.dense": "cls/predictions/transform/dense",
    "predictions.LayerNorm": "cls/predictions/transform/LayerNorm"}


def _hf_config(**kwargs):
    return transformers.AlbertConfig(**{**dict(
        vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=3, num_hidden_groups=2, inner_group_num=2,
        num_attention_heads=4, intermediate_size=37, max_position_embeddings=64), **kwargs})


def _torch_inputs(inputs):
    return {"input_ids": torch.tensor(inputs["input_word_ids"]).long(),
            "attention_mask": torch.tensor(inputs["input_mask"]).long(),
            "token_type_ids": torch.tensor(inputs["input_type_ids"]).long()}


def _google_name(key):
    """Google's variable of a transformers AlbertForPreTraining key, and whether HF stores it transposed."""
    if key == "predictions.bias":
        return "cls/predictions/output_bias", False
    if key.startswith("sop_classifier.classifier."):
        return "cls/seq_relationship/output_" + ("weights" if key.endswith("weight") else "bias"), False
    stem, leaf = key.rsplit(".", 1)
    prefix = "albert.encoder.albert_layer_groups."
    if stem.startswith(prefix):
        group, _, inner, part = stem.removeprefix(prefix).split(".", 3)
        scope = f"bert/encoder/transformer/group_{group}/inner_group_{inner}/{_GOOGLE_BLOCK[part]}"
    else:
        scope = _GOOGLE_OTHER[stem]
    if scope.endswith("_embeddings"):
        return scope, False
    if scope.endswith(("LayerNorm", "LayerNorm_1")):
        return f"{scope}/{'gamma' if leaf == 'weight' else 'beta'}", False
    return f"{scope}/{'kernel' if leaf == 'weight' else 'bias'}", leaf == "weight"


def _write_google_checkpoint(directory, reference):
    """`reference` (AlbertForPreTraining) as a TF1 checkpoint of tf.compat.v1 variables in Google's names, with
    albert_config.json as google-research/albert writes it, and the optimizer state its training saves."""
    config = reference.config
    directory.mkdir()
    (directory / "albert_config.json").write_text(json.dumps({
        "vocab_size": config.vocab_size, "embedding_size": config.embedding_size, "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_hidden_layers, "num_hidden_groups": config.num_hidden_groups,
        "inner_group_num": config.inner_group_num, "num_attention_heads": config.num_attention_heads,
        "intermediate_size": config.intermediate_size, "hidden_act": "gelu", "hidden_dropout_prob": 0,
        "attention_probs_dropout_prob": 0, "max_position_embeddings": config.max_position_embeddings,
        "type_vocab_size": config.type_vocab_size, "initializer_range": 0.02, "down_scale_factor": 1,
        "net_structure_type": 0, "gap_size": 0, "num_memory_blocks": 0}))
    values = {}
    for key, tensor in reference.state_dict().items():
        if key.startswith("predictions.decoder."):  # Tied to the word embeddings and predictions.bias.
            continue
        name, transpose = _google_name(key)
        values[name] = tensor.numpy().T if transpose else tensor.numpy()
    with tf.Graph().as_default():
        variables = [tf.compat.v1.Variable(value, name=name) for name, value in values.items()]
        variables += [tf.compat.v1.Variable(np.zeros_like(values["bert/pooler/dense/kernel"]),
                                            name="bert/pooler/dense/kernel/adam_m"),
                      tf.compat.v1.Variable(7, dtype=tf.int64, name="global_step")]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(directory / "model.ckpt-best"))
    return values


def _pretraining_outputs(model, inputs):
    outputs = model(dict(inputs, masked_lm_positions=masked_positions(inputs)))
    return outputs["mlm_logits"].numpy(), outputs["sop_logits"].numpy()


def _assert_pretraining_like(got, reference, inputs):
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs))
    mlm = np.take_along_axis(expected.prediction_logits.numpy(), masked_positions(inputs)[:, :, None], axis=1)
    np.testing.assert_allclose(got[0], mlm, atol=1e-5, rtol=0)
    np.testing.assert_allclose(got[1], expected.sop_logits.numpy(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("layers,groups,inner", [(3, 1, 1), (3, 2, 2), (4, 3, 1)])
def test_shared_layers_match_transformers(tmp_path, layers, groups, inner):
    """Every sharing transformers' AlbertModel allows: the outputs of each block run, and no more weights than its."""
    reference = seeded(transformers.AlbertModel, _hf_config(num_hidden_layers=layers, num_hidden_groups=groups,
                                                            inner_group_num=inner))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = kbz.Encoder.from_pretrained(str(tmp_path))
    assert type(ours) is kbz.AlbertEncoder and len(ours.transformer_blocks) == groups * inner
    assert ours.count_params() == sum(p.numel() for p in reference.parameters())
    inputs = random_inputs(vocab_size=99)
    outputs = ours(inputs)
    with torch.no_grad():
        expected = reference(**_torch_inputs(inputs), output_hidden_states=True)
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(outputs["pooled_output"].numpy(), expected.pooler_output.numpy(), atol=1e-5, rtol=0)
    # transformers' first hidden state is the projected embeddings; then one per block run.
    assert len(outputs["encoder_outputs"]) == layers * inner == len(expected.hidden_states) - 1
    for got, want in zip(outputs["encoder_outputs"], expected.hidden_states[1:]):
        np.testing.assert_allclose(got.numpy()[real], want.numpy()[real], atol=1e-5, rtol=0)
    # A classifier's encoder runs its last layer at [CLS] alone: still the shared block's output.
    classifier = kbz.Classifier(ours, num_classes=2)
    cls_only = ours(inputs, output_positions=inputs["input_mask"][:, :0])["pooled_output"]
    np.testing.assert_allclose(cls_only.numpy(), expected.pooler_output.numpy(), atol=1e-5, rtol=0)
    assert classifier(inputs)["logits"].shape == (3, 2)


def test_pretrainer_matches_albert_for_pretraining_and_saves_it(tmp_path):
    reference = seeded(transformers.AlbertForPreTraining, _hf_config())
    reference.save_pretrained(tmp_path / "hf", safe_serialization=True)
    ours = kbz.Pretrainer.from_pretrained(str(tmp_path / "hf"), require_head=True)
    assert type(ours) is kbz.AlbertPretrainer and sorted(ours.output) == ["mlm_logits", "sop_logits"]
    inputs = random_inputs(vocab_size=99)
    got = _pretraining_outputs(ours, inputs)
    _assert_pretraining_like(got, reference, inputs)
    ours.save_pretrained(str(tmp_path / "ours"))
    saved = json.loads((tmp_path / "ours" / "config.json").read_text())
    assert saved["architectures"] == ["AlbertForPreTraining"] and saved["num_hidden_groups"] == 2
    _assert_pretraining_like(got, transformers.AlbertForPreTraining.from_pretrained(str(tmp_path / "ours")).eval(),
                             inputs)


def test_reads_and_writes_google_tf1_checkpoints(tmp_path):
    """A checkpoint in google-research/albert's names, written with tf.compat.v1 from transformers' weights, loads
    to transformers' outputs; ours written back holds the same variables and reads back the same."""
    reference = seeded(transformers.AlbertForPreTraining, _hf_config())
    written = _write_google_checkpoint(tmp_path / "google", reference)
    ours = kbz.Pretrainer.from_pretrained(str(tmp_path / "google"), require_head=True)
    assert type(ours) is kbz.AlbertPretrainer and ours.encoder.config.num_hidden_groups == 2
    assert ours.encoder.config.hidden_act == "gelu_approx"  # Google's "gelu" is the tanh approximation.
    inputs = random_inputs(vocab_size=99)
    got = _pretraining_outputs(ours, inputs)
    _assert_pretraining_like(got, reference, inputs)
    assert type(kbz.Encoder.from_pretrained(str(tmp_path / "google"))) is kbz.AlbertEncoder

    ours.save_google_checkpoint(str(tmp_path / "ours"))
    config = json.loads((tmp_path / "ours" / "albert_config.json").read_text())
    assert (config["embedding_size"], config["num_hidden_groups"], config["inner_group_num"]) == (16, 2, 2)
    reader = tf.train.load_checkpoint(str(tmp_path / "ours" / "model.ckpt"))
    assert sorted(reader.get_variable_to_shape_map()) == sorted(written)
    for name, value in written.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value, err_msg=name)
    again = kbz.Pretrainer.from_pretrained(str(tmp_path / "ours"))
    for want, have in zip(got, _pretraining_outputs(again, inputs)):
        np.testing.assert_array_equal(have, want)
    # A BERT checkpoint, also under bert/, stays BERT's.
    bert = kbz.BertEncoder(kbz.BertConfig(vocab_size=30, hidden_size=8, num_layers=1, num_heads=2,
                                          intermediate_size=8))
    bert.save_google_checkpoint(str(tmp_path / "bert"))
    assert type(kbz.Encoder.from_pretrained(str(tmp_path / "bert"))) is kbz.BertEncoder


def test_config_files_and_checks(tmp_path):
    config = kbz.AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_layers=4, num_heads=2,
                              intermediate_size=32, num_hidden_groups=2, inner_group_num=2)
    assert config.layer_blocks == (0, 1, 0, 1, 2, 3, 2, 3)
    assert config.block_scope(3) == "bert/encoder/transformer/group_1/inner_group_1/"
    config.to_json_file(str(tmp_path / "config.json"))
    hf = transformers.AlbertConfig.from_pretrained(str(tmp_path))
    assert (hf.num_hidden_groups, hf.inner_group_num, hf.embedding_size, hf.hidden_act) == (2, 2, 8, "gelu_new")
    assert kbz.AlbertConfig.from_json_file(str(tmp_path / "config.json")) == config
    # transformers' defaults (ALBERT-xxlarge).
    transformers.AlbertConfig(classifier_dropout_prob=0.2).save_pretrained(tmp_path / "d")
    default = kbz.AlbertConfig.from_json_file(str(tmp_path / "d" / "config.json"))
    assert (default.hidden_size, default.num_heads, default.embedding_size, default.hidden_act, default.dropout,
            default.classifier_dropout) == (4096, 64, 128, "gelu_approx", 0.0, 0.2)
    with pytest.raises(ValueError, match="num_hidden_groups=3 exceeds num_layers=2"):
        kbz.AlbertConfig(num_layers=2, num_hidden_groups=3)
    with pytest.raises(ValueError, match=r"inner_group_num must be an integer, got 1\.5"):
        kbz.AlbertConfig(inner_group_num=1.5)
    (tmp_path / "bad.json").write_text(json.dumps({**json.loads(hf.to_json_string()), "num_hidden_groups": 0}))
    with pytest.raises(ValueError, match=r"bad\.json.*num_hidden_groups=0 is outside"):
        kbz.AlbertConfig.from_json_file(str(tmp_path / "bad.json"))


def test_sentence_order_objective():
    """--objective=mlm_sop: the family's default, trained on next_sentence_labels (google-research/albert's feature
    name for the order label) and reported as sop_loss / sop_accuracy."""
    from keras_bert_zoo.models.pretrainer import pretrainer_class_for
    from keras_bert_zoo.training.pretraining_objective import objective_for_model

    config = kbz.AlbertConfig(vocab_size=64, embedding_size=8, hidden_size=16, num_layers=2, num_heads=2,
                              intermediate_size=32, max_position_embeddings=32)
    assert pretrainer_class_for(config) is kbz.AlbertPretrainer
    objective = objective_for_model(kbz.Pretrainer(kbz.Encoder(config)))
    mlm = np.zeros((2, 1, 5), np.float32)
    sop = np.array([[3.0, 0.0], [3.0, 0.0]], np.float32)
    labels = {"masked_lm_ids": np.zeros((2, 1), np.int32), "masked_lm_weights": np.ones((2, 1), np.float32),
              "next_sentence_labels": np.array([0, 1], np.int32)}
    loss, stats = objective({"mlm_logits": mlm, "sop_logits": sop}, labels)
    metrics = objective.metrics({name: float(value) for name, value in stats.items()})
    sop_ce = np.mean(np.log1p(np.exp(-3.0)) + np.array([0.0, 3.0]))
    assert metrics["sop_accuracy"] == pytest.approx(0.5) and "nsp_loss" not in metrics
    assert float(loss) == pytest.approx(np.log(5) * 2 / (2 + 1e-5) + sop_ce, rel=1e-5)


def test_student_keeps_sharing():
    """distill's students of an ALBERT teacher share blocks as it does; keeping every layer computes the teacher."""
    from keras_bert_zoo.distill.layer_copy import student_from_teacher_layers

    config = kbz.AlbertConfig(vocab_size=64, embedding_size=8, hidden_size=16, num_layers=4, num_heads=2,
                              intermediate_size=32, max_position_embeddings=32, num_hidden_groups=2,
                              inner_group_num=2)
    teacher = kbz.Classifier(kbz.Encoder(config), num_classes=3)
    inputs = random_inputs()
    whole = student_from_teacher_layers(teacher, 4)
    np.testing.assert_array_equal(whole(inputs)["logits"].numpy(), teacher(inputs)["logits"].numpy())
    student = student_from_teacher_layers(teacher, 1)
    assert (student.encoder.config.num_layers, student.encoder.config.num_hidden_groups) == (1, 1)
    # The one kept layer is the teacher's first: group 0's two blocks, in turn.
    for got, want in zip(student.encoder.transformer_blocks, teacher.encoder.transformer_blocks[:2]):
        for a, b in zip(got.get_weights(), want.get_weights()):
            np.testing.assert_array_equal(a, b)
    shared = kbz.Classifier(kbz.Encoder(kbz.AlbertConfig(
        vocab_size=64, embedding_size=8, hidden_size=16, num_layers=6, num_heads=2, intermediate_size=32)))
    small = student_from_teacher_layers(shared, 3)
    assert len(small.encoder.transformer_layers) == 3 and len(small.encoder.transformer_blocks) == 1
    for a, b in zip(small.encoder.transformer_blocks[0].get_weights(),
                    shared.encoder.transformer_blocks[0].get_weights()):
        np.testing.assert_array_equal(a, b)
