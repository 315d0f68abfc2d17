"""The ELECTRA encoder: BERT's layers over narrower embeddings, without pooler."""

import keras

from keras_bert_zoo.config.electra_config import ElectraConfig
from keras_bert_zoo.models.bert_encoder import BertEncoder


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ElectraEncoder(BertEncoder):
    """ELECTRA's transformer encoder (Clark et al., 2020): the discriminator or the generator.

    The same inputs as `BertEncoder`, and outputs `sequence_output` and
    `encoder_outputs`; ELECTRA has no pooler. The embeddings are
    `config.embedding_size` wide and projected to `hidden_size` where the two
    differ. Weights load from and save to transformers' ELECTRA checkpoints
    and Google's TF1 ones (`convert.electra_names`).

    Args:
        config: An `ElectraConfig` (or its dict form).
        dtype: Optional Keras dtype policy.
        **kwargs: Passed to `keras.Model`.
    """

    config_class = ElectraConfig
