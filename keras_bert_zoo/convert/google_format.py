"""Google's TF1 checkpoints: google-research/bert's (bert_config.json + bert_model.ckpt.* + vocab.txt),
ELECTRA's, and ALBERT's (albert_config.json + model.ckpt*).

The family is the root scope of the variables ("bert/...", "electra/..."),
or a prefix only its checkpoints hold (ALBERT's shared blocks); its
`google_names` module maps them onto ours.
"""

import glob
import os
import re

import numpy as np

from keras_bert_zoo.config import architecture_registry
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
        # ELECTRA's releases name theirs after the model ("electra_small.index"): a lone checkpoint is it.
        others = glob.glob(os.path.join(path, "*.index"))
        indexes = others if len(others) == 1 else []
    if not indexes:
        return None
    # Newest training step wins ("model.ckpt-1000" over "model.ckpt-900").
    def step(index):
        match = re.search(r"-(\d+)\.index$", index)
        return int(match.group(1)) if match else -1

    return max(indexes, key=step)[: -len(".index")]


def read_google_checkpoint(path):
    """Reads a Google TF1 checkpoint directory (or a checkpoint prefix) of BERT, ELECTRA or ALBERT."""
    import tensorflow as tf

    prefix = find_checkpoint_prefix(path)
    if prefix is None:
        raise ValueError(f"No TF checkpoint (*.ckpt*.index) found at {path}.")
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as e:
        raise ValueError(f"Cannot read TF checkpoint {prefix}: {e}") from e
    shapes = {name: shape for name, shape in reader.get_variable_to_shape_map().items()
              if not _NOT_WEIGHTS.search(name)}
    family = _family_of(shapes, prefix)
    names = _google_names(family)
    config_name = family.google_files[0]
    config_file = os.path.join(os.path.dirname(prefix), config_name)
    config_class = family.resolved("config_class")
    if os.path.isfile(config_file):
        config = config_class.from_json_file(config_file, flavor="google")
    elif names is not None and hasattr(names, "config_from_shapes"):
        config = names.config_from_shapes(shapes)  # ELECTRA's releases carry no config file.
    else:
        raise ValueError(f"Google {family.name} checkpoint {prefix} has no {config_name} beside it.")
    weights = {}
    for name in shapes:
        ours = name if names is None else names.from_google_name(name)
        if ours is not None:
            weights[ours] = np.asarray(reader.get_tensor(name), dtype=np.float32)
    return PretrainedCheckpoint(config=config, weights=weights, source=prefix)


def _family_of(shapes, prefix):
    """The family whose Google variables the checkpoint holds (see `architecture_registry.for_google_variables`)."""
    family = architecture_registry.for_google_variables(shapes)
    if family is None:
        raise ValueError(f"TF checkpoint {prefix} holds no encoder of a known family (variables under bert/ or "
                         "electra/).")
    return family


def _google_names(family):
    return None if family.google_names is None else family.resolved("google_names")


def google_names_of(config):
    """{our name: Google's} function for `config`'s family (the identity for BERT).

    Raises:
        ValueError: If the family has no Google TF1 layout.
    """
    family = architecture_registry.for_config(config)
    if family.google_scope is None:
        raise ValueError(f"{family.name} has no Google TF1 checkpoint layout; keep it in the Hugging Face layout.")
    names = _google_names(family)
    return (lambda name: name) if names is None else names.to_google_name


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
