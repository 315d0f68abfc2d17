"""Raw strings through task models: predict, fit and evaluate take texts (and pairs) like token dicts."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz

TEXTS = ["a great movie", "dull and far too long", "Wonderful acting, naïve plot.", "awful", "fine"]
LABELS = np.array([1, 0, 1, 0, 1])


@pytest.fixture(scope="module")
def classifier(minilm_dir):
    keras.utils.set_random_seed(0)
    return kbz.BertClassifier.from_pretrained(minilm_dir, num_classes=2)


def test_predict_on_strings_equals_model_on_token_dicts(classifier, minilm_dir):
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    assert isinstance(classifier.preprocessor, kbz.BertPreprocessor)
    expected = classifier(tokenizer(TEXTS, max_length=classifier.preprocessor.sequence_length))["logits"]
    for texts in (TEXTS, np.array(TEXTS), tf.constant(TEXTS)):
        np.testing.assert_allclose(classifier.predict(texts, batch_size=2, verbose=0)["logits"], expected, atol=1e-5)
    dataset = tf.data.Dataset.from_tensor_slices(TEXTS).batch(3)
    np.testing.assert_allclose(classifier.predict(dataset, verbose=0)["logits"], expected, atol=1e-5)


def test_pairs_go_to_the_question_answerer(minilm_dir):
    reader = kbz.BertQuestionAnswerer.from_pretrained(minilm_dir)
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    questions, contexts = ["Where is the tower?", "Who wrote it?"], ["The tower is in Paris.", "Ann wrote it."]
    expected = reader(tokenizer(questions, contexts, max_length=128))
    got = reader.predict((questions, contexts), verbose=0)
    for name in ("start_logits", "end_logits"):
        np.testing.assert_allclose(got[name], expected[name], atol=1e-5)
    dataset = tf.data.Dataset.from_tensor_slices((questions, contexts)).batch(2)
    np.testing.assert_allclose(reader.predict(dataset, verbose=0)["start_logits"], expected["start_logits"], atol=1e-5)


def test_fit_and_evaluate_on_strings(classifier, minilm_dir):
    model = kbz.BertClassifier.from_pretrained(minilm_dir, num_classes=2)
    model.compile(optimizer=kbz.training.create_optimizer("adamw", 1e-4, 6, 1),
                  loss={"logits": model.default_loss()})
    before = model.evaluate(TEXTS, LABELS, verbose=0)
    history = model.fit(TEXTS, LABELS, batch_size=2, epochs=2, verbose=0, validation_data=(TEXTS, LABELS))
    assert len(history.history["val_loss"]) == 2
    after = model.evaluate(TEXTS, LABELS, batch_size=2, verbose=0)
    assert after < before
    tokenizer = model.preprocessor.tokenizer
    on_ids = model.evaluate(tokenizer(TEXTS, max_length=128), {"logits": LABELS}, verbose=0)
    np.testing.assert_allclose(after, on_ids, rtol=1e-5)
    dataset = tf.data.Dataset.from_tensor_slices((TEXTS, LABELS)).batch(2)
    np.testing.assert_allclose(model.evaluate(dataset, verbose=0), after, rtol=1e-5)


def test_preprocessor_survives_keras_save_and_can_be_removed(classifier, tmp_path):
    path = str(tmp_path / "classifier.keras")
    classifier.save(path)
    restored = keras.models.load_model(path)
    assert restored.preprocessor.sequence_length == classifier.preprocessor.sequence_length
    np.testing.assert_allclose(restored.predict(TEXTS, verbose=0)["logits"],
                               classifier.predict(TEXTS, verbose=0)["logits"], atol=1e-5)
    restored.preprocessor = None
    with pytest.raises(ValueError, match="has no preprocessor"):
        restored.predict(TEXTS, verbose=0)
    ids = {name: np.zeros((2, 8), "int32") for name in ("input_word_ids", "input_mask", "input_type_ids")}
    assert restored.predict(ids, verbose=0)["logits"].shape == (2, 2)


def test_preprocessor_stays_out_of_checkpoints(classifier, tmp_path):
    """Training checkpoints and exports hold the model's variables only, as before it had a preprocessor."""
    assert classifier.preprocessor is not None
    names = {name for name, _ in tf.train.list_variables(tf.train.Checkpoint(model=classifier).write(
        str(tmp_path / "ckpt")))}
    assert not any("preprocessor" in name or "tokenizer" in name for name in names)


def test_preprocessor_takes_the_tokenizers_max_length(classifier):
    tokenizer = classifier.preprocessor.tokenizer
    preprocessor = kbz.BertPreprocessor(tokenizer, max_length=16)
    assert preprocessor(tf.constant(TEXTS))["input_word_ids"].shape == (len(TEXTS), 16)
    config = preprocessor.get_config()
    assert config["sequence_length"] == 16 and "max_length" not in config  # What saved models hold already.
    assert kbz.BertPreprocessor.from_config(config).sequence_length == 16
    assert kbz.BertPreprocessor(tokenizer, sequence_length=16, max_length=16).sequence_length == 16
    assert kbz.BertPreprocessor(tokenizer).sequence_length == 128
    with pytest.raises(ValueError, match="sequence_length=16 and max_length=32"):
        kbz.BertPreprocessor(tokenizer, sequence_length=16, max_length=32)
