"""keras_bert_zoo: the BERT lifecycle on TensorFlow and Keras 3."""

from keras_bert_zoo.config import BertConfig, list_presets
from keras_bert_zoo.models import (
    BertClassifier,
    BertEncoder,
    BertPretrainer,
    BertQuestionAnswerer,
    BertTokenClassifier,
)
from keras_bert_zoo import tasks

__version__ = "0.1.0"


def __getattr__(name):
    # The tokenizer needs TensorFlow and tf-text; models alone also run on JAX.
    if name == "BertTokenizer":
        from keras_bert_zoo.text import BertTokenizer

        return BertTokenizer
    raise AttributeError(f"module 'keras_bert_zoo' has no attribute {name!r}")
