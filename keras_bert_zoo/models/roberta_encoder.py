"""The RoBERTa encoder: BERT's layers and pooler, positions counted past the pad id, no token types."""

import keras

from keras_bert_zoo.config.roberta_config import RobertaConfig
from keras_bert_zoo.models.bert_encoder import BertEncoder


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class RobertaEncoder(BertEncoder):
    """RoBERTa's transformer encoder (Liu et al., 2019).

    The same inputs as `BertEncoder` (`input_type_ids` is accepted and
    ignored) and outputs `sequence_output`, `pooled_output` and
    `encoder_outputs`. Positions are RoBERTa's: padding (`input_mask` 0) at
    `pad_token_id`, each sequence's tokens from `pad_token_id + 1` on. Weights
    load from and save to transformers' RoBERTa checkpoints
    (`convert.roberta_hf_names`).

    Args:
        config: A `RobertaConfig` (or its dict form).
        dtype: Optional Keras dtype policy.
        **kwargs: Passed to `keras.Model`.
    """

    config_class = RobertaConfig
