"""Exports a trained model as a SavedModel that TF Serving answers from raw text.

  python tools/export_saved_model.py --model_dir=/tmp/sst2 --task=classifier --export_dir=saved_models/sst2

Writes <export_dir>/<version>/ (next integer version unless --version) with
saved_model.pb, variables/, assets/vocab.txt and assets.extra/tf_serving_warmup_requests,
under a temporary name first; an existing version is never overwritten.
--quantize=int8 stores the Dense kernels as int8 with per-unit scales and computes them with int8
matmuls (activations quantized at run time); signatures, warmup file and models.config are unchanged.
--int8_kernel=onednn computes those int8 matmuls with oneDNN's kernels, faster than float32 on CPUs with
VNNI; this process (which restarts itself with it if the variable is unset) and the server both need
TF_ENABLE_ONEDNN_OPTS=1 (TF Serving: docker run -e TF_ENABLE_ONEDNN_OPTS=1 ...).
Beside models.config it writes batching_parameters.txt, for TF Serving's --enable_batching
--batching_parameters_file; --in_graph_batching puts the same batching into the classifier's graph.
"""

import os

from absl import flags

import tool_runner
from keras_bert_zoo.config import task_registry
from tool_runner import checkpoint_source, usage_error

flags.DEFINE_string("model_dir", None, "A training tool's --model_dir (its newest checkpoint).")
flags.DEFINE_string("init_checkpoint", None, "Or any from_pretrained source (directory or preset).")
flags.DEFINE_enum("task", None, task_registry.aliases(), "Which task model and signatures to export.")
flags.DEFINE_string("export_dir", None, "Model base path, e.g. saved_models/NAME; default saved_models/<task>.")
flags.DEFINE_integer("version", None, "Version number; default: one more than the newest.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab; default: the one beside the checkpoint.")
flags.DEFINE_bool("do_lower_case", None, "Lower-case text; default: what the checkpoint states.")
flags.DEFINE_integer("max_seq_length", 128, "Longest packed sequence (or window) in the serving graph.")
flags.DEFINE_integer("doc_stride", 128, "squad: pieces between context windows.")
flags.DEFINE_integer("max_query_length", 64, "squad: question pieces kept.")
flags.DEFINE_integer("max_answer_length", 30, "squad: longest answer in pieces.")
flags.DEFINE_enum("quantize", "none", ["none", "int8"],
                  "int8: Dense kernels stored as int8 and multiplied in int8 (see kbz.export.quantize_model).")
flags.DEFINE_enum("int8_kernel", "portable", ["portable", "onednn"],
                  "With --quantize=int8, how the int8 matmuls run. portable: standard TF ops, any server, slower "
                  "than float32 on CPU. onednn: oneDNN's u8 x s8 kernels, faster than float32 on CPUs with VNNI; "
                  "needs TF_ENABLE_ONEDNN_OPTS=1 in this process (unset: the tool restarts itself with it) and in the "
                  "server's (TF Serving: docker run -e TF_ENABLE_ONEDNN_OPTS=1), else the export's graph fails "
                  "at run time.")
flags.DEFINE_bool("in_graph_batching", False,
                  "classifier: serving_default batches concurrent requests itself (a BatchFunction op with "
                  "batching_parameters.txt's sizes), which stock TF Serving runs without --enable_batching.")
flags.DEFINE_bool("write_models_config", True,
                  "Also (re)write models.config and batching_parameters.txt (TF Serving's --enable_batching "
                  "--batching_parameters_file) beside the export directory.")
