"""The one registry of encoder families: what differs between BERT, DistilBERT, ... as data.

Each family's spec names its Hugging Face `model_type`s, config class, encoder
class, tokenizer kind, the maps between its checkpoint names and ours, and
its pretraining objective. Ours are google-research/bert's variable names
("bert/encoder/layer_0/attention/self/query/kernel"), which every family's
layers report through `checkpoint_slices`; a family's HF names are a map onto
them. Classes and maps are named by import path, so that this registry (and
`import keras_bert_zoo`) needs neither TensorFlow nor the models.
"""

import dataclasses
import typing

from keras_bert_zoo.config.task_registry import resolve


@dataclasses.dataclass(frozen=True)
class ArchitectureSpec:
    """What the library needs to know about one encoder family.

    Args:
        name: The family ("bert", "distilbert").
        model_types: The HF config.json `model_type`s it reads; the first is
            the one it writes.
        config_class: Its config class (import path "package.module:Class").
        encoder_class: Its encoder class (import path).
        hf_class_prefix: What its transformers classes start with ("Bert",
            "DistilBert"), for config.json's `architectures`.
        hf_key: Import path of its function (name, task) -> (HF state-dict
            key, whether to transpose) of our weight names; the task decides
            where a family names one head's weights differently by task.
        internal_name: Import path of its function (key, task) -> (our name,
            whether to transpose), or None for keys that hold no weight of
            ours; the checkpoint's task (or None) decides where a family names
            one head's weights differently by task.
        tokenizer_kind: "wordpiece", "bpe" or "sentencepiece".
        pretraining_objective: "mlm_nsp", "mlm", "rtd" or "mlm_sop".
        google_scope: The root scope of its variables in Google's TF1
            checkpoints ("bert", "electra"), or None where it has none.
        google_names: Import path of a module whose `from_google_name` and
            `to_google_name` map Google's TF1 names onto ours, or None where
            they are ours already (BERT).
        google_marker: A variable-name prefix that only this family's Google
            checkpoints hold, where its scope is another family's too
            (ALBERT's "bert/encoder/transformer/" under BERT's "bert").
        google_files: The names of its Google config file and checkpoint
            prefix, as the original scripts write them.
    """

    name: str
    model_types: typing.Tuple[str, ...]
    config_class: str
    encoder_class: str
    hf_class_prefix: str
    hf_key: str
    internal_name: str
    tokenizer_kind: str = "wordpiece"
    pretraining_objective: str = "mlm"
    google_scope: typing.Optional[str] = None
    google_names: typing.Optional[str] = None
    google_marker: typing.Optional[str] = None
    google_files: typing.Tuple[str, str] = ("bert_config.json", "bert_model.ckpt")

    def resolved(self, field):
        """The class or function that `field` ("config_class", "encoder_class", "hf_key", ...) names."""
        return resolve(getattr(self, field))

    def hf_architecture(self, bert_architecture):
        """This family's name for BERT's transformers class ("BertForTokenClassification")."""
        return self.hf_class_prefix + bert_architecture.removeprefix("Bert")

    def bert_architecture(self, architecture):
        """BERT's name for one of this family's transformers classes (as the task registry knows them)."""
        return "Bert" + architecture.removeprefix(self.hf_class_prefix)


_SPECS = {}


def register(spec, replace=False):
    """Adds `spec`; its name and model types must be new unless `replace`."""
    for model_type in spec.model_types:
        taken = _SPECS.get(model_type)
        if taken is not None and (taken.name != spec.name or not replace):
            raise ValueError(f"model_type {model_type!r} is already registered to family {taken.name!r}.")
    _SPECS.update({model_type: spec for model_type in spec.model_types})
    return spec


def for_model_type(model_type):
    """The spec of an HF `model_type`; ValueError naming the supported ones otherwise."""
    try:
        return _SPECS[model_type]
    except KeyError:
        raise ValueError(f"model_type {model_type!r} is not supported; supported: "
                         f"{', '.join(sorted(_SPECS))}.") from None


