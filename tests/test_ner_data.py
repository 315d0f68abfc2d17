"""NER inputs: CoNLL files, word-aligned labels that survive accents/CJK/punctuation, long-sentence windows."""

import numpy as np
import pytest

import keras_bert_zoo as kbz
from conftest import minilm_path, write_vocab
from keras_bert_zoo.data.conll_data import ner_label_names, read_conll_file
from keras_bert_zoo.data.ner_features import IGNORE_LABEL_ID, ner_features, window_layout
from keras_bert_zoo.metrics import convert_tag_scheme, detect_tag_scheme

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER
-DOCSTART- -X- -X- O
Paris NNP B-NP I-LOC
Lyon NNP I-NP B-LOC
"""
SENTENCES = [
    ["Müller", "visited", "東京", "(", "Tokyo", ")", "in", "1996-08-22", "."],
    ["Dvořák", "'s", "naïve", "Straße", "\u200b", "U.S.", "!!!"],
]
TAGS = [
    ["B-PER", "O", "B-LOC", "O", "B-LOC", "O", "O", "O", "O"],
    ["B-PER", "O", "O", "B-LOC", "O", "B-LOC", "O"],
]
LABELS = ["O", "B-LOC", "B-PER"]


@pytest.fixture(scope="module")
def uncased():
    return kbz.BertTokenizer(str(minilm_path() / "vocab.txt"), lower_case=True)


@pytest.fixture(scope="module")
def cased(tmp_path_factory):
    tokens = ["Müller", "visited", "東", "京", "(", ")", "Tok", "##yo", "in", "1996", "-", "08", "22", ".",
              "Dvořák", "'", "s", "naïve", "Straße", "U", "S", "!"]
    return kbz.BertTokenizer(write_vocab(tmp_path_factory.mktemp("vocab") / "vocab.txt", tokens), lower_case=False)


def test_read_conll_sentences_documents_and_iob1(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(CONLL, encoding="utf-8")
    sentences, tags = read_conll_file(str(path))
    assert sentences == [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"], ["Paris", "Lyon"]]
    assert tags[2] == ["I-LOC", "B-LOC"]
    assert detect_tag_scheme(tags) == "IOB1"
    iob2 = convert_tag_scheme(tags, "IOB2")
    assert iob2 == [["B-ORG", "O", "B-MISC", "O", "O"], ["B-PER", "I-PER"], ["B-LOC", "B-LOC"]]
    assert ner_label_names(iob2) == ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER"]


@pytest.mark.parametrize("line, message", [
    ("Lyon NNP I-NP", r":4: line has 3 columns, expected 4"),
    ("Lyon NNP I-NP LOC", r":4: Invalid tag 'LOC'"),
])
def test_malformed_conll_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(f"EU NNP B-NP B-ORG\n\nParis NNP B-NP B-LOC\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.txt" + message):
        read_conll_file(str(path))


@pytest.mark.parametrize("tokenizer_name", ["uncased", "cased"])
def test_first_piece_of_each_word_carries_its_label(request, tokenizer_name):
    tokenizer = request.getfixturevalue(tokenizer_name)
    features = ner_features(tokenizer, SENTENCES, TAGS, LABELS, max_seq_length=40)
    assert len(features) == 2 and features.sentence_index.tolist() == [0, 1]
    for row, (words, tags) in enumerate(zip(SENTENCES, TAGS)):
        positions = np.flatnonzero(features.word_index[row] >= 0)
        assert features.word_index[row, positions].tolist() == list(range(len(words)))
        for word, tag, start, end in zip(words, tags, positions, list(positions[1:]) + [None]):
            expected = tokenizer.tokenize([word])[0].numpy().tolist() or [tokenizer.unk_id]  # "\u200b" has no piece
            assert features.input_word_ids[row, start:start + len(expected)].tolist() == expected, word
            assert features.labels[row, start] == LABELS.index(tag)
            assert end is None or end == start + len(expected)
        last = positions[-1] + len(tokenizer.tokenize([words[-1]])[0].numpy())
        assert features.input_word_ids[row, last] == tokenizer.sep_id
        assert features.input_mask[row].sum() == last + 1
    assert (features.labels[features.label_weights == 0] == IGNORE_LABEL_ID).all()
    assert (features.labels[features.label_weights == 1] >= 0).all()
    assert features.input_word_ids[:, 0].tolist() == [tokenizer.cls_id] * 2
    assert features.word_tags(features.labels.clip(0)) == TAGS


def test_long_sentences_split_into_windows_and_map_back(uncased):
    rng = np.random.default_rng(0)
    vocabulary = ["Ångström", "measured", "北京", "co-operation", "U.S.", "x", "électricité", "—"]
    sentences = [list(rng.choice(vocabulary, n)) for n in (3, 40, 1, 17)]
    tags = [[LABELS[i] for i in rng.integers(0, 3, len(s))] for s in sentences]
    features = ner_features(uncased, sentences, tags, LABELS, max_seq_length=12)
    counts = {s: (features.sentence_index == s).sum() for s in range(4)}
    assert counts[0] == counts[2] == 1 and counts[1] > 4 and counts[3] > 1
    max_pieces, stride = window_layout(10)
    for row in range(len(features)):
        # Windows are whole words (of at most max_pieces pieces) between [CLS] and [SEP]; none is cut off.
        pieces = features.input_word_ids[row, 1:features.input_mask[row].sum() - 1]
        words = [w for w in features.word_index[row] if w >= 0]
        sentence = sentences[features.sentence_index[row]]
        kept = [uncased.tokenize([sentence[w]])[0].numpy()[:max_pieces] for w in range(len(sentence))]
        assert pieces.tolist() == np.concatenate([kept[w] for w in words]).tolist()
        assert words == list(range(words[0], words[-1] + 1))
        # The window holds the words whose first piece in the sentence is in one stretch of `stride` pieces.
        first_pieces = np.cumsum([0] + [len(k) for k in kept])[words]
        assert len(set(first_pieces // stride)) == 1
    # Logits that favour the gold tag decode to one tag per original word.
    logits = np.eye(len(LABELS))[features.labels.clip(0)]
    assert features.word_tags(logits) == tags
    assert features.word_tags(np.zeros(features.labels.shape, int)) == [["O"] * len(s) for s in sentences]


def test_unlabeled_sentences_and_unknown_tags(uncased):
    features = ner_features(uncased, SENTENCES, None, LABELS, max_seq_length=32)
    assert (features.labels == IGNORE_LABEL_ID).all() and features.label_weights.sum() == 16
    with pytest.raises(ValueError, match="tag 'I-PER' is not one of the label names"):
        ner_features(uncased, [["Peter"]], [["I-PER"]], LABELS, max_seq_length=32)


def test_a_long_word_keeps_its_first_pieces(uncased, caplog):
    sentence = ["a", "supercalifragilisticexpialidocious", "b"]
    features = ner_features(uncased, [sentence], [["O", "B-PER", "O"]], LABELS, max_seq_length=14)
    assert "more than 3 pieces" in caplog.text  # a quarter of the 12 a window holds
    assert features.word_tags(features.labels.clip(0)) == [["O", "B-PER", "O"]]
    first_pieces = uncased.tokenize([sentence[1]])[0].numpy()[:3].tolist()
    assert features.input_word_ids[0, 2:5].tolist() == first_pieces
