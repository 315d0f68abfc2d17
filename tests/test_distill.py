"""Distillation: layer-copied students, the distillation loss, and tools/distill.py end to end."""

import dataclasses
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, random_inputs, write_vocab
from keras_bert_zoo.data import (ner_features, ner_label_names, read_classification_file, read_conll_file,
                                 read_squad_file, squad_features)
from keras_bert_zoo.distill import (DistillationObjective, build_student, evenly_spaced_layers,
                                    student_from_teacher_layers, teacher_labels, with_teacher_only_examples)
from keras_bert_zoo.training import ClassificationObjective, FinetuningSettings, SpanObjective, finetune

POSITIVE = ["a delightful film", "wonderful acting and a moving story", "great fun from start to end",
            "a charming clever comedy", "beautiful and heartfelt", "brilliant performances all round"]
NEGATIVE = ["a dull mess", "boring and far too long", "terrible acting and a silly plot",
            "a tedious lifeless sequel", "painfully bad", "an awful waste of time"]
NER_SENTENCES = [
    [("Alice", "B-PER"), ("visited", "O"), ("Paris", "B-LOC"), ("in", "O"), ("May", "O"), (".", "O")],
    [("Bob", "B-PER"), ("Smith", "I-PER"), ("works", "O"), ("for", "O"), ("Acme", "B-ORG"), ("Corp", "I-ORG")],
    [("Carol", "B-PER"), ("flew", "O"), ("to", "O"), ("Berlin", "B-LOC"), ("!", "O")],
]
CONTEXT = ("The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It was designed by "
           "Gustave Eiffel's company and is about 330 metres tall.")
QUESTIONS = [("When was the Eiffel Tower completed?", "1889"), ("Where is the tower?", "Paris"),
             ("How tall is it?", "about 330 metres")]


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


@pytest.mark.parametrize("family_config", [
    kbz.DistilBertConfig(vocab_size=64, hidden_size=16, num_layers=3, num_heads=2, intermediate_size=32,
                         max_position_embeddings=32),
    kbz.ElectraConfig(vocab_size=64, embedding_size=8, hidden_size=16, num_layers=3, num_heads=2,
                      intermediate_size=32, max_position_embeddings=32),
    kbz.RobertaConfig(vocab_size=64, hidden_size=16, num_layers=3, num_heads=2, intermediate_size=32,
                      max_position_embeddings=32),
    kbz.XlmRobertaConfig(vocab_size=64, hidden_size=16, num_layers=3, num_heads=2, intermediate_size=32,
                         max_position_embeddings=32),
], ids=["distilbert", "electra", "roberta", "xlm-roberta"])
def test_layer_copy_keeps_the_family(family_config):
    """A student of another family's teacher is that family's, with its own parts (ELECTRA's embedding
    projection, RoBERTa's position rows past the pad id, the pre-classifier) copied: with every layer kept it
    is the teacher."""
    teacher = kbz.Classifier(kbz.Encoder(family_config), num_classes=3)
    student = student_from_teacher_layers(teacher, 2)
    assert type(student.encoder) is type(teacher.encoder) and student.encoder.config.num_layers == 2
    inputs = random_inputs()
    whole = student_from_teacher_layers(teacher, 3)
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


def test_distillation_objective_spans_count_only_masked_in_positions():
    teacher = {"start_logits": np.array([[2.0, 0.0, 5.0, -3.0]], np.float32),
               "end_logits": np.array([[0.0, 1.0, 4.0, 9.0]], np.float32)}
    labels = {"start_positions": tf.constant([1]), "end_positions": tf.constant([2]),
              "answer_mask": tf.constant([[1, 1, 1, 0]])}
    objective = DistillationObjective(SpanObjective(), temperature=1.0, alpha=0.0,
                                      output_names=("start_logits", "end_logits"), span_mask_key="answer_mask")
    labels.update(objective.teacher_labels(teacher))
    assert labels["teacher_start_logits"].shape == (1, 4)  # whole: positions are cut and padded like inputs
    # Only the masked-out position differs: nothing to learn.
    student = {k: tf.constant(np.where([[1, 1, 1, 0]], v, -50.0)) for k, v in teacher.items()}
    assert float(objective(student, labels)[0]) == pytest.approx(0.0, abs=1e-6)
    # Uniform student: the mean of the start and end KLs over the three positions.
    uniform = {k: tf.zeros([1, 4]) for k in teacher}
    expected = np.mean([float(tf.reduce_sum(p * (tf.math.log(p) - tf.math.log(1 / 3))))
                        for p in (tf.nn.softmax(v[0, :3]) for v in teacher.values())])
    assert float(objective(uniform, labels)[0]) == pytest.approx(expected, rel=1e-5)


