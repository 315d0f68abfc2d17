"""Readers and writers of BERT checkpoints in Google, Hugging Face and keras-hub layouts."""

from keras_bert_zoo.convert.checkpoint_reader import checkpoint_exists, read_checkpoint
from keras_bert_zoo.convert.google_format import google_names_of, read_google_checkpoint, write_google_checkpoint
from keras_bert_zoo.convert.hf_format import (
    google_to_hf_name,
    hf_to_google_name,
    write_hf_config,
    write_hf_directory,
)
from keras_bert_zoo.convert.pretrained_checkpoint import PretrainedCheckpoint
from keras_bert_zoo.convert.training_checkpoint import TrainingCheckpoint, find_training_checkpoint
