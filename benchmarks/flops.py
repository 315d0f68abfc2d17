"""FLOP counts and synthetic inputs for the model-speed benchmarks."""

import numpy as np


def pretraining_flops(config, seq_length, predictions):
    """Training FLOPs of one sequence: 3x the forward pass of dense layers, attention and the MLM head.

    The MLM head counts only the `predictions` gathered positions, as both
    our model and keras-hub's compute it.
    """
    h, t, i = config.hidden_size, seq_length, config.intermediate_size
    per_layer = 2 * t * (4 * h * h + 2 * h * i) + 2 * 2 * t * t * h
    heads = 2 * h * h + 2 * predictions * (h * h + h * config.vocab_size) + 2 * h * 2
    return 3 * (config.num_layers * per_layer + heads)


def random_pretraining_batch(config, batch_size, seq_length, predictions, seed=0):
    """A fixed random pretraining batch as NumPy arrays (ids, mask, types, positions, labels, weights, nsp)."""
    rng = np.random.default_rng(seed)
    positions = np.sort(np.argsort(rng.random((batch_size, seq_length - 1)), axis=1)[:, :predictions] + 1, axis=1)
    return {
        "ids": rng.integers(1000, config.vocab_size, (batch_size, seq_length)).astype("int32"),
        "mask": np.ones((batch_size, seq_length), "int32"),
        "types": (np.arange(seq_length)[None] >= seq_length // 2).repeat(batch_size, 0).astype("int32"),
        "positions": positions.astype("int32"),
        "labels": rng.integers(1000, config.vocab_size, (batch_size, predictions)).astype("int32"),
        "weights": np.ones((batch_size, predictions), "float32"),
        "nsp": rng.integers(0, 2, batch_size).astype("int32"),
    }
