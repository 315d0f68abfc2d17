"""Fine-tunes and evaluates BERT for extractive question answering on SQuAD v1.1 / v2.0 JSON.

  python tools/run_squad.py --init_checkpoint=bert_dir --do_train --do_eval \
      --train_file=train-v1.1.json --eval_file=dev-v1.1.json --model_dir=/tmp/squad

Writes <model_dir>/eval_results.json (official v1.1 exact_match and f1, 0-100; the
v2.0 breakdown with --version_2_with_negative), predictions.json and
nbest_predictions.json.
"""

import os

from absl import flags

import tool_runner
from tool_runner import usage_error

import finetuning_flags
import training_flags
from training_flags import FLAGS

flags.DEFINE_integer("doc_stride", 128, "Stride between windows of a long context, in wordpieces.")
flags.DEFINE_integer("max_query_length", 64, "Question wordpieces kept.")
flags.DEFINE_integer("n_best_size", 20, "Candidate spans kept per question.")
flags.DEFINE_integer("max_answer_length", 30, "Longest answer, in wordpieces.")
flags.DEFINE_bool("version_2_with_negative", False, "SQuAD v2.0: questions may have no answer.")
flags.DEFINE_float("null_score_diff_threshold", 0.0, "Predict no answer when null score - best > this (v2.0).")
flags.DEFINE_enum("span_loss_positions", "context", ["context", "all"],
                  "Positions the start/end softmax of the training loss runs over: context ([CLS] and the "
                  "context's pieces, where a label can point) or all (question and padding too, as "
                  "google-research/bert's and HF's run_squad).")
# Measured on held-out SQuAD articles (BENCHMARKS.md): google's update learns spans far faster than torch's.
FLAGS.set_default("optimizer_semantics", "google")


def _read(split_flag):
    from keras_bert_zoo.data.squad_examples import read_squad_file

    try:
        return read_squad_file(FLAGS[split_flag].value)
    except ValueError as e:
        usage_error(f"--{split_flag}: {e}")


def _check_flags():
    finetuning_flags.check_finetuning_flags(finetuning_flags.checkpoint_max_positions())
    finetuning_flags.check_data_file("train_file", FLAGS.do_train)
    finetuning_flags.check_data_file("eval_file", FLAGS.do_eval)
    finetuning_flags.check_data_file("predict_file", FLAGS.do_predict)
    if not 0 < FLAGS.max_query_length < FLAGS.max_seq_length - 3:
        usage_error(f"--max_query_length={FLAGS.max_query_length} must leave room for the context in "
                    f"--max_seq_length={FLAGS.max_seq_length}.")
    if not 0 < FLAGS.doc_stride:
        usage_error(f"--doc_stride must be positive, got {FLAGS.doc_stride}.")
    tool_runner.require_at_least_one("n_best_size", "max_answer_length")


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    _check_flags()
    tokenizer = finetuning_flags.load_tokenizer()
    from keras_bert_zoo.data.squad_features import squad_features

    def features_of(examples, is_training):
        return squad_features(tokenizer, examples, FLAGS.max_seq_length, FLAGS.doc_stride, FLAGS.max_query_length,
                              is_training=is_training)

    train_features = None
    if FLAGS.do_train:
        examples = _read("train_file")[: FLAGS.max_train_examples or None]
        train_features = features_of(examples, is_training=True)
        if train_features.num_answers_not_found:
            print(f"Skipped {train_features.num_answers_not_found} answer(s) not found in their context",
                  flush=True)
    strategy = training_flags.set_up_strategy()

    from keras_bert_zoo.files import write_json_atomic
    from keras_bert_zoo.training.squad_decoding import decode_squad_predictions
    from keras_bert_zoo.data.squad_examples import squad_gold_answers
    from keras_bert_zoo.metrics import squad_v1_metrics, squad_v2_metrics
    from keras_bert_zoo import tasks
    from keras_bert_zoo.training.finetuning import finetune, load_task_model, predict

    spec = tasks.get("squad")
    with strategy.scope():
        model = load_task_model(spec.model_class, FLAGS.init_checkpoint, FLAGS.model_dir, FLAGS.do_train)
    settings = finetuning_flags.finetuning_settings()
    if train_features is not None:
        labels = {"start_positions": train_features.start_positions, "end_positions": train_features.end_positions}
        if FLAGS.span_loss_positions == "context":
            labels["answer_mask"] = train_features.answer_mask()
        finetune(model, spec.objective(model), train_features.model_inputs(), labels, settings, strategy,
                 tokenizer)

    def answer(split_flag, name):
        examples = _read(split_flag)
        features = features_of(examples, is_training=False)
        print(f"Answering {len(examples)} questions ({len(features)} windows)", flush=True)
        logits = predict(model, features.model_inputs(), FLAGS.eval_batch_size, FLAGS.max_seq_length,
                         sequence_outputs=("start_logits", "end_logits"), fixed_length=settings.fixed_length,
                         pad_id=tokenizer.pad_id)
        predictions = decode_squad_predictions(
            examples, features, logits["start_logits"], logits["end_logits"], n_best_size=FLAGS.n_best_size,
            max_answer_length=FLAGS.max_answer_length, version_2_with_negative=FLAGS.version_2_with_negative,
            null_score_diff_threshold=FLAGS.null_score_diff_threshold)
        os.makedirs(FLAGS.model_dir, exist_ok=True)
        write_json_atomic(os.path.join(FLAGS.model_dir, f"{name}predictions.json"), predictions.answers)
        write_json_atomic(os.path.join(FLAGS.model_dir, f"{name}nbest_predictions.json"), predictions.nbest)
        if FLAGS.version_2_with_negative:
            write_json_atomic(os.path.join(FLAGS.model_dir, f"{name}null_odds.json"), predictions.null_score_diffs)
        return examples, predictions

    if FLAGS.do_eval:
        examples, predictions = answer("eval_file", "")
        score = squad_v2_metrics if FLAGS.version_2_with_negative else squad_v1_metrics
        metrics = score(squad_gold_answers(examples), predictions.answers)
        finetuning_flags.write_eval_results(dict(metrics, eval_questions=len(examples)))
    if FLAGS.do_predict:
        # Predictions of --predict_file don't overwrite those of --eval_file.
        answer("predict_file", "predict_" if FLAGS.do_eval else "")
        print(f"Wrote predictions to {FLAGS.model_dir}", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
