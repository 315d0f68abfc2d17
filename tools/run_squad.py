"""Fine-tunes and evaluates BERT for extractive question answering on SQuAD v1.1 / v2.0 JSON.

  python tools/run_squad.py --init_checkpoint=bert_dir --do_train --do_eval \
      --train_file=train-v1.1.json --eval_file=dev-v1.1.json --model_dir=/tmp/squad

Writes <model_dir>/eval_results.json (official v1.1 exact_match and f1, 0-100; the
v2.0 breakdown with --version_2_with_negative), predictions.json and
nbest_predictions.json.
"""

import os

import tool_runner
from tool_runner import usage_error

import finetuning_flags
import squad_flags
import training_flags
from training_flags import FLAGS

finetuning_flags.set_tool_defaults(squad_flags.DEFAULTS)


def _check_flags():
    finetuning_flags.check_finetuning_flags()
    finetuning_flags.check_data_file("train_file", FLAGS.do_train)
    finetuning_flags.check_data_file("eval_file", FLAGS.do_eval)
    finetuning_flags.check_data_file("predict_file", FLAGS.do_predict)
    squad_flags.check_flags()


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    _check_flags()
    # Before any TensorFlow op: --cpu_devices and multi-worker strategies must come first.
    strategy = training_flags.set_up_strategy()
    tokenizer = finetuning_flags.load_tokenizer()
    # Every file is read and windowed before any work, so that a bad one stops the run up front.
    train_features = None
    if FLAGS.do_train:
        examples = squad_flags.read_split("train_file")[: FLAGS.max_train_examples or None]
        train_features = squad_flags.features(tokenizer, examples, is_training=True)
    splits = {}
    for name, wanted in (("eval_file", FLAGS.do_eval), ("predict_file", FLAGS.do_predict)):
        if wanted:
            examples = squad_flags.read_split(name)
            splits[name] = examples, squad_flags.features(tokenizer, examples, is_training=False)
    run = finetuning_flags.check_model_dir() if FLAGS.do_train else None

    from keras_bert_zoo.files import write_json_atomic
    from keras_bert_zoo import tasks
    from keras_bert_zoo.training.finetuning import finetune, load_task_model

    spec = tasks.get("squad")
    training = run is not None and run.status != "finished"
    with strategy.scope():
        model = load_task_model(spec.model_class, FLAGS.init_checkpoint, FLAGS.model_dir, training)
    if training:
        finetune(model, spec.objective(model), train_features.model_inputs(),
                 squad_flags.training_labels(train_features), finetuning_flags.finetuning_settings(), strategy,
                 tokenizer, training_run=run)

    def answer(split_flag, name):
        examples, features = splits[split_flag]
        print(f"Answering {len(examples)} questions ({len(features)} windows)", flush=True)
        predictions = squad_flags.answers(model, tokenizer, examples, features)
        os.makedirs(FLAGS.model_dir, exist_ok=True)
        write_json_atomic(os.path.join(FLAGS.model_dir, f"{name}predictions.json"), predictions.answers)
        write_json_atomic(os.path.join(FLAGS.model_dir, f"{name}nbest_predictions.json"), predictions.nbest)
        if FLAGS.version_2_with_negative:
            write_json_atomic(os.path.join(FLAGS.model_dir, f"{name}null_odds.json"), predictions.null_score_diffs)
        return examples, predictions

    if FLAGS.do_eval:
        examples, predictions = answer("eval_file", "")
        metrics = squad_flags.metrics(examples, predictions)
        finetuning_flags.write_eval_results(dict(metrics, eval_questions=len(examples)))
    if FLAGS.do_predict:
        # Predictions of --predict_file don't overwrite those of --eval_file.
        answer("predict_file", "predict_" if FLAGS.do_eval else "")
        print(f"Wrote predictions to {FLAGS.model_dir}", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
