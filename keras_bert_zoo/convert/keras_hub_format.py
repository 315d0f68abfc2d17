"""keras-hub BertBackbone preset directories (config.json + model.weights.h5)."""

import json
import os
import re

import numpy as np

from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.convert.pretrained_checkpoint import PretrainedCheckpoint

# keras-hub variable path suffix -> Google name suffix, inside transformer_layer_N.
_LAYER_NAMES = {
    "self_attention_layer/query": "attention/self/query",
    "self_attention_layer/key": "attention/self/key",
    "self_attention_layer/value": "attention/self/value",
    "self_attention_layer/attention_output": "attention/output/dense",
    "self_attention_layer_norm": "attention/output/LayerNorm",
    "feedforward_intermediate_dense": "intermediate/dense",
    "feedforward_output_dense": "output/dense",
    "feedforward_layer_norm": "output/LayerNorm",
}
_TOP_NAMES = {
    "token_embedding/embeddings": "bert/embeddings/word_embeddings",
    "position_embedding/embeddings": "bert/embeddings/position_embeddings",
    "segment_embedding/embeddings": "bert/embeddings/token_type_embeddings",
    "embeddings_layer_norm/gamma": "bert/embeddings/LayerNorm/gamma",
    "embeddings_layer_norm/beta": "bert/embeddings/LayerNorm/beta",
    "pooled_dense/kernel": "bert/pooler/dense/kernel",
    "pooled_dense/bias": "bert/pooler/dense/bias",
}


def is_keras_hub_directory(path):
    config_file = os.path.join(path, "config.json")
    if not os.path.isfile(config_file) or not os.path.isfile(os.path.join(path, "model.weights.h5")):
        return False
    with open(config_file, encoding="utf-8") as f:
        return "keras_hub" in str(json.load(f).get("registered_name", ""))


def read_keras_hub_directory(path):
    """Reads a keras-hub BertBackbone preset directory."""
    import keras_hub

    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        hub_config = json.load(f)
    if hub_config.get("class_name") != "BertBackbone":
        raise ValueError(f"{path} is a keras-hub {hub_config.get('class_name')} preset, not BertBackbone.")
    values = hub_config["config"]
    config = BertConfig(
        vocab_size=values["vocabulary_size"],
        hidden_size=values["hidden_dim"],
        num_layers=values["num_layers"],
        num_heads=values["num_heads"],
        intermediate_size=values["intermediate_dim"],
        # keras-hub's BERT computes the tanh GELU, as the original.
        hidden_act="gelu_approx",
        max_position_embeddings=values["max_sequence_length"],
        type_vocab_size=values["num_segments"],
        dropout=values.get("dropout", 0.1),
        attention_dropout=values.get("dropout", 0.1),
    )
    backbone = keras_hub.models.BertBackbone.from_preset(path)
    weights = {}
    for variable in backbone.weights:
        name = google_name_of_keras_hub_variable(variable.path)
        value = np.asarray(variable.numpy(), dtype=np.float32)
        if name.endswith("kernel") and value.ndim == 3:
            # EinsumDense kernels: [H, heads, size] or [heads, size, H].
            value = value.reshape(-1, value.shape[-1]) if "attention/output" in name else value.reshape(value.shape[0], -1)
        elif name.endswith("bias") and value.ndim == 2:
            value = value.reshape(-1)
        weights[name] = value
    return PretrainedCheckpoint(config=config, weights=weights, source=path)


def google_name_of_keras_hub_variable(path):
    """The google-research/bert name of a keras-hub BertBackbone variable path."""
    if path in _TOP_NAMES:
        return _TOP_NAMES[path]
    match = re.fullmatch(r"transformer_layer_(\d+)/(.+)/(kernel|bias|gamma|beta)", path)
    if not match or match.group(2) not in _LAYER_NAMES:
        raise ValueError(f"Unexpected keras-hub BertBackbone variable {path!r}.")
    layer, scope, leaf = match.groups()
    return f"bert/encoder/layer_{layer}/{_LAYER_NAMES[scope]}/{leaf}"

