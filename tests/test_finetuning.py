"""Length-bucketed batches, fine-tuning objectives and prediction order (in-process, tiny models)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.data.sequence_batches import (bucket_lengths, inference_batches, packed_training_batches,
                                                  training_batches)
from keras_bert_zoo.training.classification_objective import ClassificationObjective
from keras_bert_zoo.training.finetuning import FinetuningSettings, finetune, predict
from keras_bert_zoo.training.span_objective import SpanObjective
from keras_bert_zoo.training.token_classification_objective import TokenClassificationObjective

CONFIG = BertConfig(vocab_size=30, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                    max_position_embeddings=64)


def _sequences(lengths, seed=0, classes=None):
    """[CLS] words [SEP] rows; with `classes`, row i draws its words from class i's own id range."""
    rng = np.random.default_rng(seed)
    ranges = [(5, 30)] * len(lengths) if classes is None else [(5 + 8 * c, 13 + 8 * c) for c in classes]
    rows = [[2] + list(rng.integers(low, high, n)) + [3] for n, (low, high) in zip(lengths, ranges)]
    ids = tf.ragged.constant(rows, dtype=tf.int32).to_tensor().numpy()
    return {"input_word_ids": ids, "input_mask": (ids > 0).astype("int32"), "input_type_ids": np.zeros_like(ids)}


def test_bucket_lengths():
    assert bucket_lengths(128) == [16, 32, 64, 128]
    assert bucket_lengths(100) == [16, 32, 64, 100]
    assert bucket_lengths(16) == [16]


def test_training_batches_pad_to_buckets_only():
    lengths = [3, 10, 20, 40, 60] * 8
    inputs = _sequences(lengths)
    labels = {"labels": np.arange(len(lengths)) % 2}
    shapes = set()
    for x, y in training_batches(inputs, labels, 4, 64, seed=0).take(30):
        assert x["input_word_ids"].shape[0] == 4 and y["labels"].shape == (4,)
        shapes.add(x["input_word_ids"].shape[1])
        real = x["input_mask"].numpy().sum(1)
        assert (x["input_word_ids"].numpy()[:, 0] == 2).all() and (real >= 5).all()
    assert shapes <= {16, 32, 64} and len(shapes) > 1
    for x, _ in training_batches(inputs, labels, 4, 64, fixed_length=True).take(3):
        assert x["input_word_ids"].shape == (4, 64)


def test_training_batches_without_length_buckets_mix_lengths_as_shuffled():
    lengths = [3, 60] * 16
    inputs = _sequences(lengths)
    labels = {"labels": np.arange(len(lengths))}
    seen = []
    for x, y in training_batches(inputs, labels, 4, 64, seed=0, length_buckets=False).take(8):
        real = x["input_mask"].numpy().sum(1)
        # Padded to the bucket of the batch's longest example, which every batch with a long one is.
        assert x["input_word_ids"].shape[1] == (16 if real.max() <= 16 else 64)
        np.testing.assert_array_equal(real, np.asarray(lengths)[y["labels"].numpy()] + 2)
        seen.extend(y["labels"].numpy().tolist())
    # One epoch of 32 examples in 8 batches, each example once, and short with long in the same batch.
    assert sorted(seen) == list(range(32))
    mixed = [len(set(np.asarray(lengths)[seen[i:i + 4]])) == 2 for i in range(0, 32, 4)]
    assert any(mixed)


def _unpacked(batch_inputs, batch_labels):
    """The examples of a packed batch as {name: tokens} dicts, from the sequence numbers in input_mask."""
    examples = []
    mask = batch_inputs["input_mask"].numpy()
    for row in range(len(mask)):
        for number in range(1, mask[row].max() + 1):
            at = mask[row] == number
            examples.append({name: values.numpy()[row][at].tolist()
                             for name, values in {**batch_inputs, **batch_labels}.items()})
    return examples


