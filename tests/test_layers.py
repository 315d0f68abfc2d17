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
    (layers.SplitBitsDropout, dict(rate=0.1, seed=3), lambda: (np.ones((2, 3, 8), "float32"),), (2, 3, 8)),
    (layers.BertPooler, dict(hidden_size=8), lambda: (np.ones((2, 3, 8), "float32"),), (2, 8)),
    (layers.Float32BiasGradDense, dict(units=5, activation="tanh"), lambda: (np.ones((2, 3, 8), "float32"),),
     (2, 3, 5)),
    (layers.BertClassificationHead, dict(num_classes=5, dropout=0.1),
     lambda: (np.ones((2, 3, 8), "float32"),), (2, 3, 5)),
    (layers.XlaLayerNormalization, dict(epsilon=1e-12), lambda: (np.ones((2, 3, 8), "float32"),), (2, 3, 8)),
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
    for name, part in getattr(layer, "checkpoint_slices", dict)().items():
        assert any(part.variable is weight for weight in layer.weights), name


def test_attention_ignores_padded_keys():
    attention = layers.BertSelfAttention(hidden_size=8, num_heads=2, attention_dropout=0.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 4, 8)).astype("float32")
    mask = np.array([[1, 1, 0, 0]], "int32")
    changed = x.copy()
    changed[:, 2:] = rng.normal(size=(1, 2, 8))
    np.testing.assert_allclose(attention(x, mask)[:, :2], attention(changed, mask)[:, :2], atol=1e-6)


def test_packed_sequences_attend_to_themselves_and_count_positions_from_zero():
    from keras_bert_zoo.layers.packed_sequences import additive_attention_mask, packed_position_ids, sequence_count

    masks = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 2, 2, 3]], "int32")
    # One sequence per row keeps positions 0..T-1 wherever its padding is, as BERT (and HF) count them.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(packed_position_ids(masks)),
                                  [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 0, 1, 0]])
    visible = keras.ops.convert_to_numpy(additive_attention_mask(masks))[:, 0] == 0
    np.testing.assert_array_equal(visible[0], np.tile([1, 1, 1, 0, 0], (5, 1)))  # Padding queries too.
    np.testing.assert_array_equal(visible[2], [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 1, 0],
                                               [0, 0, 1, 1, 0], [0, 0, 0, 0, 1]])
    at_positions = keras.ops.convert_to_numpy(additive_attention_mask(masks, np.array([[0], [4], [3]])))[:, 0] == 0
    np.testing.assert_array_equal(at_positions[:, 0], visible[[0, 1, 2], [0, 4, 3]])
    assert float(sequence_count(masks)) == 5.0


def _reference_position_ids(masks, padding_position_id=None):
    """packed_position_ids by its definition, token by token: each token's distance from its mask value's first."""
    ids = np.zeros_like(masks)
    for row, mask in enumerate(masks):
        real = np.cumsum(mask > 0) - 1
        for t, value in enumerate(mask):
            first = int(np.argmax(mask == value))
            if padding_position_id is None:
                ids[row, t] = t - first if value >= 2 else t
            else:
                ids[row, t] = padding_position_id if value == 0 else (
                    (t - first if value >= 2 else real[t]) + padding_position_id + 1)
    return ids


def test_packed_position_ids_match_their_definition_in_linear_memory():
    """Random packings, left padding and numbers that come back later in a row, with and without RoBERTa's padding
    position; then 65,536 tokens, whose [T, T] comparison of every pair would take 16 GiB."""
    from keras_bert_zoo.layers.packed_sequences import packed_position_ids

    rng = np.random.default_rng(3)
    masks = np.sort(rng.integers(0, 5, (6, 23)), axis=1).astype("int32")
    masks[:3] = np.where(masks[:3] == 0, 0, masks[:3])[:, ::-1]  # Sequences numbered downwards, padding last.
    masks[3] = np.roll(masks[3], 4)
    masks[4] = rng.integers(0, 4, 23)  # Numbers scattered over the row.
    for padding_position_id in (None, 1):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(packed_position_ids(masks, padding_position_id)),
                                      _reference_position_ids(masks, padding_position_id))
    long = np.repeat(np.arange(1, 9, dtype="int32"), 8192)[None]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(packed_position_ids(long))[0],
                                  np.concatenate([np.arange(8192 * 1)] + [np.arange(8192)] * 7))


