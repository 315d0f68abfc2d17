"""What every tool shares: running main with clean errors, usage errors with exit code 2, flag and file checks."""

import logging
import os
import sys
import tempfile

from absl import app, flags
from absl import logging as absl_logging

# TensorFlow reads its C++ log level once, when it loads, and the training tools' flag modules load
# it before absl parses flags: so this flag is read straight from the command line.
_SHOW_TENSORFLOW_LOGS = "show_tensorflow_logs"
flags.DEFINE_bool(_SHOW_TENSORFLOW_LOGS, False, "Show TensorFlow's start-up and C++ log lines (hidden by "
                  "default, so the first lines are the tool's own). Read from the command line, not --flagfile.")


def _tensorflow_logs_shown():
    return any(arg in (f"--{_SHOW_TENSORFLOW_LOGS}", f"--{_SHOW_TENSORFLOW_LOGS}=true", f"--{_SHOW_TENSORFLOW_LOGS}=1")
               for arg in sys.argv[1:])


def use_repository_benchmarks():
    """Puts the repository root on sys.path, for `benchmarks`: it sits beside tools/, outside the installed wheel."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)


def restart_with_onednn():
    """Restarts this tool with TF_ENABLE_ONEDNN_OPTS=1 in its environment, unless the variable is set.

    TensorFlow reads it once, as it loads, so oneDNN's int8 kernel (off by default on AMD CPUs) can
    only be turned on by starting again. A variable the user set, even to 0, is left as it is.
    """
    if "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"})


def import_tensorflow_quietly():
    """Imports TensorFlow with its start-up log lines hidden, unless --show_tensorflow_logs.

    Its C++ logging (TF_CPP_MIN_LOG_LEVEL) is set to errors only and its Python logger
    to errors; what it writes to stderr while loading (CUDA probes, CPU feature notes)
    is shown only if the import fails.
    """
    if "tensorflow" in sys.modules or _tensorflow_logs_shown():
        import tensorflow  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
        except BaseException:
            os.dup2(saved_stderr, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)


def usage_error(message):
    """Stops the tool with exit code 2 and `message` (no traceback)."""
    raise app.UsageError(message, exitcode=2)


def _exit_with_usage_error(message, exitcode=2):
    """Prints `message` and where the flags are documented (not the whole help), and exits."""
    sys.stdout.flush()
    sys.stderr.write(f"{message}\nPass --helpfull to see every flag.\n")
    sys.exit(exitcode)


def require_at_least_one(*flag_names):
    """Stops with exit code 2 if any of the integer flags `flag_names` is below 1."""
    for name in flag_names:
        value = flags.FLAGS[name].value
        if value < 1:
            usage_error(f"--{name}={value}: must be at least 1.")


def check_checkpoint(flag_name, path):
    """Stops unless --<flag_name>=`path` is an existing path, a checkpoint prefix or a preset name."""
    from keras_bert_zoo.config import unknown_preset_hint
    from keras_bert_zoo.convert import checkpoint_exists

    if not checkpoint_exists(path):
        usage_error(f"--{flag_name}={path} does not exist and is not a preset name; {unknown_preset_hint(path)}")


def checkpoint_source(model_dir, init_checkpoint):
    """(flag name, path) of the one of --model_dir and --init_checkpoint that is given, checked to exist."""
    if bool(model_dir) == bool(init_checkpoint):
        usage_error("Give exactly one of --model_dir or --init_checkpoint.")
    flag_name = "model_dir" if model_dir else "init_checkpoint"
    check_checkpoint(flag_name, model_dir or init_checkpoint)
    return flag_name, model_dir or init_checkpoint


def check_output_path(flag_name, path, is_directory):
    """Stops unless --<flag_name>=`path` is, or can be made as, a writable directory (`is_directory`), or else can
    be written as a file (its directory exists and is writable)."""
    from keras_bert_zoo import files

    try:
        (files.check_output_dir if is_directory else files.check_output_file)(path)
    except ValueError as e:
        usage_error(f"--{flag_name}={e}")


def expand_files(flag_name, value):
    """Files matched by a comma-separated list of globs; an error names the flag if none match."""
    from keras_bert_zoo.files import expand_globs

    try:
        return expand_globs(value)
    except ValueError as e:
        usage_error(f"--{flag_name}: {e}")


def _parse_flags(argv):
    """absl's parser, but a bad flag value exits 2 (absl's own exit code is 1)."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        _exit_with_usage_error(str(e))


def run(main):
    """`app.run(main)`: flag errors exit 2, and a failed training run (NaN loss, unreadable
    checkpoints) ends with its message instead of a traceback."""

    def main_with_clean_errors(argv):
        try:
            return main(argv)
        except app.UsageError as e:  # absl would print the whole help text above the message.
            _exit_with_usage_error(str(e), e.exitcode)
        except Exception as e:  # Only the known training failures are turned into messages.
            trainer = sys.modules.get("keras_bert_zoo.training.trainer")  # not imported: not a training failure
            if trainer and isinstance(e, (trainer.NonFiniteLossError, trainer.UnreadableCheckpointsError)):
                raise SystemExit(f"Training stopped: {e}") from None
            raise

    # Python warnings (the library's among them) as "WARNING: message", not in absl's log format, which reads like
    # TensorFlow's C++ lines.
    absl_logging.get_absl_handler().setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    app.run(main_with_clean_errors, flags_parser=_parse_flags)


# A tool imports this module first: TensorFlow must load quietly before the tool's own imports load it
# loudly. JAX-backend tools run without TensorFlow.
if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    import_tensorflow_quietly()
