"""Flags and set-up shared by every training tool: distribution, precision, determinism."""

import os

from absl import flags, logging

import tool_runner  # First: TensorFlow loads quietly before the library below loads it.
from tool_runner import usage_error

from keras_bert_zoo.config import PRECISIONS
from keras_bert_zoo.training.distribution import STRATEGIES
from keras_bert_zoo.training.fused_adamw import ADAM_SEMANTICS

flags.DEFINE_enum("strategy", "one_device", list(STRATEGIES), "tf.distribute strategy.")
flags.DEFINE_string("tpu", None, "TPU name or grpc:// address for --strategy=tpu; 'local' on a TPU VM.")
flags.DEFINE_enum("mixed_precision", "float32", list(PRECISIONS), "Compute precision policy.")
flags.DEFINE_integer("steps_per_execution", 1, "Training steps per tf.function call.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the training step.")
flags.DEFINE_integer("seed", 12345, "Seed of initialization, shuffling, masking and dropout.")
flags.DEFINE_bool("deterministic", False, "TF op determinism: same flags, same bytes.")
flags.DEFINE_enum("nan_policy", "stop", ["stop", "skip_step"],
                  "On a NaN/Inf loss: stop (naming the step, keeping the last good checkpoint), or skip the update.")
flags.DEFINE_integer("collective_timeout", 600,
                     "multi_worker_mirrored: seconds a collective may wait for other workers before the job "
                     "fails (a dead worker ends the job instead of hanging it).")
flags.DEFINE_enum("optimizer", "adamw", ["adamw", "lamb"], "Optimizer.")
flags.DEFINE_enum(
    "optimizer_semantics", "torch", list(ADAM_SEMANTICS),
    "Whose AdamW update and schedule to follow: torch (torch.optim.AdamW + HF's linear schedule: bias "
    "correction, epsilon after it, decay from the end of warmup), google (google-research/bert's "
    "AdamWeightDecayOptimizer: no bias correction, decay counted from step 0) or keras "
    "(keras.optimizers.AdamW: epsilon before the bias correction, google's schedule). Each tool defaults "
    "to the one that measured best on its held-out data. The README's optimizer table has the formulas.")
flags.DEFINE_float("adam_epsilon", None, "Adam's epsilon; default: the semantics' own (torch 1e-8, "
                   "google 1e-6, keras 1e-6).")
flags.DEFINE_float("weight_decay", 0.01, "Decoupled weight decay (not on LayerNorm or biases).")
flags.DEFINE_integer("cpu_devices", 0, "Split the CPU into this many logical devices (mirrored on CPU).")
flags.DEFINE_bool("overwrite_model_dir", False,
                  "Delete the checkpoints and results in --model_dir of a run made of other data or flags, and "
                  "train afresh. Without it such a rerun stops before any work; a rerun of the same run resumes.")

FLAGS = flags.FLAGS

# The tools' file flags: a run is made of their files' content, wherever the files lie.
DATA_FILE_FLAGS = ("train_file", "input_file", "text_file", "unlabeled_file", "vocab_file", "bert_config_file",
                   "student_config_file")
# Flags that don't change what a run trains: where and how fast it runs, what it logs, what it evaluates.
_NOT_TRAINING_FLAGS = frozenset({
    "model_dir", "overwrite_model_dir", "show_tensorflow_logs", "do_train", "do_eval", "do_predict", "eval_file",
    "predict_file", "eval_batch_size", "log_steps", "save_checkpoints_steps", "steps_per_execution", "jit_compile",
    "fixed_length", "strategy", "tpu", "cpu_devices", "collective_timeout", "deterministic", "nan_policy",
    "tfds_data_dir", "tfds_eval_split", "tfds_predict_split", "n_best_size", "max_answer_length",
    "null_score_diff_threshold"})
_TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))


def check_common_flags():
    if FLAGS.steps_per_execution < 1:
        usage_error(f"--steps_per_execution must be >= 1, got {FLAGS.steps_per_execution}.")
    if FLAGS.adam_epsilon is not None and FLAGS.adam_epsilon <= 0:
        usage_error(f"--adam_epsilon must be positive, got {FLAGS.adam_epsilon}.")
    if FLAGS.weight_decay < 0:
        usage_error(f"--weight_decay must be >= 0, got {FLAGS.weight_decay}.")
    if FLAGS.strategy == "tpu" and not FLAGS.tpu:
        usage_error("--tpu is required with --strategy=tpu (a TPU name, or 'local' on a TPU VM).")


def set_up_strategy():
    """Creates the strategy first (multi-worker requires that), then precision and seeds."""
    from keras_bert_zoo.training.distribution import configure_numerics, create_strategy, split_cpu_devices

    if FLAGS.verbosity == logging.INFO:
        logging.set_verbosity(logging.WARNING)  # TF's INFO lines would drown the progress output.
    if FLAGS.cpu_devices > 1:
        split_cpu_devices(FLAGS.cpu_devices)
    strategy = create_strategy(FLAGS.strategy, FLAGS.tpu, collective_timeout=FLAGS.collective_timeout)
    configure_numerics(FLAGS.mixed_precision, FLAGS.seed, FLAGS.deterministic)
    return strategy


def _training_flags():
    """This tool's flags that change what it trains."""
    for module, module_flags in FLAGS.flags_by_module_dict().items():
        if not os.path.isfile(os.path.join(_TOOLS_DIR, os.path.basename(module).removesuffix(".py") + ".py")):
            continue  # absl's and TensorFlow's own flags
        yield from (flag for flag in module_flags
                    if flag.name not in _NOT_TRAINING_FLAGS and flag.name not in DATA_FILE_FLAGS)


def check_model_dir(data_files):
    """Compares this run with the one --model_dir holds, before any work; exits 2 if they differ.

    Args:
        data_files: {file flag (one of DATA_FILE_FLAGS): the files it names};
            a directory (a tokenizer's) stands for the files in it.

    Returns:
        The run's `TrainingRun`, for the trainer to record; `status` says whether it is
        new, resumes, had finished or overwrites (--overwrite_model_dir).
    """
    from keras_bert_zoo.training import ModelDirConflictError, TrainingRun

    tool_runner.check_output_path("model_dir", FLAGS.model_dir, is_directory=True)
    training = list(_training_flags())
    data_files = {name: [file for path in paths for file in _files_of(path)] for name, paths in data_files.items()}
    run = TrainingRun(FLAGS.model_dir, data_files, {flag.name: flag.value for flag in training},
                      {flag.name: flag.default for flag in training})
    try:
        status = run.check(FLAGS.overwrite_model_dir)
    except ModelDirConflictError as e:
        usage_error(f"--model_dir={e}")
    if status == "finished":
        print(f"--model_dir={FLAGS.model_dir} holds this run, finished at step {run.finished_metrics['step']}: "
              "nothing to train", flush=True)
    return run


def _files_of(path):
    """[path] for a file; the files directly in a directory, sorted."""
    if os.path.isdir(path):
        return sorted(entry.path for entry in os.scandir(path) if entry.is_file())
    return [path]
