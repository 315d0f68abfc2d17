"""Data readers, example builders and input pipelines."""

from keras_bert_zoo.data.classification_data import (
    ClassificationData,
    read_classification_file,
    read_tfds_classification,
)
from keras_bert_zoo.data.conll_data import ner_label_names, read_conll_file
from keras_bert_zoo.data.dynamic_pretraining import dynamic_pretraining_dataset
from keras_bert_zoo.data.ner_features import NerFeatures, ner_features
from keras_bert_zoo.data.pretraining_records import read_pretraining_records
from keras_bert_zoo.data.sequence_batches import inference_batches, training_batches
from keras_bert_zoo.data.squad_decoding import SquadPredictions, decode_squad_predictions
from keras_bert_zoo.data.squad_examples import SquadExample, read_squad_file, squad_gold_answers
from keras_bert_zoo.data.squad_features import SquadFeatures, squad_features
from keras_bert_zoo.data.text_files import read_texts
