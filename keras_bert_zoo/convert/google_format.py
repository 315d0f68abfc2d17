"""google-research/bert checkpoints: bert_config.json + bert_model.ckpt.* + vocab.txt."""

import glob
import os
import re

import numpy as np

from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.convert.pretrained_checkpoint import PretrainedCheckpoint

# Optimizer state and counters that the original training loop saved beside the weights.
_NOT_WEIGHTS = re.compile(r"(/adam_[mv]|/lamb_[mv]|_power|global_step|good_steps|loss_scale)$")


def find_checkpoint_prefix(path):
    """The checkpoint prefix of a Google directory or prefix path, or None."""
    if os.path.isfile(path + ".index"):
        return path
    if not os.path.isdir(path):
        return None
    preferred = os.path.join(path, "bert_model.ckpt")
    if os.path.isfile(preferred + ".index"):
        return preferred
    indexes = glob.glob(os.path.join(path, "*.ckpt*.index"))
    if not indexes:
        return None
    # Newest training step wins ("model.ckpt-1000" over "model.ckpt-900").
    def step(index):
        match = re.search(r"-(\d+)\.index$", index)
        return int(match.group(1)) if match else -1

    return max(indexes, key=step)[: -len(".index")]


def read_google_checkpoint(path):
    """Reads a Google BERT checkpoint directory (or a checkpoint prefix)."""
    import tensorflow as tf

    prefix = find_checkpoint_prefix(path)
    if prefix is None:
        raise ValueError(f"No TF checkpoint (*.ckpt*.index) found at {path}.")
    directory = os.path.dirname(prefix)
    config_file = os.path.join(directory, "bert_config.json")
    if not os.path.isfile(config_file):
        raise ValueError(f"Google BERT checkpoint {prefix} has no bert_config.json beside it.")
    config = BertConfig.from_json_file(config_file, flavor="google")
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as e:
        raise ValueError(f"Cannot read TF checkpoint {prefix}: {e}") from e
    weights = {
        name: np.asarray(reader.get_tensor(name), dtype=np.float32)
        for name in reader.get_variable_to_shape_map()
        if not _NOT_WEIGHTS.search(name)
    }
    return PretrainedCheckpoint(config=config, weights=weights, source=prefix)


def write_google_checkpoint(prefix, weights):
    """Writes `weights` (Google names) as a name-based TF checkpoint at `prefix`."""
    import tensorflow as tf

    names = sorted(weights)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(weights[name]) for name in names],
    )
