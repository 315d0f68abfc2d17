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

import classifier_flags
import finetuning_flags
import training_flags
from training_flags import FLAGS

flags.DEFINE_list("label_names", None, "Class names in id order; default: those in the training file, sorted.")
flags.DEFINE_bool("regression", False, "Real-valued labels (STS-B): one output, squared error.")
flags.DEFINE_integer("num_classes", 0,
                     "Output width: 0 means one per label; 1 gives a single sigmoid logit for two labels.")
finetuning_flags.define_pack_sequences("texts")
finetuning_flags.set_tool_defaults(classifier_flags.DEFAULTS)


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    finetuning_flags.check_finetuning_flags()
    if not FLAGS.tfds_name:
        finetuning_flags.check_data_file("train_file", FLAGS.do_train)
        finetuning_flags.check_data_file("eval_file", FLAGS.do_eval)
        finetuning_flags.check_data_file("predict_file", FLAGS.do_predict)
    if FLAGS.num_classes not in (0, 1) and FLAGS.label_names and FLAGS.num_classes != len(FLAGS.label_names):
        usage_error(f"--num_classes={FLAGS.num_classes} disagrees with {len(FLAGS.label_names)} --label_names.")
    # Before any TensorFlow op: --cpu_devices and multi-worker strategies must come first.
    strategy = training_flags.set_up_strategy()
    tokenizer = finetuning_flags.load_tokenizer()
    from keras_bert_zoo import tasks

    spec = tasks.get("classifier")
    # Every split is read before any work, so that a label the model can't know stops the run up front.
    train = None
    if FLAGS.do_train:
        train = classifier_flags.read_split("train_file", FLAGS.label_names, FLAGS.regression)
        train = train.head(FLAGS.max_train_examples or None)
        label_names = train.label_names
    else:
        label_names = FLAGS.label_names or finetuning_flags.saved_head_config(
            spec.model_class.task, FLAGS.model_dir, FLAGS.init_checkpoint).get("label_names")
    splits = {name: classifier_flags.read_split(name, label_names, FLAGS.regression)
              for name, wanted in (("eval_file", FLAGS.do_eval), ("predict_file", FLAGS.do_predict)) if wanted}
    run = finetuning_flags.check_model_dir() if FLAGS.do_train else None

    from keras_bert_zoo.training.classifier_outputs import evaluate_classifier, prediction_records
    from keras_bert_zoo.training.finetuning import finetune, load_task_model

    regression = FLAGS.regression or (train is not None and train.is_regression)
    head = {"regression": True, "num_classes": 1} if regression else {}
    if label_names and not regression:
        head = {"label_names": label_names,
                "num_classes": 1 if FLAGS.num_classes == 1 and len(label_names) == 2 else len(label_names)}
    training = run is not None and run.status != "finished"
    with strategy.scope():
        model = load_task_model(spec.model_class, FLAGS.init_checkpoint, FLAGS.model_dir, training, **head)
    label_names = model.label_names
    if training:
        inputs = train.model_inputs(tokenizer, FLAGS.max_seq_length)
        finetune(model, spec.objective(model), inputs, {"labels": train.labels},
                 finetuning_flags.finetuning_settings(), strategy, tokenizer, training_run=run)

    def logits_of(data):
        return finetuning_flags.predict_outputs(model, data.model_inputs(tokenizer, FLAGS.max_seq_length),
                                                tokenizer)["logits"]

    if FLAGS.do_eval:
        data = splits["eval_file"]
        print(f"Evaluating {len(data)} examples", flush=True)
        metrics = evaluate_classifier(logits_of(data), data.labels, model.regression)
        finetuning_flags.write_eval_results(dict(metrics, eval_examples=len(data)))
    if FLAGS.do_predict:
        data = splits["predict_file"]
        records = prediction_records(data.texts, data.text_pairs, logits_of(data), label_names, model.regression)
        from keras_bert_zoo.files import write_text_atomic

        path = os.path.join(FLAGS.model_dir, "predictions.jsonl")
        os.makedirs(FLAGS.model_dir, exist_ok=True)
        write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        print(f"Wrote {len(records)} predictions to {path}", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
