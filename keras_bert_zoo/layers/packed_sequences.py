"""Several sequences packed into one row: who attends to whom, and where each position count starts.

An `input_mask` row of 0/1 holds one sequence and its padding, as BERT's
inputs always have. A row may instead hold sequences packed one after the
other, numbered 1, 2, 3, ... in `input_mask` (0 still padding): each attends
only to its own tokens and counts positions from 0, so it is encoded exactly
as it would be alone in its own row, without the padding of a row of its own.
"""

import keras
from keras import ops

# Added to the scores of hidden keys; exp() of it is exactly 0 in float32.
MASKED_SCORE = -1e9


def additive_attention_mask(input_mask, query_positions=None):
    """float32 [B, 1, Q, T]: 0 where a query may attend to a key, MASKED_SCORE where not.

    A key is hidden when it is padding or belongs to another packed sequence
    than the query. A padding query sees every real key, as in a row of one
    sequence, so 0/1 masks attend exactly as BERT does.

    Args:
        input_mask: int [B, T]: 0 for padding, else the number of the packed
            sequence (all 1 for one sequence per row).
        query_positions: Optional int [B, Q] positions of the queries; all T
            positions when None.
    """
    keys = input_mask[:, None, :]
    queries = input_mask[:, :, None] if query_positions is None else ops.take_along_axis(
        input_mask, ops.cast(query_positions, "int32"), axis=1)[:, :, None]
    hidden = ops.logical_or(ops.equal(keys, 0),
                            ops.logical_and(ops.not_equal(queries, keys), ops.not_equal(queries, 0)))
    return ops.cast(hidden, "float32")[:, None] * MASKED_SCORE


def packed_position_ids(input_mask, padding_position_id=None):
    """int32 [B, T] position ids: from the start again at every packed sequence numbered 2 or more.

    Without `padding_position_id`, the first sequence of a row and padding
    keep their index in the row, so 0/1 masks give the positions 0..T-1 that
    BERT uses whatever the padding. With it, padding sits at that id and each
    sequence counts its tokens from the id after it, as RoBERTa's positions
    do (transformers' `create_position_ids_from_input_ids`, where the pad ids
    are the masked positions, left padding included).

    Args:
        input_mask: int [B, T] as in `additive_attention_mask`.
        padding_position_id: Optional position id of padding (RoBERTa's pad id).
    """
    input_mask = ops.cast(input_mask, "int32")
    # 0..T-1 on every row; a cumulative sum, as the row length may be unknown until the call.
    index = ops.cumsum(ops.ones_like(input_mask), axis=1) - 1
    packed = index - _sequence_starts(input_mask, index)
    if padding_position_id is None:
        return ops.where(input_mask >= 2, packed, index)
    # The first sequence counts only real tokens, so that left padding shifts no position.
    first = ops.cumsum(ops.cast(input_mask > 0, "int32"), axis=1) - 1
    counted = ops.where(input_mask >= 2, packed, first) + (padding_position_id + 1)
    return ops.where(ops.equal(input_mask, 0), padding_position_id, counted)


def _sequence_starts(input_mask, index):
    """int32 [B, T]: the index of the first token of each token's sequence (its mask value's first in the row)."""
    return _SequenceStarts()(input_mask, index)


class _SequenceStarts(keras.Operation):
    """`_sequence_starts` in O(B x T) memory, where comparing every pair of tokens took O(B x T^2) (512 MiB a row
    at ModernBERT's 8,192 tokens): one segment per (row, mask value), each keeping its smallest index.

    An operation of its own so that the number of segments comes from the shape of each call's inputs: JAX needs
    it static, and a functional model's symbolic inputs have none. A row of T tokens holds at most T sequences,
    so larger values share the last segment.
    """

    def call(self, input_mask, index):
        batch_size, length = ops.shape(input_mask)[0], ops.shape(input_mask)[1]
        keys = ops.arange(batch_size, dtype="int32")[:, None] * (length + 1) + ops.clip(input_mask, 0, length)
        # segment_min as the negated segment_max of the negated indices (Keras has only the latter).
        first = -ops.segment_max(-ops.reshape(index, (-1,)), ops.reshape(keys, (-1,)),
                                 num_segments=batch_size * (length + 1))
        return ops.take(first, keys, axis=0)

    def compute_output_spec(self, input_mask, index):
        return keras.KerasTensor(index.shape, "int32")


def sequence_count(input_mask):
    """float32 scalar: how many sequences the rows of `input_mask` [B, T] hold (B for 0/1 masks)."""
    return ops.sum(ops.cast(ops.max(input_mask, axis=1), "float32"))
