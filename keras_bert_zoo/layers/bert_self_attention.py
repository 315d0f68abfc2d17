"""Multi-head self-attention with one fused query/key/value projection."""

import math

import keras
from keras import ops

from keras_bert_zoo.layers.checkpoint_slice import CheckpointSlice, dense_slices, prefixed
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense
from keras_bert_zoo.layers.gather_positions import gather_positions, positions_output_shape
from keras_bert_zoo.layers.packed_sequences import additive_attention_mask
from keras_bert_zoo.layers.padding_free import remove_padding, restore_padding
from keras_bert_zoo.layers.split_bits_dropout import SplitBitsDropout


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertSelfAttention(keras.layers.Layer):
    """BERT self-attention: softmax(QK^T / sqrt(d)) V, then an output projection.

    Query, key and value come from one [H, 3H] matmul instead of three [H, H]
    ones; checkpoints still see separate query/key/value tensors.

    Args:
        hidden_size: Model width H.
        num_heads: Number of heads; must divide `hidden_size`.
        attention_dropout: Dropout rate on the attention probabilities.
        initializer_range: Stddev of the truncated-normal initializer.
        use_bias: Whether the projections have biases.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, hidden_size, num_heads, attention_dropout=0.1, initializer_range=0.02, use_bias=True,
                 **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # Padding comes in input_mask; a Keras mask on the input passes through.
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} is not divisible by num_heads={num_heads}.")
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.head_size = hidden_size // num_heads
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        self.use_bias = use_bias
        initializer = keras.initializers.TruncatedNormal(stddev=initializer_range)
        self.qkv_dense = Float32BiasGradDense(
            3 * hidden_size, use_bias=use_bias, kernel_initializer=initializer, dtype=self.dtype_policy, name="qkv")
        self.output_dense = Float32BiasGradDense(
            hidden_size, use_bias=use_bias, kernel_initializer=initializer, dtype=self.dtype_policy, name="output")
        self.probs_dropout = SplitBitsDropout(
            attention_dropout, dtype=self.dtype_policy, name="probs_dropout")

    def build(self, x_shape, input_mask_shape=None):
        self.qkv_dense.build((None, None, self.hidden_size))
        self.output_dense.build((None, None, self.hidden_size))
        self.built = True

    def call(self, x, input_mask, training=None, query_positions=None, layout=None):
        """Attends from every position of `x` [B, T, H] to the unmasked ones.

        Args:
            x: Hidden states [B, T, H], or [N, H] of the real tokens alone given `layout`.
            input_mask: [B, T], 1 for real tokens and 0 for padding; or
                1, 2, ... numbering sequences packed into a row, each of
                which then attends only to itself (see `packed_sequences`).
            training: Whether dropout is active.
            query_positions: Optional integer positions [B, P]: only they
                attend, and the output is [B, P, H].
            layout: `padding_free.token_layout(input_mask)` when `x` holds the real tokens alone;
                the output is then [N, H] too (or [B, P, H] at `query_positions`).
        """
        qkv = self.qkv_dense(x)
        if layout is not None:
            qkv = restore_padding(qkv, layout)
        # [B, T, 3, N, D]
        qkv = ops.reshape(qkv, (-1, ops.shape(input_mask)[1], 3, self.num_heads, self.head_size))
        # One transpose puts the heads first, [3, B, N, T, D], so that both products below are plain
        # batched matmuls; the [B, T, N, D] layout costs four transposes a layer.
        query, key, value = ops.unstack(ops.transpose(qkv, (2, 0, 3, 1, 4)), 3, axis=0)
        if query_positions is not None:
            # Gathered from the [B, T, ...] layout, where the positions index axis 1.
            query = ops.transpose(gather_positions(qkv[:, :, 0], query_positions), (0, 2, 1, 3))
        # [B, N, T, T]: scaling the query touches half as many values as scaling the scores.
        scores = ops.einsum("bntd,bnsd->bnts", query * (1.0 / math.sqrt(self.head_size)), key)
        additive_mask = additive_attention_mask(input_mask, query_positions)
        # [B, N, T, T] probabilities, dropped out.
        probs = self.probs_dropout.softmax(scores, additive_mask, training=training)
        # [B, N, T, T] x [B, N, T, D] -> [B, T, N, D] -> [B, T, H]
        context = ops.transpose(ops.einsum("bnts,bnsd->bntd", probs, value), (0, 2, 1, 3))
        context = ops.reshape(context, (-1, ops.shape(query)[2], self.hidden_size))
        if layout is not None and query_positions is None:
            context = remove_padding(context, layout)
        return self.output_dense(context)

    def compute_output_shape(self, x_shape, input_mask_shape=None, query_positions_shape=None):
        return positions_output_shape(x_shape, query_positions_shape)

    def checkpoint_slices(self):
        """Names relative to "bert/encoder/layer_N/attention/"."""
        slices = {}
        for index, part in enumerate(("query", "key", "value")):
            slices[f"self/{part}/kernel"] = CheckpointSlice(self.qkv_dense.kernel, index, 3)
            slices[f"self/{part}/bias"] = CheckpointSlice(self.qkv_dense.bias, index, 3)
        slices.update(prefixed("output/dense/", dense_slices(self.output_dense)))
        return slices

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_size": self.hidden_size,
            "num_heads": self.num_heads,
            "attention_dropout": self.attention_dropout,
            "initializer_range": self.initializer_range,
            "use_bias": self.use_bias,
        })
        return config
