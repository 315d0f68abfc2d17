"""Sentence (pair) classification and regression examples from TSV, CSV, JSONL files or TFDS."""

import csv
import dataclasses
import json
import os

import numpy as np

# Examples per tokenizer call in `model_inputs`: fast, with bounded memory.
_ENCODE_BATCH = 8192
_FILE_FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
# TFDS feature names, most specific first: pairs (GLUE, SuperGLUE), then single texts.
_TFDS_TEXT_PAIRS = (
    ("sentence1", "sentence2"), ("question1", "question2"), ("premise", "hypothesis"),
    ("question", "sentence"), ("question", "passage"))
_TFDS_TEXTS = ("sentence", "text", "review", "content", "document", "comment_text", "question", "title")


@dataclasses.dataclass
class ClassificationData:
    """Examples for a sentence (pair) classifier or regressor.

    Args:
        texts: [N] first segments.
        text_pairs: [N] second segments, or None for single sentences.
        labels: int32 [N] class ids (indices into `label_names`), float32 [N]
            scores for regression, or None for unlabeled data.
        label_names: Class names in id order; None for regression.
        num_skipped: Malformed examples skipped (with skip_bad_examples=True).
    """

    texts: list
    text_pairs: list = None
    labels: np.ndarray = None
    label_names: list = None
    num_skipped: int = 0

    def __len__(self):
        return len(self.texts)

    @property
    def is_regression(self):
        return self.label_names is None and self.labels is not None

    def model_inputs(self, tokenizer, max_seq_length):
        """Packs [CLS] text [SEP] (pair [SEP]) with `tokenizer` into int32 numpy arrays [N, max_seq_length].

        Returns:
            Dict of `input_word_ids`, `input_mask`, `input_type_ids`.
        """
        batches = []
        for start in range(0, len(self.texts), _ENCODE_BATCH):
            end = start + _ENCODE_BATCH
            pairs = None if self.text_pairs is None else self.text_pairs[start:end]
            batches.append(tokenizer(self.texts[start:end], pairs, max_length=max_seq_length))
        names = ("input_word_ids", "input_mask", "input_type_ids")
        if not batches:
            return {name: np.zeros([0, max_seq_length], np.int32) for name in names}
        return {name: np.concatenate([b[name].numpy() for b in batches]) for name in names}

    def head(self, count):
        """The first `count` examples (all of them for None), e.g. for --max_train_examples."""
        return dataclasses.replace(
            self, texts=self.texts[:count], text_pairs=None if self.text_pairs is None else self.text_pairs[:count],
            labels=None if self.labels is None else self.labels[:count])


class _BadExampleError(ValueError):
    """A malformed example; its message says what is wrong, without the location."""


def file_format_of(path):
    """The format of `path` by its extension: "tsv", "csv", "jsonl" (.jsonl, .json, .ndjson), or None."""
    return _FILE_FORMATS.get(os.path.splitext(path)[1].lower())


def read_classification_file(path, text_column="sentence", text_b_column=None, label_column="label",
                             label_names=None, regression=False, file_format=None, has_header=True,
                             skip_bad_examples=False):
    """Reads labeled (or unlabeled) texts from a local TSV, CSV or JSONL file.

    TSV is read like GLUE's files (tab-separated, quotes are ordinary
    characters), CSV with standard quoting, JSONL as one JSON object per line.
    Blank lines are ignored. Class labels are names (strings; JSON numbers
    and booleans are written as Python prints them). Without `label_names`
    the classes are the labels seen in this file, sorted (numerically when
    all are integers, so "0", "1", ... get ids 0, 1, ...): read the training
    file first and pass its `label_names` when reading evaluation files.

    Args:
        path: The file (UTF-8).
        text_column: Column of the (first) text: a header name, or for TSV
            and CSV a 0-based index (int or digit string, used when no header
            column has that name).
        text_b_column: Optional column of the second text of pairs.
        label_column: Label column, or None for unlabeled (predict) data.
        label_names: Class names in id order; a label outside them is malformed.
        regression: Labels are floats (scores) instead of class names.
        file_format: "tsv", "csv" or "jsonl"; by default from the extension
            (.tsv, .csv, .jsonl/.json/.ndjson).
        has_header: Whether a TSV/CSV file starts with a header row (columns
            must be indices without one).
        skip_bad_examples: Skip malformed rows (wrong column count, empty
            text, unknown label, unparsable float, bad JSON) and count them in
            `num_skipped`, instead of raising.

    Returns:
        A `ClassificationData`.

    Raises:
        ValueError: The file can't be read, a column is missing, or (unless
            skipped) a row is malformed; the message names file:line.
    """
    if regression and label_names is not None:
        raise ValueError("label_names make no sense for regression.")
    file_format = file_format or file_format_of(path)
    columns = (text_column, text_b_column, label_column)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            if file_format == "jsonl":
                rows = list(_jsonl_rows(f, columns))
            elif file_format in ("tsv", "csv"):
                rows = list(_delimited_rows(f, path, file_format, columns, has_header))
            else:
                raise ValueError(f"{path}: unknown file format {file_format!r}; use tsv, csv or jsonl.")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"Cannot read {path}: {e}") from e
    return _examples_from_rows(rows, path, text_b_column is not None, label_column is not None,
                               label_names, regression, skip_bad_examples)


