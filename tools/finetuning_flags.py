"""Flags and steps shared by run_classifier, run_ner and run_squad."""

import os

from absl import flags

import tool_runner
from tool_runner import usage_error

import training_flags
from training_flags import FLAGS

flags.DEFINE_string("init_checkpoint", None,
                    "Starting weights: any from_pretrained source (HF, Google or keras-hub directory, "
                    "a save_pretrained or --model_dir directory) or a preset name.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab; default: the one beside --init_checkpoint.")
flags.DEFINE_bool("do_lower_case", None, "Lower-case text; default: what the checkpoint states.")
flags.DEFINE_bool("do_train", False, "Fine-tune on --train_file.")
flags.DEFINE_bool("do_eval", False, "Evaluate on --eval_file and write <model_dir>/eval_results.json.")
flags.DEFINE_bool("do_predict", False, "Predict --predict_file.")
flags.DEFINE_string("train_file", None, "Training data.")
flags.DEFINE_string("eval_file", None, "Evaluation data.")
flags.DEFINE_string("predict_file", None, "Data to predict.")
flags.DEFINE_string("model_dir", None, "Checkpoints, summaries, eval results and predictions.")
flags.DEFINE_integer("max_seq_length", 128, "Longest packed sequence.")
flags.DEFINE_integer("train_batch_size", 32, "Global training batch size.")
flags.DEFINE_integer("eval_batch_size", 64, "Evaluation and prediction batch size.")
flags.DEFINE_float("learning_rate", 5e-5, "Peak learning rate.")
flags.DEFINE_float("num_train_epochs", 3.0, "Passes over the training data.")
flags.DEFINE_float("warmup_proportion", 0.1, "Share of updates spent in linear warmup.")
flags.DEFINE_enum("learning_rate_decay", "linear", ["linear", "none"],
                  "After warmup: decay linearly to zero at the last update, or keep the peak rate (keras-hub's "
                  "constant-rate recipe with --warmup_proportion=0).")
flags.DEFINE_integer("max_train_examples", 0, "Use only the first N training examples (0: all).")
flags.DEFINE_integer("save_checkpoints_steps", 1000, "Updates between checkpoints.")
flags.DEFINE_integer("log_steps", 50, "Updates between progress lines.")
flags.DEFINE_bool("fixed_length", False,
                  "Pad every batch to --max_seq_length instead of its length bucket (forced on TPU).")
flags.DEFINE_bool("length_buckets", True,
                  "Fill each training batch from examples of similar length (least padding); "
                  "--nolength_buckets cuts batches from the shuffled order as HF's Trainer does.")
flags.DEFINE_bool("skip_bad_examples", False, "Skip malformed examples (and report how many) instead of failing.")


def check_finetuning_flags(max_position_embeddings=None):
    """Validates the shared flags before any work; exits 2 naming the culprit.

    Without --do_train, --init_checkpoint defaults to --model_dir when it holds a checkpoint.

    Args:
        max_position_embeddings: The longest --max_seq_length; default: the checkpoint's.
    """
    from keras_bert_zoo.convert import find_training_checkpoint

    training_flags.check_common_flags()
    if not (FLAGS.do_train or FLAGS.do_eval or FLAGS.do_predict):
        usage_error("Nothing to do: pass at least one of --do_train, --do_eval, --do_predict.")
    if not FLAGS.model_dir:
        usage_error("--model_dir is required.")
    tool_runner.check_output_path("model_dir", FLAGS.model_dir, is_directory=True)
    if not FLAGS.init_checkpoint:
        if FLAGS.do_train or not (os.path.isdir(FLAGS.model_dir) and find_training_checkpoint(FLAGS.model_dir)):
            usage_error("--init_checkpoint is required (a checkpoint directory or a preset name)" +
                        ("." if FLAGS.do_train else f", as --model_dir={FLAGS.model_dir} holds no trained model."))
        FLAGS.init_checkpoint = FLAGS.model_dir
    tool_runner.check_checkpoint("init_checkpoint", FLAGS.init_checkpoint)
    max_position_embeddings = max_position_embeddings or checkpoint_max_positions()
    if FLAGS.vocab_file and not os.path.isfile(FLAGS.vocab_file):
        usage_error(f"--vocab_file={FLAGS.vocab_file} does not exist.")
    if not 8 <= FLAGS.max_seq_length <= max_position_embeddings:
        usage_error(f"--max_seq_length={FLAGS.max_seq_length} must be in [8, max_position_embeddings="
                    f"{max_position_embeddings}].")
    tool_runner.require_at_least_one("train_batch_size", "eval_batch_size", "save_checkpoints_steps", "log_steps")
    if FLAGS.num_train_epochs <= 0:
        usage_error(f"--num_train_epochs must be positive, got {FLAGS.num_train_epochs}.")
    if not 0 <= FLAGS.warmup_proportion < 1:
        usage_error(f"--warmup_proportion must be in [0, 1), got {FLAGS.warmup_proportion}.")


