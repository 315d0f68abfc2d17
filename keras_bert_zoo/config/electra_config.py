"""ELECTRA's hyper-parameters: BERT's, with a narrower embedding projected to the hidden width."""

import dataclasses
import typing

from keras_bert_zoo.config.bert_config import BertConfig


@dataclasses.dataclass
class ElectraConfig(BertConfig):
    """Shape and numerics of an ELECTRA encoder (Clark et al., 2020).

    The transformer block is BERT's. The embedding tables are
    `embedding_size` wide; where that differs from `hidden_size`, a dense
    layer projects the normalized embeddings to it (`embeddings_project`).
    ELECTRA has no pooler: its sentence classifier is dropout, a dense layer
    with GELU, dropout and the output layer over [CLS], and its generator's
    masked-LM transform uses exact GELU whatever `hidden_act` is.

    Args (besides `BertConfig`'s):
        embedding_size: Width of the word, position and token-type tables.
    """

    model_type: typing.ClassVar[str] = "electra"
    has_pooler: typing.ClassVar[bool] = False
    pre_classifier_activation: typing.ClassVar[typing.Optional[str]] = "gelu"
    pre_classifier_dropout: typing.ClassVar[bool] = True
    masked_lm_activation: typing.ClassVar[typing.Optional[str]] = "gelu"
    reference_keys: typing.ClassVar[typing.Dict[str, str]] = {
        **BertConfig.reference_keys, "embedding_size": "embedding_size"}

    hidden_size: int = 256
    num_heads: int = 4
    intermediate_size: int = 1024
    hidden_act: str = "gelu"
    embedding_size: int = 128

    @classmethod
    def check_reference_dict(cls, values, flavor):
        if flavor == "hf" and values.get("model_type") != "electra":
            raise ValueError("ELECTRA's Hugging Face config.json has model_type 'electra'.")
        if values.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported.")

    @classmethod
    def from_reference_dict(cls, values, flavor):
        if "embedding_size" not in values:  # Google's hparams leave it at hidden_size.
            values = dict(values, embedding_size=values.get("hidden_size"))
        return super().from_reference_dict(values, flavor)

    def to_google_dict(self):
        return dict(super().to_google_dict(), embedding_size=self.embedding_size)
