"""Batch predictions from a file, through an exported SavedModel or a running TF Serving.

  python tools/predict.py --saved_model=saved_models/sst2 --input_file=dev.csv --output_file=out.jsonl
  python tools/predict.py --saved_model=saved_models/mnli --signature=serve_pair --input_file=dev.tsv \\
      --text_column=premise --text_b_column=hypothesis
  python tools/predict.py --server_url=http://localhost:8501/v1/models/sst2:predict --input_file=in.jsonl

Input, by the file's extension: .tsv and .csv as run_classifier reads them (a header row,
--text_column and --text_b_column by header name or 0-based index, other columns ignored);
.jsonl/.json/.ndjson objects keyed by the signature's input names (or by --text_column);
any other file plain text, one text per line. One line says how the file was read: on stderr
when the predictions go to stdout (which stays pure JSONL), else on stdout.
Output: JSONL, each example's inputs plus the signature's outputs.
"""

import os
import sys

from absl import flags

import tool_runner
from tool_runner import usage_error


flags.DEFINE_string("saved_model", None, "SavedModel version directory, or a model base path (newest version).")
flags.DEFINE_string("server_url", None, "TF Serving REST predict URL instead of --saved_model.")
flags.DEFINE_string("signature", "serving_default", "Signature to call.")
flags.DEFINE_list("input_names", None, "Input names for --server_url (default: text).")
flags.DEFINE_string("input_file", None, "Inputs, by extension: .tsv or .csv with a header row, .jsonl objects, "
                    "or any other: plain text, one text per line.")
flags.DEFINE_string("text_column", None, "TSV/CSV column (header name or 0-based index) of the text; default: "
                    "sentence. In JSONL, the key of the text (default: objects keyed by the input names).")
flags.DEFINE_string("text_b_column", None, "Column (or JSONL key) of the second text of pairs, for a two-input "
                    "signature: --text_column feeds the input whose name sorts first, --text_b_column the other "
                    "(--signature=serve_pair: text_a, text_b; a squad export: context, question).")
flags.DEFINE_string("output_file", None, "JSONL predictions; default: stdout.")
flags.DEFINE_integer("batch_size", 32, "Examples per request.")
flags.DEFINE_float("timeout", 30.0, "Seconds to wait for each REST response.")

FLAGS = flags.FLAGS


def _predictor():
    """The SavedModel's or server's predictor and its input names; exits 2 if it can't be set up."""
    try:
        if FLAGS.saved_model:
            from keras_bert_zoo.export.saved_model_predictor import SavedModelPredictor

            predictor = SavedModelPredictor(FLAGS.saved_model, FLAGS.signature)
            return predictor, predictor.input_names
        from keras_bert_zoo.export.rest_predictor import RestPredictor

        return RestPredictor(FLAGS.server_url, FLAGS.signature, FLAGS.timeout), FLAGS.input_names or ["text"]
    except ValueError as e:
        usage_error(f"--{'saved_model' if FLAGS.saved_model else 'server_url'}: {e}")


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    if bool(FLAGS.saved_model) == bool(FLAGS.server_url):
        usage_error("Give exactly one of --saved_model or --server_url.")
    if not FLAGS.input_file or not os.path.isfile(FLAGS.input_file):
        usage_error(f"--input_file={FLAGS.input_file} does not exist.")
    if FLAGS.batch_size < 1 or FLAGS.timeout <= 0:
        usage_error("--batch_size and --timeout must be positive.")
    if FLAGS.output_file:
        tool_runner.check_output_path("output_file", FLAGS.output_file, is_directory=False)
    from keras_bert_zoo.export.prediction_records import prediction_lines, read_prediction_inputs
    from keras_bert_zoo.files import write_text_atomic

    predictor, input_names = _predictor()
    try:
        inputs = read_prediction_inputs(FLAGS.input_file, input_names, FLAGS.text_column, FLAGS.text_b_column)
    except ValueError as e:
        usage_error(f"--input_file: {e}")
    # Predictions on stdout must stay pure JSONL.
    print(inputs.summary, file=sys.stdout if FLAGS.output_file else sys.stderr, flush=True)
    examples = inputs.examples
    lines = []
    for start in range(0, len(examples), FLAGS.batch_size):
        batch = examples[start:start + FLAGS.batch_size]
        try:
            outputs = predictor.predict({name: [e[name] for e in batch] for name in input_names})
        except (RuntimeError, ValueError) as e:
            raise SystemExit(f"Prediction failed at example {start + 1} of {FLAGS.input_file}: {e}")
        lines.append(prediction_lines(batch, outputs))
    if FLAGS.output_file:
        write_text_atomic(FLAGS.output_file, "".join(lines))
        print(f"Wrote {len(examples)} predictions to {FLAGS.output_file}", flush=True)
    else:
        print("".join(lines), end="")


if __name__ == "__main__":
    tool_runner.run(main)
