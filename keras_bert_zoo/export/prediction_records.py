"""Reading prediction inputs from files and writing JSON Lines results."""

import json

import numpy as np


def read_prediction_inputs(path, input_names):
    """Examples of a JSONL file (objects with the input names) or a text file (one text per line).

    A text file only serves single-input signatures. Errors name file:line.

    Returns:
        A list of dicts, input name -> value.
    """
    examples = []
    with open(path, encoding="utf-8") as f:
        for line_number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if path.endswith((".jsonl", ".json")):
                if not line.strip():
                    continue
                try:
                    example = json.loads(line)
                except ValueError as e:
                    raise ValueError(f"{path}:{line_number}: invalid JSON: {e}") from e
                if not isinstance(example, dict) or set(input_names) - set(example):
                    raise ValueError(f"{path}:{line_number}: expected an object with keys {input_names}.")
                examples.append({name: example[name] for name in input_names})
            elif len(input_names) == 1:
                examples.append({input_names[0]: line})
            else:
                raise ValueError(f"{path}: a plain text file can't feed inputs {input_names}; use JSONL.")
    return examples


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
