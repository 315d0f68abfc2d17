"""Decoding SQuAD answers from start/end logits: n-best spans over all windows, null answers (v2.0)."""

import collections
import dataclasses

import numpy as np


@dataclasses.dataclass
class SquadPredictions:
    """Decoded answers of SQuAD examples.

    Args:
        answers: {question id: answer text}, "" for no answer; what the tool
            writes as predictions.json.
        nbest: {question id: [{"text", "probability", "start_logit",
            "end_logit", "start_char", "end_char"}, ...]}, best first
            (nbest_predictions.json). Probabilities are a softmax over the
            listed spans' start + end logits.
        answer_spans: {question id: (start_char, end_char)}, the answer's
            [start, end) character offsets in the context; (-1, -1) for no answer.
        null_score_diffs: v2.0: {question id: null score minus best span
            score}, which `null_score_diff_threshold` is compared with (the
            original's null_odds.json); empty for v1.1.
    """

    answers: dict
    nbest: dict
    answer_spans: dict
    null_score_diffs: dict


def decode_squad_predictions(examples, features, start_logits, end_logits, n_best_size=20,
                             max_answer_length=30, version_2_with_negative=False,
                             null_score_diff_threshold=0.0):
    """Picks each example's best answer span over all its windows, as the original run_squad.py.

    A candidate span starts at a context piece where the window gives it
    the most context, ends at a context piece at or after it, and spans at
    most `max_answer_length` pieces. Candidates pair the window's
    `n_best_size` highest-scoring valid starts with its `n_best_size`
    highest-scoring context ends (the original takes the top positions
    before dropping invalid ones, and so sometimes finds fewer). The answer
    text is the context between the first character of the start piece
    and the last of the end piece: "(1996)" yields "1996" for the piece
    "1996", and accents, case, CJK and inner whitespace come out as in the
    context (the original's get_final_text). Spans with the same text
    count once. With `version_2_with_negative`, the null answer scores the
    [CLS] start + end logits of the window where that is lowest, and wins
    when it beats the best span by more than `null_score_diff_threshold`.
    An example without any valid span gets the empty answer (the
    original's "empty").

    Args:
        examples: The `SquadExample`s the features were made from.
        features: Their `SquadFeatures`.
        start_logits: float [N, T], one row per feature.
        end_logits: float [N, T].
        n_best_size: Candidates kept per example (and starts/ends per window).
        max_answer_length: Longest answer, in pieces.
        version_2_with_negative: Whether questions may be unanswerable.
        null_score_diff_threshold: Predict no answer above this difference.

    Returns:
        A `SquadPredictions`.
    """
    start_logits = np.asarray(start_logits, np.float64)
    end_logits = np.asarray(end_logits, np.float64)
    if start_logits.shape != features.token_char_starts.shape or end_logits.shape != start_logits.shape:
        raise ValueError(f"Logits {start_logits.shape}, {end_logits.shape} don't match the features "
                         f"{features.token_char_starts.shape}.")
    rows_of_example = collections.defaultdict(list)
    for row, index in enumerate(features.example_index):
        rows_of_example[index].append(row)
    predictions = SquadPredictions({}, {}, {}, {})
    for index, example in enumerate(examples):
        rows = rows_of_example.get(index, [])
        spans = [_candidate_spans(features, row, start_logits[row], end_logits[row], n_best_size, max_answer_length)
                 for row in rows]
        # Each candidate: (start logit, end logit, start char, end char); null has chars -1.
        candidates = np.concatenate(spans) if spans else np.zeros([0, 4])
        null = None
        if version_2_with_negative and rows:
            row = min(rows, key=lambda r: start_logits[r, 0] + end_logits[r, 0])
            null = (start_logits[row, 0], end_logits[row, 0], -1, -1)
            candidates = np.concatenate([candidates, [null]])
        nbest = _nbest(example.context_text, candidates, n_best_size)
        if null is not None and all(entry["text"] for entry in nbest):
            nbest.append(_entry("", *null))
        if not nbest:
            nbest.append(_entry("", 0.0, 0.0, -1, -1))
        scores = np.array([entry["start_logit"] + entry["end_logit"] for entry in nbest])
        probabilities = np.exp(scores - scores.max())
        probabilities /= probabilities.sum()
        for entry, probability in zip(nbest, probabilities):
            entry["probability"] = float(probability)
        best = nbest[0]
        if null is not None:
            best_span = next((entry for entry in nbest if entry["text"]), None)
            best = _entry("", *null)
            if best_span is not None:
                score_diff = null[0] + null[1] - best_span["start_logit"] - best_span["end_logit"]
                predictions.null_score_diffs[example.qas_id] = float(score_diff)
                if score_diff <= null_score_diff_threshold:
                    best = best_span
        predictions.answers[example.qas_id] = best["text"]
        predictions.answer_spans[example.qas_id] = (best["start_char"], best["end_char"])
        predictions.nbest[example.qas_id] = nbest
    return predictions


def _candidate_spans(features, row, start_logits, end_logits, n_best_size, max_answer_length):
    """float [K, 4] (start logit, end logit, start char, end char) of the valid spans of one window."""
    is_context = features.token_char_starts[row] >= 0
    starts = _top_positions(start_logits, is_context & features.token_is_max_context[row], n_best_size)
    ends = _top_positions(end_logits, is_context, n_best_size)
    starts, ends = np.meshgrid(starts, ends, indexing="ij")
    valid = (ends >= starts) & (ends - starts < max_answer_length)
    starts, ends = starts[valid], ends[valid]
    return np.stack([start_logits[starts], end_logits[ends], features.token_char_starts[row, starts],
                     features.token_char_ends[row, ends]], axis=1)


def _top_positions(logits, allowed, count):
    """The (at most) `count` allowed positions with the highest logits."""
    positions = np.flatnonzero(allowed)
    return positions[np.argsort(-logits[positions], kind="stable")[:count]]


def _nbest(context, candidates, n_best_size):
    """The best-scoring candidates with distinct texts, as nbest entries (without probabilities)."""
    order = np.argsort(-(candidates[:, 0] + candidates[:, 1]), kind="stable")
    nbest, seen = [], set()
    for start_logit, end_logit, start_char, end_char in candidates[order]:
        text = context[int(start_char):int(end_char)] if start_char >= 0 else ""
        if text not in seen:
            seen.add(text)
            nbest.append(_entry(text, start_logit, end_logit, start_char, end_char))
            if len(nbest) == n_best_size:
                break
    return nbest


def _entry(text, start_logit, end_logit, start_char, end_char):
    return {"text": text, "probability": None, "start_logit": float(start_logit), "end_logit": float(end_logit),
            "start_char": int(start_char), "end_char": int(end_char)}
