"""The HF torch peers of the held-out benchmarks build HF's features and decode HF's way."""

import numpy as np
import pytest

from keras_bert_zoo.benchmarks import hf_torch_finetuning as hf
from keras_bert_zoo.benchmarks.finetuning_quality import split_squad_by_article
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