def test_teacher_only_examples_stay_out_of_the_hard_loss():
    inputs = {"input_word_ids": np.ones([2, 4], np.int32)}
    labels = {"labels": np.array([[1, 0, 2, 0], [0, 1, 1, 0]], np.int32)}
    merged_inputs, merged_labels = with_teacher_only_examples(
        inputs, labels, {"input_word_ids": np.zeros([1, 4], np.int32)}, {"labels": np.full([1, 4], -100, np.int32)})
    assert merged_inputs["input_word_ids"].shape == (3, 4) and merged_labels["labels"].shape == (3, 4)
    np.testing.assert_array_equal(merged_labels["hard_weight"], [1, 1, 0])


def _task_model(task, config):
    return kbz.tasks.get(task).model_class(kbz.BertEncoder(config), **({} if task == "squad" else {"num_classes": 3}))


def _confident_teacher(task, config):
    """A teacher of `task` whose large random head gives confident, input-dependent outputs worth imitating."""
    rng = np.random.default_rng(0)
    teacher = _task_model(task, config)
    encoder_weights = {id(w) for w in teacher.encoder.weights}
    for weight in teacher.weights:
        if id(weight) not in encoder_weights:
            weight.assign(rng.normal(0.0, 3.0, weight.shape).astype("float32"))
    return teacher


def _distillation_labels(task, rng, inputs):
    """Hard labels of `task` for random inputs [16, 12], and the DistillationObjective keys they need."""
    if task == "classifier":
        return {"labels": rng.integers(0, 3, 16).astype("int32")}, {}
    if task == "ner":
        labels = {"labels": rng.integers(0, 3, (16, 12)).astype("int32"),
                  "label_weights": inputs["input_mask"].astype("float32")}
        return labels, {"soft_weights_key": "label_weights"}
    labels = {"start_positions": np.ones(16, "int32"), "end_positions": np.full(16, 2, "int32"),
              "answer_mask": inputs["input_mask"]}
    return labels, {"output_names": ("start_logits", "end_logits"), "span_mask_key": "answer_mask"}


@pytest.mark.parametrize("task", ["classifier", "ner", "squad"])
def test_distillation_lowers_the_students_divergence_from_the_teacher(tmp_path, tiny_config, task):
    rng = np.random.default_rng(0)
    teacher = _confident_teacher(task, dataclasses.replace(tiny_config, num_layers=2))
    student = _task_model(task, dataclasses.replace(tiny_config, num_layers=1))
    inputs = random_inputs(batch_size=16, seq_length=12, seed=1)
    hard_labels, options = _distillation_labels(task, rng, inputs)
    objective = DistillationObjective(kbz.tasks.get(task).objective(student), temperature=2.0, alpha=0.0,
                                      **options)
    all_labels = dict(objective.teacher_labels(teacher(inputs, training=False)), **hard_labels)

    def divergence():
        return float(objective(student(inputs, training=False), all_labels)[0])

    before = divergence()
    settings = FinetuningSettings(model_dir=str(tmp_path / "student"), train_batch_size=8, learning_rate=1e-2,
                                  num_train_epochs=15, warmup_proportion=0.0, max_seq_length=12, log_steps=10)
    finetune(student, objective, inputs, all_labels, settings, tf.distribute.get_strategy())
    after = divergence()
    assert after < 0.5 * before, (before, after)


def _run(tool, *args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / tool), *args], capture_output=True, text=True,
                          timeout=600)


