"""BERT hyper-parameters and the readers of Google's and Hugging Face's config files."""

import dataclasses
import json
import os
import typing

from keras_bert_zoo.config.presets import get_preset
from keras_bert_zoo.files import write_json_atomic

# Upper bounds that keep an untrusted config file from allocating absurd shapes.
MAX_VOCAB_SIZE = 1_000_000
MAX_HIDDEN_SIZE = 16_384
MAX_LAYERS = 128
MAX_POSITIONS = 65_536
MAX_TYPE_VOCAB = 1_024
# Each bound alone still admits a 1M x 16k embedding table: cap the whole model too (8 GB in float32).
MAX_PARAMETERS = 2_000_000_000

HIDDEN_ACTIVATIONS = ("gelu", "gelu_approx", "relu", "silu", "tanh")

# Hugging Face spells the activations like this; "gelu" is exact erf there.
_HF_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_approx",
    "gelu_pytorch_tanh": "gelu_approx",
    "gelu_fast": "gelu_approx",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
}
# Google's modeling.py computes "gelu" with the tanh approximation.
_GOOGLE_ACTIVATIONS = {
    "gelu": "gelu_approx",
    "relu": "relu",
    "tanh": "tanh",
    "swish": "silu",
}
_TO_GOOGLE_ACTIVATION = {ours: google for google, ours in _GOOGLE_ACTIVATIONS.items()}
_TO_HF_ACTIVATION = {
    "gelu": "gelu",
    "gelu_approx": "gelu_new",
    "relu": "relu",
    "silu": "silu",
    "tanh": "tanh",
}


def read_config_json(path):
    """The JSON object in config file `path`; ValueError naming the file if it isn't one."""
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"Cannot read BERT config {path}: {e}") from e
    if not isinstance(values, dict):
        raise ValueError(f"BERT config {path} must hold a JSON object.")
    return values


# The fields every family's config file must give; the others default to the dataclass's values.
_REQUIRED_FIELDS = ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size")


