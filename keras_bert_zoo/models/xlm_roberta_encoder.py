"""The XLM-RoBERTa encoder: RoBERTa's."""

import keras

from keras_bert_zoo.config.xlm_roberta_config import XlmRobertaConfig
from keras_bert_zoo.models.roberta_encoder import RobertaEncoder


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class XlmRobertaEncoder(RobertaEncoder):
    """XLM-RoBERTa's transformer encoder (Conneau et al., 2020): `RobertaEncoder` of an `XlmRobertaConfig`.

    Weights load from and save to transformers' XLM-RoBERTa checkpoints,
    whose names are RoBERTa's (`convert.roberta_hf_names`).

    Args:
        config: An `XlmRobertaConfig` (or its dict form).
        dtype: Optional Keras dtype policy.
        **kwargs: Passed to `keras.Model`.
    """

    config_class = XlmRobertaConfig