def test_a_packed_row_encodes_each_sequence_as_its_own_row():
    import keras_bert_zoo as kbz

    encoder = kbz.BertEncoder(kbz.BertConfig(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2,
                                             intermediate_size=32, max_position_embeddings=16))
    rng = np.random.default_rng(1)
    first, second = rng.integers(5, 50, 5), rng.integers(5, 50, 3)

    packed = {"input_word_ids": np.array([list(first) + list(second) + [0, 0]], "int32"),
              "input_mask": np.array([[1, 1, 1, 1, 1, 2, 2, 2, 0, 0]], "int32")}
    packed["input_type_ids"] = np.zeros_like(packed["input_mask"])
    alone = {"input_word_ids": np.array([list(first) + [0] * 5, list(second) + [0] * 7], "int32"),
             "input_mask": np.array([[1] * 5 + [0] * 5, [1] * 3 + [0] * 7], "int32")}
    alone["input_type_ids"] = np.zeros_like(alone["input_mask"])
    packed_output = keras.ops.convert_to_numpy(encoder(packed)["sequence_output"])
    alone_output = keras.ops.convert_to_numpy(encoder(alone)["sequence_output"])
    np.testing.assert_allclose(packed_output[0, :5], alone_output[0, :5], atol=1e-5)
    np.testing.assert_allclose(packed_output[0, 5:8], alone_output[1, :3], atol=1e-5)
    # The last layer at a few positions (the heads' path) sees the same packing.
    at_positions = encoder(packed, output_positions=np.array([[6, 7]], "int32"))["sequence_output"]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(at_positions)[0], alone_output[1, 1:3], atol=1e-5)


def test_transformer_block_takes_keras_masks():
    """Without input_mask, the padding of Embedding(mask_zero=True) is the block's, and the mask passes on."""
    ids = np.array([[5, 6, 7, 0, 0], [3, 4, 0, 0, 0]])
    embedding = keras.layers.Embedding(10, 16, mask_zero=True)
    block = layers.BertTransformerBlock(16, 2, 32, dropout=0.0, attention_dropout=0.0)
    masked = block(embedding(ids))
    explicit = block(embedding(ids), input_mask=(ids != 0).astype("int32"))
    np.testing.assert_allclose(np.asarray(masked), np.asarray(explicit), atol=1e-6)
    unmasked = block(embedding.call(ids))  # No mask at all: every position is attended.
    assert np.abs(np.asarray(unmasked)[:, :2] - np.asarray(masked)[:, :2]).max() > 1e-3
    inputs = keras.Input((None,), dtype="int32")
    hidden = layers.BertTransformerBlock(16, 2, 32)(keras.layers.Embedding(10, 16, mask_zero=True)(inputs))
    pooled = keras.layers.GlobalAveragePooling1D()(hidden)  # Averages real positions only, from the mask.
    model = keras.Model(inputs, pooled)
    np.testing.assert_allclose(model.predict(ids, verbose=0)[1], model.predict(ids[1:, :2], verbose=0)[0],
                               atol=1e-5)


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


