"""Batching variable-length token sequences: length buckets or packing for speed, fixed length for TPUs."""

import numpy as np
import tensorflow as tf


def bucket_lengths(max_seq_length, smallest=16):
    """Padded lengths of the buckets: powers of two from `smallest`, then `max_seq_length`."""
    lengths = []
    length = smallest
    while length < max_seq_length:
        lengths.append(length)
        length *= 2
    return lengths + [max_seq_length]


def _unpadded(inputs, labels):
    """Features [N, T] become RaggedTensors [N, (length)] cut at each example's input_mask length."""
    lengths = np.asarray(inputs["input_mask"]).sum(axis=1)
    time_steps = np.asarray(inputs["input_word_ids"]).shape[1]

    def cut(values):
        values = np.asarray(values)
        if values.ndim >= 2 and values.shape[1] == time_steps:
            return tf.RaggedTensor.from_tensor(values, lengths=lengths)
        return values

    return ({k: cut(v) for k, v in inputs.items() if k != "input_mask"},
            {k: cut(v) for k, v in labels.items()})


def _as_dataset(inputs, labels):
    """One element per example, without padding; input_mask is rebuilt from the length."""
    dataset = tf.data.Dataset.from_tensor_slices(_unpadded(inputs, labels))

    def add_mask(x, y):
        return dict(x, input_mask=tf.ones_like(x["input_word_ids"])), y

    return dataset.map(add_mask, num_parallel_calls=tf.data.AUTOTUNE)


def _padding_values(element_spec, pad_id):
    inputs_spec, labels_spec = element_spec
    pad = {name: tf.constant(pad_id if name == "input_word_ids" else 0, spec.dtype)
           for name, spec in inputs_spec.items()}
    return pad, {name: tf.constant(0, spec.dtype) for name, spec in labels_spec.items()}


def _padded_shapes(element_spec, length):
    return tuple({name: [length] if spec.shape.rank else [] for name, spec in part.items()}
                 for part in element_spec)


