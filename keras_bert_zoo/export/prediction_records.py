"""Reading prediction inputs from files and writing JSON Lines results."""

import dataclasses
import json

import numpy as np

from keras_bert_zoo.data.classification_data import file_format_of, read_classification_file

# run_classifier's --text_column default, so that a file it reads is read here with the same flags.
_DEFAULT_TEXT_COLUMN = "sentence"


@dataclasses.dataclass
class PredictionInputs:
    """The examples of an input file, and how it was read.

    Args:
        examples: Dicts, input name -> value, in file order.
        summary: One line for the user, e.g. "Read 120 texts from dev.csv (CSV, column 'sentence')".
    """

    examples: list
    summary: str


def read_prediction_inputs(path, input_names, text_column=None, text_b_column=None):
    """The examples of `path` for a signature with inputs `input_names`, in the format its extension says.

    - .tsv, .csv: as run_classifier reads them (a header row, columns by
      header name or 0-based index, other columns such as the label
      ignored). The text column feeds a one-input signature; with
      `text_b_column`, the text pair feeds a two-input signature's inputs in
      alphabetical order of their names (a classifier's serve_pair: text_a,
      text_b; squad: context, question), as a SavedModel keeps no other order.
    - .jsonl, .json, .ndjson: objects keyed by the input names; or, with
      `text_column` or `text_b_column`, texts under those keys, as for TSV/CSV.
    - any other: plain text, one text per line (a blank line is an empty
      text), for a one-input signature.

    Args:
        path: The file (UTF-8).
        input_names: The signature's input names.
        text_column: Column (header name or 0-based index) or JSONL key of the
            (first) text; None: "sentence" for TSV/CSV, the input names for JSONL.
        text_b_column: Column or key of the second text of pairs.

    Returns:
        A `PredictionInputs`.

    Raises:
        ValueError: The file can't feed the signature, a column or key is
            missing, or a row is malformed; the message names the file (and
            line, and column).
    """
    file_format = file_format_of(path)
    has_columns = text_column is not None or text_b_column is not None
    if file_format in ("tsv", "csv") or (file_format == "jsonl" and has_columns):
        if text_column is None:
            text_column = _DEFAULT_TEXT_COLUMN
        return _read_text_columns(path, file_format, input_names, text_column, text_b_column)
    if file_format == "jsonl":
        return _read_jsonl_by_input_names(path, input_names)
    if has_columns:
        raise ValueError(f"{path}: plain text (one text per line) has no columns; give a TSV, CSV or JSONL file "
                         "its extension (.tsv, .csv, .jsonl).")
    return _read_lines(path, input_names)


def _read_text_columns(path, file_format, input_names, text_column, text_b_column):
    """A text (or text pair) per TSV/CSV row or JSON object, read by the classifier's reader."""
    is_pair = text_b_column is not None
    if is_pair and len(input_names) != 2:
        raise ValueError(f"{path}: a text pair needs a signature with two inputs; this one takes {input_names}.")
    if not is_pair and len(input_names) == 2:
        raise ValueError(f"{path}: the signature's inputs {sorted(input_names)} take a text pair: "
                         "give text_b_column too.")
    if not is_pair and len(input_names) != 1:
        raise ValueError(f"{path}: one text per example can't feed inputs {input_names}; use JSONL keyed by them.")
    data = read_classification_file(path, text_column, text_b_column, label_column=None, file_format=file_format)
    names = sorted(input_names)
    texts = [data.texts, data.text_pairs] if is_pair else [data.texts]
    examples = [dict(zip(names, values)) for values in zip(*texts)]
    what = "key" if file_format == "jsonl" else "column"
    if is_pair:
        how = f"{what}s {text_column!r} as {names[0]}, {text_b_column!r} as {names[1]}"
    else:
        how = f"{what} {text_column!r}"
    return PredictionInputs(examples, _summary(examples, "text pair" if is_pair else "text", path,
                                               f"{file_format.upper()}, {how}"))


def _read_jsonl_by_input_names(path, input_names):
    """One example per JSON object, its values under the input names (other keys ignored)."""
    examples = []
    for line_number, line in _numbered_lines(path):
        if not line.strip():
            continue
        try:
            example = json.loads(line)
        except ValueError as e:
            raise ValueError(f"{path}:{line_number}: invalid JSON: {e}") from e
        if not isinstance(example, dict) or set(input_names) - set(example):
            raise ValueError(f"{path}:{line_number}: expected an object with keys {input_names}.")
        examples.append({name: example[name] for name in input_names})
    keys = ", ".join(repr(name) for name in input_names)
    return PredictionInputs(examples, _summary(examples, "example", path,
                                               f"JSONL, key{'s' if len(input_names) > 1 else ''} {keys}"))


def _read_lines(path, input_names):
    """One text per line, blank lines included."""
    if len(input_names) != 1:
        raise ValueError(f"{path}: a plain text file can't feed inputs {input_names}; use JSONL.")
    examples = [{input_names[0]: line} for _, line in _numbered_lines(path)]
    return PredictionInputs(examples, _summary(examples, "text", path, "plain text, one per line"))


def _numbered_lines(path):
    """(line number, line without its line break) for each line of a UTF-8 file."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return [(number, line.rstrip("\r\n")) for number, line in enumerate(f, start=1)]
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"Cannot read {path}: {e}") from e


def _summary(examples, noun, path, how):
    return f"Read {len(examples)} {noun}{'' if len(examples) == 1 else 's'} from {path} ({how})"


def _json_value(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def prediction_lines(examples, outputs):
    """JSON Lines: each example's inputs and its row of every output."""
    return "".join(
        json.dumps(dict(example, **{name: _json_value(value[i]) for name, value in outputs.items()}),
                   ensure_ascii=False) + "\n"
        for i, example in enumerate(examples))
