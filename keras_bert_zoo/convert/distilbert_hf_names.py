"""DistilBERT's Hugging Face state-dict keys, mapped onto our (google-research/bert) weight names."""

import re

from keras_bert_zoo.convert.hf_leaf_names import leaf_name

# Inside "distilbert.transformer.layer.N." / "bert/encoder/layer_N/": HF's sublayer, ours.
_LAYER_PARTS = (
    ("attention.q_lin", "attention/self/query"),
    ("attention.k_lin", "attention/self/key"),
    ("attention.v_lin", "attention/self/value"),
    ("attention.out_lin", "attention/output/dense"),
    ("sa_layer_norm", "attention/output/LayerNorm"),
    ("ffn.lin1", "intermediate/dense"),
    ("ffn.lin2", "output/dense"),
    ("output_layer_norm", "output/LayerNorm"),
)
# Whole names outside the layers: HF's (without ".weight"/".bias"), ours.
_OTHER_PARTS = (
    ("distilbert.embeddings.word_embeddings", "bert/embeddings/word_embeddings"),
    ("distilbert.embeddings.position_embeddings", "bert/embeddings/position_embeddings"),
    ("distilbert.embeddings.LayerNorm", "bert/embeddings/LayerNorm"),
)
# Head tensors: HF key, our name (HF's Linear weights [out, in]; our head kernels [in, out] are transposed).
_HEAD_KEYS = (
    ("pre_classifier.weight", "pre_classifier/dense/kernel"),
    ("pre_classifier.bias", "pre_classifier/dense/bias"),
    ("classifier.weight", "output_weights"),
    ("classifier.bias", "output_bias"),
    ("qa_outputs.weight", "cls/squad/output_weights"),
    ("qa_outputs.bias", "cls/squad/output_bias"),
    ("vocab_transform.weight", "cls/predictions/transform/dense/kernel"),
    ("vocab_transform.bias", "cls/predictions/transform/dense/bias"),
    ("vocab_layer_norm.weight", "cls/predictions/transform/LayerNorm/gamma"),
    ("vocab_layer_norm.bias", "cls/predictions/transform/LayerNorm/beta"),
    ("vocab_projector.bias", "cls/predictions/output_bias"),
)
_OURS_OF_HEAD = dict(_HEAD_KEYS)
_HF_OF_HEAD = {ours: hf for hf, ours in _HEAD_KEYS}
# Buffers, and the output projection tied to the word embeddings.
_IGNORED_KEYS = re.compile(r"(position_ids|vocab_projector\.weight)$")


def hf_key(name, task=None):
    """Maps our weight name to (DistilBERT's HF state-dict key, whether to transpose), whatever the `task`."""
    if name in _HF_OF_HEAD:
        return _HF_OF_HEAD[name], name.endswith("/kernel")
    prefix, leaf = name.rsplit("/", 1)
    layer = re.fullmatch(r"bert/encoder/layer_(\d+)/(.+)", prefix)
    if layer:
        part = next(hf for hf, ours in _LAYER_PARTS if ours == layer.group(2))
        prefix = f"distilbert.transformer.layer.{layer.group(1)}.{part}"
    else:
        embeddings = next((hf for hf, ours in _OTHER_PARTS if ours in (name, prefix)), None)
        if embeddings is None:
            raise ValueError(f"DistilBERT has no weight for {name!r}.")
        if name.endswith("_embeddings"):
            return embeddings + ".weight", False
        prefix = embeddings
    leaf = {"kernel": "weight", "gamma": "weight", "beta": "bias"}.get(leaf, leaf)
    return f"{prefix}.{leaf}", leaf == "weight" and name.endswith("/kernel")


def internal_name(key, task=None):
    """Maps a DistilBERT HF key to (our weight name, whether to transpose), or None; whatever the `task`."""
    if _IGNORED_KEYS.search(key):
        return None
    if key in _OURS_OF_HEAD:
        return _OURS_OF_HEAD[key], _OURS_OF_HEAD[key].endswith("/kernel")
    if not key.startswith("distilbert."):
        key = "distilbert." + key  # DistilBertModel's own checkpoints have no prefix.
    stem, _, leaf = key.rpartition(".")
    layer = re.fullmatch(r"distilbert\.transformer\.layer\.(\d+)\.(.+)", stem)
    if layer:
        part = next((ours for hf, ours in _LAYER_PARTS if hf == layer.group(2)), None)
        if part is None:
            return None
        stem = f"bert/encoder/layer_{layer.group(1)}/{part}"
    else:
        stem = next((ours for hf, ours in _OTHER_PARTS if hf == stem), None)
        if stem is None:
            return None
    return leaf_name(stem, leaf)
