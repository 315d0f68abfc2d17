"""Batch predictions from a file, through an exported SavedModel or a running TF Serving.

  python tools/predict.py --saved_model=saved_models/sst2 --input_file=texts.txt --output_file=out.jsonl
  python tools/predict.py --server_url=http://localhost:8501/v1/models/sst2:predict --input_file=in.jsonl

Input: JSONL objects keyed by the signature's input names, or (single-input
signatures) plain text, one input per line. Output: JSONL, inputs plus outputs.
"""

import os

from absl import flags

import tool_runner
from tool_runner import usage_error


flags.DEFINE_string("saved_model", None, "SavedModel version directory, or a model base path (newest version).")
flags.DEFINE_string("server_url", None, "TF Serving REST predict URL instead of --saved_model.")
flags.DEFINE_string("signature", "serving_default", "Signature to call.")
flags.DEFINE_list("input_names", None, "Input names for --server_url (default: text).")
flags.DEFINE_string("input_file", None, "Inputs: .jsonl objects, or text lines.")
flags.DEFINE_string("output_file", None, "JSONL predictions; default: stdout.")
flags.DEFINE_integer("batch_size", 32, "Examples per request.")
flags.DEFINE_float("timeout", 30.0, "Seconds to wait for each REST response.")

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    if bool(FLAGS.saved_model) == bool(FLAGS.server_url):
        usage_error("Give exactly one of --saved_model or --server_url.")
    if not FLAGS.input_file or not os.path.isfile(FLAGS.input_file):
        usage_error(f"--input_file={FLAGS.input_file} does not exist.")
    if FLAGS.batch_size < 1 or FLAGS.timeout <= 0:
        usage_error("--batch_size and --timeout must be positive.")
    from keras_bert_zoo.export.prediction_records import prediction_lines, read_prediction_inputs
    from keras_bert_zoo.files import write_text_atomic

    try:
        if FLAGS.saved_model:
            from keras_bert_zoo.export.saved_model_predictor import SavedModelPredictor

            predictor = SavedModelPredictor(FLAGS.saved_model, FLAGS.signature)
            input_names = predictor.input_names
        else:
            from keras_bert_zoo.export.rest_predictor import RestPredictor

            predictor = RestPredictor(FLAGS.server_url, FLAGS.signature, FLAGS.timeout)
            input_names = FLAGS.input_names or ["text"]
        examples = read_prediction_inputs(FLAGS.input_file, input_names)
    except ValueError as e:
        usage_error(f"--{'saved_model' if FLAGS.saved_model else 'server_url'}/--input_file: {e}")
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
