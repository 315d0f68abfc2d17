"""Input files named by comma-separated glob patterns, as the tools' file flags take them."""

import glob
import os


def expand_globs(patterns):
    """The files matched by a comma-separated list of glob patterns (`~` expanded), sorted, without repeats.

    Args:
        patterns: Comma-separated glob patterns; blank ones are skipped.

    Raises:
        ValueError: A pattern matches no file; the message names every such pattern.
    """
    patterns = [p.strip() for p in (patterns or "").split(",") if p.strip()]
    matches = {pattern: glob.glob(os.path.expanduser(pattern)) for pattern in patterns}
    missing = [pattern for pattern, files in matches.items() if not files]
    if missing:
        raise ValueError(f"no file matches {', '.join(missing)}.")
    return sorted({f for files in matches.values() for f in files})