@dataclasses.dataclass
class BertConfig:
    """Shape and numerics of a BERT encoder.

    Args:
        vocab_size: Number of WordPiece ids.
        hidden_size: Width of every transformer layer.
        num_layers: Number of transformer layers.
        num_heads: Attention heads per layer; must divide `hidden_size`.
        intermediate_size: Width of the feed-forward layer.
        hidden_act: "gelu" (exact erf), "gelu_approx" (tanh, as original
            BERT), "relu", "silu" or "tanh".
        max_position_embeddings: Longest sequence the position table covers.
        type_vocab_size: Number of segment ids; 0 for a family without
            token types (its encoder ignores `input_type_ids`).
        dropout: Dropout rate on embeddings and sublayer outputs.
        attention_dropout: Dropout rate on attention probabilities.
        layer_norm_eps: LayerNorm epsilon (BERT uses 1e-12).
        initializer_range: Stddev of the truncated-normal initializer.
    """

    # The family (see `architecture_registry`), whether its encoder has a pooler, and the activation
    # of the dense layer its sentence classifier puts over [CLS] in place of the pooler (None: the pooler).
    model_type: typing.ClassVar[str] = "bert"
    has_pooler: typing.ClassVar[bool] = True
    pre_classifier_activation: typing.ClassVar[typing.Optional[str]] = None
    # Whether that classifier drops out [CLS] before its dense layer too (ELECTRA), and the masked-LM
    # transform's activation where it is fixed rather than `hidden_act` (ELECTRA's generator: exact GELU).
    pre_classifier_dropout: typing.ClassVar[bool] = False
    masked_lm_activation: typing.ClassVar[typing.Optional[str]] = None
    # What the sentence classifier reads of a text: its [CLS] output, or "mean" of its tokens' (ModernBERT's option).
    classifier_pooling: typing.ClassVar[str] = "cls"
    # Our field: its key in the family's config.json (and in Google's bert_config.json for BERT).
    reference_keys: typing.ClassVar[typing.Dict[str, str]] = {
        "vocab_size": "vocab_size", "hidden_size": "hidden_size", "num_layers": "num_hidden_layers",
        "num_heads": "num_attention_heads", "intermediate_size": "intermediate_size", "hidden_act": "hidden_act",
        "max_position_embeddings": "max_position_embeddings", "type_vocab_size": "type_vocab_size",
        "dropout": "hidden_dropout_prob", "attention_dropout": "attention_probs_dropout_prob",
        "layer_norm_eps": "layer_norm_eps", "initializer_range": "initializer_range"}
    # Keys the family's config.json holds whatever the config, and our activations' names there.
    constant_hf_keys: typing.ClassVar[typing.Dict[str, typing.Any]] = {
        "position_embedding_type": "absolute", "pad_token_id": 0}
    hf_activation_names: typing.ClassVar[typing.Dict[str, str]] = _TO_HF_ACTIVATION
    # Our fields that name an activation, each read through `activations(flavor)`.
    activation_fields: typing.ClassVar[typing.Tuple[str, ...]] = ("hidden_act",)
    # Whether the family has token types at all; where not, `type_vocab_size` must be 0.
    has_token_types: typing.ClassVar[bool] = True

    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu_approx"
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    dropout: float = 0.1
    attention_dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02

    def __post_init__(self):
        self.check_int("vocab_size", 1, MAX_VOCAB_SIZE)
        self.check_int("hidden_size", 1, MAX_HIDDEN_SIZE)
        self.check_int("num_layers", 1, MAX_LAYERS)
        self.check_int("num_heads", 1, MAX_HIDDEN_SIZE)
        self.check_int("intermediate_size", 1, 8 * MAX_HIDDEN_SIZE)
        self.check_int("max_position_embeddings", 1, MAX_POSITIONS)
        self.check_int("type_vocab_size", 0, MAX_TYPE_VOCAB)
        if self.type_vocab_size and not self.has_token_types:
            raise ValueError(f"{type(self).__name__}.type_vocab_size must be 0 (no token types), got "
                             f"{self.type_vocab_size}.")
        embedding_size = self.embedding_size  # A field of the families with narrower embeddings.
        if isinstance(embedding_size, bool) or not isinstance(embedding_size, int) or not (
                0 < embedding_size <= MAX_HIDDEN_SIZE):
            raise ValueError(f"{type(self).__name__}.embedding_size must be an integer in [1, {MAX_HIDDEN_SIZE}], "
                             f"got {embedding_size!r}.")
        if self.num_parameters() > MAX_PARAMETERS:
            raise ValueError(
                f"BertConfig describes {self.num_parameters():,} parameters, over the {MAX_PARAMETERS:,} "
                "this package will allocate; check vocab_size, hidden_size, num_layers and intermediate_size.")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"BertConfig.hidden_size={self.hidden_size} is not divisible by "
                f"num_heads={self.num_heads}."
            )
        if self.hidden_act not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"BertConfig.hidden_act={self.hidden_act!r} is not one of {HIDDEN_ACTIVATIONS}."
            )
        self.check_rate("dropout")
        self.check_rate("attention_dropout")
        if not 0.0 < float(self.layer_norm_eps) < 1.0:
            raise ValueError(f"BertConfig.layer_norm_eps must be in (0, 1), got {self.layer_norm_eps}.")

    def check_int(self, name, low, high):
        """Raises ValueError naming field `name` unless it is an integer in [low, high]."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{type(self).__name__}.{name} must be an integer, got {value!r}.")
        if not low <= value <= high:
            raise ValueError(f"{type(self).__name__}.{name}={value} is outside the supported range [{low}, {high}].")

    def check_rate(self, name):
        """Raises ValueError naming field `name` unless it is a dropout rate in [0, 1)."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"{type(self).__name__}.{name} must be a rate in [0, 1), got {value!r}.")

    def num_parameters(self):
        """Weights of the encoder (embeddings, their projection, blocks, pooler), counted from the shapes."""
        h, i, e = self.hidden_size, self.intermediate_size, self.embedding_size
        embeddings = (self.vocab_size + self.position_table_size + self.type_vocab_size + 2) * e
        if self.projects_embeddings:
            embeddings += e * h + h
        block = 4 * h * h + 2 * h * i + i + 9 * h
        return embeddings + len(set(self.layer_blocks)) * block + (h * h + h if self.has_pooler else 0)

    @property
    def embedding_size(self):
        """Width of the embedding tables; the encoder projects them to `hidden_size` where they differ."""
        return self.hidden_size

    @property
    def projects_embeddings(self):
        """Whether the encoder has a dense layer from the embeddings' width to `hidden_size`."""
        return self.embedding_size != self.hidden_size

    @property
    def layer_blocks(self):
        """For each layer the encoder runs, in order, the index of the transformer block whose weights it runs.

        BERT's layers each have their own block; ALBERT's share them.
        """
        return tuple(range(self.num_layers))

    def block_scope(self, block):
        """The checkpoint scope of transformer block `block`'s weights ("bert/encoder/layer_3/")."""
        return f"bert/encoder/layer_{block}/"

    def with_num_layers(self, num_layers):
        """This config with `num_layers` layers (a student keeping some of its teacher's)."""
        return dataclasses.replace(self, num_layers=num_layers)

    @property
    def padding_position_id(self):
        """The position id of padding, real tokens counting on from the next; None: 0..T-1 along the row (BERT)."""
        return None

    @property
    def position_table_size(self):
        """Rows of the position table: `max_position_embeddings`, plus those up to `padding_position_id`."""
        offset = 0 if self.padding_position_id is None else self.padding_position_id + 1
        return self.max_position_embeddings + offset

    @property
    def reads_token_types(self):
        """Whether the encoder reads `input_type_ids`; where not, it adds the type table's first row, if any."""
        return self.type_vocab_size > 0

    @property
    def head_size(self):
        return self.hidden_size // self.num_heads

    @property
    def classifier_dropout(self):
        """Dropout before the sentence classifier's output layer."""
        return self.dropout

    @property
    def attention_output_dropout(self):
        """Dropout on each block's attention output before its residual."""
        return self.dropout

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Builds a config from this class's own field names; unknown keys are an error."""
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"Unknown {cls.__name__} fields: {sorted(unknown)}.")
        return cls(**values)

    @classmethod
    def from_json_file(cls, path, flavor=None):
        """Reads Google's bert_config.json or Hugging Face's config.json.

        Args:
            path: The JSON file.
            flavor: "google", "hf", or None to detect: a file with `model_type`
                or `architectures` is Hugging Face's, as is any file not named
                bert_config.json; the rest are Google's. The flavor decides
                what "gelu" means: tanh in Google's files, erf in HF's.
        """
        values = read_config_json(path)
        if flavor is None:
            is_hf = "model_type" in values or "architectures" in values
            flavor = "hf" if is_hf or os.path.basename(path) != "bert_config.json" else "google"
        return cls.from_file_values(values, flavor, path)

    @classmethod
    def from_file_values(cls, values, flavor, path):
        """`from_reference_dict` of the JSON object read from `path`; errors name the file."""
        try:
            return cls.from_reference_dict(values, flavor)
        except KeyError as e:
            raise ValueError(f"BERT config {path} lacks the required key {e}.") from e
        except (ValueError, TypeError) as e:
            raise ValueError(f"Invalid BERT config {path}: {e}") from e

    @classmethod
    def from_reference_dict(cls, values, flavor):
        """Builds a config from the family's config.json keys, or Google's (see `from_json_file`)."""
        cls.check_reference_dict(values, flavor)
        return cls(**cls.reference_fields(values, flavor))

    @classmethod
    def reference_fields(cls, values, flavor):
        """{field: value} read from a checked config file's `values`; KeyError names a missing required key."""
        fields = {field: values[key] for field, key in cls.reference_keys.items() if key in values}
        missing = [key for field, key in cls.reference_keys.items() if field in _REQUIRED_FIELDS and key not in values]
        if missing:
            raise KeyError(missing[0])
        act_table = cls.activations(flavor)
        for field in cls.activation_fields:
            act = fields.get(field, "gelu")
            if act not in act_table:
                raise ValueError(f"{cls.reference_keys[field]} {act!r} is not supported for {flavor} "
                                 f"{cls.model_type} configs.")
            fields[field] = act_table[act]
        return fields

    @classmethod
    def check_reference_dict(cls, values, flavor):
        """Raises ValueError for a config.json this family can't read (BERT: another model_type, relative positions)."""
        if flavor not in ("google", "hf"):
            raise ValueError(f"flavor must be 'google' or 'hf', got {flavor!r}.")
        model_type = values.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"model_type is {model_type!r}, not a BERT config; kbz.Encoder.from_pretrained "
                             "reads every supported family.")
        if values.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported.")

    @classmethod
    def activations(cls, flavor):
        """{activation name in the flavor's config files: ours}; "gelu" is tanh in Google's, erf in HF's."""
        return _HF_ACTIVATIONS if flavor == "hf" else _GOOGLE_ACTIVATIONS

    def to_hf_dict(self):
        """This config in the family's Hugging Face config.json keys."""
        if self.hidden_act not in self.hf_activation_names:
            raise ValueError(f"{self.model_type}'s config.json can't express hidden_act={self.hidden_act!r}.")
        values = {"model_type": self.model_type}
        values.update({key: getattr(self, field) for field, key in self.reference_keys.items()})
        values[self.reference_keys["hidden_act"]] = self.hf_activation_names[self.hidden_act]
        values.update(self.constant_hf_keys)
        return values

    def to_google_dict(self):
        """This config in google-research/bert's bert_config.json keys.

        Raises:
            ValueError: For exact-erf GELU, which that format can't express
                ("gelu" there means the tanh approximation).
        """
        if self.hidden_act not in _TO_GOOGLE_ACTIVATION:
            raise ValueError(
                f"hidden_act={self.hidden_act!r} has no name in google-research/bert's bert_config.json, whose "
                "'gelu' is the tanh approximation; keep this model in the Hugging Face layout.")
        return {
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": _TO_GOOGLE_ACTIVATION[self.hidden_act],
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "hidden_dropout_prob": self.dropout,
            "attention_probs_dropout_prob": self.attention_dropout,
            "initializer_range": self.initializer_range,
            # Not read by the original modeling.py (its LayerNorm epsilon is fixed), but by our reader.
            "layer_norm_eps": self.layer_norm_eps,
        }

    def to_json_file(self, path, extra=None):
        """Writes Hugging Face's config.json layout, atomically.

        Args:
            path: Destination file.
            extra: Optional dict of additional keys (task metadata).
        """
        values = self.to_hf_dict()
        values.update(extra or {})
        write_json_atomic(path, values)

    @classmethod
    def from_preset(cls, name):
        """The config of a named preset (see `keras_bert_zoo.list_presets()`)."""
        return cls(**get_preset(name)["config"])

