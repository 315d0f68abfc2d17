"""Word, position and segment embeddings with LayerNorm and dropout."""

import keras
from keras import ops

from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice, layer_norm_slices
from keras_bert_zoo.layers.split_bits_dropout import SplitBitsDropout
from keras_bert_zoo.layers.xla_layer_normalization import XlaLayerNormalization


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertEmbeddings(keras.layers.Layer):
    """Sums word, absolute position and token-type embeddings, then normalizes.

    Args:
        vocab_size: Number of word ids.
        hidden_size: Embedding width.
        max_position_embeddings: Rows of the position table.
        type_vocab_size: Number of segment ids; 0: no token-type table, and
            `input_type_ids` are ignored (DistilBERT).
        dropout: Dropout rate applied after the LayerNorm.
        layer_norm_eps: LayerNorm epsilon.
        initializer_range: Stddev of the truncated-normal initializer.
        **kwargs: Passed to `keras.layers.Layer` (name, dtype, ...).
    """

    def __init__(
        self,
        vocab_size,
        hidden_size,
        max_position_embeddings,
        type_vocab_size,
        dropout=0.1,
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.dropout = dropout
        self.layer_norm_eps = layer_norm_eps
        self.initializer_range = initializer_range
        initializer = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.word_embeddings = keras.layers.Embedding(
            vocab_size, hidden_size, embeddings_initializer=initializer,
            dtype=self.dtype_policy, name="word_embeddings")
        self.token_type_embeddings = keras.layers.Embedding(
            type_vocab_size, hidden_size, embeddings_initializer=initializer,
            dtype=self.dtype_policy, name="token_type_embeddings") if type_vocab_size else None
        self.layer_norm = XlaLayerNormalization(
            epsilon=layer_norm_eps, dtype=self.dtype_policy, name="layer_norm")
        self.dropout_layer = SplitBitsDropout(dropout, dtype=self.dtype_policy, name="dropout")

    def build(self, input_word_ids_shape=None, input_type_ids_shape=None, position_ids_shape=None):
        self.word_embeddings.build((None, None))
        if self.token_type_embeddings is not None:
            self.token_type_embeddings.build((None, None))
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.max_position_embeddings, self.hidden_size),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range),
        )
        self.layer_norm.build((None, None, self.hidden_size))
        self.built = True

    def call(self, input_word_ids, input_type_ids, training=None, position_ids=None):
        """Embeds [B, T] ids as [B, T, H].

        Args:
            input_word_ids: Word ids [B, T].
            input_type_ids: Segment ids [B, T].
            training: Whether dropout is active.
            position_ids: Optional [B, T] rows of the position table (packed
                sequences count from 0 each); None: 0..T-1 for every row.
        """
        if position_ids is None:
            seq_length = ops.shape(input_word_ids)[1]
            positions = ops.slice(self.position_embeddings.value, (0, 0), (seq_length, self.hidden_size))[None]
        else:
            positions = ops.take(self.position_embeddings.value, ops.cast(position_ids, "int32"), axis=0)
        x = self.word_embeddings(input_word_ids)
        if self.token_type_embeddings is not None:
            x = x + self.token_type_embeddings(input_type_ids)
        x = x + ops.cast(positions, x.dtype)
        x = self.layer_norm(x)
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, input_word_ids_shape, input_type_ids_shape=None, position_ids_shape=None):
        return tuple(input_word_ids_shape) + (self.hidden_size,)

    def checkpoint_slices(self):
        """Google checkpoint names (relative to "bert/embeddings/") of the weights."""
        slices = {
            "word_embeddings": CheckpointSlice(self.word_embeddings.embeddings),
            "position_embeddings": CheckpointSlice(self.position_embeddings),
            **layer_norm_slices(self.layer_norm),
        }
        if self.token_type_embeddings is not None:
            slices["token_type_embeddings"] = CheckpointSlice(self.token_type_embeddings.embeddings)
        return slices

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "dropout": self.dropout,
            "layer_norm_eps": self.layer_norm_eps,
            "initializer_range": self.initializer_range,
        })
        return config
