"""Keras layers of BERT, written with keras.ops so they run on TF and JAX."""

from keras_bert_zoo.layers.bert_classification_head import BertClassificationHead
from keras_bert_zoo.layers.bert_embeddings import BertEmbeddings
from keras_bert_zoo.layers.bert_masked_lm_head import BertMaskedLMHead
from keras_bert_zoo.layers.bert_pooler import BertPooler
from keras_bert_zoo.layers.bert_self_attention import BertSelfAttention
from keras_bert_zoo.layers.bert_transformer_block import BertTransformerBlock
from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense
from keras_bert_zoo.layers.split_bits_dropout import SplitBitsDropout
from keras_bert_zoo.layers.xla_layer_normalization import XlaLayerNormalization
