"""Fine-tunes and evaluates BERT for sentence (pair) classification or regression.

  python tools/run_classifier.py --init_checkpoint=bert_dir --do_train --do_eval \
      --train_file=train.tsv --eval_file=dev.tsv --model_dir=/tmp/sst2

Data: TSV/CSV/JSONL with --text_column [--text_b_column] --label_column, or a TFDS
dataset (--tfds_name=glue/sst2). Writes <model_dir>/eval_results.json
(accuracy, f1, mcc; pearson, spearman for regression) and predictions.jsonl.
"""

import json
import os

from absl import flags

import tool_runner
from tool_runner import usage_error

import finetuning_flags
import training_flags
from training_flags import FLAGS

flags.DEFINE_string("text_column", "sentence", "Column (header name or 0-based index) of the text.")
flags.DEFINE_string("text_b_column", None, "Column of the second text, for pairs.")
flags.DEFINE_string("label_column", "label", "Column of the label.")
flags.DEFINE_list("label_names", None, "Class names in id order; default: those in the training file, sorted.")
flags.DEFINE_bool("regression", False, "Real-valued labels (STS-B): one output, squared error.")
flags.DEFINE_integer("num_classes", 0,
                     "Output width: 0 means one per label; 1 gives a single sigmoid logit for two labels.")
flags.DEFINE_string("tfds_name", None, "TFDS dataset instead of files, e.g. glue/sst2.")
flags.DEFINE_string("tfds_data_dir", None, "TFDS data directory.")
flags.DEFINE_string("tfds_train_split", "train", "TFDS split for --do_train.")
flags.DEFINE_string("tfds_eval_split", "validation", "TFDS split for --do_eval.")
flags.DEFINE_string("tfds_predict_split", "test", "TFDS split for --do_predict.")
# Measured on held-out SST-2 sentences (BENCHMARKS.md): google's update scored highest of the three.
FLAGS.set_default("optimizer_semantics", "google")


def _column(value):
    return int(value) if value is not None and value.isdigit() else value


def read_split(split_flag, tfds_split, label_names):
    """The examples of --<split_flag> (or the TFDS split); exits 2 naming the flag if they don't read."""
    from keras_bert_zoo.data.classification_data import read_classification_file, read_tfds_classification

    try:
        if FLAGS.tfds_name:
            data = read_tfds_classification(FLAGS.tfds_name, tfds_split, data_dir=FLAGS.tfds_data_dir,
                                            skip_bad_examples=FLAGS.skip_bad_examples)
        else:
            data = read_classification_file(
                FLAGS[split_flag].value, text_column=_column(FLAGS.text_column),
                text_b_column=_column(FLAGS.text_b_column),
                label_column=_column(FLAGS.label_column) if split_flag != "predict_file" else None,
                label_names=label_names, regression=FLAGS.regression, skip_bad_examples=FLAGS.skip_bad_examples)
    except ValueError as e:
        usage_error(f"--{split_flag}: {e}")
    if data.num_skipped:
        print(f"Skipped {data.num_skipped} malformed example(s) in {FLAGS[split_flag].value or tfds_split}.")
    return data


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    finetuning_flags.check_finetuning_flags(finetuning_flags.checkpoint_max_positions())
    if not FLAGS.tfds_name:
        finetuning_flags.check_data_file("train_file", FLAGS.do_train)
        finetuning_flags.check_data_file("eval_file", FLAGS.do_eval)
        finetuning_flags.check_data_file("predict_file", FLAGS.do_predict)
    if FLAGS.num_classes not in (0, 1) and FLAGS.label_names and FLAGS.num_classes != len(FLAGS.label_names):
        usage_error(f"--num_classes={FLAGS.num_classes} disagrees with {len(FLAGS.label_names)} --label_names.")
    tokenizer = finetuning_flags.load_tokenizer()
    label_names = FLAGS.label_names
    train = read_split("train_file", FLAGS.tfds_train_split, label_names) if FLAGS.do_train else None
    if train is not None:
        if FLAGS.max_train_examples:
            train.texts = train.texts[: FLAGS.max_train_examples]
            train.labels = train.labels[: FLAGS.max_train_examples]
            if train.text_pairs is not None:
                train.text_pairs = train.text_pairs[: FLAGS.max_train_examples]
        label_names = train.label_names
    strategy = training_flags.set_up_strategy()

    from keras_bert_zoo import tasks
    from keras_bert_zoo.training.classifier_outputs import evaluate_classifier, prediction_records
    from keras_bert_zoo.training.finetuning import finetune, load_task_model, predict

    regression = FLAGS.regression or (train is not None and train.is_regression)
    head = {"regression": True, "num_classes": 1} if regression else {}
    if label_names and not regression:
        head = {"label_names": label_names,
                "num_classes": 1 if FLAGS.num_classes == 1 and len(label_names) == 2 else len(label_names)}
    spec = tasks.get("classifier")
    with strategy.scope():
        model = load_task_model(spec.model_class, FLAGS.init_checkpoint, FLAGS.model_dir, FLAGS.do_train, **head)
    label_names = model.label_names
    settings = finetuning_flags.finetuning_settings()
    if train is not None:
        inputs = train.model_inputs(tokenizer, FLAGS.max_seq_length)
        finetune(model, spec.objective(model), inputs,
                 {"labels": train.labels}, settings, strategy, tokenizer)

    def logits_of(data):
        inputs = data.model_inputs(tokenizer, FLAGS.max_seq_length)
        return predict(model, inputs, FLAGS.eval_batch_size, FLAGS.max_seq_length,
                       fixed_length=settings.fixed_length, pad_id=tokenizer.pad_id)["logits"]

    if FLAGS.do_eval:
        data = read_split("eval_file", FLAGS.tfds_eval_split, label_names)
        print(f"Evaluating {len(data)} examples", flush=True)
        metrics = evaluate_classifier(logits_of(data), data.labels, model.regression)
        finetuning_flags.write_eval_results(dict(metrics, eval_examples=len(data)))
    if FLAGS.do_predict:
        data = read_split("predict_file", FLAGS.tfds_predict_split, label_names)
        records = prediction_records(data.texts, data.text_pairs, logits_of(data), label_names, model.regression)
        from keras_bert_zoo.files import write_text_atomic

        path = os.path.join(FLAGS.model_dir, "predictions.jsonl")
        write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        print(f"Wrote {len(records)} predictions to {path}", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
