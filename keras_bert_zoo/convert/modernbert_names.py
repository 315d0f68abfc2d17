"""ModernBERT's Hugging Face state-dict keys, mapped onto our (google-research/bert style) weight names.

The encoder sits under "model." in the task models' checkpoints (at the top
in `ModernBertModel`'s). Every head starts with "head" (dense and norm), which
is our "pre_classifier/" before a classifier's, tagger's or span head's output
layer ("classifier"), and the masked-LM transform before the "decoder", whose
weight is the word embeddings: so the task decides our name of a head key.
"""

import re

from keras_bert_zoo.convert.hf_leaf_names import leaf_name

# Inside "layers.N." / "bert/encoder/layer_N/": HF's module, our scope.
_LAYER_SCOPES = (
    ("attn_norm", "attention/LayerNorm"),
    ("attn.Wqkv", "attention/self/qkv"),
    ("attn.Wo", "attention/output/dense"),
    ("mlp_norm", "mlp/LayerNorm"),
    ("mlp.Wi", "mlp/wi"),
    ("mlp.Wo", "mlp/wo"),
)
# Modules outside the layers, relative to the encoder: HF's, ours.
_ENCODER_SCOPES = (("embeddings.norm", "bert/embeddings/LayerNorm"), ("final_norm", "bert/encoder/final/LayerNorm"))
_WORD_EMBEDDINGS = ("embeddings.tok_embeddings.weight", "bert/embeddings/word_embeddings")
# Our leaf: HF's. Kernels are transposed (HF's Linear weights are [out, in]).
_LEAVES = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}
_ENCODER_PREFIX = "model."
_MASKED_LM_TASKS = ("masked_lm", "pretrainer")


def _head_scopes(task):
    """(HF module, our scope) of the head's modules under `task`, and {HF key: our name} of its output layer."""
    transform = "cls/predictions/transform" if task in _MASKED_LM_TASKS else "pre_classifier"
    output = "cls/squad/output" if task == "question_answerer" else "output"
    scopes = (("head.dense", f"{transform}/dense"), ("head.norm", f"{transform}/LayerNorm"))
    outputs = {"classifier.weight": f"{output}_weights", "classifier.bias": f"{output}_bias",
               "decoder.bias": "cls/predictions/output_bias"}
    return scopes, outputs


def hf_key(name, task=None):
    """Maps our weight name to (ModernBERT's HF state-dict key, whether to transpose).

    Args:
        name: Our weight name.
        task: The model's task; it names the head's keys, and "encoder" (or
            None) writes the encoder's keys without "model." as `ModernBertModel` does.
    """
    prefix = "" if task in (None, "encoder") else _ENCODER_PREFIX
    if name == _WORD_EMBEDDINGS[1]:
        return prefix + _WORD_EMBEDDINGS[0], False
    head_scopes, head_outputs = _head_scopes(task)
    for key, ours in head_outputs.items():
        if ours == name:
            return key, False
    scope, _, leaf = name.rpartition("/")
    layer = re.fullmatch(r"bert/encoder/layer_(\d+)/(.+)", scope)
    if layer:
        module = next((hf for hf, ours in _LAYER_SCOPES if ours == layer.group(2)), None)
        module = module and f"{prefix}layers.{layer.group(1)}.{module}"
    else:
        module = next((prefix + hf for hf, ours in _ENCODER_SCOPES if ours == scope), None) or next(
            (hf for hf, ours in head_scopes if ours == scope), None)
    if module is None or leaf not in _LEAVES:
        raise ValueError(f"ModernBERT has no weight for {name!r}.")
    return f"{module}.{_LEAVES[leaf]}", leaf == "kernel"


def internal_name(key, task=None):
    """Maps a ModernBERT HF key to (our weight name, whether to transpose), or None if it holds none of ours.

    Args:
        key: The HF state-dict key.
        task: The checkpoint's task, which names the head's keys (see the module's docstring).
    """
    head_scopes, head_outputs = _head_scopes(task)
    if key in head_outputs:
        return head_outputs[key], False
    key = key.removeprefix(_ENCODER_PREFIX)
    if key == _WORD_EMBEDDINGS[0]:
        return _WORD_EMBEDDINGS[1], False
    module, _, leaf = key.rpartition(".")
    layer = re.fullmatch(r"layers\.(\d+)\.(.+)", module)
    if layer:
        scope = next((ours for hf, ours in _LAYER_SCOPES if hf == layer.group(2)), None)
        scope = scope and f"bert/encoder/layer_{layer.group(1)}/{scope}"
    else:
        scope = next((ours for hf, ours in (*_ENCODER_SCOPES, *head_scopes) if hf == module), None)
    if scope is None or leaf not in ("weight", "bias"):
        return None  # The decoder's weight (the word embeddings), buffers.
    return leaf_name(scope, leaf)
