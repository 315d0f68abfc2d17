"""Distils a fine-tuned task model (the teacher) into a smaller student.

  python tools/distill.py --task=classifier --teacher_model_dir=/tmp/sst2 --student_num_layers=3 \
      --do_train --do_eval --train_file=train.tsv --eval_file=dev.tsv --model_dir=/tmp/sst2_l3

The student is --student_num_layers N of the teacher's layers (evenly spaced, weights, embeddings
and head copied, as DistilBERT starts), a --student_preset, or a fresh --student_config_file. It
learns alpha x the task loss on the true labels + (1 - alpha) x T^2 x KL to the teacher's outputs
softened by --temperature T; --unlabeled_file texts (one a line) are labelled by the teacher only.
Writes <model_dir>/eval_results.json: run_classifier's metrics for the student, and teacher_<key>
for the teacher on the same data. The model_dir exports with export_saved_model.py.
"""

import os

from absl import flags

import tool_runner
from tool_runner import usage_error

import finetuning_flags
import run_classifier  # Its data flags (--text_column, --label_column, ...) and reader.
import training_flags
from training_flags import FLAGS

flags.DEFINE_enum("task", "classifier", ["classifier"], "Task of the teacher and the student.")
flags.DEFINE_string("teacher_model_dir", None, "The fine-tuned teacher: a run_classifier --model_dir.")
flags.DEFINE_string("student_preset", None, "Student: a preset name or pretrained checkpoint (fresh head).")
flags.DEFINE_string("student_config_file", None, "Student: a BERT config JSON (random initialization).")
flags.DEFINE_integer("student_num_layers", None,
                     "Student: this many of the teacher's layers, evenly spaced, weights copied.")
flags.DEFINE_string("unlabeled_file", None, "Raw texts, one a line, that only the teacher labels.")
flags.DEFINE_float("temperature", 2.0, "Softmax temperature of the distillation loss.")
flags.DEFINE_float("alpha", 0.5, "Weight of the hard-label loss; the rest goes to matching the teacher.")

STUDENT_FLAGS = ("student_preset", "student_config_file", "student_num_layers")


def _check_flags():
    from keras_bert_zoo.convert import find_training_checkpoint

    if not FLAGS.teacher_model_dir:
        usage_error("--teacher_model_dir is required (a fine-tuned run_classifier --model_dir).")
    tool_runner.check_checkpoint("teacher_model_dir", FLAGS.teacher_model_dir)
    if FLAGS.init_checkpoint:
        usage_error("--init_checkpoint: distill.py starts from --teacher_model_dir and a --student_* flag.")
    # The teacher's directory supplies the vocab and limits, as --init_checkpoint does for run_classifier.
    FLAGS.init_checkpoint = FLAGS.teacher_model_dir
    given = [name for name in STUDENT_FLAGS if FLAGS[name].value is not None]
    if len(given) > 1 or (FLAGS.do_train and not given):
        usage_error(f"Give exactly one of --student_preset, --student_config_file, --student_num_layers "
                    f"(got {', '.join('--' + n for n in given) or 'none'}).")
    teacher_config = finetuning_flags.checkpoint_config()
    if teacher_config is None:
        usage_error(f"--teacher_model_dir={FLAGS.teacher_model_dir} has no config.json; pass a training tool's "
                    "--model_dir.")
    if FLAGS.student_num_layers is not None and not 1 <= FLAGS.student_num_layers <= teacher_config.num_layers:
        usage_error(f"--student_num_layers={FLAGS.student_num_layers} must be in [1, {teacher_config.num_layers}] "
                    "(the teacher's layers).")
    if FLAGS.student_config_file:
        finetuning_flags.check_data_file("student_config_file", True)
    finetuning_flags.check_finetuning_flags(teacher_config.max_position_embeddings)
    if not FLAGS.do_train and find_training_checkpoint(FLAGS.model_dir) is None:
        usage_error(f"--model_dir={FLAGS.model_dir} holds no student checkpoint to evaluate; pass --do_train.")
    finetuning_flags.check_data_file("train_file", FLAGS.do_train and not FLAGS.tfds_name)
    finetuning_flags.check_data_file("eval_file", FLAGS.do_eval and not FLAGS.tfds_name)
    finetuning_flags.check_data_file("unlabeled_file", False)
    if FLAGS.do_predict:
        usage_error("--do_predict: predict with run_classifier.py --model_dir=<the student's model_dir>.")
    if FLAGS.temperature <= 0:
        usage_error(f"--temperature must be positive, got {FLAGS.temperature}.")
    if not 0 <= FLAGS.alpha <= 1:
        usage_error(f"--alpha must be in [0, 1], got {FLAGS.alpha}.")


