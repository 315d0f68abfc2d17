"""SQuAD inputs and decoding: reading, windows, character offsets that survive accents/CJK/punctuation."""

import json
import re

import numpy as np
import pytest
import tensorflow as tf
import transformers

import keras_bert_zoo as kbz
from conftest import minilm_path, write_vocab
from family_tools import write_tokenizer
from keras_bert_zoo.training.squad_decoding import decode_squad_predictions
from keras_bert_zoo.data.squad_examples import SquadExample, read_squad_file, squad_gold_answers
from keras_bert_zoo.data.squad_features import squad_features
from keras_bert_zoo.data.squad_context_pieces import context_pieces
from keras_bert_zoo.metrics import squad_v1_metrics

FILLER = "Nothing of note happened on that day, said the porter. " * 12
CONTEXTS = [
    "The Denver Broncos (AFC) defeated the Carolina Panthers 24–10 in Super Bowl 50, held at Levi's "
    "Stadium in Santa Clara, California.",
    "Antonín Dvořák wrote the «New World» Symphony in 1893; Müller's naïve cafe\u0301 reviews followed.",
    "東京は日本の首都です。Tokyo's population is about 14 million (2020).",
    "Zero\u200bwidth spaces, a\u00a0no-break space and ÅNGSTRÖM units.",
    FILLER + "At last the answer came: forty-two.",
]
ANSWERS = [
    (0, "Denver Broncos"), (0, "AFC"), (0, "24–10"), (0, "Levi's Stadium"), (0, "Santa Clara, California"),
    (1, "Dvořák"), (1, "«New World» Symphony"), (1, "1893"), (1, "Müller"), (1, "cafe\u0301"),
    (2, "東京"), (2, "首都"), (2, "Tokyo"), (2, "14 million"), (2, "2020"),
    (3, "Zero\u200bwidth"), (3, "no-break space"), (3, "ÅNGSTRÖM"),
    (4, "forty-two"), (4, "porter"),
]


def _examples():
    return [SquadExample(f"q{i}", f"Where is {text}?", CONTEXTS[c], [text], [CONTEXTS[c].rindex(text)])
            for i, (c, text) in enumerate(ANSWERS)]


@pytest.fixture(scope="module")
def uncased():
    return kbz.BertTokenizer(str(minilm_path() / "vocab.txt"), lower_case=True)


@pytest.fixture(scope="module")
def cased(tmp_path_factory):
    # Whole words keep answers short; characters (and ##characters) spell the rest.
    chars = sorted({c for text in CONTEXTS + ["Where is ?"] for c in text if not c.isspace()})
    tokens = re.findall(r"\w+", " ".join(CONTEXTS)) + chars + ["##" + c for c in chars]
    return kbz.BertTokenizer(write_vocab(tmp_path_factory.mktemp("vocab") / "vocab.txt", tokens), lower_case=False)


def test_word_pieces_map_back_to_original_characters(uncased):
    texts = ["(Café)", "cafe\u0301s", "ΟΔΟΣ", "a\u200bb", "x" * 120, "\u200b", "naïve—déjà", "東京",
             "于1998年，ThinkPad 笔记本\u3000（ＩＢＭ）"]
    ids, starts, ends = context_pieces(uncased, tf.constant(texts))
    spans = [[text.encode()[s:e].decode() for s, e in zip(row_starts, row_ends)]
             for text, row_starts, row_ends in zip(texts, starts.to_list(), ends.to_list())]
    assert spans == [["(", "Café", ")"], ["cafe\u0301s"], ["Ο", "Δ", "ΟΣ"], ["a\u200bb"], ["x" * 120], [],
                     ["naïve", "—", "dé", "jà"], ["東", "京"],
                     ["于", "1998", "年", "，", "Think", "Pad", "笔", "记", "本", "（", "ＩＢＭ", "）"]]
    assert ids.to_list() == uncased.tokenize(texts).to_list()