def training_batches(inputs, labels, batch_size, max_seq_length, seed=None, fixed_length=False, pad_id=0,
                     input_context=None, length_buckets=True, pack_sequences=False):
    """Shuffled, repeating batches of (inputs, labels) for training.

    Each batch is padded only to its length bucket (16, 32, 64, ...,
    max_seq_length), so short texts don't pay for max_seq_length. With
    `length_buckets` a batch is filled from one bucket's examples (the least
    padding); without, batches are cut from the shuffled order as they come,
    as torch's DataLoader and HF's Trainer draw them, and padded to the bucket
    of their longest example. With `pack_sequences` the examples of each
    batch, drawn in shuffled order, are packed into as few rows of
    max_seq_length as hold them (`packed_training_batches`). With
    `fixed_length` every batch is [batch_size, max_seq_length], as TPUs need.

    Args:
        inputs: Dict of padded int32 arrays [N, T]: `input_word_ids`,
            `input_mask`, `input_type_ids`.
        labels: Dict of label arrays, [N] or per token [N, T] (padded with 0).
        batch_size: Examples per batch (every batch is full).
        max_seq_length: Longest sequence.
        seed: Shuffle seed (reshuffled every epoch, deterministically).
        fixed_length: Pad every batch to max_seq_length.
        pad_id: The [PAD] id.
        input_context: tf.distribute.InputContext; each input pipeline then
            reads its own shard of the examples.
        length_buckets: Fill each batch from one length bucket.
        pack_sequences: Pack each batch into few rows (see
            `packed_training_batches`); `fixed_length` takes precedence.
    """
    if pack_sequences and not fixed_length:
        return packed_training_batches(inputs, labels, batch_size, max_seq_length, seed, pad_id, input_context)
    dataset = _as_dataset(inputs, labels)
    count = len(inputs["input_word_ids"])
    if input_context is not None and input_context.num_input_pipelines > 1:
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True).repeat()
    padding = _padding_values(dataset.element_spec, pad_id)
    if fixed_length:
        return dataset.padded_batch(batch_size, _padded_shapes(dataset.element_spec, max_seq_length),
                                    padding, drop_remainder=True)
    lengths = bucket_lengths(max_seq_length)
    if not length_buckets:
        return dataset.padded_batch(batch_size, _padded_shapes(dataset.element_spec, None), padding,
                                    drop_remainder=True).map(lambda x, y: _pad_to_bucket(x, y, lengths, pad_id),
                                                             num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.bucket_by_sequence_length(
        lambda x, y: tf.shape(x["input_word_ids"])[0],
        bucket_boundaries=[length + 1 for length in lengths[:-1]],
        bucket_batch_sizes=[batch_size] * len(lengths),
        padding_values=padding,
        pad_to_bucket_boundary=False,
        drop_remainder=True,
    ).map(lambda x, y: _pad_to_bucket(x, y, lengths, pad_id), num_parallel_calls=tf.data.AUTOTUNE)


def packed_training_batches(inputs, labels, batch_size, max_seq_length, seed=None, pad_id=0, input_context=None):
    """Shuffled, repeating batches of `batch_size` examples packed into rows of up to max_seq_length.

    The examples of a batch are drawn as HF's Trainer draws them, in the
    order of a fresh shuffle every epoch, so every batch mixes lengths; they
    are then packed first-fit, longest first, into as few rows as hold them.
    `input_mask` numbers the sequences of each row 1, 2, ... (0 padding), so
    the encoder attends within each and counts its positions from 0
    (`layers.packed_sequences`): an update equals one on the same examples
    padded one per row, at a fraction of the padding. Rows are padded to the
    length bucket of the longest; the number of rows varies by batch.

    Labels of one value per example (a sentence's class) become [R, S]: the
    label of the s-th sequence of row r, where S is the most sequences a row
    of the batch holds; `label_weights` [R, S] is 1 where a sequence is and
    0 in the empty slots, and the input `sequence_starts` [R, S] holds the
    position of each sequence's first token ([CLS], which the classifier
    reads; 0 in empty slots). Such labels must not be positions in the
    sequence (a span's start), as those would need shifting along the row.

    Args:
        inputs: Dict of padded int32 arrays [N, T] as in `training_batches`.
        labels: Dict of label arrays, all per token [N, T] (the loss must
            weigh tokens by their own labels, padding 0, not by row) or all
            per example [N].
        batch_size: Examples per batch.
        max_seq_length: Row length; at least T's longest example.
        seed: Shuffle seed (reshuffled every epoch, deterministically).
        pad_id: The [PAD] id.
        input_context: tf.distribute.InputContext; each input pipeline then
            reads its own shard of the examples.
    """
    time_steps = np.asarray(inputs["input_word_ids"]).shape[1]
    per_example = [name for name, values in labels.items() if np.asarray(values).shape[1:2] != (time_steps,)]
    if per_example and len(per_example) != len(labels):
        raise ValueError(f"Packing needs labels all per token or all per example; {per_example} are per example, "
                         f"{sorted(set(labels) - set(per_example))} per token.")
    if "label_weights" in per_example:
        raise ValueError("Packed per-example labels get their own label_weights (1 where a sequence is).")
    token_arrays = {name: np.asarray(values) for name, values in {**inputs, **labels}.items()
                    if name not in per_example}
    example_arrays = {name: np.asarray(labels[name]) for name in per_example}
    lengths = token_arrays["input_mask"].sum(axis=1)
    if lengths.max() > max_seq_length:
        raise ValueError(f"An example of {lengths.max()} tokens doesn't fit a row of {max_seq_length}.")
    shard = np.arange(len(lengths))
    if input_context is not None and input_context.num_input_pipelines > 1:
        shard = shard[input_context.input_pipeline_id::input_context.num_input_pipelines]
    if len(shard) < batch_size:
        raise ValueError(f"{len(shard)} examples can't fill a batch of {batch_size}.")
    bucket_sizes = bucket_lengths(max_seq_length)
    padding = {name: pad_id if name == "input_word_ids" else 0 for name in token_arrays}

    def batches():
        rng = np.random.default_rng(seed)
        order = np.empty(0, np.int64)
        while True:
            while len(order) < batch_size:
                order = np.concatenate([order, rng.permutation(shard)])
            batch, order = order[:batch_size], order[batch_size:]
            yield _packed_batch(token_arrays, example_arrays, lengths, batch, max_seq_length, bucket_sizes, padding)

    signature = {name: tf.TensorSpec([None, None], tf.as_dtype(values.dtype)) for name, values in token_arrays.items()}
    input_names = list(inputs)
    if per_example:
        signature.update({name: tf.TensorSpec([None, None, *values.shape[1:]], tf.as_dtype(values.dtype))
                          for name, values in example_arrays.items()})
        signature["sequence_starts"] = tf.TensorSpec([None, None], tf.int32)
        signature["label_weights"] = tf.TensorSpec([None, None], tf.float32)
        input_names.append("sequence_starts")
    label_names = [name for name in signature if name not in input_names]
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return dataset.map(lambda row: ({name: row[name] for name in input_names}, {name: row[name] for name in label_names}))


def _packed_batch(token_arrays, example_arrays, lengths, batch, max_seq_length, bucket_sizes, padding):
    """Dict of arrays: the examples `batch` packed first-fit decreasing into rows of max_seq_length.

    Per-token arrays become [R, L]; per-example ones [R, S] with
    `sequence_starts` and `label_weights` (see `packed_training_batches`).
    """
    rows = []  # Per row: its examples.
    free = []
    for example in sorted(batch, key=lambda i: -lengths[i]):
        row = next((r for r, space in enumerate(free) if space >= lengths[example]), len(rows))
        if row == len(rows):
            rows.append([])
            free.append(max_seq_length)
        rows[row].append(example)
        free[row] -= lengths[example]
    row_length = min(length for length in bucket_sizes if length >= max_seq_length - min(free))
    packed = {name: np.full((len(rows), row_length), padding[name], values.dtype)
              for name, values in token_arrays.items()}
    slots = max(len(examples) for examples in rows)
    if example_arrays:
        packed.update({name: np.zeros((len(rows), slots, *values.shape[1:]), values.dtype)
                       for name, values in example_arrays.items()})
        packed["sequence_starts"] = np.zeros((len(rows), slots), np.int32)
        packed["label_weights"] = np.zeros((len(rows), slots), np.float32)
    for r, examples in enumerate(rows):
        start = 0
        for number, example in enumerate(examples, 1):
            end = start + lengths[example]
            for name, values in token_arrays.items():
                packed[name][r, start:end] = number if name == "input_mask" else values[example, :lengths[example]]
            for name, values in example_arrays.items():
                packed[name][r, number - 1] = values[example]
            if example_arrays:
                packed["sequence_starts"][r, number - 1] = start
                packed["label_weights"][r, number - 1] = 1.0
            start = end
    return packed


def _pad_to_bucket(inputs, labels, lengths, pad_id):
    """Pads the time axis up to the smallest bucket length that holds it (few distinct shapes)."""
    length = tf.shape(inputs["input_word_ids"])[1]
    target = tf.reduce_min(tf.boolean_mask(tf.constant(lengths), tf.constant(lengths) >= length))

    def pad(tensor, value):
        if tensor.shape.rank < 2:
            return tensor
        return tf.pad(tensor, [[0, 0], [0, target - length]], constant_values=tf.cast(value, tensor.dtype))

    inputs = {k: pad(v, pad_id if k == "input_word_ids" else 0) for k, v in inputs.items()}
    return inputs, {k: pad(v, 0) for k, v in labels.items()}


def inference_batches(inputs, batch_size, max_seq_length, fixed_length=False, pad_id=0):
    """Batches in order of length (little padding), with the order to undo it.

    Args:
        inputs: Dict of features as in `training_batches`.
        batch_size: Examples per batch (the last may be smaller).
        max_seq_length: Longest sequence.
        fixed_length: Pad every batch to max_seq_length (and keep the input order).
        pad_id: The [PAD] id.

    Returns:
        (dataset of input dicts, order): row i of the concatenated outputs
        belongs to example order[i].
    """
    if fixed_length:
        order = np.arange(len(inputs["input_word_ids"]))
    else:
        order = np.argsort(np.asarray(inputs["input_mask"]).sum(axis=1), kind="stable")
    sorted_inputs = {k: np.asarray(v)[order] for k, v in inputs.items()}
    dataset = _as_dataset(sorted_inputs, {})
    padding = _padding_values(dataset.element_spec, pad_id)
    shapes = _padded_shapes(dataset.element_spec, max_seq_length if fixed_length else None)
    dataset = dataset.padded_batch(batch_size, shapes, padding)
    if not fixed_length:
        lengths = bucket_lengths(max_seq_length)
        dataset = dataset.map(lambda x, y: _pad_to_bucket(x, y, lengths, pad_id))
    return dataset.map(lambda x, y: x), order
