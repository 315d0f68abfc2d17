"""Distils a fine-tuned task model (the teacher) into a smaller student.

  python tools/distill.py --task=classifier --teacher_model_dir=/tmp/sst2 --student_num_layers=3 \
      --do_train --do_eval --train_file=train.tsv --eval_file=dev.tsv --model_dir=/tmp/sst2_l3
  python tools/distill.py --task=ner --teacher_model_dir=/tmp/ner --student_num_layers=3 \
      --do_train --do_eval --train_file=train.txt --eval_file=dev.txt --model_dir=/tmp/ner_l3
  python tools/distill.py --task=squad --teacher_model_dir=/tmp/squad --student_num_layers=3 \
      --do_train --do_eval --train_file=train-v1.1.json --eval_file=dev-v1.1.json --model_dir=/tmp/squad_l3

The teacher is a run_classifier, run_ner or run_squad --model_dir; each task reads its data with that
tool's flags and defaults (--optimizer_semantics=google for all three). The student is
--student_num_layers N of the teacher's layers (evenly spaced, weights, embeddings and head copied, as
DistilBERT starts), a --student_preset, or a fresh --student_config_file. It learns alpha x the task
loss on the true labels + (1 - alpha) x T^2 x KL to the teacher's outputs softened by --temperature T:
its class probabilities (classifier), each word's tag probabilities (ner), or its start and end
distributions over the positions the span loss uses (squad, --span_loss_positions). --unlabeled_file
texts (one a line; ner splits them into words on whitespace) are labelled by the teacher only; squad
refuses it, as raw text has no questions. Writes <model_dir>/eval_results.json: the task tool's metrics
for the student, and teacher_<key> for the teacher on the same data. The model_dir exports with
export_saved_model.py --task=<task>.
"""

import os

from absl import flags

import tool_runner
from tool_runner import usage_error

import classifier_flags
import finetuning_flags
import ner_flags
import squad_flags
import training_flags
from training_flags import FLAGS

flags.DEFINE_enum("task", "classifier", ["classifier", "ner", "squad"], "Task of the teacher and the student.")
flags.DEFINE_string("teacher_model_dir", None,
                    "The fine-tuned teacher: a run_classifier, run_ner or run_squad --model_dir (as --task).")
flags.DEFINE_string("student_preset", None, "Student: a preset name or pretrained checkpoint (fresh head).")
flags.DEFINE_string("student_config_file", None, "Student: a BERT config JSON (random initialization).")
flags.DEFINE_integer("student_num_layers", None,
                     "Student: this many of the teacher's layers, evenly spaced, weights copied.")
flags.DEFINE_string("unlabeled_file", None,
                    "Raw texts, one a line, that only the teacher labels (ner: words split on whitespace). "
                    "Not with --task=squad: raw text has no questions.")
flags.DEFINE_float("temperature", 2.0, "Softmax temperature of the distillation loss.")
flags.DEFINE_float("alpha", 0.5, "Weight of the hard-label loss; the rest goes to matching the teacher.")

STUDENT_FLAGS = ("student_preset", "student_config_file", "student_num_layers")