def read_classification_data(path=None, tfds_name=None, tfds_split=None, tfds_data_dir=None, text_column="sentence",
                             text_b_column=None, label_column="label", label_names=None, regression=False,
                             skip_bad_examples=False):
    """The examples of a TFDS split when `tfds_name` is given, else of the file `path`.

    This is how run_classifier (and distill.py) read --train_file or
    --tfds_name; see `read_tfds_classification` and `read_classification_file`.

    Args:
        path: TSV, CSV or JSONL file, read when `tfds_name` is None.
        tfds_name: TFDS dataset, e.g. "glue/sst2" (its features are mapped
            automatically; the column, label_names and regression arguments
            are for files).
        tfds_split: Its split.
        tfds_data_dir: TFDS data directory.
        text_column, text_b_column, label_column: Columns of the file
            (label_column None: unlabeled).
        label_names: Class names in id order; None: the labels of the file.
        regression: The file's labels are floats.
        skip_bad_examples: Skip and count malformed examples instead of raising.

    Returns:
        A `ClassificationData`.

    Raises:
        ValueError: The data can't be read; the message names the file or dataset.
    """
    if tfds_name:
        return read_tfds_classification(tfds_name, tfds_split, data_dir=tfds_data_dir,
                                        skip_bad_examples=skip_bad_examples)
    return read_classification_file(path, text_column=text_column, text_b_column=text_b_column,
                                    label_column=label_column, label_names=label_names, regression=regression,
                                    skip_bad_examples=skip_bad_examples)


def _jsonl_rows(lines, columns):
    """Yields (line, (text, text_b, label)) per JSON line, or (line, _BadExampleError)."""
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise _BadExampleError("line is not a JSON object.")
            values = []
            for column in columns:
                if column is not None and column not in record:
                    raise _BadExampleError(f"no field {column!r}.")
                values.append(None if column is None else record[column])
            yield line_number, tuple(values)
        except json.JSONDecodeError as e:
            yield line_number, _BadExampleError(f"bad JSON: {e.msg}.")
        except _BadExampleError as e:
            yield line_number, e


def _delimited_rows(f, path, file_format, columns, has_header):
    """Yields (line, (text, text_b, label)) per TSV/CSV row, or (line, _BadExampleError)."""
    if file_format == "tsv":
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(f)
    try:
        width = indices = None
        if has_header:
            header = next(reader, [])
            width, indices = len(header), _column_indices(columns, header, len(header), path, 1)
        line_number = reader.line_num
        for row in reader:
            # A quoted CSV field may span lines: a row starts after the previous one ends.
            row_line, line_number = line_number + 1, reader.line_num
            if not row:
                continue
            if width is None:
                width, indices = len(row), _column_indices(columns, None, len(row), path, row_line)
            if len(row) != width:
                yield row_line, _BadExampleError(f"row has {len(row)} columns, expected {width}.")
                continue
            yield row_line, tuple(None if i is None else row[i] for i in indices)
    except csv.Error as e:
        raise ValueError(f"{path}:{reader.line_num}: {e}") from e


def _column_indices(columns, header, width, path, line):
    """0-based indices of columns given by header name or index (None stays None).

    Args:
        columns: Header names, or ints or digit strings (indices).
        header: The header row, or None for a file without one.
        width: Columns per row.
        path, line: Where the header (or first row) is, for errors.
    """
    indices = []
    for column in columns:
        if column is None or (header is not None and column in header):
            indices.append(None if column is None else header.index(column))
        elif (isinstance(column, int) or str(column).isdigit()) and int(column) < width:
            indices.append(int(column))
        else:
            where = f"header {header}" if header is not None else f"rows of {width} columns without header"
            raise ValueError(f"{path}:{line}: no column {column!r} in {where}.")
    return indices


