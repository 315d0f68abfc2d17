"""ALBERT's hyper-parameters: BERT's, with factorized embeddings and transformer blocks shared across depth."""

import dataclasses
import typing

from keras_bert_zoo.config.bert_config import MAX_LAYERS, BertConfig


@dataclasses.dataclass
class AlbertConfig(BertConfig):
    """Shape and numerics of an ALBERT encoder (Lan et al., 2019).

    The block and pooler are BERT's. The embedding tables are
    `embedding_size` wide and always projected to `hidden_size` (the
    encoder's `embedding_hidden_mapping_in`). The `num_layers` layers run
    `num_hidden_groups` groups of weights, each group spanning an equal run of
    consecutive layers (layer i runs group i * num_hidden_groups // num_layers,
    the exact form of google-research/albert's and transformers' float
    formulas), and each layer applies its group's `inner_group_num` blocks in
    turn: the encoder runs num_layers * inner_group_num blocks, and reports
    each one's output in `encoder_outputs`, as both references do. The
    released models share one block across all layers (1 group, 1 inner
    group). The masked-LM transform maps `hidden_size` to `embedding_size`.

    Args (besides `BertConfig`'s; `num_layers` counts the layers, not
    distinct weights):
        embedding_size: Width of the word, position and token-type tables.
        num_hidden_groups: Number of distinct groups of blocks, at most
            `num_layers`.
        inner_group_num: Blocks in each group, applied in turn per layer.
        classifier_dropout_prob: Dropout before the sentence classifier's
            output layer.
    """

    model_type: typing.ClassVar[str] = "albert"
    reference_keys: typing.ClassVar[typing.Dict[str, str]] = {
        **BertConfig.reference_keys, "embedding_size": "embedding_size", "num_hidden_groups": "num_hidden_groups",
        "inner_group_num": "inner_group_num", "classifier_dropout_prob": "classifier_dropout_prob"}
    constant_hf_keys: typing.ClassVar[typing.Dict[str, typing.Any]] = {
        "position_embedding_type": "absolute", "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3}

    vocab_size: int = 30000
    dropout: float = 0.0
    attention_dropout: float = 0.0
    embedding_size: int = 128
    num_hidden_groups: int = 1
    inner_group_num: int = 1
    classifier_dropout_prob: float = 0.1

    def __post_init__(self):
        self.check_int("num_hidden_groups", 1, MAX_LAYERS)
        self.check_int("inner_group_num", 1, MAX_LAYERS)
        super().__post_init__()
        if self.num_hidden_groups > self.num_layers:
            raise ValueError(f"AlbertConfig.num_hidden_groups={self.num_hidden_groups} exceeds num_layers="
                             f"{self.num_layers}: every group must run at least one layer.")
        if self.num_layers * self.inner_group_num > MAX_LAYERS:
            raise ValueError(f"AlbertConfig runs num_layers * inner_group_num = "
                             f"{self.num_layers * self.inner_group_num} blocks, over {MAX_LAYERS}.")
        self.check_rate("classifier_dropout_prob")

    @property
    def projects_embeddings(self):
        return True  # transformers' ALBERT keeps the projection even where the widths are equal.

    @property
    def layer_blocks(self):
        inner = self.inner_group_num
        return tuple((layer * self.num_hidden_groups // self.num_layers) * inner + block
                     for layer in range(self.num_layers) for block in range(inner))

    def block_scope(self, block):
        group, inner = divmod(block, self.inner_group_num)
        return f"bert/encoder/transformer/group_{group}/inner_group_{inner}/"

    def with_num_layers(self, num_layers):
        # The student keeps sharing: as many groups as it has layers, at most the teacher's.
        return dataclasses.replace(self, num_layers=num_layers,
                                   num_hidden_groups=min(self.num_hidden_groups, num_layers))

    @property
    def classifier_dropout(self):
        return self.classifier_dropout_prob

    @classmethod
    def check_reference_dict(cls, values, flavor):
        if flavor not in ("google", "hf"):
            raise ValueError(f"flavor must be 'google' or 'hf', got {flavor!r}.")
        if flavor == "hf" and values.get("model_type") != "albert":
            raise ValueError("ALBERT's Hugging Face config.json has model_type 'albert'.")
        if values.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported.")

    def to_google_dict(self):
        """This config in google-research/albert's albert_config.json keys."""
        return dict(super().to_google_dict(), embedding_size=self.embedding_size,
                    num_hidden_groups=self.num_hidden_groups, inner_group_num=self.inner_group_num)
