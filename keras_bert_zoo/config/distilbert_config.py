"""DistilBERT's hyper-parameters: BERT's, without token types or pooler, in DistilBERT's config keys."""

import dataclasses
import typing

from keras_bert_zoo.config.bert_config import BertConfig

_HF_ACTIVATIONS = {"gelu": "gelu", "relu": "relu"}


@dataclasses.dataclass
class DistilBertConfig(BertConfig):
    """Shape and numerics of a DistilBERT encoder (Sanh et al., 2019).

    The transformer block is BERT's; DistilBERT has no token-type embeddings
    and no pooler, names its weights its own way (`convert.distilbert_hf_names`),
    and drops out only the attention probabilities and the feed-forward
    output inside a block (BERT also the attention output).

    Args (besides `BertConfig`'s, whose `type_vocab_size` is 0 here):
        qa_dropout: Dropout before DistilBertForQuestionAnswering's span head.
        seq_classif_dropout: Dropout before DistilBertForSequenceClassification's
            classifier.
    """

    model_type: typing.ClassVar[str] = "distilbert"
    has_pooler: typing.ClassVar[bool] = False
    has_token_types: typing.ClassVar[bool] = False
    # DistilBertForSequenceClassification: pre_classifier, ReLU, dropout, classifier.
    pre_classifier_activation: typing.ClassVar[typing.Optional[str]] = "relu"
    reference_keys: typing.ClassVar[typing.Dict[str, str]] = {
        "vocab_size": "vocab_size", "hidden_size": "dim", "num_layers": "n_layers", "num_heads": "n_heads",
        "intermediate_size": "hidden_dim", "hidden_act": "activation",
        "max_position_embeddings": "max_position_embeddings", "dropout": "dropout",
        "attention_dropout": "attention_dropout", "initializer_range": "initializer_range",
        "qa_dropout": "qa_dropout", "seq_classif_dropout": "seq_classif_dropout"}
    constant_hf_keys: typing.ClassVar[typing.Dict[str, typing.Any]] = {
        "sinusoidal_pos_embds": False, "pad_token_id": 0, "tie_weights_": True}
    hf_activation_names: typing.ClassVar[typing.Dict[str, str]] = {"gelu": "gelu", "relu": "relu"}

    hidden_size: int = 768
    num_layers: int = 6
    hidden_act: str = "gelu"
    type_vocab_size: int = 0
    qa_dropout: float = 0.1
    seq_classif_dropout: float = 0.2

    @classmethod
    def check_reference_dict(cls, values, flavor):
        if flavor != "hf" or values.get("model_type") != "distilbert":
            raise ValueError("DistilBERT configs are Hugging Face config.json files with model_type 'distilbert'.")
        if values.get("sinusoidal_pos_embds"):
            raise ValueError("sinusoidal_pos_embds=true is not supported: the position table must be learned.")

    @classmethod
    def activations(cls, flavor):
        return _HF_ACTIVATIONS

    def to_hf_dict(self):
        if self.layer_norm_eps != 1e-12:
            raise ValueError(f"DistilBERT's config.json can't express layer_norm_eps={self.layer_norm_eps} (its "
                             "LayerNorms use 1e-12).")
        return super().to_hf_dict()

    @property
    def classifier_dropout(self):
        return self.seq_classif_dropout

    @property
    def attention_output_dropout(self):
        return 0.0  # DistilBERT's block drops out the attention probabilities, not its output.

    def to_google_dict(self):
        raise ValueError("DistilBERT has no google-research checkpoint layout; keep it in the Hugging Face layout.")