def test_gelu_in_training_is_fused_and_keeps_value_and_gradient():
    import tensorflow as tf
    from math import erfc, exp, pi, sqrt, tanh

    points = np.linspace(-6, 6, 241)
    c = sqrt(2 / pi)
    formulas = {  # float64 value and derivative of each GELU
        "gelu": (lambda v: 0.5 * v * erfc(-v / sqrt(2)),
                 lambda v: 0.5 * erfc(-v / sqrt(2)) + v * exp(-v * v / 2) / sqrt(2 * pi)),
        "gelu_approx": (lambda v: 0.5 * v * (1 + tanh(c * (v + 0.044715 * v ** 3))),
                        lambda v: 0.5 * (1 + tanh(c * (v + 0.044715 * v ** 3))) + 0.5 * v
                        * (1 - tanh(c * (v + 0.044715 * v ** 3)) ** 2) * c * (1 + 3 * 0.044715 * v * v)),
    }
    x = tf.constant(points, tf.float32)
    for name, (value, derivative) in formulas.items():
        with tf.GradientTape() as tape:
            tape.watch(x)
            fused = hidden_activation(name, x, training=True)
        np.testing.assert_allclose(fused, [value(v) for v in points], rtol=1e-5, atol=2e-6)
        np.testing.assert_allclose(tape.gradient(fused, x), [derivative(v) for v in points], rtol=1e-5, atol=2e-6)
    # bfloat16 is computed in float32 and rounded once: within half a bfloat16 step of the true value.
    true = np.array([formulas["gelu_approx"][0](float(v)) for v in tf.cast(tf.cast(x, tf.bfloat16), tf.float32)])
    fused16 = tf.cast(hidden_activation("gelu_approx", tf.cast(x, tf.bfloat16), training=True), tf.float32).numpy()
    assert (np.abs(fused16 - true) <= 2.0 ** -8 * np.abs(true) * 1.001 + 1e-30).all()


def test_xla_layer_normalization_matches_keras_in_float64():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    # Rows with a large mean, and a constant row (variance 0 leaves only epsilon).
    x = rng.normal(3.0, 2.0, size=(2, 5, 48))
    x[1, 4] = 7.0
    upstream = rng.normal(size=x.shape)
    gamma, beta = rng.normal(1.0, 0.2, size=48), rng.normal(0.0, 0.2, size=48)

    def value_and_gradients(layer, dtype, training):
        layer.build(x.shape)
        layer.gamma.assign(gamma.astype(layer.gamma.dtype))
        layer.beta.assign(beta.astype(layer.beta.dtype))
        inputs = tf.constant(x, dtype)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=training)
        grads = tape.gradient(outputs, [inputs, layer.gamma.value, layer.beta.value],
                              output_gradients=tf.constant(upstream, outputs.dtype))
        return [np.asarray(tf.cast(t, tf.float64)) for t in [outputs, *grads]]

    reference = value_and_gradients(keras.layers.LayerNormalization(epsilon=1e-3, dtype="float64"),
                                    tf.float64, True)
    fused = value_and_gradients(layers.XlaLayerNormalization(epsilon=1e-3), tf.float32, True)
    for name, ours, want in zip(["output", "d_x", "d_gamma", "d_beta"], fused, reference):
        np.testing.assert_allclose(ours, want, rtol=2e-5, atol=2e-5, err_msg=name)
    # bfloat16 in and out; statistics and gradient sums stay float32.
    fused16 = value_and_gradients(layers.XlaLayerNormalization(epsilon=1e-3, dtype="mixed_bfloat16"),
                                  tf.bfloat16, True)
    for name, ours, want in zip(["output", "d_x", "d_gamma", "d_beta"], fused16, reference):
        np.testing.assert_allclose(ours, want, rtol=2e-2, atol=5e-2, err_msg=name)
    # Inference runs Keras's own ops.
    keras_float32 = value_and_gradients(keras.layers.LayerNormalization(epsilon=1e-3), tf.float32, False)
    np.testing.assert_array_equal(value_and_gradients(layers.XlaLayerNormalization(epsilon=1e-3), tf.float32,
                                                      False)[0], keras_float32[0])
    assert np.abs(fused[0] - keras_float32[0]).max() > 0  # training took the other path


def test_xla_layer_normalization_runs_inside_a_compiled_step_and_falls_back_off_the_last_axis():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(1).normal(size=(4, 6, 8)), tf.float32)
    layer = layers.XlaLayerNormalization(epsilon=1e-6)
    layer.build(x.shape)

    @tf.function(jit_compile=True)
    def gradient_norm(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=True) ** 3)
        return tf.linalg.global_norm(tape.gradient(loss, layer.trainable_variables))

    assert np.isfinite(gradient_norm(x).numpy()) and gradient_norm(x).numpy() > 0
    middle = layers.XlaLayerNormalization(axis=1, epsilon=1e-6)
    keras_middle = keras.layers.LayerNormalization(axis=1, epsilon=1e-6)
    np.testing.assert_allclose(middle(x, training=True), keras_middle(x, training=True), atol=1e-6)