class _ClassifierData:
    """--task=classifier: run_classifier's files (or TFDS) of texts and labels."""

    flags_module = classifier_flags
    defaults = classifier_flags.DEFAULTS
    sequence_outputs = ()

    def __init__(self, tokenizer, teacher):
        self.tokenizer, self.teacher = tokenizer, teacher
        self.train = None

    def training_examples(self):
        self.train = classifier_flags.read_split("train_file", self.teacher.label_names, self.teacher.regression)
        self.train = self.train.head(FLAGS.max_train_examples or None)
        return self.train.model_inputs(self.tokenizer, FLAGS.max_seq_length), {"labels": self.train.labels}

    def unlabeled_examples(self, texts):
        """(inputs, placeholder labels) of `texts`, after `training_examples` (whose form they must match)."""
        import numpy as np

        from keras_bert_zoo.data.classification_data import ClassificationData

        if self.train.text_pairs is not None:
            usage_error("--unlabeled_file holds single texts; the training data has pairs (--text_b_column).")
        inputs = ClassificationData(texts).model_inputs(self.tokenizer, FLAGS.max_seq_length)
        return inputs, {"labels": np.zeros(len(texts), self.train.labels.dtype)}

    def objective(self, hard_objective, student):
        from keras_bert_zoo.distill import DistillationObjective

        return DistillationObjective(hard_objective, FLAGS.temperature, FLAGS.alpha, regression=student.regression)

    def evaluation(self):
        """({count name: count}, a function from a model to its metrics) on --eval_file."""
        from keras_bert_zoo.training.classifier_outputs import evaluate_classifier

        data = classifier_flags.read_split("eval_file", self.teacher.label_names, self.teacher.regression)
        inputs = data.model_inputs(self.tokenizer, FLAGS.max_seq_length)

        def metrics(model):
            logits = finetuning_flags.predict_outputs(model, inputs, self.tokenizer)["logits"]
            return evaluate_classifier(logits, data.labels, model.regression)

        return {"eval_examples": len(data)}, metrics


class _NerData:
    """--task=ner: run_ner's CoNLL files; the soft targets are the teacher's tags at each word's first piece."""

    flags_module = ner_flags
    defaults = ner_flags.DEFAULTS
    sequence_outputs = ("logits",)

    def __init__(self, tokenizer, teacher):
        self.tokenizer, self.teacher = tokenizer, teacher

    def _features(self, sentences, tags, split_flag):
        return ner_flags.features(self.tokenizer, sentences, tags, self.teacher.label_names, split_flag)

    def training_examples(self):
        sentences, tags = ner_flags.read_split("train_file")
        count = FLAGS.max_train_examples or None
        features = self._features(sentences[:count], tags[:count], "train_file")
        return features.model_inputs(), features.training_labels()

    def unlabeled_examples(self, texts):
        features = self._features([text.split() for text in texts], None, "unlabeled_file")
        return features.model_inputs(), features.training_labels()

    def objective(self, hard_objective, student):
        from keras_bert_zoo.distill import DistillationObjective

        return DistillationObjective(hard_objective, FLAGS.temperature, FLAGS.alpha, soft_weights_key="label_weights")

    def evaluation(self):
        """({count name: count}, a function from a model to its metrics) on --eval_file."""
        from keras_bert_zoo.metrics import ner_metrics

        sentences, tags = ner_flags.read_split("eval_file")
        features = self._features(sentences, tags, "eval_file")
        return ({"eval_sentences": len(sentences)},
                lambda model: ner_metrics(tags, ner_flags.predicted_tags(model, self.tokenizer, features)))


class _SquadData:
    """--task=squad: run_squad's JSON files; the soft targets are the teacher's start and end logits."""

    flags_module = squad_flags
    defaults = squad_flags.DEFAULTS
    sequence_outputs = squad_flags.SPAN_OUTPUTS
    # With --span_loss_positions=all the soft term still skips padding, where the teacher's logits aren't kept.
    _REAL_POSITIONS = "input_mask"

    def __init__(self, tokenizer, teacher):
        self.tokenizer, self.teacher = tokenizer, teacher

    def training_examples(self):
        examples = squad_flags.read_split("train_file")[: FLAGS.max_train_examples or None]
        windows = squad_flags.features(self.tokenizer, examples, is_training=True)
        labels = squad_flags.training_labels(windows)
        if FLAGS.span_loss_positions == "all":
            labels[self._REAL_POSITIONS] = windows.input_mask
        return windows.model_inputs(), labels

    def objective(self, hard_objective, student):
        from keras_bert_zoo.distill import DistillationObjective

        span_mask_key = "answer_mask" if FLAGS.span_loss_positions == "context" else self._REAL_POSITIONS
        return DistillationObjective(hard_objective, FLAGS.temperature, FLAGS.alpha,
                                     output_names=squad_flags.SPAN_OUTPUTS, span_mask_key=span_mask_key)

    def evaluation(self):
        """({count name: count}, a function from a model to its metrics) on --eval_file."""
        examples = squad_flags.read_split("eval_file")
        windows = squad_flags.features(self.tokenizer, examples, is_training=False)
        return ({"eval_questions": len(examples)},
                lambda model: squad_flags.metrics(examples, squad_flags.answers(model, self.tokenizer, examples,
                                                                                windows)))