@pytest.mark.parametrize("tokenizer_name", ["uncased", "cased"])
def test_perfect_logits_decode_to_gold_text_and_offsets(request, tokenizer_name):
    tokenizer = request.getfixturevalue(tokenizer_name)
    examples = _examples()
    features = squad_features(tokenizer, examples, max_seq_length=64, doc_stride=16, max_query_length=12)
    assert np.bincount(features.example_index)[-2:].min() > 2  # the long context has several windows
    # Every context piece gets the most context in exactly one of its example's windows.
    for index in range(len(examples)):
        rows = features.example_index == index
        is_context = features.token_char_starts[rows] >= 0
        marked = features.token_is_max_context[rows]
        assert (marked <= is_context).all()
        starts = features.token_char_starts[rows][marked]
        assert len(starts) == len(set(starts.tolist())) == len(set(features.token_char_starts[rows][is_context]))
    rows = np.arange(len(features))
    has_answer = features.start_positions > 0
    assert set(features.example_index[has_answer]) == set(range(len(examples)))
    start_logits = np.zeros(features.input_word_ids.shape)
    end_logits = np.zeros(features.input_word_ids.shape)
    start_logits[rows[has_answer], features.start_positions[has_answer]] = 10.0
    end_logits[rows[has_answer], features.end_positions[has_answer]] = 10.0
    predictions = decode_squad_predictions(examples, features, start_logits, end_logits, n_best_size=5)
    for example in examples:
        text, start = example.answer_texts[0], example.answer_starts[0]
        assert predictions.answers[example.qas_id] == text
        assert predictions.answer_spans[example.qas_id] == (start, start + len(text))
        best = predictions.nbest[example.qas_id][0]
        assert (best["text"], best["start_char"], best["start_logit"]) == (text, start, 10.0)
        assert sum(entry["probability"] for entry in predictions.nbest[example.qas_id]) == pytest.approx(1.0)
    metrics = squad_v1_metrics(squad_gold_answers(examples), predictions.answers)
    assert metrics == {"exact_match": 100.0, "f1": 100.0}


def test_decoding_trims_to_the_predicted_pieces(uncased):
    example = SquadExample("q", "When?", "It opened (in 1996), finally.", ["1996"], [14])
    features = squad_features(uncased, [example], max_seq_length=32)
    pieces = [uncased.id_to_token(i) for i in features.input_word_ids[0]]
    start_logits = np.where(np.array(pieces) == "in", 5.0, 0.0)[None]
    end_logits = np.where(np.array(pieces) == "1996", 5.0, 0.0)[None]
    predictions = decode_squad_predictions([example], features, start_logits, end_logits)
    assert predictions.answers["q"] == "in 1996" and predictions.answer_spans["q"] == (11, 18)
    # Spans longer than max_answer_length are never chosen.
    predictions = decode_squad_predictions([example], features, start_logits, end_logits, max_answer_length=1)
    assert predictions.answers["q"] in {"in", "1996"}


def test_version_2_null_answer_and_threshold(uncased):
    examples = [SquadExample("answerable", "Who won?", "The Broncos won the game.", ["Broncos"], [4]),
                SquadExample("impossible", "Who lost?", "The Broncos won the game.", [], [], is_impossible=True)]
    features = squad_features(uncased, examples, max_seq_length=32, is_training=True)
    assert features.start_positions.tolist()[1] == 0 and features.start_positions[0] > 0
    start_logits = np.zeros(features.input_word_ids.shape)
    end_logits = np.zeros(features.input_word_ids.shape)
    start_logits[0, features.start_positions[0]] = end_logits[0, features.end_positions[0]] = 10.0
    start_logits[:, 0] = end_logits[:, 0] = [5.0, 10.0]
    predictions = decode_squad_predictions(examples, features, start_logits, end_logits,
                                           version_2_with_negative=True)
    assert predictions.answers == {"answerable": "Broncos", "impossible": ""}
    assert predictions.answer_spans["impossible"] == (-1, -1)
    assert predictions.null_score_diffs["answerable"] == pytest.approx(10.0 - 20.0)
    assert "" in [entry["text"] for entry in predictions.nbest["answerable"]]
    stricter = decode_squad_predictions(examples, features, start_logits, end_logits,
                                        version_2_with_negative=True, null_score_diff_threshold=-15.0)
    assert stricter.answers["answerable"] == ""


