"""What the in-graph tokenizers share: eager calls that run traced graphs, and ragged row helpers."""

import os

import tensorflow as tf
from tensorflow.python.eager import context as eager_context
from tensorflow.python.framework.constant_op import convert_to_eager_tensor

# Parts of an eager batch tokenized in parallel: one per core, up to 4 (2 gave 1.2-1.5x on 2 cores).
EAGER_SLICES = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 4)


class CompiledCalls:
    """Runs an object's methods `_<name>` as graphs traced once per kind of input.

    A kind is each tensor's type, dtype and rank (every dimension left
    unknown, so any batch size reuses the graph) plus the other arguments'
    values. Calling the concrete function directly skips most of
    tf.function's per-call dispatch, half of a short text's latency.

    Args:
        owner: The object whose methods run.
    """

    def __init__(self, owner):
        self._owner = owner
        self.functions = {}

    def __call__(self, name, *args):
        positions = [i for i, arg in enumerate(args) if isinstance(arg, (tf.Tensor, tf.RaggedTensor))]
        key = (name,) + tuple(_input_kind(arg) for arg in args)
        function = self.functions.get(key)
        if function is None:
            method = getattr(self._owner, f"_{name}")

            def call(*tensors):
                merged = list(args)
                for position, tensor in zip(positions, tensors):
                    merged[position] = tensor
                return method(*merged)

            function = tf.function(call).get_concrete_function(*(_relaxed_spec(args[i]) for i in positions))
            self.functions[key] = function
        return function(*(args[i] for i in positions))


def merge_inner(ragged):
    """[B, (W), (P)] -> [B, (W*P)], unvalidated: the splits come straight from ragged ops."""
    return tf.RaggedTensor.from_row_splits(ragged.flat_values, tf.gather(ragged.values.row_splits, ragged.row_splits),
                                           validate=False)


def concat_rows(parts):
    """Rows of ragged [B_i, (N)] parts one after another, unvalidated (tf.concat asserts on ragged)."""
    starts = tf.cumsum([tf.size(part.flat_values, tf.int64) for part in parts], exclusive=True)
    splits = [parts[0].row_splits[:1]] + [part.row_splits[1:] + start for part, start in zip(parts, tf.unstack(starts))]
    return tf.RaggedTensor.from_row_splits(tf.concat([part.flat_values for part in parts], 0), tf.concat(splits, 0),
                                           validate=False)


def row_ids(splits):
    """The row of each value of int64 ragged row splits [R + 1]: `value_rowids()` without its tile of
    [R, longest row] (several times faster where a row is long). Each value counts the row ends at or before it."""
    size = splits[-1]
    return tf.cumsum(tf.math.bincount(splits[1:-1], minlength=size, maxlength=size, dtype=tf.int64))


def scattered(indices, updates, size, default=0):
    """`default` [size] with `updates` [N] put at their distinct int64 `indices` [N].

    `tf.scatter_nd`'s result (for default 0) from SparseToDense, whose CPU kernel writes the updates
    5-10x faster.
    """
    return tf.raw_ops.SparseToDense(sparse_indices=indices, output_shape=tf.reshape(size, [1]), sparse_values=updates,
                                    default_value=tf.constant(default, updates.dtype), validate_indices=False)


def in_slices(tokenize, texts, slices):
    """`tokenize`'s ragged rows of texts [B], the batch cut into `slices` contiguous parts that run in parallel.

    Each part has its own copy of the ops, which TF's executor runs on
    separate cores. Only eager calls should take parts: every new tf.data
    iterator instantiates each copy again.
    """
    if slices == 1:
        return tokenize(texts)
    size = tf.size(texts)
    bounds = [size * i // slices for i in range(slices + 1)]
    return concat_rows([tokenize(texts[start:end]) for start, end in zip(bounds, bounds[1:])])


def per_batch(method, texts, *args):
    """`method(texts, *args)` of a [B] batch of strings; of one string, each output's first row for texts[None].

    Raises:
        ValueError: `texts` has a rank over 1.
    """
    if texts.shape.rank == 0:
        return tf.nest.map_structure(lambda values: values[0], method(texts[None], *args))
    if texts.shape.rank != 1:
        raise ValueError(f"texts must be one string or a 1-D batch of strings, got shape {texts.shape}.")
    return method(texts, *args)


def one_eager_text(texts):
    """`texts` as a str or bytes if it's one string in eager code, else None."""
    if not tf.executing_eagerly():
        return None
    if isinstance(texts, (str, bytes)):
        return texts
    if isinstance(texts, tf.Tensor) and texts.dtype == tf.string and texts.shape.rank == 0:
        return texts.numpy()
    return None


def eager_tensor(array):
    """An EagerTensor of a NumPy array, without `tf.constant`'s dispatch, which costs a sentence's tokenization."""
    return convert_to_eager_tensor(array, eager_context.context())


def strings(texts):
    """Texts as a string tensor; None stays None."""
    return None if texts is None else tf.convert_to_tensor(texts, tf.string)


def _input_kind(value):
    """What a compiled entry point is traced for: a tensor's type, dtype and rank, else the value."""
    if isinstance(value, tf.RaggedTensor):
        return ("ragged", value.dtype.name, value.shape.rank, value.ragged_rank, value.row_splits.dtype.name)
    if isinstance(value, tf.Tensor):
        return ("tensor", value.dtype.name, value.shape.rank)
    return value


def _relaxed_spec(value):
    """The spec of a tensor like `value` of any size."""
    shape = [None] * value.shape.rank
    if isinstance(value, tf.RaggedTensor):
        return tf.RaggedTensorSpec(shape, value.dtype, value.ragged_rank, value.row_splits.dtype)
    return tf.TensorSpec(shape, value.dtype)