flags.DEFINE_string("serving_base_path", None,
                    "Where the server sees the export root in models.config (/models in the docker image); "
                    "default: its absolute path here.")

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.task:
        usage_error(f"--task is required: one of {', '.join(task_registry.aliases())}.")
    if FLAGS.in_graph_batching and FLAGS.task != "classifier":
        usage_error(f"--in_graph_batching applies to --task=classifier only; --task={FLAGS.task}.")
    source_flag, source = checkpoint_source(FLAGS.model_dir, FLAGS.init_checkpoint)
    if FLAGS.vocab_file and not os.path.isfile(FLAGS.vocab_file):
        usage_error(f"--vocab_file={FLAGS.vocab_file} does not exist.")
    if FLAGS.int8_kernel != "portable" and FLAGS.quantize != "int8":
        usage_error(f"--int8_kernel={FLAGS.int8_kernel} applies to --quantize=int8 only; --quantize={FLAGS.quantize}.")
    if FLAGS.int8_kernel == "onednn":
        tool_runner.restart_with_onednn()
    export_dir = FLAGS.export_dir or os.path.join("saved_models", FLAGS.task)
    tool_runner.check_output_path("export_dir", export_dir, is_directory=True)
    if FLAGS.version is not None and FLAGS.version < 1:
        usage_error(f"--version must be a positive integer, got {FLAGS.version}.")
    if FLAGS.version is not None and os.path.exists(os.path.join(export_dir, str(FLAGS.version))):
        usage_error(f"--version={FLAGS.version}: {export_dir}/{FLAGS.version} exists; versions are never "
                    "overwritten.")

    import keras_bert_zoo as kbz
    from keras_bert_zoo.export import (BatchingParameters, check_quantize_options, export_saved_model,
                                       quantize_model, require_tensorflow_backend, write_batching_parameters,
                                       write_models_config)
    from keras_bert_zoo.models import find_encoder

    try:
        require_tensorflow_backend()
    except RuntimeError as e:
        usage_error(str(e))
    try:
        check_quantize_options(FLAGS.quantize, FLAGS.int8_kernel)
    except RuntimeError as e:
        usage_error(f"--int8_kernel={FLAGS.int8_kernel}: {e}")

    spec = task_registry.get(FLAGS.task)
    try:
        model = spec.model_class.from_pretrained(source, require_head=True)
    except kbz.models.HeadNotInCheckpointError as e:
        usage_error(f"--{source_flag}: {e} Export it with --task={task_registry.get(e.held_task).alias}, or "
                    f"fine-tune it as {FLAGS.task} first.")
    except ValueError as e:
        usage_error(f"--{source_flag}: {e}")
    try:
        tokenizer = kbz.Tokenizer.from_pretrained(FLAGS.vocab_file or source, lower_case=FLAGS.do_lower_case)
    except ValueError as e:
        usage_error(f"--vocab_file: {e}" if FLAGS.vocab_file else f"--{source_flag} has no usable vocab: {e}. "
                    "Pass --vocab_file.")
    vocab_size = find_encoder(model).config.vocab_size
    if tokenizer.vocab_size != vocab_size:
        usage_error(f"--vocab_file: {tokenizer.vocab_size} tokens, but the model's vocab_size is {vocab_size}.")
    options = {}
    if spec.name == "question_answerer":
        options = dict(doc_stride=FLAGS.doc_stride, max_query_length=FLAGS.max_query_length,
                       max_answer_length=FLAGS.max_answer_length)
    quantize_model(model, FLAGS.quantize, FLAGS.int8_kernel)
    try:
        path = export_saved_model(model, tokenizer, export_dir, FLAGS.version, FLAGS.max_seq_length,
                                  in_graph_batching=BatchingParameters() if FLAGS.in_graph_batching else None,
                                  **options)
    except ValueError as e:
        usage_error(str(e))
    kernel = ", onednn kernel" if FLAGS.int8_kernel == "onednn" else ""
    quantized = "" if FLAGS.quantize == "none" else f" ({FLAGS.quantize}{kernel})"
    print(f"Exported {FLAGS.task}{quantized} to {path}", flush=True)
    if FLAGS.write_models_config:
        root = os.path.dirname(os.path.abspath(export_dir))
        names = write_models_config(root, base_path_prefix=FLAGS.serving_base_path)
        print(f"Wrote {os.path.join(root, 'models.config')} ({', '.join(names)})", flush=True)
        print(f"Wrote {write_batching_parameters(root)} (docker run ... --enable_batching "
              "--batching_parameters_file=/models/batching_parameters.txt)", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