def _export_and_load(tmp_path, model_dir, task, *flags):
    exported = _run("export_saved_model.py", f"--model_dir={model_dir}", f"--task={task}",
                    f"--export_dir={tmp_path / 'saved_models' / task}", *flags)
    assert exported.returncode == 0, exported.stderr
    return tf.saved_model.load(str(tmp_path / "saved_models" / task / "1")).signatures["serving_default"]


def _tokenizer(root, texts):
    words = sorted({w for text in texts for w in re.findall(r"\w+|[^\w\s]", text.lower())})
    return kbz.BertTokenizer(write_vocab(root / "vocab.txt", words), lower_case=True)


def _fine_tuned(model, inputs, labels, model_dir, tokenizer, num_train_epochs):
    """`model` fine-tuned as the task tools do (their library calls), its --model_dir written to `model_dir`."""
    settings = FinetuningSettings(model_dir=str(model_dir), train_batch_size=4, learning_rate=5e-3,
                                  num_train_epochs=num_train_epochs, warmup_proportion=0.0, max_seq_length=32,
                                  log_steps=1000)
    finetune(model, kbz.tasks.spec_of_model(model).objective(model), inputs, labels, settings,
             tf.distribute.get_strategy(), tokenizer)
    return model_dir


def _tiny_config(tokenizer):
    return kbz.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_layers=2, num_heads=2,
                          intermediate_size=64, max_position_embeddings=64)


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    """A 2-layer classifier fine-tuned on a tiny sentiment set: (its model_dir, the TSV file)."""
    root = tmp_path_factory.mktemp("teacher")
    train = root / "train.tsv"
    rows = [(t, "pos") for t in POSITIVE] + [(t, "neg") for t in NEGATIVE]
    train.write_text("sentence\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows * 2), encoding="utf-8")
    data = read_classification_file(str(train))
    tokenizer = _tokenizer(root, POSITIVE + NEGATIVE)
    model = kbz.BertClassifier(kbz.BertEncoder(_tiny_config(tokenizer)), num_classes=2, label_names=data.label_names)
    return _fine_tuned(model, data.model_inputs(tokenizer, 16), {"labels": data.labels}, root / "model", tokenizer,
                       num_train_epochs=4), train


BAD_FLAGS = [
    ([], "Give exactly one of --student_preset, --student_config_file, --student_num_layers (got none)"),
    (["--student_num_layers=1", "--student_preset=bert_tiny_uncased"],
     "(got --student_preset, --student_num_layers)"),
    (["--student_num_layers=3"], "--student_num_layers=3 must be in [1, 2]"),
    (["--student_num_layers=1", "--alpha=1.5"], "--alpha must be in [0, 1]"),
    (["--student_num_layers=1", "--temperature=0"], "--temperature must be positive"),
    (["--student_num_layers=1", "--task=ner", "--doc_stride=8"], "--doc_stride is a --task=squad flag"),
    (["--student_num_layers=1", "--task=squad", "--max_query_length=8", "--unlabeled_file=more.txt"],
     "--unlabeled_file: --task=squad distils on --train_file alone"),
    (["--student_num_layers=1", "--task=ner"],
     "holds a classifier model, with no BertTokenClassifier head weights; its head would be freshly initialized. "
     "Distil it with --task=classifier."),
]
# distill.py's main for each argv, in one process: a process per run would start TensorFlow each time. (The
# ner and squad runs below go through the command line and tool_runner's exit codes.)
_MAIN_PER_ARGV = textwrap.dedent("""
    import contextlib, io, json, sys
    from absl import app, flags
    sys.path.insert(0, sys.argv[1])
    import distill
    answers = []
    for argv in json.loads(sys.argv[2]):
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["distill.py", *argv])
        stdout, error = io.StringIO(), None
        try:
            with contextlib.redirect_stdout(stdout):
                distill.main(["distill.py"])
        except app.UsageError as e:
            error = [e.exitcode, str(e)]
        answers.append({"stdout": stdout.getvalue(), "error": error})
    print(json.dumps(answers))
""")


def _common_flags(teacher_dir, model_dir):
    teacher, train = teacher_dir
    return [f"--teacher_model_dir={teacher}", "--do_train", f"--train_file={train}", f"--model_dir={model_dir}",
            "--max_seq_length=16"]


@pytest.fixture(scope="module")
def classifier_runs(tmp_path_factory, teacher_dir):
    """distill.py --task=classifier: training with unlabeled texts, each BAD_FLAGS case, then evaluation alone.

    Returns:
        (answers, the student's model_dir): one answer per run, {"stdout", "error": [exit code, message] of
        its usage error, or None}.
    """
    teacher, train = teacher_dir
    root = tmp_path_factory.mktemp("classifier_student")
    unlabeled = root / "unlabeled.txt"
    unlabeled.write_text("a moving comedy\n\nan awful sequel\nwonderful fun\n", encoding="utf-8")
    student = root / "student"
    training = _common_flags(teacher_dir, student) + [
        "--task=classifier", "--student_num_layers=1", "--do_eval", f"--eval_file={train}",
        f"--unlabeled_file={unlabeled}", "--train_batch_size=8", "--num_train_epochs=2", "--temperature=2",
        "--alpha=0.5", "--learning_rate=1e-3", "--log_steps=1"]
    refused = [_common_flags(teacher_dir, root / "refused") + args for args, _ in BAD_FLAGS]
    evaluation_alone = [f"--teacher_model_dir={teacher}", "--do_eval", f"--eval_file={train}",
                        f"--model_dir={student}", "--max_seq_length=16"]
    other_unlabeled = root / "other_unlabeled.txt"
    other_unlabeled.write_text("a moving comedy\n", encoding="utf-8")
    rerun_on_other_data = [a if not a.startswith("--unlabeled_file") else f"--unlabeled_file={other_unlabeled}"
                           for a in training]
    result = subprocess.run([sys.executable, "-c", _MAIN_PER_ARGV, str(REPO_ROOT / "tools"),
                             json.dumps([training, *refused, evaluation_alone, rerun_on_other_data])],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), student


def _eval_results_line(stdout):
    return next(line for line in stdout.splitlines() if line.startswith("Eval results:"))


def test_distill_tool_classifier_end_to_end_and_evaluation_alone(classifier_runs):
    answers, student = classifier_runs
    training, evaluation_alone = answers[0], answers[-2]
    assert training["error"] is None and evaluation_alone["error"] is None
    assert "The teacher labels 3 texts" in training["stdout"] and "soft_loss" in training["stdout"]
    results = json.loads((student / "eval_results.json").read_text())
    assert {"accuracy", "f1", "mcc", "teacher_accuracy", "teacher_f1", "teacher_mcc"} <= set(results)
    assert results["eval_examples"] == 24
    # What export_saved_model.py --task=classifier loads: the classifier with its head and the teacher's labels.
    model = kbz.BertClassifier.from_pretrained(str(student), require_head=True)
    assert model.encoder.config.num_layers == 1 and model.label_names == ["neg", "pos"]
    # Evaluation alone reads the student back from its model_dir.
    assert _eval_results_line(evaluation_alone["stdout"]) == _eval_results_line(training["stdout"])


def test_distill_tool_refuses_a_rerun_on_other_data(classifier_runs):
    answers, student = classifier_runs
    error = answers[-1]["error"]
    assert error is not None and error[0] == 2 and "--unlabeled_file: was" in error[1], error
    assert "--overwrite_model_dir" in error[1] and "Evaluating" not in answers[-1]["stdout"]


@pytest.mark.parametrize("case", range(len(BAD_FLAGS)), ids=[message for _, message in BAD_FLAGS])
def test_distill_tool_refuses_bad_flags(classifier_runs, case):
    error = classifier_runs[0][1 + case]["error"]
    assert error is not None and error[0] == 2 and BAD_FLAGS[case][1] in error[1], error


@pytest.mark.slow  # An export tool run; the default run checks the model_dir loads as the export does.
def test_the_classifier_student_exports(tmp_path, classifier_runs):
    serve = _export_and_load(tmp_path, classifier_runs[1], "classifier", "--max_seq_length=16")
    assert serve(text=tf.constant(["a delightful film"]))["label"].numpy()[0] in (b"neg", b"pos")


@pytest.mark.slow  # One of the usage errors above, through the command line and tool_runner's exit.
def test_a_refusal_exits_2_with_its_message_alone(tmp_path, teacher_dir):
    args, message = BAD_FLAGS[-2]
    result = _run("distill.py", *_common_flags(teacher_dir, tmp_path / "student"), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def ner_teacher(tmp_path_factory):
    """A 2-layer tagger fine-tuned on a tiny CoNLL file: (its model_dir, the file)."""
    root = tmp_path_factory.mktemp("ner_teacher")
    conll = root / "train.txt"
    conll.write_text("-DOCSTART- -X- -X- O\n\n" + "".join(
        "".join(f"{w} NN O {t}\n" for w, t in sentence) + "\n" for sentence in NER_SENTENCES * 2), encoding="utf-8")
    sentences, tags = read_conll_file(str(conll))
    label_names = ner_label_names(tags)
    tokenizer = _tokenizer(root, [w for words in sentences for w in words] + ["Dave Rome Initech"])
    model = kbz.BertTokenClassifier(kbz.BertEncoder(_tiny_config(tokenizer)), num_classes=len(label_names),
                                    label_names=label_names)
    features = ner_features(tokenizer, sentences, tags, label_names, 32)
    return _fine_tuned(model, features.model_inputs(), features.training_labels(), root / "model", tokenizer,
                       num_train_epochs=30), conll


@pytest.fixture(scope="module")
def squad_teacher(tmp_path_factory):
    """A 2-layer question answerer fine-tuned on a tiny SQuAD v1.1 file: (its model_dir, the file)."""
    root = tmp_path_factory.mktemp("squad_teacher")
    squad = {"version": "1.1", "data": [{"title": "Eiffel", "paragraphs": [{"context": CONTEXT, "qas": [
        {"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": CONTEXT.index(a)}]}
        for i, (q, a) in enumerate(QUESTIONS)]}]}]}
    data = root / "squad.json"
    data.write_text(json.dumps(squad), encoding="utf-8")
    tokenizer = _tokenizer(root, [CONTEXT] + [q for q, _ in QUESTIONS])
    model = kbz.BertQuestionAnswerer(kbz.BertEncoder(_tiny_config(tokenizer)))
    windows = squad_features(tokenizer, read_squad_file(str(data)), 32, doc_stride=8, max_query_length=8,
                             is_training=True)
    return _fine_tuned(model, windows.model_inputs(), windows.training_labels(), root / "model", tokenizer,
                       num_train_epochs=6), data


