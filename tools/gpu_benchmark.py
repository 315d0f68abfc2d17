"""BERT pretraining-step speed on the JAX backend: ours against keras-hub's BertMaskedLM, with MFU.

  KERAS_BACKEND=jax python tools/gpu_benchmark.py --presets=bert_base_uncased,bert_large_uncased

Needs only JAX, Keras, keras-hub and this package. Prints one JSON line per preset
(seq/s, achieved TFLOP/s and MFU against a bf16 matmul measured in the same run).
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

from absl import flags  # noqa: E402

import tool_runner  # noqa: E402
from tool_runner import usage_error  # noqa: E402

tool_runner.use_repository_benchmarks()

flags.DEFINE_list("presets", ["bert_base_uncased", "bert_large_uncased"], "Model shapes to measure.")
flags.DEFINE_integer("batch_size", 256, "Sequences per step.")
flags.DEFINE_integer("seq_length", 128, "Tokens per sequence.")
flags.DEFINE_integer("predictions", 20, "Masked positions per sequence.")
flags.DEFINE_integer("steps", 20, "Timed steps per model.")
flags.DEFINE_string("precision", "mixed_bfloat16", "Keras dtype policy.")
flags.DEFINE_integer("matmul_size", 8192, "Side of the bf16 matmul whose TFLOP/s MFU is measured against.")
flags.DEFINE_string("output", None, "Also write the results (JSON lines) here.")

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    from keras_bert_zoo.config import PRECISIONS, list_presets

    unknown = [p for p in FLAGS.presets if p not in list_presets()]
    if unknown:
        usage_error(f"--presets: unknown {', '.join(unknown)}; choose from {', '.join(list_presets())}.")
    if FLAGS.precision not in PRECISIONS:
        usage_error(f"--precision={FLAGS.precision}: choose from {', '.join(PRECISIONS)}.")
    tool_runner.require_at_least_one("batch_size", "seq_length", "predictions", "steps", "matmul_size")
    if FLAGS.predictions >= FLAGS.seq_length:
        usage_error(f"--predictions={FLAGS.predictions} must be less than --seq_length={FLAGS.seq_length}.")
    from benchmarks.jax_training_benchmark import measure

    lines = []
    for preset in FLAGS.presets:
        result = measure(preset, FLAGS.batch_size, FLAGS.seq_length, FLAGS.predictions, FLAGS.steps,
                         FLAGS.precision, FLAGS.matmul_size)
        lines.append(json.dumps(result))
        print(lines[-1], flush=True)
    if FLAGS.output:
        from keras_bert_zoo.files import write_text_atomic

        write_text_atomic(FLAGS.output, "\n".join(lines) + "\n")


if __name__ == "__main__":
    tool_runner.run(main)
