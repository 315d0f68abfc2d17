"""ALBERT's checkpoint names, Hugging Face's and Google's, mapped onto ours.

Ours are google-research/bert's, with each shared block under Google
ALBERT's scope of it ("bert/encoder/transformer/group_0/inner_group_0/",
`AlbertConfig.block_scope`) and BERT's names inside, and the embedding
projection as ELECTRA's ("bert/embeddings_project/"). Google's names are
google-research/albert's modeling.py and run_pretraining.py variables; HF's
are transformers' AlbertModel and task models' state-dict keys.
"""

import re

from keras_bert_zoo.convert.hf_leaf_names import leaf_name

# Inside a block: ours (BERT's), HF's (in "albert.encoder.albert_layer_groups.G.albert_layers.I."), Google's.
_BLOCK_PARTS = (
    ("attention/self/query", "attention.query", "attention_1/self/query"),
    ("attention/self/key", "attention.key", "attention_1/self/key"),
    ("attention/self/value", "attention.value", "attention_1/self/value"),
    ("attention/output/dense", "attention.dense", "attention_1/output/dense"),
    ("attention/output/LayerNorm", "attention.LayerNorm", "LayerNorm"),
    ("intermediate/dense", "ffn", "ffn_1/intermediate/dense"),
    ("output/dense", "ffn_output", "ffn_1/intermediate/output/dense"),
    ("output/LayerNorm", "full_layer_layer_norm", "LayerNorm_1"),
)
_OUR_BLOCK = re.compile(r"bert/encoder/transformer/group_(\d+)/inner_group_(\d+)/(.+)")
_HF_BLOCK = re.compile(r"albert\.encoder\.albert_layer_groups\.(\d+)\.albert_layers\.(\d+)\.(.+)")
# Outside the blocks: our scope (or whole name for a table), HF's.
_OTHER_PARTS = (
    ("bert/embeddings/word_embeddings", "albert.embeddings.word_embeddings"),
    ("bert/embeddings/position_embeddings", "albert.embeddings.position_embeddings"),
    ("bert/embeddings/token_type_embeddings", "albert.embeddings.token_type_embeddings"),
    ("bert/embeddings/LayerNorm", "albert.embeddings.LayerNorm"),
    ("bert/embeddings_project", "albert.encoder.embedding_hidden_mapping_in"),
    ("bert/pooler/dense", "albert.pooler"),
)
# Head tensors: ours, HF's. Our output_weights are [C, H] as HF's Linear weights; kernels are transposed.
_HEAD_KEYS = (
    ("output_weights", "classifier.weight"),
    ("output_bias", "classifier.bias"),
    ("cls/squad/output_weights", "qa_outputs.weight"),
    ("cls/squad/output_bias", "qa_outputs.bias"),
    ("cls/predictions/transform/dense/kernel", "predictions.dense.weight"),
    ("cls/predictions/transform/dense/bias", "predictions.dense.bias"),
    ("cls/predictions/transform/LayerNorm/gamma", "predictions.LayerNorm.weight"),
    ("cls/predictions/transform/LayerNorm/beta", "predictions.LayerNorm.bias"),
    ("cls/predictions/output_bias", "predictions.bias"),
    ("cls/seq_relationship/output_weights", "sop_classifier.classifier.weight"),
    ("cls/seq_relationship/output_bias", "sop_classifier.classifier.bias"),
)
_HF_OF_HEAD = dict(_HEAD_KEYS)
_OURS_OF_HEAD = {hf: ours for ours, hf in _HEAD_KEYS}
# Buffers, and the decoder tied to the word embeddings and to predictions.bias.
_IGNORED_KEYS = re.compile(r"(position_ids|token_type_ids|predictions\.decoder\.(weight|bias))$")
_HF_LEAF = {"kernel": "weight", "gamma": "weight", "beta": "bias", "bias": "bias"}
# Google's scope of the embedding projection, and ours.
_GOOGLE_PROJECTION = "bert/encoder/embedding_hidden_mapping_in/"
_OUR_PROJECTION = "bert/embeddings_project/"


def hf_key(name, task=None):
    """Maps our weight name to (ALBERT's HF state-dict key, whether to transpose), whatever the `task`."""
    if name in _HF_OF_HEAD:
        return _HF_OF_HEAD[name], name.endswith("/kernel")
    table = next((hf for ours, hf in _OTHER_PARTS if ours == name and name.endswith("_embeddings")), None)
    if table is not None:
        return table + ".weight", False
    stem, leaf = name.rsplit("/", 1)
    block = _OUR_BLOCK.fullmatch(stem)
    if block:
        part = next(hf for ours, hf, _ in _BLOCK_PARTS if ours == block.group(3))
        stem = f"albert.encoder.albert_layer_groups.{block.group(1)}.albert_layers.{block.group(2)}.{part}"
    else:
        stem = next((hf for ours, hf in _OTHER_PARTS if ours == stem), None)
        if stem is None or leaf not in _HF_LEAF:
            raise ValueError(f"ALBERT has no weight for {name!r}.")
    return f"{stem}.{_HF_LEAF[leaf]}", leaf == "kernel"


def internal_name(key, task=None):
    """Maps an ALBERT HF key to (our weight name, whether to transpose), or None if it holds none of ours; whatever the `task`."""
    if _IGNORED_KEYS.search(key):
        return None
    if key in _OURS_OF_HEAD:
        return _OURS_OF_HEAD[key], _OURS_OF_HEAD[key].endswith("/kernel")
    if key.startswith(("embeddings.", "encoder.", "pooler.")):
        key = "albert." + key  # AlbertModel's own checkpoints have no prefix.
    stem, _, leaf = key.rpartition(".")
    block = _HF_BLOCK.fullmatch(stem)
    if block:
        part = next((ours for ours, hf, _ in _BLOCK_PARTS if hf == block.group(3)), None)
        if part is None:
            return None
        stem = f"bert/encoder/transformer/group_{block.group(1)}/inner_group_{block.group(2)}/{part}"
    else:
        stem = next((ours for ours, hf in _OTHER_PARTS if hf == stem), None)
        if stem is None:
            return None
    return leaf_name(stem, leaf)


def _renamed_block_part(name, table_from, table_to):
    """`name` with its block part renamed from column `table_from` to `table_to` of `_BLOCK_PARTS`, or None."""
    block = _OUR_BLOCK.fullmatch(name)
    if block is None:
        return None
    stem, leaf = block.group(3).rsplit("/", 1)
    part = next((row[table_to] for row in _BLOCK_PARTS if row[table_from] == stem), None)
    if part is None:
        return None
    return f"bert/encoder/transformer/group_{block.group(1)}/inner_group_{block.group(2)}/{part}/{leaf}"


def from_google_name(name):
    """Our name of a variable in Google's TF1 ALBERT checkpoints (None for a block variable we don't know)."""
    if name.startswith(_GOOGLE_PROJECTION):
        return _OUR_PROJECTION + name.removeprefix(_GOOGLE_PROJECTION)
    if _OUR_BLOCK.fullmatch(name):
        return _renamed_block_part(name, 2, 0)
    return name  # Embeddings, pooler and heads: ours are Google's names.


def to_google_name(name):
    """Google's TF1 ALBERT name of our weight `name`."""
    if name.startswith(_OUR_PROJECTION):
        return _GOOGLE_PROJECTION + name.removeprefix(_OUR_PROJECTION)
    return _renamed_block_part(name, 0, 2) or name
