"""Batching variable-length token sequences: length buckets for speed, fixed length for TPUs."""

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
                     input_context=None, length_buckets=True):
    """Shuffled, repeating batches of (inputs, labels) for training.

    Each batch is padded only to its length bucket (16, 32, 64, ...,
    max_seq_length), so short texts don't pay for max_seq_length. With
    `length_buckets` a batch is filled from one bucket's examples (the least
    padding); without, batches are cut from the shuffled order as they come,
    as torch's DataLoader and HF's Trainer draw them, and padded to the bucket
    of their longest example. With `fixed_length` every batch is
    [batch_size, max_seq_length], as TPUs need.

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
    """
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
