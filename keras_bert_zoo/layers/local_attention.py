"""Scaled dot-product attention, dense or over a sliding window at O(T x window) time and memory.

A sliding-window query at position i sees the keys j with |i - j| <= w
(ModernBERT's `local_attention // 2`) that its `input_mask` lets it see
(`packed_sequences.additive_attention_mask`: no padding, no other packed
sequence). `banded_attention` cuts the row into blocks of w queries; the
keys a block can see lie in it and its two neighbours, so each block scores
3w keys instead of T, and the result equals `dense_attention` under
`sliding_window_mask`. `chunked_attention` is global attention for long rows:
`dense_attention` a block of queries at a time, each block's scores
recomputed for the gradient, at O(T x chunk) memory instead of O(T^2);
`mapped_chunk_attention` is the same for inference on rows of any length.
"""

import keras
from keras import ops

from keras_bert_zoo.layers.packed_sequences import MASKED_SCORE, additive_attention_mask


def sliding_window_mask(input_mask, half_window, query_positions=None):
    """float32 [B, 1, Q, T]: `additive_attention_mask` that also hides keys more than `half_window` away.

    Args:
        input_mask: int [B, T] (0 padding, else the packed sequence's number).
        half_window: w: a query sees keys at most w positions away.
        query_positions: Optional int [B, Q] positions of the queries; all T when None.
    """
    mask = additive_attention_mask(input_mask, query_positions)
    keys = ops.arange(ops.shape(input_mask)[1], dtype="int32")
    queries = keys[None, :, None] if query_positions is None else ops.cast(query_positions, "int32")[:, :, None]
    too_far = ops.abs(queries - keys[None, None, :]) > half_window
    return ops.where(too_far[:, None], MASKED_SCORE, mask)


def dense_attention(query, key, value, additive_mask, softmax):
    """softmax(q k^T + mask) v over all keys: [B, N, Q, D] x [B, N, T, D] -> [B, N, Q, D].

    Args:
        query: [B, N, Q, D], already scaled.
        key: [B, N, T, D].
        value: [B, N, T, D].
        additive_mask: float32, broadcastable to [B, N, Q, T].
        softmax: Callable (scores, additive_mask) -> probabilities (with
            the caller's dropout), as `SplitBitsDropout.softmax`.
    """
    probs = softmax(ops.einsum("bnqd,bntd->bnqt", query, key), additive_mask)
    return ops.einsum("bnqt,bntd->bnqd", probs, value)


def chunked_attention(query, key, value, input_mask, softmax, chunk):
    """`dense_attention` under `additive_attention_mask`, `chunk` queries at a time.

    Each block of queries scores all T keys, and its scores and probabilities
    are rematerialized: recomputed in the backward pass rather than kept, so
    a layer holds [B, N, chunk, T] of them at a time in either pass.

    Args:
        query: [B, N, T, D], already scaled; T static.
        key: [B, N, T, D].
        value: [B, N, T, D].
        input_mask: int [B, T] as in `additive_attention_mask`.
        softmax: As in `dense_attention`, without dropout: the backward pass
            must see the probabilities the forward pass saw.
        chunk: Queries per block.

    Returns:
        [B, N, T, D].
    """
    input_mask = ops.cast(input_mask, "int32")

    def block(query, key, value, input_mask, start):
        positions = start + ops.arange(ops.shape(query)[2], dtype="int32")[None, :]
        return dense_attention(query, key, value, additive_attention_mask(input_mask, positions), softmax)

    block = keras.remat(block)
    starts = list(range(0, query.shape[2], chunk))
    # Split, not sliced: see `_neighbourhoods`.
    queries = ops.split(query, starts[1:], axis=2) if len(starts) > 1 else [query]
    return ops.concatenate([block(queries, key, value, input_mask, ops.convert_to_tensor(start, "int32"))
                            for queries, start in zip(queries, starts)], axis=2)


