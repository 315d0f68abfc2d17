"""BERT with its pretraining heads: masked LM and next-sentence prediction."""

import keras

from keras_bert_zoo.layers import BertClassificationHead
from keras_bert_zoo.layers.checkpoint_slice import prefixed
from keras_bert_zoo.models.masked_lm import masked_inputs, masked_lm_head
from keras_bert_zoo.models.pretrainer import Pretrainer


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertPretrainer(Pretrainer):
    """Masked-LM and next-sentence heads over a `BertEncoder`.

    Inputs: the encoder's three int32 [B, T] tensors plus `masked_lm_positions`
    [B, P]. Outputs: `mlm_logits` [B, P, V] and `nsp_logits` [B, 2], float32.
    The MLM output weights are the encoder's word embeddings. The encoder's
    last layer runs only at [CLS] and the masked positions (the
    encoder's `output_positions`).

    Args:
        encoder: The `BertEncoder` to pretrain (exposed as `.encoder`).
        **kwargs: Passed to `keras.Model`.
    """

    # The output of the sentence-pair head (ALBERT's subclass predicts sentence order with it).
    sentence_output = "nsp_logits"

    def __init__(self, encoder, **kwargs):
        config = encoder.config
        self.encoder = encoder
        self.masked_lm_head = masked_lm_head(encoder)
        self.next_sentence_head = BertClassificationHead(
            2, initializer_range=config.initializer_range, dtype=encoder.dtype_policy,
            name="next_sentence_head")

        inputs = masked_inputs()
        encoded = encoder(inputs, output_positions=inputs["masked_lm_positions"])
        outputs = {
            "mlm_logits": self.masked_lm_head(encoded["sequence_output"]),
            self.sentence_output: self.next_sentence_head(encoded["pooled_output"]),
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def head_slices(self):
        slices = prefixed("cls/predictions/", self.masked_lm_head.checkpoint_slices())
        slices.update(prefixed("cls/seq_relationship/", self.next_sentence_head.checkpoint_slices()))
        return slices