def _examples_from_rows(rows, source, has_pairs, has_labels, label_names, regression, skip_bad_examples):
    """Validates (location, (text, text_b, label) or _BadExampleError) rows into ClassificationData."""

    def text_of(value, what):
        if not isinstance(value, str) or not value.strip():
            raise _BadExampleError(f"empty or non-text {what}: {value!r}.")
        return value

    def label_of(value):
        if not has_labels:
            return None
        if regression:
            try:
                return float(value)
            except (TypeError, ValueError):
                raise _BadExampleError(f"label {value!r} is not a number.") from None
        label = value if isinstance(value, str) else str(value)
        if not label.strip() or (label_names is not None and label not in label_names):
            raise _BadExampleError(f"unknown label {label!r}; labels are {label_names}.")
        return label

    kept, num_skipped = [], 0
    for location, values in rows:
        try:
            if isinstance(values, _BadExampleError):
                raise values
            text, text_b, label = values
            kept.append((text_of(text, "text"), text_of(text_b, "second text") if has_pairs else None,
                         label_of(label)))
        except _BadExampleError as e:
            if not skip_bad_examples:
                raise ValueError(f"{source}:{location}: {e}") from None
            num_skipped += 1
    texts = [example[0] for example in kept]
    text_pairs = [example[1] for example in kept] if has_pairs else None
    if not has_labels:
        return ClassificationData(texts, text_pairs, None, None, num_skipped)
    raw_labels = [example[2] for example in kept]
    if regression:
        return ClassificationData(texts, text_pairs, np.array(raw_labels, np.float32), None, num_skipped)
    label_names = list(label_names) if label_names is not None else _sorted_label_names(raw_labels)
    label_ids = {name: i for i, name in enumerate(label_names)}
    labels = np.array([label_ids[label] for label in raw_labels], np.int32)
    return ClassificationData(texts, text_pairs, labels, label_names, num_skipped)


def _sorted_label_names(labels):
    names = set(labels)
    try:
        return sorted(names, key=int)
    except ValueError:
        return sorted(names)


def read_tfds_classification(name, split, data_dir=None, text_key=None, text_b_key=None, label_key=None,
                             download=True, skip_bad_examples=False):
    """Reads a text classification (or regression) TFDS dataset, e.g. "glue/sst2" or "imdb_reviews".

    Feature names are mapped as GLUE and most text datasets spell them: the
    first pair present among (sentence1, sentence2), (question1, question2),
    (premise, hypothesis), (question, sentence), (question, passage);
    otherwise the first of sentence, text, review, content, document,
    comment_text, question, title. The label is "label" (or the only
    ClassLabel feature); its class names come from the dataset info, and a
    float label means regression. Splits whose labels are all -1 (GLUE test
    sets) come back unlabeled.

    Args:
        name: TFDS name, with config and version if wanted ("glue/sst2:2.0.0").
        split: Split (or TFDS slice), e.g. "train" or "validation[:10%]".
        data_dir: Where TFDS keeps (or finds) prepared data.
        text_key, text_b_key, label_key: Override the feature mapping.
        download: Prepare the dataset when data_dir lacks it (needs network).
        skip_bad_examples: Skip (and count) examples with an empty text
            instead of raising.

    Returns:
        A `ClassificationData`.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    if download:
        builder.download_and_prepare()
    features = builder.info.features
    text_key, text_b_key, label_key = _tfds_feature_keys(name, features, text_key, text_b_key, label_key)
    label_feature = features[label_key]
    label_names = list(label_feature.names) if isinstance(label_feature, tfds.features.ClassLabel) else None
    regression = label_names is None
    if regression and not np.issubdtype(label_feature.np_dtype, np.floating):
        raise ValueError(f"{name}: label feature {label_key!r} is neither a ClassLabel nor a float.")
    keys = [k for k in (text_key, text_b_key, label_key) if k is not None]
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    dataset = dataset.map(lambda example: {k: example[k] for k in keys}).batch(1024)
    columns = {k: [] for k in keys}
    for batch in tfds.as_numpy(dataset):
        for k in keys:
            columns[k].extend(batch[k].tolist())
    texts = [t.decode("utf-8", errors="replace") for t in columns[text_key]]
    texts_b = [t.decode("utf-8", errors="replace") for t in columns[text_b_key]] if text_b_key else [None] * len(texts)
    labels = columns[label_key]
    has_labels = any(label != -1 for label in labels)
    if not regression:  # Class ids to names; an id out of range (-1) stays and is reported as unknown.
        labels = [label_names[i] if 0 <= i < len(label_names) else i for i in labels]
    rows = [(f"example {i}", example) for i, example in enumerate(zip(texts, texts_b, labels))]
    return _examples_from_rows(rows, f"{name}[{split}]", text_b_key is not None, has_labels,
                               label_names, regression, skip_bad_examples)


def _tfds_feature_keys(name, features, text_key, text_b_key, label_key):
    """Fills in the (text, text_b, label) feature names left None, as documented above."""
    import tensorflow_datasets as tfds

    keys = set(features.keys())
    if text_key is None:
        pair = next((p for p in _TFDS_TEXT_PAIRS if set(p) <= keys), None)
        if pair is not None:
            text_key, text_b_key = pair[0], text_b_key or pair[1]
        else:
            text_key = next((k for k in _TFDS_TEXTS if k in keys), None)
    if label_key is None:
        class_labels = [k for k in keys if isinstance(features[k], tfds.features.ClassLabel)]
        label_key = "label" if "label" in keys else class_labels[0] if len(class_labels) == 1 else None
    if text_key is None or label_key is None or not {text_key, text_b_key or text_key, label_key} <= keys:
        raise ValueError(f"{name}: can't map features {sorted(keys)} to text/text_b/label "
                         f"(got {text_key}, {text_b_key}, {label_key}); pass the keys explicitly.")
    return text_key, text_b_key, label_key