_TASK_DATA = {"classifier": _ClassifierData, "ner": _NerData, "squad": _SquadData}


def _check_flags():
    from keras_bert_zoo.convert import find_training_checkpoint

    task_tool = f"run_{FLAGS.task}"
    if not FLAGS.teacher_model_dir:
        usage_error(f"--teacher_model_dir is required (a fine-tuned {task_tool} --model_dir).")
    tool_runner.check_checkpoint("teacher_model_dir", FLAGS.teacher_model_dir)
    if FLAGS.init_checkpoint:
        usage_error("--init_checkpoint: distill.py starts from --teacher_model_dir and a --student_* flag.")
    for task, task_data in _TASK_DATA.items():
        given = [flag.name for flag in FLAGS.get_flags_for_module(task_data.flags_module) if flag.present]
        if task != FLAGS.task and given:
            usage_error(f"--{given[0]} is a --task={task} flag; this run is --task={FLAGS.task}.")
    # The teacher's directory supplies the vocab and limits, as --init_checkpoint does for the task tool.
    FLAGS.init_checkpoint = FLAGS.teacher_model_dir
    given = [name for name in STUDENT_FLAGS if FLAGS[name].value is not None]
    if len(given) > 1 or (FLAGS.do_train and not given):
        usage_error(f"Give exactly one of --student_preset, --student_config_file, --student_num_layers "
                    f"(got {', '.join('--' + n for n in given) or 'none'}).")
    teacher_config = finetuning_flags.checkpoint_config()
    if teacher_config is None:
        usage_error(f"--teacher_model_dir={FLAGS.teacher_model_dir} has no config.json; pass a {task_tool} "
                    "--model_dir.")
    if FLAGS.student_num_layers is not None and not 1 <= FLAGS.student_num_layers <= teacher_config.num_layers:
        usage_error(f"--student_num_layers={FLAGS.student_num_layers} must be in [1, {teacher_config.num_layers}] "
                    "(the teacher's layers).")
    if FLAGS.student_config_file:
        finetuning_flags.check_data_file("student_config_file", True)
    finetuning_flags.check_finetuning_flags(teacher_config.max_position_embeddings)
    if FLAGS.task == "squad":
        squad_flags.check_flags()
    if not FLAGS.do_train and find_training_checkpoint(FLAGS.model_dir) is None:
        usage_error(f"--model_dir={FLAGS.model_dir} holds no student checkpoint to evaluate; pass --do_train.")
    finetuning_flags.check_data_file("train_file", FLAGS.do_train and not FLAGS.tfds_name)
    finetuning_flags.check_data_file("eval_file", FLAGS.do_eval and not FLAGS.tfds_name)
    if FLAGS.unlabeled_file and FLAGS.task == "squad":
        usage_error("--unlabeled_file: --task=squad distils on --train_file alone (raw text has no questions).")
    finetuning_flags.check_data_file("unlabeled_file", False)
    if FLAGS.do_predict:
        usage_error(f"--do_predict: predict with {task_tool}.py --model_dir=<the student's model_dir>.")
    if FLAGS.temperature <= 0:
        usage_error(f"--temperature must be positive, got {FLAGS.temperature}.")
    if not 0 <= FLAGS.alpha <= 1:
        usage_error(f"--alpha must be in [0, 1], got {FLAGS.alpha}.")


