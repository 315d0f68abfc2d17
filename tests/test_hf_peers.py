"""The HF torch peers of the held-out benchmarks build HF's features and decode HF's way."""

import numpy as np
import pytest

from benchmarks import hf_torch_finetuning as hf
from benchmarks.finetuning_quality import split_squad_by_article
from keras_bert_zoo.data.squad_examples import SquadExample


@pytest.fixture(scope="module")
def fast_tokenizer(minilm_dir):
    return hf.fast_tokenizer(minilm_dir)


def _example(context, answer, qas_id="q"):
    return SquadExample(qas_id, "Where is it?", context, [answer], [context.index(answer)])


def test_question_answering_windows_overlap_and_point_at_answers(fast_tokenizer):
    long_context = " ".join(f"word{i}" for i in range(300)) + " The tower is in Paris. " + "tail " * 50
    examples = [_example("The tower is in Paris, near the Seine.", "Paris"), _example(long_context, "Paris", "long")]
    train = hf.question_answering_features(fast_tokenizer, examples, max_seq_length=64, doc_stride=16,
                                           is_training=True)
    assert sum(f["example_index"] == 1 for f in train) > 10  # The long context became many windows.
    for feature in train:
        start, end = feature["start_positions"], feature["end_positions"]
        if start:
            assert fast_tokenizer.decode(feature["input_ids"][start:end + 1]) == "paris"
    assert any(f["start_positions"] == 0 for f in train if f["example_index"] == 1)  # Windows without it: [CLS].
    evaluation = hf.question_answering_features(fast_tokenizer, examples, max_seq_length=64, doc_stride=16)
    first = evaluation[0]
    assert first["offsets"][0] is None and first["offsets"][1] is None  # [CLS] and the question aren't context.
    # Logits that peak on the answer's pieces, in every window holding them, decode to its text.
    start_logits, end_logits = [], []
    for feature in evaluation:
        starts, ends = np.zeros(len(feature["input_ids"])), np.zeros(len(feature["input_ids"]))
        context = examples[feature["example_index"]].context_text
        for i, offset in enumerate(feature["offsets"]):
            if offset is not None and context[offset[0]:offset[1]] == "Paris":
                starts[i], ends[i] = 5.0, 5.0
        start_logits.append(starts)
        end_logits.append(ends)
    answers = hf.decode_question_answering(examples, evaluation, start_logits, end_logits)
    assert answers == {"q": "Paris", "long": "Paris"}


def test_token_classification_labels_first_pieces(fast_tokenizer):
    sentences, tags = [["EU", "rejects", "Germanophobic", "calls"]], [["B-ORG", "O", "B-MISC", "O"]]
    names = ["O", "B-ORG", "B-MISC"]
    (feature,) = hf.token_classification_features(fast_tokenizer, sentences, tags, names, max_seq_length=16)
    labelled = [(i, label) for i, label in enumerate(feature["labels"]) if label != -100]
    assert [label for _, label in labelled] == [1, 0, 2, 0]
    assert [i for i, _ in labelled] == [feature["first_piece"][w] for w in range(4)]
    assert len(feature["input_ids"]) > 6  # "germanophobic" has several pieces, labelled once.


def test_sequence_classification_features_truncate_and_keep_labels(fast_tokenizer):
    texts = ["A wonderful film.", " ".join(["long"] * 50), "这部电影真好看！"]
    features = hf.sequence_classification_features(fast_tokenizer, texts, [1, 0, 1], max_seq_length=16)
    assert [f["labels"] for f in features] == [1, 0, 1]
    assert [len(f["input_ids"]) for f in features] == [6, 16, 10]  # [CLS] ... [SEP], the long one cut at 16
    assert "labels" not in hf.sequence_classification_features(fast_tokenizer, texts, None, 16)[0]
    # A sentence's logits have no token axis: all 20 classes come back, even for a 6-piece text.
    import transformers

    model = transformers.BertForSequenceClassification(transformers.BertConfig(
        vocab_size=fast_tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=20))
    assert [v.shape for v in hf.predict_logits(model, features)["logits"]] == [(20,)] * 3


