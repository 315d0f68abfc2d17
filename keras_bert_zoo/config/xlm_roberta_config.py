"""XLM-RoBERTa's hyper-parameters: RoBERTa's architecture over a SentencePiece vocabulary of 100 languages."""

import dataclasses
import typing

from keras_bert_zoo.config.roberta_config import RobertaConfig


@dataclasses.dataclass
class XlmRobertaConfig(RobertaConfig):
    """Shape and numerics of an XLM-RoBERTa encoder (Conneau et al., 2020).

    The architecture, weight names and config.json keys are RoBERTa's (see
    `RobertaConfig`); config.json's `model_type` is "xlm-roberta", and the
    default vocabulary is XLM-R's 250,002 SentencePiece ids.
    """

    model_type: typing.ClassVar[str] = "xlm-roberta"

    vocab_size: int = 250002