def mapped_chunk_attention(query, key, value, input_mask, softmax, chunk):
    """`dense_attention` under `additive_attention_mask` for inference, `chunk` queries at a time, T dynamic.

    The blocks are mapped one after another (a graph loop, as a SavedModel
    serves it), so one block's [B, N, chunk, T] scores live at a time. The
    row is padded with queries to whole blocks, whose results are dropped.

    Args:
        query: [B, N, T, D], already scaled.
        key: [B, N, T, D].
        value: [B, N, T, D].
        input_mask: int [B, T] as in `additive_attention_mask`.
        softmax: As in `dense_attention`.
        chunk: Queries per block.

    Returns:
        [B, N, T, D].
    """
    input_mask = ops.cast(input_mask, "int32")
    heads, size = query.shape[1], query.shape[3]
    length = ops.shape(query)[2]
    blocks = (length + chunk - 1) // chunk
    # [B, N, blocks * chunk, D] -> [blocks, B, N, chunk, D]
    query_blocks = ops.transpose(ops.reshape(_pad_time(query, 0, blocks * chunk - length),
                                             (-1, heads, blocks, chunk, size)), (2, 0, 1, 3, 4))
    offsets = ops.arange(chunk, dtype="int32")[None, :] + ops.zeros_like(input_mask[:, :1])

    def block(inputs):
        query, start = inputs
        # Padding queries past the row read the last position's mask; their rows are dropped.
        positions = ops.minimum(start + offsets, length - 1)
        return dense_attention(query, key, value, additive_attention_mask(input_mask, positions), softmax)

    context = ops.map(block, (query_blocks, ops.arange(blocks, dtype="int32") * chunk))
    context = ops.reshape(ops.transpose(context, (1, 2, 0, 3, 4)), (-1, heads, blocks * chunk, size))
    return context[:, :, :length]


def banded_attention(query, key, value, input_mask, half_window, softmax):
    """`dense_attention` under `sliding_window_mask`, scoring each query against 3 * half_window keys only.

    Args:
        query: [B, N, T, D], already scaled.
        key: [B, N, T, D].
        value: [B, N, T, D].
        input_mask: int [B, T] as in `sliding_window_mask`.
        half_window: w: a query sees keys at most w positions away.
        softmax: As in `dense_attention`.

    Returns:
        [B, N, T, D].
    """
    w = half_window
    length = ops.shape(query)[2]
    blocks = (length + w - 1) // w
    padded = blocks * w
    # A row of static length that fills its blocks needs neither padding nor cutting back.
    aligned = isinstance(length, int) and length == padded
    if not aligned:
        query, key, value = (_pad_time(x, 0, padded - length) for x in (query, key, value))
    # Block b's neighbourhood is rows [b*w - w, b*w + 2w) of the row, -1 in the mask outside it.
    mask = ops.pad(ops.cast(input_mask, "int32"), [[0, 0], [w, w + padded - length]], constant_values=-1)
    # [B, N, blocks, w, D] queries and [B, N, blocks, 3w, D] keys and values around them.
    heads, size = query.shape[1], query.shape[3]
    query_blocks, key_blocks, value_blocks = (ops.reshape(x, (-1, heads, blocks, w, size)) for x in (query, key, value))
    key_blocks, value_blocks = (_neighbourhoods(x) for x in (key_blocks, value_blocks))
    scores = ops.einsum("bnkqd,bnksd->bnkqs", query_blocks, key_blocks)
    probs = softmax(scores, _band_mask(mask, blocks, w)[:, None])
    context = ops.reshape(ops.einsum("bnkqs,bnksd->bnkqd", probs, value_blocks), (-1, heads, padded, size))
    return context if aligned else context[:, :, :length]


def _pad_time(x, before, after):
    return ops.pad(x, [[0, 0], [0, 0], [before, after], [0, 0]])


def _neighbourhoods(blocks):
    """[B, N, blocks, w, D] -> [B, N, blocks, 3w, D]: each block with the blocks either side.

    The first block's left neighbour is the last block and the last one's
    right neighbour the first (rolled, not sliced: a roll's gradient is a
    roll, while TF's gradient of a slice writes into a zero tensor of the
    whole input, slowly on CPU). `_band_mask` hides those keys, and a hidden
    key's probability is exactly 0, so neither pass sees them.
    """
    return ops.concatenate([ops.roll(blocks, 1, axis=2), blocks, ops.roll(blocks, -1, axis=2)], axis=3)


def _band_mask(mask, blocks, w):
    """float32 [B, blocks, w, 3w] additive mask of the padded `mask` [B, (blocks + 2) * w] (-1: outside the row)."""
    keys = ops.reshape(mask, (-1, blocks + 2, w))
    keys = ops.concatenate([keys[:, :-2], keys[:, 1:-1], keys[:, 2:]], axis=2)  # [B, blocks, 3w]
    queries = keys[:, :, w:2 * w]  # [B, blocks, w]
    # Query q of a block sits at offset w + q among its 3w keys.
    offsets = ops.arange(3 * w, dtype="int32")[None, :] - (ops.arange(w, dtype="int32")[:, None] + w)
    near = ops.abs(offsets) <= w  # [w, 3w]
    queries, keys = queries[:, :, :, None], keys[:, :, None, :]
    visible = ops.logical_and(keys > 0, ops.logical_or(ops.equal(queries, keys), ops.equal(queries, 0)))
    # (A padding query sees every real key in its window, as in `additive_attention_mask`.)
    visible = ops.logical_and(visible, near[None, None])
    return ops.where(visible, 0.0, MASKED_SCORE)
