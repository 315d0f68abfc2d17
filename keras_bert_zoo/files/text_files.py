"""Reading plain text and TSV files of texts."""

import csv


def read_texts(path, tsv_column=None):
    """The texts of a file: one per line, or one column of a TSV with a header.

    Args:
        path: The file (UTF-8).
        tsv_column: Header name of the text column, for TSV files.

    Raises:
        ValueError: The file can't be read or decoded, or lacks the column;
            the message names the file (and line).
    """
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if tsv_column is None:
                return [line.rstrip("\r\n") for line in f]
            reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, [])
            if tsv_column not in header:
                raise ValueError(f"{path}:1: no column {tsv_column!r} in header {header}.")
            index = header.index(tsv_column)
            texts = []
            for line, row in enumerate(reader, start=2):
                if len(row) <= index:
                    raise ValueError(f"{path}:{line}: row has {len(row)} columns, needs column {index + 1}.")
                texts.append(row[index])
            return texts
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"Cannot read {path}: {e}") from e