def _student(spec, teacher):
    from keras_bert_zoo.distill import build_student

    if not FLAGS.do_train:
        return spec.model_class.from_pretrained(FLAGS.model_dir)
    try:
        return build_student(teacher, preset=FLAGS.student_preset, config_file=FLAGS.student_config_file,
                             num_layers=FLAGS.student_num_layers)
    except ValueError as e:
        usage_error(f"--{next(n for n in STUDENT_FLAGS if FLAGS[n].value is not None)}: {e}")


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    _check_flags()
    tokenizer = finetuning_flags.load_tokenizer()
    strategy = training_flags.set_up_strategy()

    import numpy as np

    from keras_bert_zoo import tasks
    from keras_bert_zoo.data.classification_data import ClassificationData
    from keras_bert_zoo.distill import DistillationObjective, teacher_labels
    from keras_bert_zoo.training.classifier_outputs import evaluate_classifier
    from keras_bert_zoo.training.finetuning import finetune, predict

    spec = tasks.get(FLAGS.task)
    with strategy.scope():
        try:
            teacher = spec.model_class.from_pretrained(FLAGS.teacher_model_dir, require_head=True)
        except ValueError as e:
            usage_error(f"--teacher_model_dir: {e}")
        student = _student(spec, teacher)
    FLAGS.regression = teacher.regression  # The reader parses labels as the teacher was trained on them.
    settings = finetuning_flags.finetuning_settings()

    def logits_of(model, data):
        return predict(model, data.model_inputs(tokenizer, FLAGS.max_seq_length), FLAGS.eval_batch_size,
                       FLAGS.max_seq_length, fixed_length=settings.fixed_length, pad_id=tokenizer.pad_id)

    if FLAGS.do_train:
        train = run_classifier.read_split("train_file", FLAGS.tfds_train_split, teacher.label_names)
        if FLAGS.max_train_examples:
            train = ClassificationData(train.texts[: FLAGS.max_train_examples],
                                       train.text_pairs and train.text_pairs[: FLAGS.max_train_examples],
                                       train.labels[: FLAGS.max_train_examples], train.label_names)
        hard_weight = np.ones(len(train), np.float32)
        if FLAGS.unlabeled_file:
            with open(FLAGS.unlabeled_file, encoding="utf-8") as f:
                texts = [line.strip() for line in f if line.strip()]
            if train.text_pairs is not None:
                usage_error("--unlabeled_file holds single texts; the training data has pairs (--text_b_column).")
            train = ClassificationData(train.texts + texts, None,
                                       np.concatenate([train.labels, np.zeros(len(texts), train.labels.dtype)]),
                                       train.label_names)
            hard_weight = np.concatenate([hard_weight, np.zeros(len(texts), np.float32)])
            print(f"The teacher labels {len(texts)} texts of {FLAGS.unlabeled_file}", flush=True)
        labels = dict(teacher_labels(logits_of(teacher, train)), labels=train.labels)
        if FLAGS.unlabeled_file:
            labels["hard_weight"] = hard_weight
        objective = DistillationObjective(spec.objective(student), FLAGS.temperature, FLAGS.alpha,
                                          regression=student.regression)
        finetune(student, objective, train.model_inputs(tokenizer, FLAGS.max_seq_length), labels, settings,
                 strategy, tokenizer)

    if FLAGS.do_eval:
        data = run_classifier.read_split("eval_file", FLAGS.tfds_eval_split, teacher.label_names)
        print(f"Evaluating student and teacher on {len(data)} examples", flush=True)
        results = evaluate_classifier(logits_of(student, data)["logits"], data.labels, student.regression)
        teacher_results = evaluate_classifier(logits_of(teacher, data)["logits"], data.labels, teacher.regression)
        results.update({f"teacher_{k}": v for k, v in teacher_results.items()}, eval_examples=len(data))
        finetuning_flags.write_eval_results(results)
    print(f"Student model_dir: {os.path.abspath(FLAGS.model_dir)}", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