@pytest.fixture(scope="module")
def ner_student(tmp_path_factory, ner_teacher):
    """distill.py --task=ner with unlabeled sentences: (the finished process, the student's model_dir)."""
    teacher, conll = ner_teacher
    root = tmp_path_factory.mktemp("ner_student")
    unlabeled = root / "unlabeled.txt"
    unlabeled.write_text("Dave visited Rome\n\nCarol works for Initech .\n", encoding="utf-8")
    student = root / "student"
    result = _run("distill.py", "--task=ner", f"--teacher_model_dir={teacher}", "--student_num_layers=1",
                  "--do_train", "--do_eval", f"--train_file={conll}", f"--eval_file={conll}",
                  f"--unlabeled_file={unlabeled}", f"--model_dir={student}", "--max_seq_length=32",
                  "--train_batch_size=4", "--num_train_epochs=2", "--learning_rate=1e-3", "--log_steps=1")
    assert result.returncode == 0, result.stderr
    return result, student


def test_distill_tool_ner_end_to_end(ner_student, ner_teacher):
    result, student = ner_student
    assert "The teacher labels 2 texts" in result.stdout and "soft_loss" in result.stdout
    results = json.loads((student / "eval_results.json").read_text())
    assert {"precision", "recall", "f1", "teacher_precision", "teacher_recall", "teacher_f1"} <= set(results)
    assert results["eval_sentences"] == 6 and results["teacher_f1"] > 0.5
    # What export_saved_model.py --task=ner loads: the tagger with its head and the teacher's tags.
    model = kbz.BertTokenClassifier.from_pretrained(str(student), require_head=True)
    teacher = kbz.BertTokenClassifier.from_pretrained(str(ner_teacher[0]))
    assert model.encoder.config.num_layers == 1 and model.label_names == teacher.label_names