def test_packed_training_batches_hold_each_shuffled_example_whole():
    lengths = [3, 60, 20, 9, 40, 1, 14, 30, 5, 50]
    inputs = _sequences(lengths)
    tags = (inputs["input_word_ids"] * 7) % 5
    labels = {"labels": tags, "label_weights": (inputs["input_mask"] == 1).astype("float32")}
    rows_per_batch, seen = [], []
    batches = list(packed_training_batches(inputs, labels, 4, 64, seed=3).take(5))
    for batch_inputs, batch_labels in batches:
        mask = batch_inputs["input_mask"].numpy()
        assert batch_inputs["input_word_ids"].shape[1] in bucket_lengths(64)
        rows_per_batch.append(len(mask))
        examples = _unpacked(batch_inputs, batch_labels)
        assert len(examples) == 4
        for example in examples:
            # Packed whole and in order: the example's tokens, labels and weights, [CLS] first.
            index = next(i for i, n in enumerate(lengths) if n + 2 == len(example["input_word_ids"])
                         and inputs["input_word_ids"][i, :n + 2].tolist() == example["input_word_ids"])
            assert example["labels"] == tags[index, :lengths[index] + 2].tolist()
            assert example["label_weights"] == [1.0] * (lengths[index] + 2)
            seen.append(index)
        # Padding is padding everywhere.
        assert (batch_inputs["input_word_ids"].numpy()[mask == 0] == 0).all()
        assert (batch_labels["label_weights"].numpy()[mask == 0] == 0).all()
    # 20 draws are two shuffled epochs of the 10 examples: each twice, none twice in the first 8.
    assert sorted(seen) == sorted(list(range(10)) * 2) and len(set(seen[:8])) == 8
    assert min(rows_per_batch) < 4  # Short examples share rows.
    again = list(packed_training_batches(inputs, labels, 4, 64, seed=3).take(5))
    for (x, y), (x2, y2) in zip(batches, again):
        np.testing.assert_array_equal(x["input_mask"], x2["input_mask"])
    with pytest.raises(ValueError, match="all per token or all per example"):
        packed_training_batches(inputs, dict(labels, sentence_labels=np.zeros(10, "int32")), 4, 64)
    with pytest.raises(ValueError, match="doesn't fit"):
        packed_training_batches(inputs, labels, 4, 32)


def test_a_packed_batch_trains_as_the_same_examples_one_per_row():
    config = BertConfig.from_dict(dict(CONFIG.to_dict(), dropout=0.0, attention_dropout=0.0))
    keras.utils.set_random_seed(4)
    model = kbz.BertTokenClassifier(kbz.BertEncoder(config), 3)
    lengths = [12, 3, 25, 7, 30, 1]
    inputs = _sequences(lengths, seed=5)
    labels = {"labels": (inputs["input_word_ids"] * 5) % 3,
              "label_weights": (inputs["input_word_ids"] >= 5).astype("float32")}
    packed_inputs, packed_labels = next(iter(packed_training_batches(inputs, labels, 6, 48, seed=0)))
    assert len(packed_inputs["input_mask"]) < 6
    objective = TokenClassificationObjective()

    def loss_and_gradients(x, y):
        with tf.GradientTape() as tape:
            loss, _ = objective(model(x, training=True), y)
        return loss, tape.gradient(loss, model.trainable_variables)

    loss, gradients = loss_and_gradients(inputs, labels)
    packed_loss, packed_gradients = loss_and_gradients(packed_inputs, packed_labels)
    np.testing.assert_allclose(packed_loss, loss, rtol=1e-5)
    for variable, packed, alone in zip(model.trainable_variables, packed_gradients, gradients):
        if alone is None:  # The pooler, which a tagger doesn't use.
            assert packed is None and "pooler" in variable.path
            continue
        np.testing.assert_allclose(tf.convert_to_tensor(packed), tf.convert_to_tensor(alone), rtol=1e-4, atol=1e-6)


def test_packed_classification_batches_put_each_label_at_its_sequence():
    lengths = [3, 60, 20, 9, 40, 1, 14, 30, 5, 50]
    inputs = _sequences(lengths)
    labels = {"labels": np.arange(10, dtype="int32") * 3}
    seen = []
    for batch_inputs, batch_labels in packed_training_batches(inputs, labels, 4, 64, seed=1).take(5):
        mask, starts = batch_inputs["input_mask"].numpy(), batch_inputs["sequence_starts"].numpy()
        weights, row_labels = batch_labels["label_weights"].numpy(), batch_labels["labels"].numpy()
        assert starts.shape == weights.shape == row_labels.shape == (len(mask), mask.max())
        assert weights.sum() == 4
        for row, slot in zip(*np.nonzero(weights)):
            # The slot's sequence starts at its [CLS] and is the example its label names.
            example = row_labels[row, slot] // 3
            assert mask[row, starts[row, slot]] == slot + 1 and (mask[row] == slot + 1).sum() == lengths[example] + 2
            assert batch_inputs["input_word_ids"].numpy()[row, starts[row, slot]] == 2
            seen.append(example)
        assert (row_labels[weights == 0] == 0).all()
    assert sorted(seen) == sorted(list(range(10)) * 2)


