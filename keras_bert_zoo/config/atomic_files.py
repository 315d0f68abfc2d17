"""Writing files so that a crash never leaves a half-written one where a good one is expected."""

import json
import os
import tempfile


def write_text_atomic(path, text):
    """Writes `text` (UTF-8) to a temp file beside `path`, then renames it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json_atomic(path, values):
    """Writes `values` as indented JSON via `write_text_atomic`."""
    write_text_atomic(path, json.dumps(values, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
