"""ModernBERT's embeddings: the word table, LayerNorm and dropout (positions are rotations inside attention)."""

import keras

from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice, layer_norm_slices
from keras_bert_zoo.layers.split_bits_dropout import SplitBitsDropout
from keras_bert_zoo.layers.xla_layer_normalization import XlaLayerNormalization


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ModernBertEmbeddings(keras.layers.Layer):
    """Embeds word ids [B, T] as normalized vectors [B, T, H].

    Args:
        vocab_size: Number of word ids.
        hidden_size: Embedding width.
        dropout: Dropout rate after the LayerNorm.
        layer_norm_eps: LayerNorm epsilon.
        norm_bias: Whether the LayerNorm has a bias.
        initializer_range: Stddev of the truncated-normal initializer.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, vocab_size, hidden_size, dropout=0.0, layer_norm_eps=1e-5, norm_bias=False,
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.layer_norm_eps = layer_norm_eps
        self.norm_bias = norm_bias
        self.initializer_range = initializer_range
        self.word_embeddings = keras.layers.Embedding(
            vocab_size, hidden_size, embeddings_initializer=keras.initializers.TruncatedNormal(
                stddev=initializer_range), dtype=self.dtype_policy, name="word_embeddings")
        self.layer_norm = XlaLayerNormalization(epsilon=layer_norm_eps, center=norm_bias, dtype=self.dtype_policy,
                                                name="layer_norm")
        self.dropout_layer = SplitBitsDropout(dropout, dtype=self.dtype_policy, name="dropout")

    def build(self, input_word_ids_shape=None):
        self.word_embeddings.build((None, None))
        self.layer_norm.build((None, None, self.hidden_size))
        self.built = True

    def call(self, input_word_ids, training=None):
        x = self.layer_norm(self.word_embeddings(input_word_ids), training=training)
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, input_word_ids_shape):
        return tuple(input_word_ids_shape) + (self.hidden_size,)

    def checkpoint_slices(self):
        """Names relative to "bert/embeddings/"."""
        return {"word_embeddings": CheckpointSlice(self.word_embeddings.embeddings),
                **layer_norm_slices(self.layer_norm)}

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "dropout": self.dropout,
            "layer_norm_eps": self.layer_norm_eps,
            "norm_bias": self.norm_bias,
            "initializer_range": self.initializer_range,
        })
        return config
