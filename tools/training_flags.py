"""Flags and set-up shared by every training tool: distribution, precision, determinism."""

from absl import flags, logging

import tool_runner
from tool_runner import usage_error

tool_runner.import_tensorflow_quietly()  # Before the library below loads it with its log lines.

from keras_bert_zoo.config import PRECISIONS  # noqa: E402
from keras_bert_zoo.training.distribution import STRATEGIES  # noqa: E402
from keras_bert_zoo.training.fused_adamw import ADAM_SEMANTICS  # noqa: E402

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

FLAGS = flags.FLAGS


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