def check_data_file(flag_name, required):
    """Checks that --<flag_name> names an existing file when `required`."""
    value = FLAGS[flag_name].value
    if required and not value:
        usage_error(f"--{flag_name} is required with --do_{flag_name.split('_')[0]}.")
    if value and not os.path.isfile(value):
        usage_error(f"--{flag_name}={value} does not exist.")


def checkpoint_config():
    """The encoder config of --init_checkpoint (its family's class), read without loading weights (None if it has
    no config file)."""
    from keras_bert_zoo.config import BertConfig, is_preset
    from keras_bert_zoo.convert.hf_format import read_hf_config

    checkpoint = FLAGS.init_checkpoint or ""
    if is_preset(checkpoint):
        return BertConfig.from_preset(checkpoint)
    directory = checkpoint if os.path.isdir(checkpoint) else os.path.dirname(checkpoint)
    try:
        if os.path.isfile(os.path.join(directory, "config.json")):
            return read_hf_config(directory)[0]
        if os.path.isfile(os.path.join(directory, "bert_config.json")):
            return BertConfig.from_json_file(os.path.join(directory, "bert_config.json"))
    except ValueError as e:
        usage_error(f"--init_checkpoint: {e}")
    return None


def saved_head_config(task, *paths):
    """The head kwargs (label_names, ...) of the model in the first of `paths` that holds one (a model_dir's
    newest checkpoint, or a directory's config.json), without reading weights; {} if that is another task's.

    Args:
        task: The task model's `task` name.
        *paths: Checkpoint paths, in the order a run without training would load them (empty ones skipped).
    """
    from keras_bert_zoo.convert import find_training_checkpoint
    from keras_bert_zoo.convert.hf_format import read_hf_config

    for path in filter(None, paths):
        training = find_training_checkpoint(path) if os.path.exists(path) else None
        if training is not None:
            return training.head_config if training.task == task else {}
        directory = path if os.path.isdir(path) else os.path.dirname(path)
        if os.path.isfile(os.path.join(directory, "config.json")):
            try:
                _, held_task, head_config = read_hf_config(directory)
            except ValueError as e:
                usage_error(f"{path}: {e}")
            return head_config if held_task == task else {}
    return {}


def check_model_dir():
    """`training_flags.check_model_dir` over the fine-tuning data: --train_file and --vocab_file."""
    return training_flags.check_model_dir(
        {name: [FLAGS[name].value] for name in ("train_file", "vocab_file") if FLAGS[name].value})


def checkpoint_max_positions():
    """max_position_embeddings of --init_checkpoint (512 if it has no config file)."""
    config = checkpoint_config()
    return config.max_position_embeddings if config else 512


