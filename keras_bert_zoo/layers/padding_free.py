"""Running a transformer's token-wise work on the real tokens only, not on the padding.

A batch padded to its longest text is mostly padding when lengths vary (SST-2's sentences in
batches of 32: 3.2 padded tokens per real one), and every dense layer, GELU and LayerNorm of a
layer pays for it. Only attention needs the [B, T] layout. `token_layout` describes where the N
real tokens of a padded batch sit, so the layers keep hidden states as [N, H] and lay them out
as [B, T, H] just for the attention products (`restore_padding`), then take the real tokens back
(`remove_padding`). The real tokens' results are those of the padded computation: padded keys are
masked out of the attention either way.
"""

from keras import ops


def token_layout(input_mask):
    """Where the real tokens of a padded batch are.

    Args:
        input_mask: int [B, T], 0 for padding (packed-sequence numbers count as real tokens).

    Returns:
        (token_rows, padded_index): int32 [N], the flat B*T positions of the N real tokens in order;
        int32 [B, T], each position's row among them, N (a row of zeros) for padding.
    """
    is_token = ops.reshape(input_mask, (-1,)) != 0
    token_rows = ops.cast(ops.reshape(ops.nonzero(is_token)[0], (-1,)), "int32")
    row_among_tokens = ops.cumsum(ops.cast(is_token, "int32")) - 1
    padded_index = ops.where(is_token, row_among_tokens, ops.shape(token_rows)[0])
    return token_rows, ops.reshape(padded_index, ops.shape(input_mask))


def remove_padding(x, layout):
    """The real tokens' rows of `x` [B, T, ...], as [N, ...] (see `token_layout`)."""
    return ops.take(ops.reshape(x, (-1, *x.shape[2:])), layout[0], axis=0)


def restore_padding(x, layout):
    """`x` [N, ...] laid out as the padded batch [B, T, ...], zeros at the padding."""
    with_zero_row = ops.concatenate([x, ops.zeros_like(x[:1])], axis=0)
    return ops.take(with_zero_row, layout[1], axis=0)
