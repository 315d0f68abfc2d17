"""ELECTRA's checkpoint names, Hugging Face's and Google's, mapped onto ours (google-research/bert's).

The encoder is BERT's under "electra" instead of "bert", plus the embedding
projection; the heads are ELECTRA's own.
"""

import re

from keras_bert_zoo.config.electra_config import ElectraConfig
from keras_bert_zoo.convert.hf_format import google_to_hf_name, hf_to_google_name

# Head tensors: ours, HF's (HF's Linear weights are [out, in]; our dense kernels are [in, out]).
_HEAD_KEYS = (
    ("pre_classifier/dense/kernel", "classifier.dense.weight"),
    ("pre_classifier/dense/bias", "classifier.dense.bias"),
    ("cls/squad/output_weights", "qa_outputs.weight"),
    ("cls/squad/output_bias", "qa_outputs.bias"),
    ("cls/predictions/transform/dense/kernel", "generator_predictions.dense.weight"),
    ("cls/predictions/transform/dense/bias", "generator_predictions.dense.bias"),
    ("cls/predictions/transform/LayerNorm/gamma", "generator_predictions.LayerNorm.weight"),
    ("cls/predictions/transform/LayerNorm/beta", "generator_predictions.LayerNorm.bias"),
    ("cls/predictions/output_bias", "generator_lm_head.bias"),
    ("discriminator_predictions/dense/kernel", "discriminator_predictions.dense.weight"),
    ("discriminator_predictions/dense/bias", "discriminator_predictions.dense.bias"),
    ("discriminator_predictions/dense_1/kernel", "discriminator_predictions.dense_prediction.weight"),
    ("discriminator_predictions/dense_1/bias", "discriminator_predictions.dense_prediction.bias"),
)
_HF_OF_HEAD = dict(_HEAD_KEYS)
_OURS_OF_HEAD = {hf: ours for ours, hf in _HEAD_KEYS}
# The sentence classifier's output layer is "classifier.out_proj" (behind its dense layer), the
# token classifier's is "classifier" itself: both are our "output_weights".
_OUTPUT_LAYER = {"classifier": "classifier.out_proj"}
_OURS_OF_OUTPUT = {"classifier.out_proj.weight": "output_weights", "classifier.out_proj.bias": "output_bias",
                   "classifier.weight": "output_weights", "classifier.bias": "output_bias"}
# Tied to the word embeddings, or buffers: no weight of ours.
_IGNORED_KEYS = ("generator_lm_head.weight",)
# Google's generator head (its transform), and ours: the MLM head's.
_GOOGLE_GENERATOR_HEAD = "generator_predictions/"
_OUR_MLM_TRANSFORM = "cls/predictions/transform/"


def hf_key(name, task=None):
    """Maps our weight name to (ELECTRA's HF state-dict key, whether to transpose).

    Args:
        name: Our weight name.
        task: The model's task; it decides the name of the output layer
            ("classifier.out_proj" of a sentence classifier, "classifier" of a tagger).
    """
    if name in _HF_OF_HEAD:
        return _HF_OF_HEAD[name], name.endswith("/kernel")
    if name in ("output_weights", "output_bias"):
        layer = _OUTPUT_LAYER.get(task, "classifier")
        return f"{layer}.{'weight' if name == 'output_weights' else 'bias'}", False
    key, transpose = google_to_hf_name(name)
    if not key.startswith("bert."):
        raise ValueError(f"ELECTRA has no weight for {name!r}.")
    return "electra." + key.removeprefix("bert."), transpose


def internal_name(key):
    """Maps an ELECTRA HF key to (our weight name, whether to transpose), or None if it holds none of ours."""
    if key in _IGNORED_KEYS:
        return None
    if key in _OURS_OF_HEAD:
        return _OURS_OF_HEAD[key], _OURS_OF_HEAD[key].endswith("/kernel")
    if key in _OURS_OF_OUTPUT:
        return _OURS_OF_OUTPUT[key], False
    return hf_to_google_name("bert." + key.removeprefix("electra."))


def from_google_name(name):
    """Our name of a variable in Google's TF1 ELECTRA checkpoints, or None for one that holds no weight of ours."""
    if name.startswith("electra/"):
        return "bert/" + name.removeprefix("electra/")
    if name == "generator_predictions/output_bias":
        return "cls/predictions/output_bias"
    if name.startswith(_GOOGLE_GENERATOR_HEAD):
        return _OUR_MLM_TRANSFORM + name.removeprefix(_GOOGLE_GENERATOR_HEAD)
    if name.startswith(("discriminator_predictions/", "generator/")):
        return name  # ELECTRA's heads and the generator's own layers: ours are Google's names.
    return None


def to_google_name(name):
    """Google's TF1 ELECTRA name of our weight `name`."""
    if name.startswith("bert/"):
        return "electra/" + name.removeprefix("bert/")
    if name == "cls/predictions/output_bias":
        return "generator_predictions/output_bias"
    if name.startswith(_OUR_MLM_TRANSFORM):
        return _GOOGLE_GENERATOR_HEAD + name.removeprefix(_OUR_MLM_TRANSFORM)
    return name


def config_from_shapes(shapes):
    """The discriminator's `ElectraConfig` from a Google checkpoint's {variable: shape}.

    Google's ELECTRA releases hold no config file: their sizes follow from the
    tables' shapes, and the heads from ELECTRA's rule of one per 64 units
    (`configure_pretraining.py`). Its modeling.py's "gelu" is the tanh
    approximation.
    """
    def shape(name):
        try:
            return shapes["electra/" + name]
        except KeyError:
            raise ValueError(f"ELECTRA checkpoint lacks electra/{name}.") from None

    vocab_size, embedding_size = shape("embeddings/word_embeddings")
    hidden_size = shape("encoder/layer_0/attention/self/query/kernel")[1]
    layers = {int(match.group(1)) for name in shapes
              for match in [re.match(r"electra/encoder/layer_(\d+)/", name)] if match}
    return ElectraConfig(
        vocab_size=vocab_size, embedding_size=embedding_size, hidden_size=hidden_size, num_layers=len(layers),
        num_heads=max(1, hidden_size // 64), intermediate_size=shape("encoder/layer_0/intermediate/dense/kernel")[1],
        hidden_act="gelu_approx", max_position_embeddings=shape("embeddings/position_embeddings")[0],
        type_vocab_size=shape("embeddings/token_type_embeddings")[0])
