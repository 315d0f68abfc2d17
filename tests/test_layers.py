"""Each layer builds its sublayers explicitly and round-trips through get_config."""

import keras
import numpy as np
import pytest

from keras_bert_zoo import layers
from keras_bert_zoo.layers.activations import hidden_activation

LAYERS = [
    (layers.BertEmbeddings, dict(vocab_size=50, hidden_size=8, max_position_embeddings=16, type_vocab_size=2),
     lambda: (np.array([[3, 4, 5]], "int32"), np.array([[0, 0, 1]], "int32")), (1, 3, 8)),
    (layers.BertSelfAttention, dict(hidden_size=8, num_heads=2),
     lambda: (np.ones((2, 3, 8), "float32"), np.array([[1, 1, 0], [1, 1, 1]], "int32")), (2, 3, 8)),
    (layers.BertTransformerBlock, dict(hidden_size=8, num_heads=2, intermediate_size=12, hidden_act="gelu"),
     lambda: (np.ones((2, 3, 8), "float32"), np.ones((2, 3), "int32")), (2, 3, 8)),
    (layers.BertPooler, dict(hidden_size=8), lambda: (np.ones((2, 3, 8), "float32"),), (2, 8)),
    (layers.BertClassificationHead, dict(num_classes=5, dropout=0.1),
     lambda: (np.ones((2, 3, 8), "float32"),), (2, 3, 5)),
]


@pytest.mark.parametrize("cls,kwargs,make_inputs,shape", LAYERS, ids=[c.__name__ for c, *_ in LAYERS])
def test_layer_config_round_trip(cls, kwargs, make_inputs, shape):
    layer = cls(**kwargs)
    output = layer(*make_inputs())
    assert tuple(output.shape) == shape
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(*make_inputs())
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    for name, part in layer.checkpoint_slices().items():
        assert any(part.variable is weight for weight in layer.weights), name


def test_attention_ignores_padded_keys():
    attention = layers.BertSelfAttention(hidden_size=8, num_heads=2, attention_dropout=0.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 4, 8)).astype("float32")
    mask = np.array([[1, 1, 0, 0]], "int32")
    changed = x.copy()
    changed[:, 2:] = rng.normal(size=(1, 2, 8))
    np.testing.assert_allclose(attention(x, mask)[:, :2], attention(changed, mask)[:, :2], atol=1e-6)


def test_hidden_activations_follow_their_formulas():
    from math import erf, sqrt, tanh, pi

    x = np.linspace(-4, 4, 81).astype("float32")
    exact = keras.ops.convert_to_numpy(hidden_activation("gelu", x))
    approx = keras.ops.convert_to_numpy(hidden_activation("gelu_approx", x))
    np.testing.assert_allclose(exact, [0.5 * v * (1 + erf(v / sqrt(2))) for v in x], atol=1e-6)
    np.testing.assert_allclose(approx, [0.5 * v * (1 + tanh(sqrt(2 / pi) * (v + 0.044715 * v ** 3))) for v in x],
                               atol=1e-6)
    assert np.abs(exact - approx).max() > 1e-4  # The two are not interchangeable.
    with pytest.raises(ValueError, match="Unknown hidden activation"):
        hidden_activation("gelu_fast", x)
