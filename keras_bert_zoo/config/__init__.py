"""BERT configuration and presets."""

from keras_bert_zoo.config.albert_config import AlbertConfig
from keras_bert_zoo.config.bert_config import BertConfig
from keras_bert_zoo.config.distilbert_config import DistilBertConfig
from keras_bert_zoo.config.electra_config import ElectraConfig
from keras_bert_zoo.config.modernbert_config import ModernBertConfig
from keras_bert_zoo.config.roberta_config import RobertaConfig
from keras_bert_zoo.config.xlm_roberta_config import XlmRobertaConfig
from keras_bert_zoo.config.precisions import PRECISIONS
from keras_bert_zoo.config.presets import (get_preset, is_preset, list_presets, preset_directory,
                                           unknown_preset_hint)
from keras_bert_zoo.config import architecture_registry, task_registry
