"""ModernBERT's hyper-parameters: rotary positions, GeGLU, pre-norm, alternating global and sliding-window attention."""

import dataclasses
import typing

from keras_bert_zoo.config.bert_config import MAX_LAYERS, MAX_POSITIONS, BertConfig

# transformers' `layer_types` entries: global attention, and the sliding window of `local_attention` tokens.
GLOBAL_ATTENTION = "full_attention"
LOCAL_ATTENTION = "sliding_attention"


@dataclasses.dataclass
class ModernBertConfig(BertConfig):
    """Shape and numerics of a ModernBERT encoder (Warner et al., 2024).

    No position table and no token types: queries and keys are rotated
    (RoPE) by each token's position, with `global_rope_theta` in the global
    layers and `local_rope_theta` in the others. Layer i attends globally
    when i is a multiple of `global_attn_every_n_layers`, else to the tokens
    at most `local_attention // 2` away. Each layer is pre-norm: attention
    and a gated feed-forward (`hidden_act(x W_in) * (x W_gate)`, twice
    `intermediate_size` wide) each read a LayerNorm of the residual stream,
    and a final LayerNorm follows the last layer; layer 0 reads the
    normalized embeddings directly. Every head (classifier, tagger, span,
    masked LM) puts a dense layer, `classifier_activation` and a LayerNorm
    before its output layer.

    Args (besides `BertConfig`'s; `dropout` is the feed-forward's, inside
    the gated product; `attention_dropout` also drops out the attention
    output; `type_vocab_size` is 0):
        local_attention: Width of the sliding window (keys at most half of it away).
        global_attn_every_n_layers: Every how many layers one attends globally.
        global_rope_theta: RoPE base of the global layers.
        local_rope_theta: RoPE base of the sliding-window layers.
        embedding_dropout: Dropout after the embeddings' LayerNorm.
        classifier_dropout: Dropout before the heads' output layers.
        classifier_activation: Activation of the heads' dense layer.
        classifier_pooling: "cls" or "mean": what the sentence classifier reads.
        norm_bias: Whether the LayerNorms have a bias.
        attention_bias: Whether the attention's projections have biases.
        mlp_bias: Whether the feed-forward's projections have biases.
        classifier_bias: Whether the heads' dense layer has a bias.
        pad_token_id: Id of the padding token (config.json's; the embedding
            of this id gets no gradient in transformers).
        cls_token_id: Id of [CLS].
        sep_token_id: Id of [SEP].
    """

    model_type: typing.ClassVar[str] = "modernbert"
    has_pooler: typing.ClassVar[bool] = False
    has_token_types: typing.ClassVar[bool] = False
    activation_fields: typing.ClassVar[typing.Tuple[str, ...]] = ("hidden_act", "classifier_activation")
    reference_keys: typing.ClassVar[typing.Dict[str, str]] = {
        "vocab_size": "vocab_size", "hidden_size": "hidden_size", "num_layers": "num_hidden_layers",
        "num_heads": "num_attention_heads", "intermediate_size": "intermediate_size",
        "hidden_act": "hidden_activation", "max_position_embeddings": "max_position_embeddings",
        "dropout": "mlp_dropout", "attention_dropout": "attention_dropout", "layer_norm_eps": "norm_eps",
        "initializer_range": "initializer_range", "local_attention": "local_attention",
        "embedding_dropout": "embedding_dropout", "classifier_dropout": "classifier_dropout",
        "classifier_activation": "classifier_activation", "classifier_pooling": "classifier_pooling",
        "norm_bias": "norm_bias", "attention_bias": "attention_bias", "mlp_bias": "mlp_bias",
        "classifier_bias": "classifier_bias", "pad_token_id": "pad_token_id",
        "cls_token_id": "cls_token_id", "sep_token_id": "sep_token_id"}
    constant_hf_keys: typing.ClassVar[typing.Dict[str, typing.Any]] = {"tie_word_embeddings": True,
                                                                        "decoder_bias": True}

    vocab_size: int = 50368
    hidden_size: int = 768
    num_layers: int = 22
    num_heads: int = 12
    intermediate_size: int = 1152
    hidden_act: str = "gelu"
    max_position_embeddings: int = 8192
    type_vocab_size: int = 0
    dropout: float = 0.0
    attention_dropout: float = 0.0
    layer_norm_eps: float = 1e-5
    local_attention: int = 128
    global_attn_every_n_layers: int = 3
    global_rope_theta: float = 160_000.0
    local_rope_theta: float = 10_000.0
    embedding_dropout: float = 0.0
    classifier_dropout: float = 0.0
    classifier_activation: str = "gelu"
    classifier_pooling: str = "cls"
    norm_bias: bool = False
    attention_bias: bool = False
    mlp_bias: bool = False
    classifier_bias: bool = False
    pad_token_id: int = 50283
    cls_token_id: int = 50281
    sep_token_id: int = 50282

    def __post_init__(self):
        super().__post_init__()
        name = type(self).__name__
        if self.head_size % 2:
            raise ValueError(f"{name}: rotary embeddings need an even head size, got hidden_size / num_heads = "
                             f"{self.head_size}.")
        self.check_int("local_attention", 2, MAX_POSITIONS)
        self.check_int("global_attn_every_n_layers", 1, MAX_LAYERS)
        for field in ("global_rope_theta", "local_rope_theta"):
            if not float(getattr(self, field)) > 1.0:
                raise ValueError(f"{name}.{field} must be above 1, got {getattr(self, field)!r}.")
        self.check_rate("embedding_dropout")
        self.check_rate("classifier_dropout")
        if self.classifier_activation not in self.hf_activation_names:
            raise ValueError(f"{name}.classifier_activation={self.classifier_activation!r} is not one of "
                             f"{tuple(self.hf_activation_names)}.")
        if self.classifier_pooling not in ("cls", "mean"):
            raise ValueError(f"{name}.classifier_pooling must be 'cls' or 'mean', got {self.classifier_pooling!r}.")
        for field in ("pad_token_id", "cls_token_id", "sep_token_id"):
            self.check_int(field, 0, self.vocab_size - 1)

    def num_parameters(self):
        h, i = self.hidden_size, self.intermediate_size
        norm = 2 * h if self.norm_bias else h
        attention = 4 * h * h + (4 * h if self.attention_bias else 0)
        mlp = 3 * h * i + (2 * i + h if self.mlp_bias else 0)
        # Layer 0 reads the normalized embeddings without a norm of its own.
        layers = self.num_layers * (attention + mlp + 2 * norm) - norm
        return self.vocab_size * h + norm + layers + norm

    @property
    def padding_position_id(self):
        return None

    @property
    def position_table_size(self):
        return 0  # Positions are rotations, not a table.

    @property
    def attention_output_dropout(self):
        return self.attention_dropout  # transformers drops out the attention output at the same rate.

    @property
    def layer_types(self):
        """Each layer's attention: GLOBAL_ATTENTION or LOCAL_ATTENTION (transformers' `layer_types`)."""
        return tuple(LOCAL_ATTENTION if i % self.global_attn_every_n_layers else GLOBAL_ATTENTION
                     for i in range(self.num_layers))

    @property
    def half_window(self):
        """How far a sliding-window layer looks either way: keys at most this many tokens away."""
        return self.local_attention // 2

    @classmethod
    def check_reference_dict(cls, values, flavor):
        if flavor != "hf" or values.get("model_type") != cls.model_type:
            raise ValueError(f"{cls.__name__} reads Hugging Face config.json files with model_type "
                             f"{cls.model_type!r}.")
        if values.get("decoder_bias", True) is not True:
            raise ValueError("decoder_bias=false is not supported: the masked-LM output layer has a bias.")
        if values.get("head_dim") not in (None, values.get("hidden_size", 0) // max(values.get(
                "num_attention_heads", 1), 1)):
            raise ValueError("head_dim must be hidden_size / num_attention_heads.")

    @classmethod
    def reference_fields(cls, values, flavor):
        fields = super().reference_fields(values, flavor)
        fields.update(_rope_thetas(values))
        fields["global_attn_every_n_layers"] = _global_every(values, fields["num_layers"])
        return fields

    def to_hf_dict(self):
        values = super().to_hf_dict()
        values["classifier_activation"] = self.hf_activation_names[self.classifier_activation]
        values["layer_types"] = list(self.layer_types)
        values["rope_parameters"] = {
            GLOBAL_ATTENTION: {"rope_type": "default", "rope_theta": self.global_rope_theta},
            LOCAL_ATTENTION: {"rope_type": "default", "rope_theta": self.local_rope_theta}}
        values["bos_token_id"], values["eos_token_id"] = self.cls_token_id, self.sep_token_id
        return values

    def to_google_dict(self):
        raise ValueError("ModernBERT has no google-research checkpoint layout; keep it in the Hugging Face layout.")


