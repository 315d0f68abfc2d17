"""Checks that an output path can be written, made before any work so a run never fails at its end."""

import os


def _nearest_existing(path):
    """`path` or its nearest ancestor that exists."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def check_output_dir(path):
    """Checks that `path` is, or can be made as, a writable directory (missing parents are made too).

    Raises:
        ValueError: `path` or an ancestor is a file, or the place is not writable.
    """
    existing = _nearest_existing(path)
    if not os.path.isdir(existing):
        what = "is a file" if existing == os.path.abspath(path) else f"lies under the file {existing}"
        raise ValueError(f"{path} {what}, not a directory.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: {existing} is not writable.")


def check_output_file(path):
    """Checks that `path` can be written as a file: its directory exists and is writable, and it is no directory.

    Raises:
        ValueError: The message says what is wrong with `path`.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory, not a file.")
    if not os.path.isdir(directory):
        raise ValueError(f"{path}: the directory {directory} does not exist.")
    if not os.access(directory, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"{path} is not writable.")
