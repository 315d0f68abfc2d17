"""What every tool shares: running main with clean errors, usage errors with exit code 2, file globs."""

import glob
import os
import sys

from absl import app, flags


def usage_error(message):
    """Stops the tool with exit code 2 and `message` (no traceback)."""
    raise app.UsageError(message, exitcode=2)


def expand_files(flag_name, value):
    """Files matched by a comma-separated list of globs; an error names the flag if none match."""
    patterns = [p for p in (value or "").split(",") if p.strip()]
    files = sorted({f for p in patterns for f in glob.glob(os.path.expanduser(p.strip()))})
    missing = [p for p in patterns if not glob.glob(os.path.expanduser(p.strip()))]
    if missing:
        usage_error(f"--{flag_name}: no file matches {', '.join(missing)}.")
    return files


def _parse_flags(argv):
    """absl's parser, but a bad flag value exits 2 (absl's own exit code is 1)."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        sys.stderr.write(f"{e}\nPass --helpfull to see every flag.\n")
        sys.exit(2)


def run(main):
    """`app.run(main)`: flag errors exit 2, and a failed training run (NaN loss, unreadable
    checkpoints) ends with its message instead of a traceback."""

    def main_with_clean_errors(argv):
        try:
            return main(argv)
        except Exception as e:  # Only the known training failures are turned into messages.
            trainer = sys.modules.get("keras_bert_zoo.training.trainer")  # not imported: not a training failure
            if trainer and isinstance(e, (trainer.NonFiniteLossError, trainer.UnreadableCheckpointsError)):
                raise SystemExit(f"Training stopped: {e}") from None
            raise

    app.run(main_with_clean_errors, flags_parser=_parse_flags)