def for_google_variables(names):
    """The spec of a Google TF1 checkpoint holding variables `names`, or None.

    A family whose marker prefix one of them has, else the one whose scope roots them.
    """
    specs = list(dict.fromkeys(_SPECS.values()))
    for spec in specs:
        if spec.google_marker and any(name.startswith(spec.google_marker) for name in names):
            return spec
    for name in sorted(names):
        scope = name.split("/", 1)[0]
        spec = next((spec for spec in specs if spec.google_scope == scope and spec.google_marker is None), None)
        if spec is not None:
            return spec
    return None


def config_from_json_file(path):
    """The config, of its family's class, in Google's bert_config.json or an HF config.json (by `model_type`)."""
    from keras_bert_zoo.config.bert_config import read_config_json

    values = read_config_json(path)
    try:
        family = for_model_type(values.get("model_type", "bert"))
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return family.resolved("config_class").from_json_file(path)


def for_config(config):
    """The spec of an encoder config object (by its class's `model_type`)."""
    return for_model_type(type(config).model_type)


_CONFIG = "keras_bert_zoo.config"
_MODELS = "keras_bert_zoo.models"
_CONVERT = "keras_bert_zoo.convert"
register(ArchitectureSpec("bert", ("bert",), f"{_CONFIG}.bert_config:BertConfig", f"{_MODELS}.bert_encoder:BertEncoder",
                          "Bert", f"{_CONVERT}.hf_format:google_to_hf_name", f"{_CONVERT}.hf_format:hf_to_google_name",
                          pretraining_objective="mlm_nsp", google_scope="bert"))
register(ArchitectureSpec("distilbert", ("distilbert",), f"{_CONFIG}.distilbert_config:DistilBertConfig",
                          f"{_MODELS}.distilbert_encoder:DistilBertEncoder", "DistilBert",
                          f"{_CONVERT}.distilbert_hf_names:hf_key", f"{_CONVERT}.distilbert_hf_names:internal_name"))
register(ArchitectureSpec("electra", ("electra",), f"{_CONFIG}.electra_config:ElectraConfig",
                          f"{_MODELS}.electra_encoder:ElectraEncoder", "Electra",
                          f"{_CONVERT}.electra_names:hf_key", f"{_CONVERT}.electra_names:internal_name",
                          pretraining_objective="rtd", google_scope="electra",
                          google_names=f"{_CONVERT}.electra_names"))
register(ArchitectureSpec("roberta", ("roberta",), f"{_CONFIG}.roberta_config:RobertaConfig",
                          f"{_MODELS}.roberta_encoder:RobertaEncoder", "Roberta",
                          f"{_CONVERT}.roberta_hf_names:hf_key", f"{_CONVERT}.roberta_hf_names:internal_name",
                          tokenizer_kind="bpe"))
register(ArchitectureSpec("xlm-roberta", ("xlm-roberta",), f"{_CONFIG}.xlm_roberta_config:XlmRobertaConfig",
                          f"{_MODELS}.xlm_roberta_encoder:XlmRobertaEncoder", "XLMRoberta",
                          f"{_CONVERT}.roberta_hf_names:hf_key", f"{_CONVERT}.roberta_hf_names:internal_name",
                          tokenizer_kind="sentencepiece"))
register(ArchitectureSpec("albert", ("albert",), f"{_CONFIG}.albert_config:AlbertConfig",
                          f"{_MODELS}.albert_encoder:AlbertEncoder", "Albert",
                          f"{_CONVERT}.albert_names:hf_key", f"{_CONVERT}.albert_names:internal_name",
                          tokenizer_kind="sentencepiece", pretraining_objective="mlm_sop", google_scope="bert",
                          google_names=f"{_CONVERT}.albert_names", google_marker="bert/encoder/transformer/",
                          google_files=("albert_config.json", "model.ckpt")))
register(ArchitectureSpec("modernbert", ("modernbert",), f"{_CONFIG}.modernbert_config:ModernBertConfig",
                          f"{_MODELS}.modernbert_encoder:ModernBertEncoder", "ModernBert",
                          f"{_CONVERT}.modernbert_names:hf_key", f"{_CONVERT}.modernbert_names:internal_name",
                          tokenizer_kind="bpe"))
