"""Training --model_dir directories: config.json plus object-based TF checkpoints (ckpt-N)."""

import dataclasses
import os
import typing

from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.convert.hf_format import read_hf_config

# Object-based (TF2) checkpoints carry their object graph under this key.
_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


@dataclasses.dataclass
class TrainingCheckpoint:
    """The newest checkpoint of a training tool's model_dir.

    Args:
        config: The encoder config.
        task: The task model that trained it.
        head_config: That model's head kwargs.
        prefix: The checkpoint prefix (model_dir/ckpt-N).
    """

    config: BertConfig
    task: typing.Optional[str]
    head_config: typing.Dict[str, typing.Any]
    prefix: str


def find_training_checkpoint(path):
    """The newest training checkpoint in `path` (a model_dir or a ckpt prefix), or None."""
    path = os.fspath(path)
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    is_model_dir = os.path.isfile(os.path.join(directory, "checkpoint")) and os.path.isdir(path)
    if not os.path.isfile(os.path.join(directory, "config.json")) or not (
            is_model_dir or os.path.isfile(path + ".index")):
        return None
    import tensorflow as tf  # Deferred: other checkpoint kinds load without TensorFlow.

    prefix = tf.train.latest_checkpoint(path) if is_model_dir else path
    if not prefix or _OBJECT_GRAPH_KEY not in dict(tf.train.list_variables(prefix)):
        return None
    config, task, head_config = read_hf_config(directory)
    return TrainingCheckpoint(config=config, task=task, head_config=head_config, prefix=prefix)
