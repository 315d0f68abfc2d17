"""run_squad's data and decoding flags, their checks, reader and scorer, shared with distill.py --task=squad."""

from absl import flags

import tool_runner
from tool_runner import usage_error

import finetuning_flags
from training_flags import FLAGS

flags.DEFINE_integer("doc_stride", 128, "Stride between windows of a long context, in tokens (wordpieces).")
flags.DEFINE_integer("max_query_length", 64, "Question tokens kept.")
flags.DEFINE_integer("n_best_size", 20, "Candidate spans kept per question.")
flags.DEFINE_integer("max_answer_length", 30, "Longest answer, in tokens.")
flags.DEFINE_bool("version_2_with_negative", False, "SQuAD v2.0: questions may have no answer.")
flags.DEFINE_float("null_score_diff_threshold", 0.0, "Predict no answer when null score - best > this (v2.0).")
flags.DEFINE_enum("span_loss_positions", "context", ["context", "all"],
                  "Positions the start/end softmax of the training loss runs over: context ([CLS] and the "
                  "context's pieces, where a label can point) or all (question and padding too, as "
                  "google-research/bert's and HF's run_squad).")

# Measured on held-out SQuAD articles (BENCHMARKS.md): google's update learns spans far faster than torch's.
DEFAULTS = {"optimizer_semantics": "google"}
SPAN_OUTPUTS = ("start_logits", "end_logits")


def check_flags():
    """Exits 2 naming the flag if the windowing or decoding flags don't fit together."""
    if not 0 < FLAGS.max_query_length < FLAGS.max_seq_length - 3:
        usage_error(f"--max_query_length={FLAGS.max_query_length} must leave room for the context in "
                    f"--max_seq_length={FLAGS.max_seq_length}.")
    if not 0 < FLAGS.doc_stride:
        usage_error(f"--doc_stride must be positive, got {FLAGS.doc_stride}.")
    tool_runner.require_at_least_one("n_best_size", "max_answer_length")


def read_split(split_flag):
    """The `SquadExample`s of the JSON file --<split_flag>; exits 2 naming the flag if it doesn't read."""
    from keras_bert_zoo.data.squad_examples import read_squad_file

    try:
        return read_squad_file(FLAGS[split_flag].value)
    except ValueError as e:
        usage_error(f"--{split_flag}: {e}")


def features(tokenizer, examples, is_training):
    """`squad_features` with --max_seq_length, --doc_stride and --max_query_length."""
    from keras_bert_zoo.data.squad_features import squad_features

    # check_flags allows for BERT's three special tokens; RoBERTa's and XLM-R's pairs have four.
    if FLAGS.max_query_length >= FLAGS.max_seq_length - tokenizer.packer.num_special_tokens(2):
        usage_error(f"--max_query_length={FLAGS.max_query_length} must leave room for the context in "
                    f"--max_seq_length={FLAGS.max_seq_length} beside the tokenizer's "
                    f"{tokenizer.packer.num_special_tokens(2)} special tokens.")

    windows = squad_features(tokenizer, examples, FLAGS.max_seq_length, FLAGS.doc_stride, FLAGS.max_query_length,
                             is_training=is_training)
    if is_training and windows.num_answers_not_found:
        print(f"Skipped {windows.num_answers_not_found} answer(s) not found in their context", flush=True)
    return windows


def training_labels(windows):
    """The span labels of training `SquadFeatures`; the answer mask with --span_loss_positions=context."""
    return windows.training_labels(answer_mask=FLAGS.span_loss_positions == "context")


def answers(model, tokenizer, examples, windows):
    """`model`'s decoded answers to `examples` (a `SquadPredictions`) from their `SquadFeatures` `windows`."""
    from keras_bert_zoo.training.squad_decoding import decode_squad_predictions

    logits = finetuning_flags.predict_outputs(model, windows.model_inputs(), tokenizer, sequence_outputs=SPAN_OUTPUTS)
    return decode_squad_predictions(
        examples, windows, logits["start_logits"], logits["end_logits"], n_best_size=FLAGS.n_best_size,
        max_answer_length=FLAGS.max_answer_length, version_2_with_negative=FLAGS.version_2_with_negative,
        null_score_diff_threshold=FLAGS.null_score_diff_threshold)


def metrics(examples, predictions):
    """Official SQuAD v1.1 exact_match and f1 of `predictions` (the v2.0 breakdown with --version_2_with_negative)."""
    from keras_bert_zoo.data.squad_examples import squad_gold_answers
    from keras_bert_zoo.metrics import squad_v1_metrics, squad_v2_metrics

    score = squad_v2_metrics if FLAGS.version_2_with_negative else squad_v1_metrics
    return score(squad_gold_answers(examples), predictions.answers)
