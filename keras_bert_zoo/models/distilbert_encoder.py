"""The DistilBERT encoder: BERT's layers without token types or pooler."""

import keras

from keras_bert_zoo.config.distilbert_config import DistilBertConfig
from keras_bert_zoo.models.bert_encoder import BertEncoder


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class DistilBertEncoder(BertEncoder):
    """DistilBERT's transformer encoder (Sanh et al., 2019).

    The same inputs as `BertEncoder` (`input_type_ids` is accepted and
    ignored) and outputs `sequence_output` and `encoder_outputs`; DistilBERT
    has no pooler. Weights load from and save to transformers' DistilBERT
    checkpoints (`convert.distilbert_hf_names`).

    Args:
        config: A `DistilBertConfig` (or its dict form).
        dtype: Optional Keras dtype policy.
        **kwargs: Passed to `keras.Model`.
    """

    config_class = DistilBertConfig
