"""What a model_dir's training run is made of, so that a rerun resumes only the run it belongs to."""

import glob
import hashlib
import json
import os
import shutil

from keras_bert_zoo.convert import find_training_checkpoint
from keras_bert_zoo.files import write_json_atomic

RUN_FILE = "training_run.json"
# What training and evaluation write into a model_dir; --overwrite_model_dir deletes these. config.json and the
# vocab stay: the new run rewrites them.
_RUN_OUTPUTS = ("checkpoint", "ckpt-*", "train", ".worker-*", "eval_results.json", "predictions.*",
                "*predictions.json", "null_odds.json", "predict_null_odds.json", RUN_FILE)


class ModelDirConflictError(ValueError):
    """The model_dir holds checkpoints of a run made of other data or other settings."""


def file_fingerprint(path):
    """The SHA-256 of the file's content, hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class TrainingRun:
    """A training run's data files (by content fingerprint) and the settings that change what it trains.

    Written to `<model_dir>/training_run.json` when training starts, and again
    with the final step and metrics when it ends. A rerun into the same
    model_dir compares itself with it first (`check`): the same run resumes
    (preemption) or, finished, trains nothing; another run is refused unless
    the model_dir is to be overwritten.

    Args:
        model_dir: The run's model_dir.
        data_files: Name (the tool's flag) -> the files it reads; their paths
            may change between runs, their content may not.
        settings: Name -> JSON-able value of everything else that changes
            training (learning rate, epochs, seed, starting checkpoint, ...).
        defaults: Name -> the default of a setting; a record written before
            that setting existed holds its default.
    """

    def __init__(self, model_dir, data_files, settings, defaults=None):
        self.model_dir = model_dir
        self.data = {name: [{"file": os.path.abspath(path), "sha256": file_fingerprint(path)} for path in paths]
                     for name, paths in sorted(data_files.items()) if paths}
        # The JSON round trip makes the values compare as they will when read back (tuples as lists, ...).
        self.settings = json.loads(json.dumps(dict(sorted(settings.items()))))
        self.defaults = json.loads(json.dumps(defaults or {}))
        self.status = None
        self.recorded = None

    @property
    def _path(self):
        return os.path.join(self.model_dir, RUN_FILE)

    def check(self, overwrite=False):
        """Compares this run with what the model_dir holds, changing nothing.

        Args:
            overwrite: Whether the model_dir's checkpoints of another run may
                be deleted (by `begin`) to start this one afresh.

        Returns:
            "new" (no checkpoint yet), "resume" (checkpoints of this run,
            unfinished, or of a model_dir without a record, written before
            records existed), "finished" (this run ended; see
            `finished_metrics`) or "overwrite".

        Raises:
            ModelDirConflictError: Checkpoints of another run are there and
                `overwrite` is off; the message names every difference.
        """
        checkpoint = find_training_checkpoint(self.model_dir) if os.path.isdir(self.model_dir) else None
        if checkpoint is None:
            self.status = "new"
        elif overwrite:
            self.status = "overwrite"
        elif self._read_record() is None:
            self.status = "resume"
        else:
            differences = self.differences(self.recorded)
            if differences:
                raise ModelDirConflictError(
                    f"{self.model_dir} holds checkpoints (newest {os.path.basename(checkpoint.prefix)}) of a run "
                    "made of other data or settings:\n" + "".join(f"  {line}\n" for line in differences)
                    + "Nothing was changed there. Train into a new --model_dir, or pass --overwrite_model_dir to "
                    "delete its checkpoints and start over.")
            self.status = "finished" if self.recorded.get("finished") else "resume"
        return self.status

    @property
    def finished_metrics(self):
        """The final step and metrics of the finished run the model_dir holds (after `check`), else None."""
        return (self.recorded or {}).get("finished")

    def differences(self, recorded):
        """Lines naming each data file and setting in which the `recorded` run (a read record) differs."""
        lines = []
        for name in sorted(set(self.data) | set(recorded.get("data", {}))):
            was, now = recorded.get("data", {}).get(name, []), self.data.get(name, [])
            if [f["sha256"] for f in was] != [f["sha256"] for f in now]:
                lines.append(f"--{name}: was {_describe_files(was)}, now {_describe_files(now)}")
        recorded_settings = dict(self.defaults, **recorded.get("settings", {}))
        for name in sorted(set(self.settings) | set(recorded_settings)):
            was, now = recorded_settings.get(name), self.settings.get(name)
            if was != now:
                lines.append(f"--{name}: was {was}, now {now}")
        return lines

    def begin(self):
        """Before training (on the chief): deletes the old run's outputs if overwriting, and records this run.

        Raises:
            ModelDirConflictError: `check` had not been called, and finds another run.
        """
        if self.status is None:
            self.check()
        if self.status == "overwrite":
            for pattern in _RUN_OUTPUTS:
                for path in glob.glob(os.path.join(glob.escape(self.model_dir), pattern)):
                    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            print(f"Deleted the checkpoints and results of the earlier run in {self.model_dir} "
                  "(--overwrite_model_dir)", flush=True)
        if self.status != "finished":
            self._write(finished=None)

    def finish(self, step, metrics):
        """After training (on the chief): records the final step and the last logged metrics."""
        self._write(finished={"step": int(step), "metrics": {k: float(v) for k, v in metrics.items()}})

    def _write(self, finished):
        os.makedirs(self.model_dir, exist_ok=True)
        write_json_atomic(self._path, {"data": self.data, "settings": self.settings, "finished": finished})

    def _read_record(self):
        """Reads the model_dir's record into `recorded` (None if it has none)."""
        self.recorded = None
        if not os.path.isfile(self._path):
            return None
        try:
            with open(self._path, encoding="utf-8") as f:
                self.recorded = json.load(f)
                return self.recorded
        except ValueError as e:
            raise ModelDirConflictError(f"{self._path} is not valid JSON ({e}); move it away, or pass "
                                        "--overwrite_model_dir to start over.") from e


def _describe_files(files):
    if not files:
        return "none"
    if len(files) == 1:
        return f"{files[0]['file']} (sha256 {files[0]['sha256'][:12]})"
    return f"{len(files)} files ({files[0]['file']}, ...)"
