"""Masked-language modelling over any family's encoder."""

import keras

from keras_bert_zoo.layers import BertMaskedLMHead
from keras_bert_zoo.layers.checkpoint_slice import prefixed
from keras_bert_zoo.models.bert_encoder import encoder_inputs
from keras_bert_zoo.models.bert_task_model import BertTaskModel


def masked_lm_head(encoder, name="masked_lm_head"):
    """The family's masked-LM head over `encoder`, its output weights tied to the word embeddings."""
    config = encoder.config
    return BertMaskedLMHead(
        encoder.embeddings.word_embeddings,
        hidden_act=config.masked_lm_activation or config.hidden_act,
        layer_norm_eps=config.layer_norm_eps,
        initializer_range=config.initializer_range,
        input_size=config.hidden_size,
        transform=encoder.head_transform("transform"),
        dtype=encoder.dtype_policy,
        name=name,
    )


def masked_inputs():
    """The encoder's symbolic inputs plus `masked_lm_positions` [B, P]."""
    inputs = encoder_inputs()
    inputs["masked_lm_positions"] = keras.Input(shape=(None,), dtype="int32", name="masked_lm_positions")
    return inputs


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class MaskedLM(BertTaskModel):
    """Predicts the words at `masked_lm_positions`, for any family's encoder.

    Inputs: the encoder's three int32 [B, T] tensors plus `masked_lm_positions`
    [B, P]. Output: `mlm_logits` [B, P, V], float32. The head is the family's
    (BERT's cls/predictions, DistilBERT's vocab_transform, ELECTRA's
    generator_predictions); its output weights are the word embeddings, and
    the encoder's last layer runs only at the masked positions.
    `from_pretrained` reads `XForMaskedLM` checkpoints and the masked-LM head
    of BERT's pretraining ones.

    Args:
        encoder: The encoder (exposed as `.encoder`).
        **kwargs: Passed to `keras.Model`.
    """

    task = "masked_lm"
    uses_pooler = False
    # A pretraining checkpoint holds this head beside its others.
    head_tasks = ("masked_lm", "pretrainer")

    def __init__(self, encoder, **kwargs):
        self.encoder = encoder
        self.masked_lm_head = masked_lm_head(encoder)
        inputs = masked_inputs()
        encoded = encoder(inputs, output_positions=inputs["masked_lm_positions"])
        outputs = {"mlm_logits": self.masked_lm_head(encoded["sequence_output"])}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def head_slices(self):
        return prefixed("cls/predictions/", self.masked_lm_head.checkpoint_slices())
