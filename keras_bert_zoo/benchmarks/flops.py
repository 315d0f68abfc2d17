"""FLOP counts for reporting achieved throughput."""


def pretraining_flops(config, seq_length, predictions):
    """Training FLOPs of one sequence: 3x the forward pass of dense layers, attention and the MLM head.

    The MLM head counts only the `predictions` gathered positions, as both
    our model and keras-hub's compute it.
    """
    h, t, i = config.hidden_size, seq_length, config.intermediate_size
    per_layer = 2 * t * (4 * h * h + 2 * h * i) + 2 * 2 * t * t * h
    heads = 2 * h * h + 2 * predictions * (h * h + h * config.vocab_size) + 2 * h * 2
    return 3 * (config.num_layers * per_layer + heads)
