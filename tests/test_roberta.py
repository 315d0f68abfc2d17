"""RoBERTa's positions against transformers': padding at the pad id, real tokens counted past it whatever side
the padding is on, and sequences packed into one row each as if alone. (The family's parity with transformers'
models and heads is in test_family_parity.py.)"""

import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from family_tools import seeded

PAD = 1


@pytest.fixture(scope="module")
def roberta(tmp_path_factory):
    """transformers' RobertaModel (seeded, 2 layers) and ours read from its save_pretrained directory, which has
    no tokenizer files."""
    directory = tmp_path_factory.mktemp("roberta")
    reference = seeded(transformers.RobertaModel, transformers.RobertaConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=34, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=PAD))
    reference.save_pretrained(directory, safe_serialization=True)
    return reference, directory


def transformers_output(reference, ids):
    """RobertaModel's last hidden state on rows of `ids` (pad id where masked), its positions its own."""
    ids = torch.tensor(np.asarray(ids)).long()
    with torch.no_grad():
        return reference(input_ids=ids, attention_mask=(ids != PAD).long()).last_hidden_state.numpy()


def test_left_and_right_padding_match_transformers(roberta):
    """Every position, padding too: its word and position ids are the pad id in both."""
    reference, directory = roberta
    ours = kbz.Encoder.from_pretrained(str(directory))
    rng = np.random.default_rng(0)
    mask = np.array([[1] * 12, [0] * 4 + [1] * 8, [1] * 6 + [0] * 6, [0, 0] + [1] * 7 + [0] * 3], "int32")
    ids = np.where(mask == 1, rng.integers(3, 99, mask.shape), PAD).astype("int32")
    got = ours({"input_word_ids": ids, "input_mask": mask, "input_type_ids": mask})["sequence_output"].numpy()
    np.testing.assert_allclose(got, transformers_output(reference, ids), atol=1e-5, rtol=0)


def test_packed_sequences_are_each_encoded_as_if_alone(roberta):
    """input_mask 1, 2, 3 numbers the sequences of a packed row; each counts its positions from the pad id + 1."""
    reference, directory = roberta
    ours = kbz.Encoder.from_pretrained(str(directory))
    rng = np.random.default_rng(1)
    lengths = (6, 3, 5)
    sequences = [rng.integers(3, 99, length).astype("int32") for length in lengths]
    mask = np.concatenate([np.full(length, number, "int32") for number, length in enumerate(lengths, 1)] +
                          [np.zeros(2, "int32")])[None]
    ids = np.concatenate([*sequences, np.full(2, PAD, "int32")])[None]
    got = ours({"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(ids)})
    for number, sequence in enumerate(sequences, 1):
        alone = transformers_output(reference, sequence[None])[0]
        np.testing.assert_allclose(got["sequence_output"].numpy()[0][mask[0] == number], alone, atol=1e-5, rtol=0)


def test_task_models_load_a_directory_without_tokenizer_files(roberta):
    _, directory = roberta
    classifier = kbz.Classifier.from_pretrained(str(directory), num_classes=3)
    assert type(classifier.encoder) is kbz.RobertaEncoder and classifier.preprocessor is None
