"""Data readers and input pipelines."""

from keras_bert_zoo.data.text_files import read_texts