def load_tokenizer():
    """The tokenizer from --vocab_file, or the checkpoint's."""
    from keras_bert_zoo.text import Tokenizer

    try:
        tokenizer = Tokenizer.from_pretrained(FLAGS.vocab_file or FLAGS.init_checkpoint, lower_case=FLAGS.do_lower_case)
    except ValueError as e:
        usage_error(f"--vocab_file: {e}" if FLAGS.vocab_file else f"--init_checkpoint has no usable vocab: {e}. "
                    "Pass --vocab_file.")
    config = checkpoint_config()
    if config is not None and tokenizer.vocab_size != config.vocab_size:
        usage_error(f"--vocab_file: {tokenizer.vocab_size} tokens, but the checkpoint's vocab_size is "
                    f"{config.vocab_size}; they don't belong together.")
    return tokenizer


def define_pack_sequences(texts):
    """Defines --pack_sequences (on by default) for a tool whose training examples are `texts`."""
    flags.DEFINE_bool("pack_sequences", True,
                      f"Pack the {texts} of each shuffled training batch into as few --max_seq_length rows as hold "
                      "them, each attending only to itself: the same updates as one per row, in random order "
                      "(HF's Trainer's) with little padding. --nopack_sequences batches by --length_buckets; "
                      "--fixed_length (and TPUs) pads one per row.")


def set_tool_defaults(defaults):
    """Makes {flag name: value} this tool's defaults; values given on the command line stay."""
    for name, value in defaults.items():
        FLAGS.set_default(name, value)


def _fixed_length():
    return FLAGS.fixed_length or FLAGS.strategy == "tpu"


def predict_outputs(model, inputs, tokenizer, sequence_outputs=()):
    """`predict`s `model` on tokenized examples with --eval_batch_size and --max_seq_length.

    Args:
        model: A task model.
        inputs: Dict of the three int32 [N, T] encoder inputs.
        tokenizer: Their tokenizer (its [PAD] id pads batches).
        sequence_outputs: Names of the outputs with a time axis.

    Returns:
        Dict of NumPy arrays [N, ...], per-token ones padded to --max_seq_length.
    """
    from keras_bert_zoo.training.finetuning import predict

    return predict(model, inputs, FLAGS.eval_batch_size, FLAGS.max_seq_length, sequence_outputs=sequence_outputs,
                   fixed_length=_fixed_length(), pad_id=tokenizer.pad_id)


def finetuning_settings():
    from keras_bert_zoo.training.finetuning import FinetuningSettings

    return FinetuningSettings(
        model_dir=FLAGS.model_dir,
        train_batch_size=FLAGS.train_batch_size,
        learning_rate=FLAGS.learning_rate,
        num_train_epochs=FLAGS.num_train_epochs,
        warmup_proportion=FLAGS.warmup_proportion,
        optimizer=FLAGS.optimizer,
        optimizer_semantics=FLAGS.optimizer_semantics,
        adam_epsilon=FLAGS.adam_epsilon,
        weight_decay=FLAGS.weight_decay,
        learning_rate_decay=FLAGS.learning_rate_decay,
        max_seq_length=FLAGS.max_seq_length,
        fixed_length=_fixed_length(),
        length_buckets=FLAGS.length_buckets,
        # Only the tools that define it (define_pack_sequences) pack.
        pack_sequences="pack_sequences" in FLAGS and FLAGS.pack_sequences,
        steps_per_execution=FLAGS.steps_per_execution,
        jit_compile=FLAGS.jit_compile,
        save_checkpoints_steps=FLAGS.save_checkpoints_steps,
        log_steps=FLAGS.log_steps,
        seed=FLAGS.seed,
        mixed_float16=FLAGS.mixed_precision == "mixed_float16",
        nan_policy=FLAGS.nan_policy,
    )


def write_eval_results(metrics):
    """Writes <model_dir>/eval_results.json atomically and prints the metrics."""
    from keras_bert_zoo.files import write_json_atomic

    os.makedirs(FLAGS.model_dir, exist_ok=True)
    path = os.path.join(FLAGS.model_dir, "eval_results.json")
    write_json_atomic(path, metrics)
    print("Eval results: " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in metrics.items()), flush=True)
    print(f"Wrote {path}", flush=True)
