"""Gathering a few positions of each sequence in a batch."""

from keras import ops


def gather_positions(sequence, positions):
    """The rows of `sequence` [B, T, ...] at `positions` [B, P], as [B, P, ...].

    One flat `take` over the B*T rows, whose gradient is a single scatter-add.

    Args:
        sequence: A tensor [B, T, ...].
        positions: Integer tensor [B, P] of indices into T.
    """
    shape = ops.shape(sequence)
    offsets = ops.arange(shape[0], dtype="int32")[:, None] * shape[1]
    flat_positions = ops.reshape(ops.cast(positions, "int32") + offsets, (-1,))
    rows = ops.take(ops.reshape(sequence, (-1, *sequence.shape[2:])), flat_positions, axis=0)
    return ops.reshape(rows, (-1, ops.shape(positions)[1], *sequence.shape[2:]))


def positions_output_shape(sequence_shape, positions_shape=None):
    """The shape of `sequence_shape` [B, T, ...] gathered at `positions_shape` [B, P], if given."""
    if positions_shape is None:
        return tuple(sequence_shape)
    return (positions_shape[0], positions_shape[1], *sequence_shape[2:])
