"""The feed-forward activations a BertConfig can name."""

from keras import ops


def hidden_activation(name, x):
    """Applies the activation `name` ("gelu", "gelu_approx", "relu", "silu", "tanh")."""
    if name == "gelu":
        return ops.gelu(x, approximate=False)
    if name == "gelu_approx":
        return ops.gelu(x, approximate=True)
    if name == "relu":
        return ops.relu(x)
    if name == "silu":
        return ops.silu(x)
    if name == "tanh":
        return ops.tanh(x)
    raise ValueError(f"Unknown hidden activation {name!r}.")
