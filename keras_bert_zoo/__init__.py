"""keras_bert_zoo: the BERT lifecycle on TensorFlow and Keras 3."""

from keras_bert_zoo.config import (AlbertConfig, BertConfig, DistilBertConfig, ElectraConfig, ModernBertConfig,
                                   RobertaConfig, XlmRobertaConfig, list_presets)
from keras_bert_zoo.models import (
    AlbertEncoder,
    AlbertPretrainer,
    BertClassifier,
    BertEncoder,
    BertPreprocessor,
    BertPretrainer,
    BertQuestionAnswerer,
    BertTokenClassifier,
    Classifier,
    DistilBertEncoder,
    ElectraEncoder,
    ElectraPretrainer,
    Encoder,
    MaskedLM,
    ModernBertEncoder,
    Pretrainer,
    QuestionAnswerer,
    RobertaEncoder,
    TokenClassifier,
    XlmRobertaEncoder,
)
from keras_bert_zoo import tasks

__version__ = "0.1.0"


# Imported on first use: they need TensorFlow (and tf-text), and models alone also run on JAX.
_SUBPACKAGES = ("convert", "data", "distill", "export", "metrics", "text", "training")


def __getattr__(name):
    if name in ("BertTokenizer", "Tokenizer"):
        from keras_bert_zoo import text

        return getattr(text, name)
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"keras_bert_zoo.{name}")
    raise AttributeError(f"module 'keras_bert_zoo' has no attribute {name!r}")
