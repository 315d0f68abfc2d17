"""ModernBERT's self-attention: fused projection, rotary positions, global or sliding-window."""

import math

import keras
from keras import ops

from keras_bert_zoo.layers.bert_self_attention import BertSelfAttention
from keras_bert_zoo.layers.checkpoint_slice import dense_slices, prefixed
from keras_bert_zoo.layers.gather_positions import gather_positions, positions_output_shape
from keras_bert_zoo.layers.local_attention import (banded_attention, chunked_attention, dense_attention,
                                                   mapped_chunk_attention)
from keras_bert_zoo.layers.packed_sequences import additive_attention_mask
from keras_bert_zoo.layers.rotary_embedding import RotaryEmbedding, rotate


# Global attention over rows longer than this scores this many queries at a time (`chunked_attention`): 8,192
# tokens would otherwise hold 8,192^2 scores per head, 3 GiB a layer for ModernBERT-base. Training does so only
# past REMATERIALIZED_LENGTH: the blocks are recomputed in the backward pass, which up to there cost more time
# (6% of a ModernBERT-base step at 2,048 tokens on CPU) than their scores cost memory.
GLOBAL_CHUNK = 1024
# Training on rows longer than this recomputes what lies between the fused projection and the output
# projection (rotations, scores, probabilities) in the backward pass instead of keeping it: about half of a
# ModernBERT-base layer's activations, which at 8,192 tokens would not fit 22 layers in 24 GiB.
REMATERIALIZED_LENGTH = 2048


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ModernBertAttention(BertSelfAttention):
    """Multi-head self-attention with rotary positions, over all keys or a sliding window.

    BERT's fused [H, 3H] projection (transformers' `Wqkv`) and output
    projection, without biases by default; queries and keys are rotated by
    their positions (`RotaryEmbedding`) before softmax(QK^T / sqrt(d)) V.
    With `half_window` a query sees only keys at most that far away,
    computed block-wise in O(T x window) (`local_attention`).

    Args:
        hidden_size: Model width H.
        num_heads: Number of heads; must divide `hidden_size`.
        rope_theta: RoPE base.
        half_window: None for global attention, else how far a query sees.
        use_bias: Whether the projections have biases.
        attention_dropout: Dropout rate on the attention probabilities.
        initializer_range: Stddev of the truncated-normal initializer.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, hidden_size, num_heads, rope_theta=10_000.0, half_window=None, use_bias=False,
                 attention_dropout=0.0, initializer_range=0.02, **kwargs):
        super().__init__(hidden_size, num_heads, attention_dropout, initializer_range, use_bias, **kwargs)
        self.rope_theta = rope_theta
        self.half_window = half_window
        self.rotary = RotaryEmbedding(self.head_size, rope_theta, dtype=self.dtype_policy, name="rotary")
    def build(self, x_shape, input_mask_shape=None, position_ids_shape=None):
        super().build(x_shape)  # Keras matches build's arguments to call's: this one has position_ids.

    def call(self, x, input_mask, position_ids, training=None, query_positions=None):
        """Attends from the positions of `x` [B, T, H] to the keys each may see.

        Args:
            x: Hidden states [B, T, H].
            input_mask: int [B, T]: 0 for padding, else the number of the
                packed sequence (see `packed_sequences`).
            position_ids: int [B, T] positions that rotate queries and keys.
            training: Whether dropout is active.
            query_positions: Optional int [B, P]: the output is [B, P, H], the
                rows of the full output there.
        """
        length = x.shape[1]
        # Dropout draws anew when recomputed: only attention without it is recomputed.
        deterministic = not (training and self.probs_dropout.threshold)
        long = (length is not None and length > (REMATERIALIZED_LENGTH if training else GLOBAL_CHUNK)
                and deterministic)

        def attend(qkv, input_mask, position_ids):
            # [B, T, 3, N, D] -> [3, B, N, T, D]
            qkv = ops.reshape(qkv, (-1, ops.shape(qkv)[1], 3, self.num_heads, self.head_size))
            query, key, value = ops.unstack(ops.transpose(qkv, (2, 0, 3, 1, 4)), 3, axis=0)
            cos, sin = self.rotary(position_ids)
            query, key = rotate(query, cos, sin), rotate(key, cos, sin)
            query = query * ops.cast(1.0 / math.sqrt(self.head_size), query.dtype)

            def softmax(scores, additive_mask):
                return self.probs_dropout.softmax(scores, additive_mask, training=training)

            if self.half_window is None and query_positions is None and long:
                context = chunked_attention(query, key, value, input_mask, softmax, GLOBAL_CHUNK)
            elif self.half_window is None and query_positions is None and length is None and not training:
                # A serving graph's rows have any length: long ones take blocks of queries.
                context = ops.cond(
                    ops.shape(query)[2] > GLOBAL_CHUNK,
                    lambda: mapped_chunk_attention(query, key, value, input_mask, softmax, GLOBAL_CHUNK),
                    lambda: dense_attention(query, key, value, additive_attention_mask(input_mask), softmax))
            elif self.half_window is None:
                if query_positions is not None:  # Only they attend.
                    query = ops.transpose(gather_positions(ops.transpose(query, (0, 2, 1, 3)), query_positions),
                                          (0, 2, 1, 3))
                context = dense_attention(query, key, value, additive_attention_mask(input_mask, query_positions),
                                          softmax)
            else:
                context = banded_attention(query, key, value, input_mask, self.half_window, softmax)
            # [B, N, Q, D] -> [B, Q, H]
            return ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (-1, ops.shape(context)[2], self.hidden_size))

        if training and long:
            attend = keras.remat(attend)
        context = attend(self.qkv_dense(x), input_mask, position_ids)
        if self.half_window is not None and query_positions is not None:
            context = gather_positions(context, query_positions)
        return self.output_dense(context)

    def compute_output_shape(self, x_shape, input_mask_shape=None, position_ids_shape=None,
                             query_positions_shape=None):
        return positions_output_shape(x_shape, query_positions_shape)

    def checkpoint_slices(self):
        """Names relative to "bert/encoder/layer_N/attention/"."""
        slices = prefixed("self/qkv/", dense_slices(self.qkv_dense))
        slices.update(prefixed("output/dense/", dense_slices(self.output_dense)))
        return slices

    def get_config(self):
        config = super().get_config()
        config.update({"rope_theta": self.rope_theta, "half_window": self.half_window})
        return config