def test_xla_softmax_dropout_matches_float64_softmax_dropout():
    import tensorflow as tf
    from keras_bert_zoo.kernels import xla_softmax_dropout

    rng = np.random.default_rng(3)
    scores = rng.normal(0.0, 4.0, size=(2, 3, 5, 6))
    additive_mask = np.zeros((2, 1, 1, 6))
    additive_mask[1, ..., 4:] = -1e9  # padded keys
    dropout = layers.SplitBitsDropout(0.3, seed=4)
    draws = dropout.draws((2, 3, 5, 6))
    upstream = rng.normal(size=scores.shape)

    def value_and_gradient(fn, dtype):
        x = tf.constant(scores, dtype)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return [np.asarray(tf.cast(t, tf.float64))
                for t in (y, tape.gradient(y, x, output_gradients=tf.constant(upstream, y.dtype)))]

    keep = tf.cast(draws, tf.int32) >= dropout.threshold
    reference = value_and_gradient(
        lambda x: tf.where(keep, tf.nn.softmax(x + additive_mask) * dropout.scale, tf.zeros((), x.dtype)), tf.float64)
    fused = value_and_gradient(lambda x: xla_softmax_dropout(
        x, tf.constant(additive_mask, tf.float32), draws, dropout.threshold, dropout.scale), tf.float32)
    for ours, want in zip(fused, reference):
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-6)
    assert (fused[0] == 0).any() and (fused[0][1, ..., 4:] == 0).all()
    fused16 = value_and_gradient(lambda x: xla_softmax_dropout(
        x, tf.constant(additive_mask, tf.float32), draws, dropout.threshold, dropout.scale), tf.bfloat16)
    for ours, want in zip(fused16, reference):
        np.testing.assert_allclose(ours, want, rtol=2e-2, atol=2e-2)


def test_self_attention_trains_with_fused_dropout_inside_xla():
    import tensorflow as tf

    attention = layers.BertSelfAttention(hidden_size=8, num_heads=2, attention_dropout=0.5)
    x = tf.constant(np.random.default_rng(5).normal(size=(2, 4, 8)), tf.float32)
    mask = tf.constant([[1, 1, 1, 0], [1, 1, 1, 1]], tf.int32)
    attention(x, mask)

    @tf.function(jit_compile=True)
    def step(x):
        with tf.GradientTape() as tape:
            outputs = attention(x, mask, training=True)
            loss = tf.reduce_sum(outputs ** 2)
        return outputs, tape.gradient(loss, attention.trainable_variables)

    (first, grads), (second, _) = step(x), step(x)
    assert all(np.isfinite(g.numpy()).all() for g in grads)
    assert not np.allclose(first, second)  # fresh draws each step
    assert not np.allclose(first, attention(x, mask))

    # Traced for any length, as fine-tuning on length buckets does, then run at two lengths.
    @tf.function(input_signature=[tf.TensorSpec([None, None, 8], tf.float32), tf.TensorSpec([None, None], tf.int32)])
    def any_length_step(x, mask):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(attention(x, mask, training=True) ** 2)
        return tape.gradient(loss, attention.trainable_variables)

    for length in (4, 3):
        grads = any_length_step(x[:, :length], mask[:, :length])
        assert all(np.isfinite(g.numpy()).all() for g in grads)