def test_squad_split_by_article(tmp_path):
    import json

    path = tmp_path / "squad.json"
    articles = [{"title": str(i), "paragraphs": [{"context": "c", "qas": []}]} for i in range(5)]
    path.write_text(json.dumps({"version": "1.1", "data": articles}))
    train, held_out = split_squad_by_article(str(path), str(tmp_path))
    titles = [[a["title"] for a in json.load(open(p))["data"]] for p in (train, held_out)]
    assert titles == [["0", "1"], ["2", "3", "4"]]
    path.write_text(json.dumps({"data": articles[:1]}))
    with pytest.raises(ValueError, match="need 2 or more"):
        split_squad_by_article(str(path), str(tmp_path))


def test_length_bucket_batches_fill_one_bucket_each():
    from benchmarks.squad_recipe_ablation import length_bucket_batches

    lengths = np.random.default_rng(0).integers(5, 385, 200)
    batches = list(length_bucket_batches(np.random.default_rng(1), lengths, 8, 40))
    assert len(batches) == 40
    for rows, padded in batches:
        assert len(rows) == 8 and padded in (16, 32, 64, 128, 256, 384)
        smaller = [b for b in (0, 16, 32, 64, 128, 256, 384) if b < padded][-1]
        assert all(smaller < lengths[i] <= padded for i in rows)


def test_answer_mask_loss_equals_our_span_objective():
    """The ablation's masked span loss (torch) is the one run_squad trains with (TensorFlow)."""
    import types

    import torch

    from benchmarks.squad_recipe_ablation import answer_mask_loss
    from keras_bert_zoo.training import SpanObjective

    rng = np.random.default_rng(0)
    types_ids = np.array([[0, 0, 0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1, 1, 1]])
    attention = np.array([[1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1, 1]])
    start, end = rng.normal(size=(2, 8)).astype(np.float32), rng.normal(size=(2, 8)).astype(np.float32)
    positions = {"start_positions": np.array([3, 0]), "end_positions": np.array([5, 6])}
    batch = {name: torch.tensor(value) for name, value in
             dict(positions, token_type_ids=types_ids, attention_mask=attention).items()}
    theirs = answer_mask_loss(types.SimpleNamespace(start_logits=torch.tensor(start), end_logits=torch.tensor(end)),
                              batch)
    mask = (types_ids == 1) & (attention == 1)
    mask[:, 0] = True
    ours, _ = SpanObjective()({"start_logits": start, "end_logits": end}, dict(positions, answer_mask=mask))
    assert float(theirs) == pytest.approx(float(ours), rel=1e-6)


def test_google_adam_weight_decay_follows_our_google_semantics():
    """The ablation's torch stand-in for google's optimizer and schedule updates as create_optimizer's does."""
    import keras
    import torch

    from benchmarks.squad_recipe_ablation import google_adam_weight_decay
    from keras_bert_zoo.training import create_optimizer

    rng = np.random.default_rng(0)
    initial = {"dense/kernel": rng.normal(size=(3, 4)), "dense/bias": rng.normal(size=4)}
    grads = [{name: 0.1 * rng.normal(size=value.shape) for name, value in initial.items()} for _ in range(6)]
    torch_params = {name: torch.nn.Parameter(torch.tensor(value, dtype=torch.float32))
                    for name, value in initial.items()}
    optimizer, schedule = google_adam_weight_decay(list(torch_params.items()), 1e-2, 6, 2, 0.01)
    keras_vars = [keras.Variable(value.astype(np.float32), name=name.split("/")[1])
                  for name, value in initial.items()]
    ours = create_optimizer("adamw", 1e-2, 6, 2, weight_decay=0.01, semantics="google")
    for step in grads:
        for name, parameter in torch_params.items():
            parameter.grad = torch.tensor(step[name], dtype=torch.float32)
        optimizer.step()
        schedule.step()
        ours.apply_gradients([(step[name].astype(np.float32), v) for name, v in zip(initial, keras_vars)])
        for name, variable in zip(initial, keras_vars):
            np.testing.assert_allclose(np.asarray(variable), torch_params[name].detach().numpy(), atol=1e-6)
    assert not np.allclose(np.asarray(keras_vars[0]), initial["dense/kernel"])