@pytest.mark.parametrize("family", ["bert", "distilbert"])
def test_a_packed_classifier_batch_trains_as_the_same_examples_one_per_row(family):
    keras.utils.set_random_seed(4)
    if family == "bert":
        encoder = kbz.BertEncoder(BertConfig.from_dict(dict(CONFIG.to_dict(), dropout=0.0, attention_dropout=0.0)))
    else:  # A pre-classifier dense layer instead of the pooler.
        encoder = kbz.DistilBertEncoder(kbz.DistilBertConfig(
            vocab_size=30, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
            max_position_embeddings=64, dropout=0.0, attention_dropout=0.0))
    model = kbz.BertClassifier(encoder, 3, dropout=0.0)
    lengths = [12, 3, 25, 7, 30, 1]
    inputs = _sequences(lengths, seed=5)
    labels = {"labels": np.array([0, 2, 1, 1, 0, 2], "int32")}
    packed_inputs, packed_labels = next(iter(packed_training_batches(inputs, labels, 6, 48, seed=0)))
    assert len(packed_inputs["input_mask"]) < 6
    objective = ClassificationObjective(3)

    def loss_and_gradients(x, y):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            loss, stats = objective(outputs, y)
        return outputs["logits"], loss, stats, tape.gradient(loss, model.trainable_variables)

    logits, loss, stats, gradients = loss_and_gradients(inputs, labels)
    packed_logits, packed_loss, packed_stats, packed_gradients = loss_and_gradients(packed_inputs, packed_labels)
    weights = packed_labels["label_weights"].numpy() > 0
    # Each packed text's logits are those of the text alone, found by its label.
    order = np.argsort(labels["labels"] * 10 + np.arange(6))
    alone = {(int(labels["labels"][i]), round(float(logits[i, 0]), 3)) for i in order}
    packed = {(int(label), round(float(row[0]), 3))
              for label, row in zip(packed_labels["labels"].numpy()[weights], packed_logits.numpy()[weights])}
    assert packed == alone
    np.testing.assert_allclose(packed_loss, loss, rtol=1e-5)
    assert packed_stats["examples"] == stats["examples"] == 6 and packed_stats["correct"] == stats["correct"]
    for variable, packed_gradient, gradient in zip(model.trainable_variables, packed_gradients, gradients):
        np.testing.assert_allclose(tf.convert_to_tensor(packed_gradient), tf.convert_to_tensor(gradient),
                                   rtol=1e-4, atol=1e-6, err_msg=variable.path)


def test_inference_batches_order_round_trips():
    lengths = [30, 2, 17, 5, 61, 9, 1]
    inputs = _sequences(lengths)
    dataset, order = inference_batches(inputs, 3, 64)
    rows = [row for batch in dataset for row in batch["input_word_ids"].numpy()]
    for position, example in enumerate(order):
        assert (rows[position] != 0).sum() == lengths[example] + 2


def _train_and_predict(tmp_path, build_model, objective, inputs, labels, sequence_outputs=(), **settings):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build_model()
    settings = FinetuningSettings(**{"model_dir": str(tmp_path), "train_batch_size": 8, "learning_rate": 3e-3,
                                     "num_train_epochs": 12, "warmup_proportion": 0.1, "max_seq_length": 64,
                                     "log_steps": 20, "save_checkpoints_steps": 1000, **settings})
    metrics = finetune(model, objective, inputs, labels, settings, strategy)
    return metrics, predict(model, inputs, 16, 64, sequence_outputs=sequence_outputs)


@pytest.mark.parametrize("num_classes", [1, 3])
def test_classifier_learns_a_token_rule(tmp_path, num_classes):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, max(num_classes, 2), 64).astype("int32")
    inputs = _sequences(rng.integers(3, 40, 64), seed=1, classes=labels)
    metrics, outputs = _train_and_predict(
        tmp_path, lambda: kbz.BertClassifier(kbz.BertEncoder(CONFIG), num_classes=num_classes),
        ClassificationObjective(num_classes), inputs,
                                          {"labels": labels})
    logits = outputs["logits"]
    predicted = (logits[:, 0] > 0).astype(int) if num_classes == 1 else logits.argmax(-1)
    assert metrics["accuracy"] > 0.9 and (predicted == labels).mean() > 0.9


@pytest.mark.parametrize("batching", [
    # Random order padded per batch, at keras-hub's constant rate.
    dict(learning_rate=1e-3, warmup_proportion=0.0, learning_rate_decay="none", length_buckets=False),
    dict(pack_sequences=True)], ids=["shuffled_constant_rate", "packed"])
def test_classifier_learns_from_shuffled_or_packed_batches(tmp_path, batching):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 64).astype("int32")
    inputs = _sequences(rng.integers(3, 40, 64), seed=1, classes=labels)
    metrics, outputs = _train_and_predict(
        tmp_path, lambda: kbz.BertClassifier(kbz.BertEncoder(CONFIG), num_classes=2), ClassificationObjective(2),
        inputs, {"labels": labels}, **batching)
    assert metrics["learning_rate"] == pytest.approx(batching.get("learning_rate", 0.0))
    assert metrics["accuracy"] > 0.9 and (outputs["logits"].argmax(-1) == labels).mean() > 0.9