def _student(spec, teacher, training):
    """The student to train, or (`training` off) the one trained in --model_dir."""
    from keras_bert_zoo.distill import build_student

    if not training:
        return spec.model_class.from_pretrained(FLAGS.model_dir)
    try:
        return build_student(teacher, preset=FLAGS.student_preset, config_file=FLAGS.student_config_file,
                             num_layers=FLAGS.student_num_layers)
    except ValueError as e:
        usage_error(f"--{next(n for n in STUDENT_FLAGS if FLAGS[n].value is not None)}: {e}")


def _read_unlabeled_texts():
    from keras_bert_zoo.files import read_texts

    try:
        return [text.strip() for text in read_texts(FLAGS.unlabeled_file) if text.strip()]
    except ValueError as e:
        usage_error(f"--unlabeled_file: {e}")


def _teacher(spec):
    """The fine-tuned teacher of --teacher_model_dir, with its head; exits 2 if it holds another task."""
    from keras_bert_zoo import tasks
    from keras_bert_zoo.models import HeadNotInCheckpointError

    try:
        return spec.model_class.from_pretrained(FLAGS.teacher_model_dir, require_head=True)
    except HeadNotInCheckpointError as e:
        held = tasks.get(e.held_task).alias
        usage_error(f"--teacher_model_dir: {e} " + (f"Distil it with --task={held}." if held in _TASK_DATA
                                                    else f"Fine-tune it with run_{FLAGS.task}.py first."))
    except ValueError as e:
        usage_error(f"--teacher_model_dir: {e}")


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    finetuning_flags.set_tool_defaults(_TASK_DATA[FLAGS.task].defaults)
    _check_flags()
    # Before any TensorFlow op: --cpu_devices and multi-worker strategies must come first.
    strategy = training_flags.set_up_strategy()
    tokenizer = finetuning_flags.load_tokenizer()

    from keras_bert_zoo import tasks
    from keras_bert_zoo.training.finetuning import finetune

    spec = tasks.get(FLAGS.task)
    with strategy.scope():
        teacher = _teacher(spec)
    # Every file is read, against the teacher's labels, before the student is made or anything written.
    data = _TASK_DATA[FLAGS.task](tokenizer, teacher)
    if FLAGS.do_train:
        inputs, labels = data.training_examples()
        if FLAGS.unlabeled_file:
            from keras_bert_zoo.distill import with_teacher_only_examples

            texts = _read_unlabeled_texts()
            inputs, labels = with_teacher_only_examples(inputs, labels, *data.unlabeled_examples(texts))
            print(f"The teacher labels {len(texts)} texts of {FLAGS.unlabeled_file}", flush=True)
    if FLAGS.do_eval:
        counts, metrics_of = data.evaluation()
    run = None
    if FLAGS.do_train:
        run = training_flags.check_model_dir({name: [FLAGS[name].value] for name in (
            "train_file", "unlabeled_file", "vocab_file", "student_config_file") if FLAGS[name].value})
    training = run is not None and run.status != "finished"
    with strategy.scope():
        student = _student(spec, teacher, training)

    if training:
        objective = data.objective(spec.objective(student), student)
        teacher_outputs = finetuning_flags.predict_outputs(teacher, inputs, tokenizer, data.sequence_outputs)
        labels.update(objective.teacher_labels(teacher_outputs))
        finetune(student, objective, inputs, labels, finetuning_flags.finetuning_settings(), strategy, tokenizer,
                 training_run=run)

    if FLAGS.do_eval:
        print("Evaluating student and teacher on " + ", ".join(f"{count} {name.removeprefix('eval_')}"
                                                               for name, count in counts.items()), flush=True)
        results = metrics_of(student)
        results.update({f"teacher_{k}": v for k, v in metrics_of(teacher).items()}, **counts)
        finetuning_flags.write_eval_results(results)
    print(f"Student model_dir: {os.path.abspath(FLAGS.model_dir)}", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
