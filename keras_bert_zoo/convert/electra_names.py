"""ELECTRA's checkpoint names, Hugging Face's and Google's, mapped onto ours (google-research/bert's).

The encoder is BERT's under "electra" instead of "bert", plus the embedding
projection; the heads are ELECTRA's own.
"""

import re

from keras_bert_zoo.config.electra_config import ElectraConfig
from keras_bert_zoo.convert.prefixed_hf_names import PrefixedHfNames

# Head tensors besides the classifiers' output layers: ours, HF's.
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
# The generator's output layer is tied to the word embeddings.
_NAMES = PrefixedHfNames("ELECTRA", "electra", _HEAD_KEYS, ignored_keys=("generator_lm_head.weight",))
hf_key = _NAMES.hf_key
internal_name = _NAMES.internal_name
# Google's generator head (its transform), and ours: the MLM head's.
_GOOGLE_GENERATOR_HEAD = "generator_predictions/"
_OUR_MLM_TRANSFORM = "cls/predictions/transform/"


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
