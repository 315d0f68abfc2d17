"""Hugging Face directories of every family: config.json + model.safetensors (+ tokenizer files).

This is also the layout `save_pretrained` writes, so transformers can load it.
The family comes from config.json's `model_type` (`architecture_registry`);
its key map turns HF's state-dict keys into our weight names. BERT's map is
here; other families' are in their own modules.
"""

import json
import os
import re

import numpy as np

from keras_bert_zoo.config import architecture_registry, task_registry
from keras_bert_zoo.config.bert_config import read_config_json
from keras_bert_zoo.convert.pretrained_checkpoint import PretrainedCheckpoint

# Head tensors whose names don't follow the generic rule.
_HEAD_NAMES = {
    "output_weights": "classifier.weight",
    "output_bias": "classifier.bias",
    "cls/squad/output_weights": "qa_outputs.weight",
    "cls/squad/output_bias": "qa_outputs.bias",
    "cls/seq_relationship/output_weights": "cls.seq_relationship.weight",
    "cls/seq_relationship/output_bias": "cls.seq_relationship.bias",
    "cls/predictions/output_bias": "cls.predictions.bias",
}
_GOOGLE_OF_HEAD = {hf: google for google, hf in _HEAD_NAMES.items()}
# Keys transformers stores that carry no weights of their own.
_IGNORED_KEYS = re.compile(r"(position_ids|cls\.predictions\.decoder\.weight)$")


def google_to_hf_name(name, task=None):
    """Maps a Google variable name to (HF state-dict key, whether to transpose); BERT's keys don't depend on `task`."""
    if name in _HEAD_NAMES:
        return _HEAD_NAMES[name], False
    key = re.sub(r"layer_(\d+)", r"layer.\1", name).replace("/", ".")
    if key.endswith(".kernel"):
        return key[: -len("kernel")] + "weight", True
    if key.endswith(".gamma"):
        return key[: -len("gamma")] + "weight", False
    if key.endswith(".beta"):
        return key[: -len("beta")] + "bias", False
    if key.endswith("_embeddings"):
        return key + ".weight", False
    return key, False


def hf_to_google_name(key, task=None):
    """Maps an HF state-dict key to (Google variable name, whether to transpose), or None; whatever the `task`."""
    if _IGNORED_KEYS.search(key):
        return None
    key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    if key == "cls.predictions.decoder.bias":
        key = "cls.predictions.bias"
    if key in _GOOGLE_OF_HEAD:
        return _GOOGLE_OF_HEAD[key], False
    if not key.startswith(("bert.", "cls.")):
        key = "bert." + key  # BertModel checkpoints have no "bert." prefix.
    name = re.sub(r"layer\.(\d+)", r"layer_\1", key).replace(".", "/")
    if name.endswith("LayerNorm/weight"):
        return name[: -len("weight")] + "gamma", False
    if name.endswith("LayerNorm/bias"):
        return name[: -len("bias")] + "beta", False
    if name.endswith("_embeddings/weight"):
        return name[: -len("/weight")], False
    if name.endswith("/weight"):
        return name[: -len("weight")] + "kernel", True
    return name, False


def is_hf_directory(path):
    return os.path.isfile(os.path.join(path, "config.json")) and (
        os.path.isfile(os.path.join(path, "model.safetensors"))
        or os.path.isfile(os.path.join(path, "model.safetensors.index.json"))
    )


def _safetensors_files(path):
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        return [os.path.join(path, shard) for shard in shards]
    return [os.path.join(path, "model.safetensors")]


def read_hf_config(path):
    """(encoder config of the family's class, task or None, head kwargs) from the config.json in directory `path`.

    The family is the one config.json's `model_type` names (none: BERT); the file is read once.
    """
    config_file = os.path.join(path, "config.json")
    raw_config = read_config_json(config_file)
    try:
        family = architecture_registry.for_model_type(raw_config.get("model_type", "bert"))
    except ValueError as e:
        raise ValueError(f"{config_file}: {e}") from None
    config = family.resolved("config_class").from_file_values(raw_config, "hf", config_file)
    architectures = [family.bert_architecture(name) for name in raw_config.get("architectures") or []]
    # Our own task name first: a user's task may have no transformers architecture.
    task = raw_config.get("keras_bert_zoo_task")
    if task is None:
        spec = task_registry.spec_of_architectures(architectures)
        task = spec.name if spec else None
    head_config = raw_config.get("keras_bert_zoo_head") or _hf_head_config(raw_config, task)
    return config, task, head_config


def read_hf_directory(path):
    """Reads an HF (or our own save_pretrained) directory of any registered family."""
    from safetensors.numpy import load_file

    config, task, head_config = read_hf_config(path)
    internal_name = architecture_registry.for_config(config).resolved("internal_name")
    weights = {}
    for file in _safetensors_files(path):
        try:
            state = load_file(file)
        except Exception as e:  # safetensors raises its own error types.
            raise ValueError(f"Cannot read safetensors file {file}: {e}") from e
        for key, value in state.items():
            mapped = internal_name(key, task)
            if mapped is None:
                continue
            name, transpose = mapped
            weights[name] = np.asarray(value.T if transpose else value, dtype=np.float32)
    return PretrainedCheckpoint(config=config, weights=weights, source=path, task=task, head_config=head_config)


def _hf_head_config(raw_config, task):
    """Head kwargs implied by a transformers config (num_labels, id2label)."""
    if task not in ("classifier", "token_classifier"):
        return {}
    id2label = raw_config.get("id2label") or {}
    num_classes = len(id2label) or int(raw_config.get("num_labels", 2))
    names = [str(id2label.get(str(i), id2label.get(i, ""))) for i in range(num_classes)] if id2label else []
    head = {"num_classes": num_classes}
    if names and names != [f"LABEL_{i}" for i in range(num_classes)]:
        head["label_names"] = names
    return head


def write_hf_config(path, config, task, head_config):
    """Writes config.json (HF keys, plus architectures and our head kwargs) into directory `path`.

    Args:
        path: Target directory.
        config: The encoder's config (its class decides the family's keys).
        task: One of the task names; decides `architectures`.
        head_config: JSON-able head keyword arguments, kept under
            "keras_bert_zoo_head" so `from_pretrained` rebuilds the same head.
    """
    family = architecture_registry.for_config(config)
    architectures = [family.hf_architecture(name) for name in task_registry.get(task).hf_architectures[:1]]
    extra = {"architectures": list(architectures), "keras_bert_zoo_head": head_config, "keras_bert_zoo_task": task}
    num_labels = head_config.get("num_classes")
    if num_labels:
        extra["num_labels"] = num_labels
        names = head_config.get("label_names")
        if names:
            extra["id2label"] = {str(i): label for i, label in enumerate(names)}
            extra["label2id"] = {label: i for i, label in enumerate(names)}
    config.to_json_file(os.path.join(path, "config.json"), extra=extra)


def write_hf_directory(path, config, weights, task, head_config):
    """Writes config.json and model.safetensors into the existing directory `path`.

    Args:
        path: Target directory (the caller makes it and renames it into place).
        config: The encoder's config.
        weights: Arrays keyed by Google names.
        task: One of the task names.
        head_config: JSON-able head keyword arguments (see `write_hf_config`).
    """
    from safetensors.numpy import save_file

    hf_key = architecture_registry.for_config(config).resolved("hf_key")
    state = {}
    for name, value in weights.items():
        key, transpose = hf_key(name, task)
        state[key] = np.ascontiguousarray(value.T if transpose else value)
    save_file(state, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    write_hf_config(path, config, task, head_config)
