"""The dense layer, activation and LayerNorm that ModernBERT puts before each head's output layer."""

import keras

from keras_bert_zoo.layers.activations import hidden_activation
from keras_bert_zoo.layers.checkpoint_slice import dense_slices, layer_norm_slices, prefixed
from keras_bert_zoo.layers.float32_bias_grad_dense import Float32BiasGradDense
from keras_bert_zoo.layers.xla_layer_normalization import XlaLayerNormalization


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ModernBertPredictionHead(keras.layers.Layer):
    """LayerNorm(act(x W + b)) over the last axis, [..., H] -> [..., H] (transformers' `ModernBertPredictionHead`).

    Args:
        hidden_size: Width H.
        activation: Activation name (as `BertConfig.hidden_act`).
        use_bias: Whether the dense layer has a bias.
        layer_norm_eps: LayerNorm epsilon.
        norm_bias: Whether the LayerNorm has a bias.
        initializer_range: Stddev of the truncated-normal initializer.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, hidden_size, activation="gelu", use_bias=False, layer_norm_eps=1e-5, norm_bias=False,
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.activation = activation
        self.use_bias = use_bias
        self.layer_norm_eps = layer_norm_eps
        self.norm_bias = norm_bias
        self.initializer_range = initializer_range
        self.dense = Float32BiasGradDense(
            hidden_size, use_bias=use_bias, kernel_initializer=keras.initializers.TruncatedNormal(
                stddev=initializer_range), dtype=self.dtype_policy, name="dense")
        self.layer_norm = XlaLayerNormalization(epsilon=layer_norm_eps, center=norm_bias, dtype=self.dtype_policy,
                                                name="layer_norm")

    def build(self, input_shape):
        self.dense.build((None, self.hidden_size))
        self.layer_norm.build((None, self.hidden_size))
        self.built = True

    def call(self, x, training=None):
        return self.layer_norm(hidden_activation(self.activation, self.dense(x), training=training),
                               training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def checkpoint_slices(self):
        """Names relative to the head's scope ("pre_classifier/", "cls/predictions/transform/")."""
        return {**prefixed("dense/", dense_slices(self.dense)), **layer_norm_slices(self.layer_norm)}

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_size": self.hidden_size,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "layer_norm_eps": self.layer_norm_eps,
            "norm_bias": self.norm_bias,
            "initializer_range": self.initializer_range,
        })
        return config
