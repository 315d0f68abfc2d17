"""Writing files so that a crash never leaves a half-written one where a good one is expected.

Temporary names come from `tempfile`, which creates files 0600 and directories
0700 whatever the umask. Everything here resets them to the modes an ordinary
`open` or `mkdir` would give (0666 / 0777 less the umask), so a server running as
another user (TF Serving in Kubernetes, a systemd service) can read the outputs.
"""

import json
import os
import shutil
import tempfile
import threading

_UMASK_LOCK = threading.Lock()


def current_umask():
    """The process umask (read by setting it and putting it back)."""
    with _UMASK_LOCK:
        umask = os.umask(0o077)
        os.umask(umask)
    return umask


def make_staging_dir(parent, prefix):
    """A new, uniquely named directory in `parent`, with the umask's mode, to rename into place later."""
    staging = tempfile.mkdtemp(dir=parent, prefix=prefix)
    os.chmod(staging, 0o777 & ~current_umask())
    return staging


def write_bytes_atomic(path, data):
    """Writes `data` to a temp file beside `path`, then renames it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.tmp-")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_text_atomic(path, text):
    """Writes `text` (UTF-8) via `write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, values):
    """Writes `values` as indented JSON via `write_text_atomic`."""
    write_text_atomic(path, json.dumps(values, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_directory_atomically(directory, write):
    """Calls `write(staging)` on a fresh sibling directory, then renames it to `directory`, replacing an old one whole.

    A failure in `write` leaves `directory` as it was and no staging directory behind.
    """
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    staging = make_staging_dir(parent, prefix=f".{os.path.basename(directory)}.tmp-")
    try:
        write(staging)
        _replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _replace_directory(staging, directory):
    """Renames `staging` to `directory`, moving an old `directory` out of the way first."""
    if not os.path.exists(directory):
        os.replace(staging, directory)
        return
    retired = tempfile.mkdtemp(dir=os.path.dirname(directory), prefix=f".{os.path.basename(directory)}.old-")
    os.rmdir(retired)
    os.replace(directory, retired)
    os.replace(staging, directory)
    shutil.rmtree(retired, ignore_errors=True)
