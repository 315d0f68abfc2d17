"""RoBERTa's hyper-parameters: BERT's, with positions counted past the pad id and no token types."""

import dataclasses
import typing

from keras_bert_zoo.config.bert_config import BertConfig


@dataclasses.dataclass
class RobertaConfig(BertConfig):
    """Shape and numerics of a RoBERTa encoder (Liu et al., 2019).

    The transformer block and pooler are BERT's. Positions count from
    `pad_token_id + 1` and padding sits at `pad_token_id`, so the position
    table has `max_position_embeddings + pad_token_id + 1` rows, the number
    config.json's `max_position_embeddings` gives (514 for 512 tokens).
    `input_type_ids` are ignored: the type table's first row is added to
    every token. The sentence classifier is dropout, a dense layer with tanh,
    dropout and the output layer over <s> (not the pooler), and the
    masked-LM transform uses exact GELU whatever `hidden_act` is.

    Args (besides `BertConfig`'s):
        pad_token_id: Id of <pad>, which is also the position id of padding.
    """

    model_type: typing.ClassVar[str] = "roberta"
    pre_classifier_activation: typing.ClassVar[typing.Optional[str]] = "tanh"
    pre_classifier_dropout: typing.ClassVar[bool] = True
    masked_lm_activation: typing.ClassVar[typing.Optional[str]] = "gelu"
    reference_keys: typing.ClassVar[typing.Dict[str, str]] = {
        **BertConfig.reference_keys, "pad_token_id": "pad_token_id"}
    constant_hf_keys: typing.ClassVar[typing.Dict[str, typing.Any]] = {
        "position_embedding_type": "absolute", "bos_token_id": 0, "eos_token_id": 2}

    vocab_size: int = 50265
    hidden_act: str = "gelu"
    type_vocab_size: int = 1
    layer_norm_eps: float = 1e-5
    pad_token_id: int = 1

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.pad_token_id, bool) or not isinstance(self.pad_token_id, int) or not (
                0 <= self.pad_token_id < self.vocab_size):
            raise ValueError(f"{type(self).__name__}.pad_token_id must be an integer in [0, vocab_size="
                             f"{self.vocab_size}), got {self.pad_token_id!r}.")

    @property
    def padding_position_id(self):
        return self.pad_token_id

    @property
    def reads_token_types(self):
        return False

    @classmethod
    def check_reference_dict(cls, values, flavor):
        if flavor != "hf" or values.get("model_type") != cls.model_type:
            raise ValueError(f"{cls.__name__} reads Hugging Face config.json files with model_type "
                             f"{cls.model_type!r}.")
        if values.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported.")

    @classmethod
    def from_reference_dict(cls, values, flavor):
        pad_token_id = values.get("pad_token_id", cls.pad_token_id)
        table_rows = values.get("max_position_embeddings")
        if isinstance(pad_token_id, int) and isinstance(table_rows, int):
            # config.json counts the table's rows; ours, the tokens they place.
            values = dict(values, max_position_embeddings=table_rows - pad_token_id - 1)
        return super().from_reference_dict(values, flavor)

    def to_hf_dict(self):
        return dict(super().to_hf_dict(), max_position_embeddings=self.position_table_size)

    def to_google_dict(self):
        raise ValueError(f"{self.model_type} has no google-research checkpoint layout; keep it in the Hugging Face "
                         "layout.")
