"""Distillation: layer-copied students, the distillation loss, and tools/distill.py end to end."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, random_inputs, write_vocab
from keras_bert_zoo.distill import (DistillationObjective, build_student, evenly_spaced_layers,
                                    student_from_teacher_layers, teacher_labels)
from keras_bert_zoo.training import ClassificationObjective, FinetuningSettings, finetune, predict

POSITIVE = ["a delightful film", "wonderful acting and a moving story", "great fun from start to end",
            "a charming clever comedy", "beautiful and heartfelt", "brilliant performances all round"]
NEGATIVE = ["a dull mess", "boring and far too long", "terrible acting and a silly plot",
            "a tedious lifeless sequel", "painfully bad", "an awful waste of time"]


def _teacher(config, num_classes=3, **head):
    return kbz.BertClassifier(kbz.BertEncoder(config), num_classes=num_classes, **head)


def test_evenly_spaced_layers_keep_first_and_last():
    assert evenly_spaced_layers(12, 6) == [0, 2, 4, 7, 9, 11]  # DistilBERT's layers
    assert evenly_spaced_layers(12, 3) == [0, 6, 11] and evenly_spaced_layers(12, 2) == [0, 11]
    assert evenly_spaced_layers(4, 4) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"num_layers must be in \[1, 4\]"):
        evenly_spaced_layers(4, 5)


def test_layer_copy_reproduces_the_chosen_teacher_layers(tiny_config):
    teacher = _teacher(dataclasses.replace(tiny_config, num_layers=4))
    student = student_from_teacher_layers(teacher, 2)
    assert isinstance(student, kbz.BertClassifier) and student.encoder.config.num_layers == 2
    pairs = [(student.encoder.embeddings, teacher.encoder.embeddings), (student.encoder.pooler, teacher.encoder.pooler),
             (student.classifier_head, teacher.classifier_head),
             (student.encoder.transformer_layers[0], teacher.encoder.transformer_layers[0]),
             (student.encoder.transformer_layers[1], teacher.encoder.transformer_layers[3])]
    for mine, theirs in pairs:
        assert len(mine.weights) == len(theirs.weights) > 0
        for a, b in zip(mine.weights, theirs.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # With every layer kept the student is the teacher.
    inputs = random_inputs()
    whole = student_from_teacher_layers(teacher, 4)
    np.testing.assert_array_equal(whole(inputs)["logits"].numpy(), teacher(inputs)["logits"].numpy())


def test_build_student_needs_one_source_and_the_teachers_vocab(tmp_path, tiny_config):
    teacher = _teacher(tiny_config)
    with pytest.raises(ValueError, match="exactly one"):
        build_student(teacher, num_layers=1, config_file="x.json")
    path = tmp_path / "config.json"
    dataclasses.replace(tiny_config, vocab_size=65).to_json_file(str(path))
    with pytest.raises(ValueError, match="vocab_size 65 differs from the teacher's 64"):
        build_student(teacher, config_file=str(path))
    tiny_config.to_json_file(str(path))
    student = build_student(teacher, config_file=str(path))
    assert student.num_classes == 3 and student.encoder.config == tiny_config


def test_distillation_objective_terms():
    logits = tf.constant([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = {"labels": tf.constant([0, 1]), **teacher_labels({"logits": logits.numpy()})}
    hard = ClassificationObjective(3)
    same = DistillationObjective(hard, temperature=3.0, alpha=0.0)
    assert float(same({"logits": logits}, labels)[0]) == pytest.approx(0.0, abs=1e-6)
    only_hard = DistillationObjective(hard, temperature=3.0, alpha=1.0)
    assert float(only_hard({"logits": logits}, labels)[0]) == pytest.approx(float(hard({"logits": logits}, labels)[0]))
    # Soft term: T^2 * KL(softmax(teacher / T) || softmax(student / T)).
    student = tf.zeros([2, 3])
    p = tf.nn.softmax(logits / 3.0)
    expected = 9.0 * tf.reduce_mean(tf.reduce_sum(p * (tf.math.log(p) - tf.math.log(1 / 3)), -1))
    assert float(same({"logits": student}, labels)[0]) == pytest.approx(float(expected), rel=1e-5)
    # Teacher-only examples (hard_weight 0) stay out of the hard loss.
    weighted = dict(labels, hard_weight=tf.constant([1.0, 0.0]))
    loss, stats = only_hard({"logits": logits}, weighted)
    first = hard({"logits": logits[:1]}, {"labels": labels["labels"][:1]})[0]
    assert float(loss) == pytest.approx(float(first)) and float(stats["hard_examples"]) == 1.0
    assert float(stats["examples"]) == 2.0


def test_distillation_objective_per_token_counts_only_weighted_positions():
    teacher = tf.constant([[[3.0, 0.0], [0.0, 2.0], [9.0, -9.0]]])  # [B=1, T=3, C=2]
    student = tf.constant([[[0.0, 0.0], [0.0, 0.0], [-9.0, 9.0]]])
    labels = {"labels": tf.constant([[0, 1, 0]]), "label_weights": tf.constant([[1.0, 1.0, 0.0]]),
              **teacher_labels({"logits": teacher.numpy()})}
    objective = DistillationObjective(kbz.training.TokenClassificationObjective(), temperature=1.0, alpha=0.0,
                                      soft_weights_key="label_weights")
    loss, stats = objective({"logits": student}, labels)
    p = tf.nn.softmax(teacher[0, :2])
    expected = tf.reduce_mean(tf.reduce_sum(p * (tf.math.log(p) - tf.math.log(0.5)), -1))
    assert float(loss) == pytest.approx(float(expected), rel=1e-5) and float(stats["soft_weight"]) == 2.0


def test_distillation_lowers_the_students_divergence_from_the_teacher(tmp_path, tiny_config):
    rng = np.random.default_rng(0)
    teacher = _teacher(dataclasses.replace(tiny_config, num_layers=2))
    # A large head gives the teacher confident, input-dependent outputs worth imitating.
    for weight in teacher.classifier_head.weights:
        weight.assign(rng.normal(0.0, 3.0, weight.shape).astype("float32"))
    student = _teacher(dataclasses.replace(tiny_config, num_layers=1))
    inputs = random_inputs(batch_size=16, seq_length=12, seed=1)
    labels = rng.integers(0, 3, 16).astype("int32")
    teacher_outputs = predict(teacher, inputs, 16, 12)
    objective = DistillationObjective(ClassificationObjective(3), temperature=2.0, alpha=0.0)
    all_labels = dict(teacher_labels(teacher_outputs), labels=labels)

    def divergence():
        outputs = {"logits": tf.constant(predict(student, inputs, 16, 12)["logits"])}
        return float(objective(outputs, all_labels)[0])

    before = divergence()
    settings = FinetuningSettings(model_dir=str(tmp_path / "student"), train_batch_size=8, learning_rate=1e-2,
                                  num_train_epochs=30, warmup_proportion=0.0, max_seq_length=12, log_steps=10)
    finetune(student, objective, inputs, all_labels, settings, tf.distribute.get_strategy())
    after = divergence()
    assert after < 0.5 * before, (before, after)


def _run(tool, *args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / tool), *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    """A 2-layer classifier fine-tuned by run_classifier on a tiny sentiment set."""
    root = tmp_path_factory.mktemp("teacher")
    words = sorted({w for text in POSITIVE + NEGATIVE for w in text.split()})
    config = kbz.BertConfig(vocab_size=5 + len(words), hidden_size=32, num_layers=2, num_heads=2,
                            intermediate_size=64, max_position_embeddings=64)
    start = root / "start"
    kbz.BertClassifier(kbz.BertEncoder(config), num_classes=2).save_pretrained(str(start))
    write_vocab(start / "vocab.txt", words)
    train = root / "train.tsv"
    rows = [(t, "pos") for t in POSITIVE] + [(t, "neg") for t in NEGATIVE]
    train.write_text("sentence\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows * 2), encoding="utf-8")
    teacher = root / "model"
    result = _run("run_classifier.py", f"--init_checkpoint={start}", f"--model_dir={teacher}", "--do_train",
                  f"--train_file={train}", "--num_train_epochs=4", "--max_seq_length=16", "--train_batch_size=8",
                  "--learning_rate=1e-3")
    assert result.returncode == 0, result.stderr
    return teacher, train


def test_distill_tool_end_to_end_and_the_student_exports(tmp_path, teacher_dir):
    teacher, train = teacher_dir
    unlabeled = tmp_path / "unlabeled.txt"
    unlabeled.write_text("a moving comedy\n\nan awful sequel\nwonderful fun\n", encoding="utf-8")
    student = tmp_path / "student"
    result = _run("distill.py", "--task=classifier", f"--teacher_model_dir={teacher}", "--student_num_layers=1",
                  "--do_train", "--do_eval", f"--train_file={train}", f"--eval_file={train}",
                  f"--unlabeled_file={unlabeled}", f"--model_dir={student}", "--max_seq_length=16",
                  "--train_batch_size=8", "--num_train_epochs=2", "--temperature=2", "--alpha=0.5",
                  "--learning_rate=1e-3", "--log_steps=1")
    assert result.returncode == 0, result.stderr
    assert "The teacher labels 3 texts" in result.stdout and "soft_loss" in result.stdout
    results = json.loads((student / "eval_results.json").read_text())
    assert {"accuracy", "f1", "mcc", "teacher_accuracy", "teacher_f1", "teacher_mcc"} <= set(results)
    assert results["eval_examples"] == 24
    model = kbz.BertClassifier.from_pretrained(str(student))
    assert model.encoder.config.num_layers == 1 and model.label_names == ["neg", "pos"]
    exported = _run("export_saved_model.py", f"--model_dir={student}", "--task=classifier",
                    f"--export_dir={tmp_path / 'saved_models' / 'student'}", "--max_seq_length=16")
    assert exported.returncode == 0, exported.stderr
    # Evaluation alone reads the student back from its model_dir.
    again = _run("distill.py", f"--teacher_model_dir={teacher}", "--do_eval", f"--eval_file={train}",
                 f"--model_dir={student}", "--max_seq_length=16")
    assert again.returncode == 0, again.stderr
    assert json.loads((student / "eval_results.json").read_text())["accuracy"] == results["accuracy"]


@pytest.mark.parametrize("args, message", [
    ([], "Give exactly one of --student_preset, --student_config_file, --student_num_layers (got none)"),
    (["--student_num_layers=1", "--student_preset=bert_tiny_uncased"],
     "(got --student_preset, --student_num_layers)"),
    (["--student_num_layers=3"], "--student_num_layers=3 must be in [1, 2]"),
    (["--student_num_layers=1", "--alpha=1.5"], "--alpha must be in [0, 1]"),
    (["--student_num_layers=1", "--temperature=0"], "--temperature must be positive"),
])
def test_distill_tool_refuses_bad_flags(tmp_path, teacher_dir, args, message):
    teacher, train = teacher_dir
    result = _run("distill.py", f"--teacher_model_dir={teacher}", "--do_train", f"--train_file={train}",
                  f"--model_dir={tmp_path / 'student'}", "--max_seq_length=16", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
