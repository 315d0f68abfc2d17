"""Skipping the padding (layers.padding_free, BertEncoder.skipping_padding) changes no result."""

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.layers.padding_free import remove_padding, restore_padding, token_layout
from tests.conftest import random_inputs


def test_token_layout_round_trip():
    mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 2, 2]], "int32")
    token_rows, padded_index = token_layout(mask)
    assert np.asarray(token_rows).tolist() == [0, 1, 2, 4, 8, 9, 10, 11]
    assert np.asarray(padded_index).tolist() == [[0, 1, 2, 8], [3, 8, 8, 8], [4, 5, 6, 7]]
    x = np.arange(3 * 4 * 2, dtype="float32").reshape(3, 4, 2) + 1
    tokens = remove_padding(x, (token_rows, padded_index))
    assert tokens.shape == (8, 2)
    np.testing.assert_array_equal(restore_padding(tokens, (token_rows, padded_index)), x * (mask != 0)[:, :, None])


@pytest.mark.parametrize("masks", ["padded", "packed", "empty"])
def test_encoder_skipping_padding_gives_the_same_outputs(tiny_config, masks):
    encoder = kbz.BertEncoder(tiny_config)
    inputs = random_inputs(batch_size=4, seq_length=12)
    if masks == "packed":  # Two sequences packed into row 0.
        inputs["input_mask"][0, 6:] = 2
    if masks == "empty":
        inputs = {name: value[:0] for name, value in inputs.items()}
    positions = np.tile(np.array([[1, 3]], "int32"), (len(inputs["input_mask"]), 1))
    expected = encoder(inputs, output_positions=positions)

    @tf.function(input_signature=[{name: tf.TensorSpec([None, None], tf.int32) for name in inputs}])
    def skipping(batch):
        return encoder(batch, output_positions=tf.ones_like(batch["input_mask"][:, :2]) * [[1, 3]])

    with encoder.skipping_padding():
        got = skipping(inputs)
    assert not encoder._skips_padding
    for name in ("pooled_output", "sequence_output"):
        assert got[name].shape == expected[name].shape
        np.testing.assert_allclose(got[name], expected[name], atol=1e-5, err_msg=name)
    graph_ops = {op.type for op in skipping.get_concrete_function().graph.get_operations()}
    assert "Where" in graph_ops  # the real tokens were taken out
