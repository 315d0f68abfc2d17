"""How one named checkpoint tensor maps onto (part of) a Keras variable."""

import typing


class CheckpointSlice(typing.NamedTuple):
    """A checkpoint tensor stored in `variable`, or in one equal part of it.

    Checkpoints name tensors the way google-research/bert does
    ("bert/encoder/layer_0/attention/self/query/kernel"). Most map onto one
    variable whole; fused variables (the QKV projection) hold several, each an
    equal split of the last axis.

    Args:
        variable: The Keras variable.
        index: Which split of the last axis holds this tensor.
        count: How many equal splits the last axis has (1: the whole variable).
    """

    variable: typing.Any
    index: int = 0
    count: int = 1

    @property
    def shape(self):
        shape = tuple(self.variable.shape)
        return shape[:-1] + (shape[-1] // self.count,)


def prefixed(prefix, slices):
    """`slices` with every name prefixed by `prefix`."""
    return {prefix + name: value for name, value in slices.items()}


def layer_norm_slices(layer):
    """Names relative to a LayerNorm's scope: gamma, and beta where it has one."""
    slices = {"LayerNorm/gamma": CheckpointSlice(layer.gamma)}
    if layer.center:
        slices["LayerNorm/beta"] = CheckpointSlice(layer.beta)
    return slices


def dense_slices(layer):
    """Names relative to a dense layer's scope: kernel, and bias where it has one."""
    slices = {"kernel": CheckpointSlice(layer.kernel)}
    if layer.use_bias:
        slices["bias"] = CheckpointSlice(layer.bias)
    return slices