def test_token_loss_normalized_per_batch_or_per_average_batch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 6, 3)).astype("float32")
    labels = rng.integers(0, 3, (2, 6)).astype("int32")
    weights = np.array([[0, 1, 1, 0, 0, 0], [0, 1, 1, 1, 1, 0]], "float32")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per_token = -np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    outputs, targets = {"logits": logits}, {"labels": labels, "label_weights": weights}
    loss, stats = TokenClassificationObjective()(outputs, targets)
    np.testing.assert_allclose(loss, (per_token * weights).sum() / 6, rtol=1e-5)
    # Over an average batch's labels (10 here): a short batch's tokens weigh what a long one's do.
    loss, _ = TokenClassificationObjective(labels_per_batch=10.0)(outputs, targets)
    np.testing.assert_allclose(loss, (per_token * weights).sum() / (5.0 * 2), rtol=1e-5)
    assert TokenClassificationObjective.metrics({k: float(v) for k, v in stats.items()})["loss"] == pytest.approx(
        (per_token * weights).sum() / 6, rel=1e-5)
    with pytest.raises(ValueError, match="labels_per_batch"):
        TokenClassificationObjective(labels_per_batch=0)


def test_regression_and_span_objectives():
    objective = ClassificationObjective(1, regression=True)
    loss, stats = objective({"logits": np.array([[1.0], [3.0]], np.float32)}, {"labels": np.array([2.0, 3.0])})
    assert float(loss) == pytest.approx(0.5) and objective.metrics({k: float(v) for k, v in stats.items()})[
        "loss"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="num_classes=1"):
        ClassificationObjective(2, regression=True)
    start = np.full((2, 4), -10.0, np.float32)
    start[0, 1] = start[1, 2] = 10.0
    loss, stats = SpanObjective()({"start_logits": start, "end_logits": start},
                                  {"start_positions": np.array([1, 3]), "end_positions": np.array([1, 3])})
    assert SpanObjective.metrics({k: float(v) for k, v in stats.items()})["span_accuracy"] == 0.5


def test_span_objective_answer_mask_limits_the_softmax_to_allowed_positions():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 6)).astype(np.float32)
    mask = np.array([[1, 0, 0, 1, 1, 0], [1, 0, 1, 1, 1, 1]], np.int32)
    labels = {"start_positions": np.array([3, 0]), "end_positions": np.array([4, 5])}
    outputs = {"start_logits": logits, "end_logits": logits}
    masked, _ = SpanObjective()(outputs, dict(labels, answer_mask=mask))

    def cross_entropy(row, label):
        allowed = logits[row][mask[row] == 1]
        return np.log(np.exp(allowed).sum()) - logits[row, label]

    expected = np.mean([(cross_entropy(r, labels["start_positions"][r]) + cross_entropy(r, labels["end_positions"][r]))
                        / 2 for r in range(2)])
    assert float(masked) == pytest.approx(expected, rel=1e-5)
    everywhere, _ = SpanObjective()(outputs, labels)  # Without the mask: every position, as BERT's loss.
    assert float(everywhere) > float(masked)
    # A masked position that outscores the labels doesn't count against the span accuracy.
    peaked = np.zeros((2, 6), np.float32)
    peaked[0, 3] = peaked[1, 0] = 5.0
    peaked[:, 1] = 50.0
    start_only = {"start_logits": peaked, "end_logits": peaked}
    same = {"start_positions": np.array([3, 0]), "end_positions": np.array([3, 0])}
    _, stats = SpanObjective()(start_only, dict(same, answer_mask=mask))
    assert float(stats["exact"]) == 2.0
    _, stats = SpanObjective()(start_only, same)
    assert float(stats["exact"]) == 0.0


def test_token_classifier_ignores_unlabelled_pieces(tmp_path):
    lengths = np.random.default_rng(2).integers(3, 30, 48)
    inputs = _sequences(lengths, seed=2)
    tags = inputs["input_word_ids"] % 3
    weights = (inputs["input_word_ids"] >= 5).astype("float32")
    metrics, outputs = _train_and_predict(tmp_path, lambda: kbz.BertTokenClassifier(kbz.BertEncoder(CONFIG), 3),
                                          TokenClassificationObjective(), inputs,
                                          {"labels": tags, "label_weights": weights}, sequence_outputs=("logits",))
    assert outputs["logits"].shape == (48, 64, 3)
    predicted = outputs["logits"].argmax(-1)
    padded_predictions = predicted[:, :tags.shape[1]]
    assert metrics["accuracy"] > 0.9 and (padded_predictions == tags)[weights > 0].mean() > 0.9
