"""The ALBERT encoder: BERT's blocks shared across depth, over narrower embeddings projected to their width."""

import keras

from keras_bert_zoo.config.albert_config import AlbertConfig
from keras_bert_zoo.models.bert_encoder import BertEncoder


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class AlbertEncoder(BertEncoder):
    """ALBERT's transformer encoder (Lan et al., 2019).

    The same inputs as `BertEncoder`, and outputs `sequence_output`,
    `pooled_output` and `encoder_outputs` (one per block run: num_layers *
    inner_group_num). The embeddings are `config.embedding_size` wide and
    projected to `hidden_size`; the layers share the weights of
    `num_hidden_groups` groups of `inner_group_num` blocks (see
    `AlbertConfig`), so `transformer_layers` repeats blocks. Weights load
    from and save to transformers' ALBERT checkpoints and Google's TF1 ones
    (`convert.albert_names`).

    Args:
        config: An `AlbertConfig` (or its dict form).
        dtype: Optional Keras dtype policy.
        **kwargs: Passed to `keras.Model`.
    """

    config_class = AlbertConfig
