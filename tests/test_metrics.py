"""Metrics agree with their references: sklearn/scipy, seqeval, and the official SQuAD definitions."""

import numpy as np
import pytest
from scipy import stats
from seqeval import metrics as seqeval_metrics
from seqeval import scheme as seqeval_schemes
from sklearn import metrics as sklearn_metrics

from keras_bert_zoo.metrics import (
    classification_metrics,
    convert_tag_scheme,
    detect_tag_scheme,
    exact_match,
    ner_metrics,
    normalize_answer,
    regression_metrics,
    squad_v1_metrics,
    squad_v2_metrics,
    token_f1,
)


@pytest.mark.parametrize("num_classes", [2, 3])
def test_classification_metrics_match_sklearn(num_classes):
    rng = np.random.default_rng(num_classes)
    labels = rng.integers(0, num_classes, 200)
    logits = rng.normal(size=(200, num_classes)) + 1.5 * np.eye(num_classes)[labels]
    predictions = logits.argmax(1)
    average = "binary" if num_classes == 2 else "macro"
    expected = {
        "accuracy": sklearn_metrics.accuracy_score(labels, predictions),
        "f1": sklearn_metrics.f1_score(labels, predictions, average=average),
        "mcc": sklearn_metrics.matthews_corrcoef(labels, predictions),
    }
    for given in (predictions, logits):
        result = classification_metrics(labels, given)
        assert result == pytest.approx(expected, abs=1e-12)
        assert all(type(v) is float for v in result.values())


def test_binary_f1_is_of_the_positive_class():
    result = classification_metrics([1, 1, 0, 0], [1, 0, 0, 0])
    assert result["f1"] == pytest.approx(2 / 3) and result["accuracy"] == 0.75
    # With num_classes=3 the same ids are scored as macro F1 over the classes present.
    macro = classification_metrics([1, 1, 0, 0], [1, 0, 0, 0], num_classes=3)["f1"]
    assert macro == pytest.approx((2 / 3 + 0.8) / 2)


def test_regression_metrics_match_scipy():
    rng = np.random.default_rng(0)
    labels = rng.uniform(0, 5, 100)
    predictions = labels + rng.normal(0, 1, 100)
    result = regression_metrics(labels, predictions[:, None])
    assert result["pearson"] == pytest.approx(stats.pearsonr(labels, predictions)[0])
    assert result["spearman"] == pytest.approx(stats.spearmanr(labels, predictions)[0])
    assert np.isnan(regression_metrics([1.0, 2.0], [3.0, 3.0])["pearson"])