def _rope_thetas(values):
    """{field: RoPE base} from config.json's `rope_parameters` (transformers 5) or `*_rope_theta` (older)."""
    thetas = {}
    rope = values.get("rope_parameters") or {}
    for layer_type, field in ((GLOBAL_ATTENTION, "global_rope_theta"), (LOCAL_ATTENTION, "local_rope_theta")):
        params = rope.get(layer_type) or {}
        if params.get("rope_type", "default") != "default":
            raise ValueError(f"rope_parameters[{layer_type!r}] has rope_type {params['rope_type']!r}; only "
                             "'default' rotary embeddings are supported.")
        theta = params.get("rope_theta", values.get(field))
        if theta is not None:
            thetas[field] = theta
    if values.get("rope_scaling"):
        raise ValueError("rope_scaling is not supported.")
    return thetas


def _global_every(values, num_layers):
    """`global_attn_every_n_layers` of config.json, checked against its `layer_types` where it has them."""
    layer_types = values.get("layer_types")
    if layer_types is None:
        return values.get("global_attn_every_n_layers", ModernBertConfig.global_attn_every_n_layers)
    global_layers = [i for i, kind in enumerate(layer_types) if kind == GLOBAL_ATTENTION]
    every = global_layers[1] if len(global_layers) > 1 else max(num_layers, 1)
    expected = [LOCAL_ATTENTION if i % every else GLOBAL_ATTENTION for i in range(num_layers)]
    if list(layer_types) != expected:
        raise ValueError(f"layer_types {layer_types} is not one global layer every n from layer 0, the pattern "
                         "ModernBERT's encoder builds.")
    return every