def test_answer_not_at_answer_start_is_reported_and_skipped(uncased, caplog):
    examples = [SquadExample("good", "Who?", "The Broncos won.", ["Broncos"], [4]),
                SquadExample("bad", "Who?", "The Broncos won.", ["Broncos"], [5])]
    training = squad_features(uncased, examples, max_seq_length=32, is_training=True)
    assert "1 gold answers are not at their answer_start" in caplog.text and "bad" in caplog.text
    assert training.num_answers_not_found == 1 and training.example_index.tolist() == [0]
    evaluation = squad_features(uncased, examples, max_seq_length=32)
    assert evaluation.num_answers_not_found == 1 and evaluation.example_index.tolist() == [0, 1]
    assert evaluation.start_positions[1] == 0


def test_read_squad_v1_and_v2(tmp_path):
    dataset = {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "The Broncos won.", "qas": [
        {"id": "a", "question": "Who won?", "answers": [{"text": "Broncos", "answer_start": 4},
                                                        {"text": "The Broncos", "answer_start": 0}]},
        {"id": "b", "question": "Who lost?", "answers": [], "is_impossible": True,
         "plausible_answers": [{"text": "Broncos", "answer_start": 4}]}]}]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(dataset), encoding="utf-8")
    examples = read_squad_file(str(path))
    assert examples[0] == SquadExample("a", "Who won?", "The Broncos won.", ["Broncos", "The Broncos"], [4, 0])
    assert examples[1].is_impossible and examples[1].answer_texts == []
    assert squad_gold_answers(examples) == {"a": ["Broncos", "The Broncos"], "b": []}

    del dataset["data"][0]["paragraphs"][0]["qas"][1]["question"]
    path.write_text(json.dumps(dataset), encoding="utf-8")
    with pytest.raises(ValueError, match=r"squad\.json: question 'b': malformed"):
        read_squad_file(str(path))
    path.write_text('{"data": [\n{"paragraphs": ]}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"squad\.json:2: bad JSON"):
        read_squad_file(str(path))


def test_answer_mask_marks_cls_and_every_label(uncased):
    features = squad_features(uncased, _examples(), max_seq_length=64, doc_stride=16, max_query_length=12,
                              is_training=True)
    mask = features.answer_mask()
    rows = np.arange(len(features))
    assert (mask[:, 0] == 1).all() and (mask[rows, features.start_positions] == 1).all()
    assert (mask[rows, features.end_positions] == 1).all()
    # Nothing outside the context: no question piece, [SEP] or padding.
    assert (mask[:, 1:] == (features.token_char_starts[:, 1:] >= 0)).all()
    assert (mask * (1 - features.input_type_ids))[:, 1:].sum() == 0


# Byte-level BPE and SentencePiece contexts, the vocabs of `family_tools.write_tokenizer` (trained on its small
# corpus, so rare words split into many pieces and SentencePiece knows no CJK): answers at the start and end of
# a context, after punctuation, inside a word of several pieces, accented and CJK, and one of many windows.
FAMILY_CONTEXTS = [
    "Paris is the capital of France; the Eiffel Tower (completed in 1889) stands in Paris",
    "Antonín Dvořák wrote the «New World» Symphony, and Müller's café reviews followed.",
    "東京は日本の首都です。 Tokyo has about 14 million people (2020), said the report.",
    "The tower was completed in 1889.  It is about 330 metres tall, and it stands in Paris. " * 3
    + "At last the answer came: forty-two",
]
FAMILY_ANSWERS = [
    (0, "Paris", 0), (0, "1889", 1), (0, "France", 1), (0, "Eiffel Tower", 1), (0, "iffel", 1),
    (0, "stands in Paris", -1), (1, "Antonín", 0), (1, "Dvořák", 1), (1, "New World", 1), (1, "Müller", 1),
    (1, "café", 1), (2, "東京", 0), (2, "首都", 1), (2, "Tokyo", 1), (2, "14 million", 1), (2, "2020", 1),
    (3, "330 metres", -1), (3, "forty-two", -1), (3, "Paris", 1),
]
FAMILY_QUESTIONS = ["What is it?", "Who wrote the symphony?", "Où est Müller?", "When was the tower completed?"]


def _family_examples():
    """One question per answer: the first (0), second (1) or last (-1) place its text appears in the context."""
    examples = []
    for i, (c, text, which) in enumerate(FAMILY_ANSWERS):
        context = FAMILY_CONTEXTS[c]
        places = [m.start() for m in re.finditer(re.escape(text), context)]
        examples.append(SquadExample(f"q{i}", FAMILY_QUESTIONS[i % len(FAMILY_QUESTIONS)], context, [text],
                                     [places[min(which, len(places) - 1)] if which >= 0 else places[-1]]))
    return examples


@pytest.fixture(scope="module", params=[("bpe", "RobertaTokenizer"), ("sentencepiece", "XLMRobertaTokenizer")],
                ids=["roberta", "xlm-roberta"])
def family_tokenizers(request, tmp_path_factory):
    """Ours and transformers' tokenizer of the family (`from_pretrained` of one directory), vocab sizes equal."""
    kind, reference_class = request.param
    directory = tmp_path_factory.mktemp(kind)
    vocab_size = write_tokenizer(kind, directory, None)
    ours = kbz.Tokenizer.from_pretrained(str(directory))
    assert ours.vocab_size == vocab_size
    return ours, getattr(transformers, reference_class).from_pretrained(str(directory))


def _run_qa_positions(encoding, window, start_char, end_char):
    """transformers' run_qa (prepare_train_features) label of a window of `encoding` (offsets, overflow, padded).

    The answer's first token is the last context token starting at or before its first character, its last
    token the first context token ending at or after its end, and both 0 (<s>) unless the window's context
    covers it. run_qa's own loop for the first token runs on past the context into </s> and padding (their
    offsets are (0, 0)) when the answer starts on the window's last context token; that slip isn't copied.
    """
    offsets = encoding["offset_mapping"][window]
    context = [i for i, sequence in enumerate(encoding.sequence_ids(window)) if sequence == 1]
    if not (offsets[context[0]][0] <= start_char and offsets[context[-1]][1] >= end_char):
        return 0, 0
    start = max(i for i in context if offsets[i][0] <= start_char)
    end = min(i for i in context if offsets[i][1] >= end_char)
    return start, end


def test_family_windows_and_labels_equal_transformers_run_qa(family_tokenizers):
    """Windows (ids, mask) and answer positions as transformers' run_qa computes them with the family's
    tokenizer, offset mapping and overflowing windows; decoding those positions slices the context."""
    ours, reference = family_tokenizers
    examples = _family_examples()
    seq, stride = 40, 8
    features = squad_features(ours, examples, max_seq_length=seq, doc_stride=stride, max_query_length=24,
                              is_training=True)
    assert features.num_answers_not_found == 0
    start_logits = np.zeros(features.input_word_ids.shape)
    end_logits = np.zeros(features.input_word_ids.shape)
    expected_answers = {}
    for index, example in enumerate(examples):
        start_char = example.answer_starts[0]
        end_char = start_char + len(example.answer_texts[0])
        query = reference(example.question_text, add_special_tokens=False)["input_ids"]
        room = seq - len(query) - 4  # <s> q </s></s> c </s>
        # transformers' stride is the overlap of consecutive windows; ours the step between their starts.
        encoding = reference(example.question_text, example.context_text, truncation="only_second", max_length=seq,
                             stride=room - stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                             padding="max_length")
        rows = np.flatnonzero(features.example_index == index)
        assert len(rows) == len(encoding["input_ids"]), example.qas_id
        for window, row in enumerate(rows):
            assert features.input_word_ids[row].tolist() == encoding["input_ids"][window], example.qas_id
            assert features.input_mask[row].tolist() == encoding["attention_mask"][window], example.qas_id
            start, end = _run_qa_positions(encoding, window, start_char, end_char)
            assert (features.start_positions[row], features.end_positions[row]) == (start, end), example.qas_id
            if start:
                offsets = encoding["offset_mapping"][window]
                expected_answers[example.qas_id] = example.context_text[offsets[start][0]:offsets[end][1]]
                start_logits[row, start] = end_logits[row, end] = 10.0
    assert len(expected_answers) == len(examples) and (np.bincount(features.example_index) > 2).any()
    predictions = decode_squad_predictions(examples, features, start_logits, end_logits)
    assert predictions.answers == expected_answers
    exact = [e.qas_id for e in examples if predictions.answers[e.qas_id] == e.answer_texts[0]]
    assert len(exact) >= len(examples) - 4, (exact, predictions.answers)