@pytest.mark.slow  # An export tool run; the default run checks the model_dir loads as the export does.
def test_the_ner_student_exports_and_answers(tmp_path, ner_student):
    serve = _export_and_load(tmp_path, ner_student[1], "ner", "--max_seq_length=32")
    answer = serve(text=tf.constant(["Alice visited Berlin ."]))
    assert [w.decode() for w in answer["words"].numpy()[0]] == ["Alice", "visited", "Berlin", "."]
    tags = {t.decode() for t in answer["tags"].numpy()[0]}
    assert tags <= set(kbz.BertTokenClassifier.from_pretrained(str(ner_student[1])).label_names)


_SQUAD_WINDOWS = ["--max_seq_length=32", "--doc_stride=8", "--max_query_length=8"]


@pytest.fixture(scope="module")
def squad_student(tmp_path_factory, squad_teacher):
    """distill.py --task=squad: (the finished process, the student's model_dir)."""
    teacher, data = squad_teacher
    student = tmp_path_factory.mktemp("squad_student") / "student"
    result = _run("distill.py", "--task=squad", f"--teacher_model_dir={teacher}", "--student_num_layers=1",
                  "--do_train", "--do_eval", f"--train_file={data}", f"--eval_file={data}", f"--model_dir={student}",
                  "--train_batch_size=4", "--num_train_epochs=2", "--learning_rate=1e-3", "--log_steps=1",
                  *_SQUAD_WINDOWS)
    assert result.returncode == 0, result.stderr
    return result, student