def test_split_bits_dropout_rate_scale_and_determinism():
    x = np.ones((64, 128, 33), "float32")  # odd last axis: half a 32-bit word is left over per row
    layer = layers.SplitBitsDropout(0.1, seed=5)
    dropped = keras.ops.convert_to_numpy(layer(x, training=True))
    kept = dropped != 0
    assert abs(kept.mean() - (1 - 6554 / 65536)) < 0.003
    np.testing.assert_allclose(dropped[kept], 65536 / (65536 - 6554), rtol=1e-6)
    again = keras.ops.convert_to_numpy(layers.SplitBitsDropout(0.1, seed=5)(x, training=True))
    np.testing.assert_array_equal(dropped, again)  # same seed, same mask
    assert (keras.ops.convert_to_numpy(layer(x, training=True)) != dropped).any()  # the state advances
    # The two draws of one 32-bit word drop independently, as two float draws would: both dropped
    # as often as the rate squared (0.01; 4 sigma over 131,072 pairs is 0.0011).
    pairs = ~kept[..., :32].reshape(64, 128, 16, 2)
    assert abs(pairs.all(-1).mean() - pairs.mean() ** 2) < 0.0011
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layers.SplitBitsDropout(0.0)(x, training=True)), x)
    with pytest.raises(ValueError, match="rate=1"):
        layers.SplitBitsDropout(1)
    assert layers.SplitBitsDropout(0.999999).scale == 65536.0  # the rate rounds to 65535/65536, not to 1


def test_split_bits_dropout_in_a_graph_with_unknown_shapes():
    import tensorflow as tf

    layer = layers.SplitBitsDropout(0.5, seed=2)
    dropped = tf.function(lambda x: layer(x, training=True), input_signature=[
        tf.TensorSpec([None, None, None], tf.float32)])(tf.ones((4, 5, 7)))
    assert dropped.shape == (4, 5, 7) and set(np.unique(dropped.numpy())) == {0.0, 2.0}


def _dense_pair(units, inputs_dim, **kwargs):
    """A Float32BiasGradDense and a keras Dense with the same random weights."""
    ours, dense = layers.Float32BiasGradDense(units, **kwargs), keras.layers.Dense(units, **kwargs)
    for layer in (ours, dense):
        layer.build((None, inputs_dim))
    rng = np.random.default_rng(0)
    for weight in ours.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    dense.set_weights(ours.get_weights())
    return ours, dense


def test_float32_bias_grad_dense_sums_bfloat16_bias_gradients_in_float32():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 512, 16)).astype("float32")
    upstream = tf.cast(rng.normal(size=(8, 512, 24)), "bfloat16")
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        ours, dense = _dense_pair(24, 16)

        def gradients(layer):
            with tf.GradientTape() as tape:
                outputs = layer(x, training=True)
                loss = tf.reduce_sum(tf.cast(outputs * upstream, "float32"))
            return outputs, tape.gradient(loss, [layer.kernel, layer.bias])

        (outputs, (kernel_grad, bias_grad)), (dense_outputs, (dense_kernel_grad, _)) = gradients(ours), gradients(dense)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    np.testing.assert_array_equal(outputs.numpy(), dense_outputs.numpy())
    np.testing.assert_array_equal(kernel_grad.numpy(), dense_kernel_grad.numpy())
    exact = upstream.numpy().astype("float64").reshape(-1, 24).sum(0)
    # Only the final bfloat16 rounding (8 significant bits) of each sum of 4096 rows remains.
    np.testing.assert_allclose(bias_grad.numpy(), exact, rtol=2 ** -8, atol=1e-6)


def test_float32_bias_grad_dense_keeps_dense_lora_and_no_bias_paths():
    import tensorflow as tf

    x = np.random.default_rng(2).normal(size=(3, 4, 6)).astype("float32")
    ours, dense = _dense_pair(5, 6, activation="relu")
    ours.enable_lora(2)
    dense.enable_lora(2)
    for layer in (ours, dense):
        layer.lora_kernel_b.assign(np.full((2, 5), 0.3, "float32"))
    dense.lora_kernel_a.assign(ours.lora_kernel_a)
    np.testing.assert_allclose(ours(x, training=True).numpy(), dense(x).numpy(), atol=1e-6)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ours(x, training=True))
    assert all(g is not None for g in tape.gradient(loss, ours.trainable_weights))
    unbiased, dense_unbiased = _dense_pair(5, 6, use_bias=False)
    np.testing.assert_allclose(unbiased(x).numpy(), dense_unbiased(x).numpy(), atol=1e-6)
