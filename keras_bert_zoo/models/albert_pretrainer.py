"""ALBERT with its pretraining heads: masked LM and sentence-order prediction."""

import keras

from keras_bert_zoo.models.bert_pretrainer import BertPretrainer


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class AlbertPretrainer(BertPretrainer):
    """Masked-LM and sentence-order heads over an encoder (ALBERT's objective, "mlm_sop").

    BERT's two heads, the pair head predicting whether segment B follows A
    (label 0) or the two were swapped (label 1), as google-research/albert's
    `cls/seq_relationship` does (transformers' `sop_classifier`). Inputs: the
    encoder's three int32 [B, T] tensors plus `masked_lm_positions` [B, P].
    Outputs: `mlm_logits` [B, P, V] and `sop_logits` [B, 2], float32. The
    masked-LM transform maps the encoder's width to the word embeddings'
    (ALBERT's `embedding_size`), whose table is its output layer.

    Args:
        encoder: The encoder to pretrain (exposed as `.encoder`); it needs a pooler.
        **kwargs: Passed to `keras.Model`.
    """

    sentence_output = "sop_logits"