def test_distill_tool_squad_end_to_end(squad_student):
    result, student = squad_student
    assert "soft_loss" in result.stdout
    results = json.loads((student / "eval_results.json").read_text())
    assert {"exact_match", "f1", "teacher_exact_match", "teacher_f1"} <= set(results)
    assert results["eval_questions"] == 3 and 0 <= results["f1"] <= 100
    # What export_saved_model.py --task=squad loads: the question answerer with its head.
    model = kbz.BertQuestionAnswerer.from_pretrained(str(student), require_head=True)
    assert model.encoder.config.num_layers == 1


@pytest.mark.slow  # A third squad tool run; the default run covers the context-only span loss.
def test_distill_tool_squad_with_the_span_loss_over_all_positions(tmp_path, squad_teacher):
    """--span_loss_positions=all: a fresh student learns the teacher's spans over every real position."""
    teacher, data = squad_teacher
    result = _run("distill.py", "--task=squad", f"--teacher_model_dir={teacher}",
                  f"--student_config_file={teacher / 'config.json'}", "--do_train", f"--train_file={data}",
                  f"--model_dir={tmp_path / 'student'}", "--span_loss_positions=all", "--train_batch_size=4",
                  "--num_train_epochs=4", "--learning_rate=1e-3", "--log_steps=1", *_SQUAD_WINDOWS)
    assert result.returncode == 0, result.stderr
    soft = [float(v) for v in re.findall(r"soft_loss ([\d.]+)", result.stdout)]
    assert len(soft) >= 4 and all(np.isfinite(soft)) and soft[-1] < 0.8 * soft[0], soft


@pytest.mark.slow  # An export tool run; the default run checks the model_dir loads as the export does.
def test_the_squad_student_exports_and_answers(tmp_path, squad_student):
    serve = _export_and_load(tmp_path, squad_student[1], "squad", *_SQUAD_WINDOWS)
    answer = serve(question=tf.constant(["How tall is it?"]), context=tf.constant([CONTEXT]))
    start, end = int(answer["start"].numpy()[0]), int(answer["end"].numpy()[0])
    assert answer["answer"].numpy()[0].decode() == CONTEXT.encode()[start:end].decode()
