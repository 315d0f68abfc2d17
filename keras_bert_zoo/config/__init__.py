"""BERT configuration and presets."""

from keras_bert_zoo.config.bert_config import BertConfig
from keras_bert_zoo.config.precisions import PRECISIONS
from keras_bert_zoo.config.presets import download_preset, get_preset, list_presets
from keras_bert_zoo.config import task_registry
