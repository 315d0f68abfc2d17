"""A checkpoint read from any supported source, with weights under Google's names."""

import dataclasses
import typing

import numpy as np

from keras_bert_zoo.config import BertConfig


@dataclasses.dataclass
class PretrainedCheckpoint:
    """Weights and metadata of a BERT checkpoint.

    Args:
        config: The encoder's BertConfig.
        weights: Arrays keyed by google-research/bert variable names
            ("bert/embeddings/word_embeddings", "cls/predictions/output_bias").
        source: Where it was read from, for messages.
        task: Which task model wrote the heads, if known (a `kbz.tasks` name).
        head_config: Keyword arguments of that task model's head
            (num_classes, label_names, ...).
    """

    config: BertConfig
    weights: typing.Dict[str, np.ndarray]
    source: str
    task: typing.Optional[str] = None
    head_config: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)

    @property
    def held_task(self):
        """The task whose heads it holds: the recorded task, else pretrainer given the masked-LM head, else encoder."""
        if self.task is not None:
            return self.task
        has_mlm = any(name.startswith("cls/predictions/") for name in self.weights)
        return "pretrainer" if has_mlm else "encoder"
