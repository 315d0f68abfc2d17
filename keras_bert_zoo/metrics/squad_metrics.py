"""The official SQuAD v1.1 and v2.0 evaluation: exact match and token F1 on normalized answers."""

import collections
import logging
import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text):
    """Lower-cases, drops ASCII punctuation and the articles a/an/the, and collapses whitespace.

    Exactly the official scripts' normalization: only `string.punctuation` is
    removed (so "—" or "«" stay), and articles go after punctuation removal.
    """
    text = "".join(char for char in text.lower() if char not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction, gold):
    """1.0 if the normalized texts are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction, gold, empty_match=False):
    """F1 of the bags of normalized whitespace tokens.

    Args:
        prediction: Predicted answer text.
        gold: Gold answer text.
        empty_match: v2.0 rule: when either side normalizes to no tokens,
            the score is 1.0 if both do, else 0.0. v1.1 scores 0.0 then.
    """
    predicted_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if empty_match and (not predicted_tokens or not gold_tokens):
        return float(predicted_tokens == gold_tokens)
    common = sum((collections.Counter(predicted_tokens) & collections.Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted_tokens)
    recall = common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_v1_metrics(gold_answers, predictions):
    """The official v1.1 evaluate(): best score over the gold answers, averaged, in 0-100.

    Args:
        gold_answers: {question id: [gold answer texts]}, each list non-empty.
        predictions: {question id: predicted text}. A question without a
            prediction scores 0 (and is logged), as in the official script.

    Returns:
        {"exact_match", "f1"} as Python floats in [0, 100].
    """
    exact_total = f1_total = 0.0
    missing = 0
    for qid, golds in gold_answers.items():
        if not golds:
            raise ValueError(f"Question {qid} has no gold answer; score v2.0 data with squad_v2_metrics.")
        if qid not in predictions:
            missing += 1
            continue
        prediction = predictions[qid]
        exact_total += max(exact_match(prediction, gold) for gold in golds)
        f1_total += max(token_f1(prediction, gold) for gold in golds)
    if missing:
        logging.warning("%d of %d questions have no prediction and score 0.", missing, len(gold_answers))
    count = max(len(gold_answers), 1)
    return {"exact_match": 100.0 * exact_total / count, "f1": 100.0 * f1_total / count}


def squad_v2_metrics(gold_answers, predictions):
    """The official v2.0 evaluation (without the no-answer-probability sweep).

    A question is unanswerable when it has no gold answer. Gold answers
    that normalize to nothing are not scored against; when none is left,
    only an empty prediction scores. As in
    the official script, questions without a prediction are left out (and
    logged).

    Args:
        gold_answers: {question id: [gold answer texts]}, [] for unanswerable.
        predictions: {question id: predicted text}, "" for "no answer".

    Returns:
        Python floats: "exact_match", "f1" (0-100) and "total" over all
        scored questions, and "HasAns_exact", "HasAns_f1", "HasAns_total",
        "NoAns_exact", "NoAns_f1", "NoAns_total" over the answerable and
        unanswerable ones (a group without questions is left out).
    """
    scores = {True: [], False: []}  # has_answer -> [(exact, f1)]
    missing = 0
    for qid, golds in gold_answers.items():
        if qid not in predictions:
            missing += 1
            continue
        prediction = predictions[qid]
        scorable = [gold for gold in golds if normalize_answer(gold)] or [""]
        scores[bool(golds)].append((
            max(exact_match(prediction, gold) for gold in scorable),
            max(token_f1(prediction, gold, empty_match=True) for gold in scorable)))
    if missing:
        logging.warning("%d of %d questions have no prediction and are left out.", missing, len(gold_answers))

    def averages(pairs):
        count = max(len(pairs), 1)
        return (100.0 * sum(e for e, _ in pairs) / count, 100.0 * sum(f for _, f in pairs) / count,
                float(len(pairs)))

    results = dict(zip(("exact_match", "f1", "total"), averages(scores[True] + scores[False])))
    for has_answer, group in ((True, "HasAns"), (False, "NoAns")):
        if scores[has_answer]:
            results.update(zip((f"{group}_exact", f"{group}_f1", f"{group}_total"), averages(scores[has_answer])))
    return results