IOB2_TRUE = [["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "O"], ["O", "B-ORG", "I-ORG", "I-ORG", "O"]]
IOB2_PRED = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"], ["O", "I-ORG", "I-ORG", "I-ORG", "B-MISC"]]


def _seqeval(true, pred, **kwargs):
    return {"precision": seqeval_metrics.precision_score(true, pred, **kwargs),
            "recall": seqeval_metrics.recall_score(true, pred, **kwargs),
            "f1": seqeval_metrics.f1_score(true, pred, **kwargs)}


def test_ner_metrics_match_seqeval_on_iob2():
    assert ner_metrics(IOB2_TRUE, IOB2_PRED) == pytest.approx(_seqeval(IOB2_TRUE, IOB2_PRED))
    strict = _seqeval(IOB2_TRUE, IOB2_PRED, mode="strict", scheme=seqeval_schemes.IOB2)
    assert ner_metrics(IOB2_TRUE, IOB2_PRED, strict=True) == pytest.approx(strict)
    # "O I-ORG ..." is an entity for conlleval but not in strict IOB2.
    assert ner_metrics(IOB2_TRUE, IOB2_PRED)["precision"] == pytest.approx(2 / 4)
    assert strict["precision"] == pytest.approx(1 / 3)


def test_ner_metrics_match_seqeval_on_bioes():
    true = convert_tag_scheme(IOB2_TRUE, "BIOES")
    assert true[0] == ["B-PER", "E-PER", "O", "S-LOC", "S-LOC", "O"]
    pred = convert_tag_scheme(IOB2_PRED, "BIOES")
    pred[1][2] = "S-ORG"  # An ill-formed prediction.
    assert detect_tag_scheme(true) == "BIOES"
    assert ner_metrics(true, pred) == pytest.approx(_seqeval(true, pred))
    strict = _seqeval(true, pred, mode="strict", scheme=seqeval_schemes.IOBES)
    assert ner_metrics(true, pred, strict=True) == pytest.approx(strict)


def test_ner_metrics_normalize_iob1():
    true = convert_tag_scheme(IOB2_TRUE, "IOB1")
    assert true == [["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "O"], ["O", "I-ORG", "I-ORG", "I-ORG", "O"]]
    pred = convert_tag_scheme(IOB2_PRED, "IOB1")
    assert detect_tag_scheme(true) == "IOB1" and detect_tag_scheme(IOB2_TRUE) == "IOB2"
    # Scored as the IOB2 rewrite, which is what seqeval's IOB1 scheme reads too.
    assert ner_metrics(true, pred) == pytest.approx(_seqeval(IOB2_TRUE, IOB2_PRED))
    assert ner_metrics(true, pred) == pytest.approx(_seqeval(true, pred))
    strict_iob1 = _seqeval(true, pred, mode="strict", scheme=seqeval_schemes.IOB1)
    assert ner_metrics(true, pred, strict=True) == pytest.approx(strict_iob1)
    assert convert_tag_scheme(true, "IOB2") == IOB2_TRUE
    assert convert_tag_scheme(convert_tag_scheme(true, "BIOES"), "IOB1") == true


def test_ner_metrics_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="same sentence lengths"):
        ner_metrics([["O", "B-PER"]], [["O"]])


@pytest.mark.parametrize("text, normalized", [
    ("The Denver Broncos!", "denver broncos"),
    ("  an apple,  a  pear ", "apple pear"),
    ("Theory of the case", "theory of case"),  # "the" only as a whole word
    ("U.S.A.", "usa"),
    ("rock'n'roll", "rocknroll"),
    ("Café «Noir» — déjà", "café «noir» — déjà"),  # only ASCII punctuation goes
    ("a-the", "athe"),  # punctuation goes first, so "a-the" is one word
    ("", ""),
])
def test_normalize_answer_follows_the_official_definition(text, normalized):
    assert normalize_answer(text) == normalized


def test_exact_match_and_token_f1_by_hand():
    assert exact_match("the Broncos.", "Broncos") == 1.0
    assert exact_match("Denver Broncos", "Broncos") == 0.0
    # prediction "denver broncos", gold "broncos": precision 1/2, recall 1 -> F1 2/3.
    assert token_f1("Denver Broncos", "Broncos") == pytest.approx(2 / 3)
    # Bags of tokens: "x x y" and "x y y" share one x and one y: precision = recall = 2/3.
    assert token_f1("x x y", "x y y") == pytest.approx(2 / 3)
    assert token_f1("", "Broncos") == 0.0 and token_f1("the", "") == 0.0
    assert token_f1("", "the", empty_match=True) == 1.0
    assert token_f1("", "Broncos", empty_match=True) == 0.0


def test_squad_v1_metrics_take_the_best_gold_and_average():
    golds = {"q1": ["Denver Broncos", "The Broncos", "Broncos"], "q2": ["Santa Clara, California"],
             "q3": ["1996"], "q4": ["Zürich"]}
    predictions = {"q1": "broncos", "q2": "Santa Clara", "q4": "zürich!"}  # q3 unanswered
    result = squad_v1_metrics(golds, predictions)
    # q1: EM 1 (vs "The Broncos"); q2: F1 of 2 of 3 tokens = 0.8; q3: 0; q4: EM 1.
    assert result == pytest.approx({"exact_match": 50.0, "f1": 100 * (1 + 0.8 + 0 + 1) / 4})
    with pytest.raises(ValueError, match="squad_v2_metrics"):
        squad_v1_metrics({"q": []}, {"q": ""})


def test_squad_v2_metrics_score_no_answer():
    golds = {"has1": ["Broncos"], "has2": ["Santa Clara"], "no1": [], "no2": []}
    predictions = {"has1": "Broncos", "has2": "", "no1": "", "no2": "Broncos"}
    result = squad_v2_metrics(golds, predictions)
    assert result == pytest.approx({
        "exact_match": 50.0, "f1": 50.0, "total": 4.0,
        "HasAns_exact": 50.0, "HasAns_f1": 50.0, "HasAns_total": 2.0,
        "NoAns_exact": 50.0, "NoAns_f1": 50.0, "NoAns_total": 2.0})
    # A gold answer that normalizes to nothing only matches an empty prediction.
    assert squad_v2_metrics({"q": ["The"]}, {"q": ""})["exact_match"] == 100.0
    only_answerable = squad_v2_metrics({"q": ["x"]}, {"q": "x"})
    assert "NoAns_exact" not in only_answerable and only_answerable["HasAns_exact"] == 100.0
