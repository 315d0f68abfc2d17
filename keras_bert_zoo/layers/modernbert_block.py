"""One pre-norm ModernBERT layer: attention and a gated feed-forward, each on a LayerNorm of the residual."""

import keras
from keras import ops

from keras_bert_zoo.layers.activations import hidden_activation
from keras_bert_zoo.layers.checkpoint_slice import dense_slices, layer_norm_slices, prefixed
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense
from keras_bert_zoo.layers.gather_positions import gather_positions, positions_output_shape
from keras_bert_zoo.layers.modernbert_attention import REMATERIALIZED_LENGTH, ModernBertAttention
from keras_bert_zoo.layers.split_bits_dropout import SplitBitsDropout
from keras_bert_zoo.layers.xla_layer_normalization import XlaLayerNormalization


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ModernBertBlock(keras.layers.Layer):
    """x + Attention(LN(x)), then x + W_out(act(x' W_in) * (x' W_gate)) with x' = LN(x) (GeGLU for GELU).

    Args:
        hidden_size: Model width.
        num_heads: Attention heads.
        intermediate_size: Width of the gated product (W_in is twice as wide).
        hidden_act: Activation of the gate's other half (see `BertConfig.hidden_act`).
        rope_theta: RoPE base of the attention.
        half_window: None for global attention, else how far a query sees.
        attention_norm: Whether the attention reads a LayerNorm of x (layer 0
            reads the normalized embeddings directly).
        layer_norm_eps: LayerNorm epsilon.
        norm_bias: Whether the LayerNorms have a bias.
        attention_bias: Whether the attention's projections have biases.
        mlp_bias: Whether the feed-forward's projections have biases.
        attention_dropout: Dropout on the attention probabilities and output.
        mlp_dropout: Dropout on the gated product.
        initializer_range: Stddev of the truncated-normal initializer.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, hidden_size, num_heads, intermediate_size, hidden_act="gelu", rope_theta=10_000.0,
                 half_window=None, attention_norm=True, layer_norm_eps=1e-5, norm_bias=False, attention_bias=False,
                 mlp_bias=False, attention_dropout=0.0, mlp_dropout=0.0, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.rope_theta = rope_theta
        self.half_window = half_window
        self.attention_norm = attention_norm
        self.layer_norm_eps = layer_norm_eps
        self.norm_bias = norm_bias
        self.attention_bias = attention_bias
        self.mlp_bias = mlp_bias
        self.attention_dropout = attention_dropout
        self.mlp_dropout = mlp_dropout
        self.initializer_range = initializer_range
        initializer = keras.initializers.TruncatedNormal(stddev=initializer_range)
        policy = self.dtype_policy
        self.attention_layer_norm = XlaLayerNormalization(
            epsilon=layer_norm_eps, center=norm_bias, dtype=policy, name="attention_layer_norm") if attention_norm \
            else None
        self.attention = ModernBertAttention(
            hidden_size, num_heads, rope_theta, half_window, attention_bias, attention_dropout, initializer_range,
            dtype=policy, name="attention")
        self.attention_output_dropout = SplitBitsDropout(attention_dropout, dtype=policy, name="attention_dropout")
        self.mlp_layer_norm = XlaLayerNormalization(
            epsilon=layer_norm_eps, center=norm_bias, dtype=policy, name="mlp_layer_norm")
        self.input_dense = Float32BiasGradDense(2 * intermediate_size, use_bias=mlp_bias,
                                                kernel_initializer=initializer, dtype=policy, name="mlp_in")
        self.mlp_dropout_layer = SplitBitsDropout(mlp_dropout, dtype=policy, name="mlp_dropout")
        self.output_dense = Float32BiasGradDense(hidden_size, use_bias=mlp_bias, kernel_initializer=initializer,
                                                 dtype=policy, name="mlp_out")

    def build(self, x_shape, input_mask_shape=None, position_ids_shape=None):
        hidden_shape = (None, None, self.hidden_size)
        if self.attention_layer_norm is not None:
            self.attention_layer_norm.build(hidden_shape)
        self.attention.build(hidden_shape)
        self.mlp_layer_norm.build(hidden_shape)
        self.input_dense.build(hidden_shape)
        self.output_dense.build((None, None, self.intermediate_size))
        self.built = True

    def call(self, x, input_mask, position_ids, training=None, output_positions=None):
        """Transforms `x` [B, T, H].

        Args:
            x: Hidden states [B, T, H].
            input_mask: int [B, T]: 0 for padding, else the packed sequence's number.
            position_ids: int [B, T] positions for the rotary embeddings.
            training: Whether dropout is active.
            output_positions: Optional int [B, P]: the output is [B, P, H], the
                rows of the full output there; only they pass the feed-forward.
        """
        normed = x if self.attention_layer_norm is None else self.attention_layer_norm(x, training=training)
        attended = self.attention(normed, ops.cast(input_mask, "int32"), position_ids, training=training,
                                  query_positions=output_positions)
        if output_positions is not None:
            x = gather_positions(x, output_positions)
        x = x + self.attention_output_dropout(attended, training=training)

        def gated(projected):
            gate_input, gate = ops.split(projected, 2, axis=-1)
            return hidden_activation(self.hidden_act, gate_input, training=training) * gate

        if training and x.shape[1] is not None and x.shape[1] > REMATERIALIZED_LENGTH:
            gated = keras.remat(gated)  # Keeps the projection alone, not its halves and their activation.
        projected = self.input_dense(self.mlp_layer_norm(x, training=training))
        return x + self.output_dense(self.mlp_dropout_layer(gated(projected), training=training))

    def compute_output_shape(self, x_shape, input_mask_shape=None, position_ids_shape=None,
                             output_positions_shape=None):
        return positions_output_shape(x_shape, output_positions_shape)

    def checkpoint_slices(self):
        """Names relative to "bert/encoder/layer_N/"."""
        slices = prefixed("attention/", self.attention.checkpoint_slices())
        if self.attention_layer_norm is not None:
            slices.update(prefixed("attention/", layer_norm_slices(self.attention_layer_norm)))
        slices.update(prefixed("mlp/", layer_norm_slices(self.mlp_layer_norm)))
        slices.update(prefixed("mlp/wi/", dense_slices(self.input_dense)))
        slices.update(prefixed("mlp/wo/", dense_slices(self.output_dense)))
        return slices

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_size": self.hidden_size,
            "num_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": self.hidden_act,
            "rope_theta": self.rope_theta,
            "half_window": self.half_window,
            "attention_norm": self.attention_norm,
            "layer_norm_eps": self.layer_norm_eps,
            "norm_bias": self.norm_bias,
            "attention_bias": self.attention_bias,
            "mlp_bias": self.mlp_bias,
            "attention_dropout": self.attention_dropout,
            "mlp_dropout": self.mlp_dropout,
            "initializer_range": self.initializer_range,
        })
        return config
