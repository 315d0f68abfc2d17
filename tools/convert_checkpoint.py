"""Converts a BERT checkpoint between the Hugging Face and google-research/bert layouts.

  python tools/convert_checkpoint.py --init_checkpoint=/tmp/run --output_dir=/tmp/bert_google --output_format=google
  python tools/convert_checkpoint.py --init_checkpoint=bert_base_uncased --output_dir=/tmp/bert_hf

Reads anything `from_pretrained` reads (a Hugging Face or Google directory, a keras-hub preset
directory, a training tool's --model_dir, a preset name) as the task model that saved it, heads
included, and writes it whole to --output_dir (replaced atomically): "hf" is config.json +
model.safetensors + vocab.txt, which transformers loads; "google" is bert_config.json +
bert_model.ckpt.* + vocab.txt with the original variable names.
"""

import os

from absl import flags

import tool_runner
from tool_runner import checkpoint_source, usage_error

flags.DEFINE_string("init_checkpoint", None, "Checkpoint to convert: any from_pretrained source.")
flags.DEFINE_string("model_dir", None, "Or a training tool's --model_dir (its newest checkpoint).")
flags.DEFINE_string("output_dir", None, "Directory to write: new, empty, or a checkpoint directory (replaced whole).")
flags.DEFINE_enum("output_format", "hf", ["hf", "google"], "Layout to write.")
flags.DEFINE_string("vocab_file", None, "vocab.txt to write beside the weights; default: the checkpoint's.")
flags.DEFINE_bool("do_lower_case", None, "Casing of --vocab_file; default: what the checkpoint states.")

FLAGS = flags.FLAGS


def _check_replaceable(output_dir):
    """Stops unless --output_dir is new, empty or an earlier conversion: the tool replaces it whole."""
    if not os.path.isdir(output_dir) or not os.listdir(output_dir):
        return
    if not any(os.path.isfile(os.path.join(output_dir, name)) for name in ("config.json", "bert_config.json")):
        shown = ", ".join(sorted(os.listdir(output_dir))[:3])
        usage_error(f"--output_dir={output_dir} holds other files ({shown}, ...), not a checkpoint; it would be "
                    "replaced whole. Give a new or empty directory.")


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    source_flag, source = checkpoint_source(FLAGS.model_dir, FLAGS.init_checkpoint)
    if not FLAGS.output_dir:
        usage_error("--output_dir is required.")
    if os.path.abspath(FLAGS.output_dir) == os.path.abspath(source):
        usage_error(f"--output_dir={FLAGS.output_dir} is the checkpoint being read.")
    tool_runner.check_output_path("output_dir", FLAGS.output_dir, is_directory=True)
    _check_replaceable(FLAGS.output_dir)
    if FLAGS.vocab_file and not os.path.isfile(FLAGS.vocab_file):
        usage_error(f"--vocab_file={FLAGS.vocab_file} does not exist.")

    import keras_bert_zoo as kbz
    from keras_bert_zoo.models import load_saved_task_model

    try:
        model = load_saved_task_model(source)
    except ValueError as e:
        usage_error(f"--{source_flag}: {e}")
    vocab_source = FLAGS.vocab_file or source
    try:
        tokenizer = kbz.Tokenizer.from_pretrained(vocab_source, lower_case=FLAGS.do_lower_case)
    except (ValueError, OSError) as e:
        usage_error(f"--{'vocab_file' if FLAGS.vocab_file else source_flag}: {e}")
    if tokenizer.vocab_size != model.encoder_config.vocab_size:
        usage_error(f"--{'vocab_file' if FLAGS.vocab_file else source_flag}: {tokenizer.vocab_size} tokens, but "
                    f"the model's vocab_size is {model.encoder_config.vocab_size}.")
    try:
        if FLAGS.output_format == "google":
            model.save_google_checkpoint(FLAGS.output_dir, tokenizer)
        else:
            model.save_pretrained(FLAGS.output_dir, tokenizer)
    except ValueError as e:
        usage_error(f"--output_format={FLAGS.output_format}: {e}")
    print(f"Wrote {type(model).__name__} ({model.task}) from {source} to {FLAGS.output_dir} "
          f"({FLAGS.output_format} layout).", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
