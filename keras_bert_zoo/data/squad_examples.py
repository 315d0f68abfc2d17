"""SQuAD v1.1 / v2.0 questions read from the official JSON format."""

import dataclasses
import json


@dataclasses.dataclass
class SquadExample:
    """One question on a context, with its gold answers.

    Args:
        qas_id: The question id.
        question_text: The question.
        context_text: The paragraph the answer comes from.
        answer_texts: The gold answers ([] when unanswerable); all are kept
            for evaluation, training uses the first.
        answer_starts: Character offset of each gold answer in the context.
        is_impossible: v2.0: the context doesn't answer the question.
    """

    qas_id: str
    question_text: str
    context_text: str
    answer_texts: list = dataclasses.field(default_factory=list)
    answer_starts: list = dataclasses.field(default_factory=list)
    is_impossible: bool = False


def read_squad_file(path):
    """Reads the questions of a SQuAD v1.1 or v2.0 JSON file, in file order.

    v2.0's `is_impossible` questions get no answers; their
    `plausible_answers` are ignored.

    Args:
        path: The file (UTF-8 JSON: {"data": [{"paragraphs": [{"context",
            "qas": [{"id", "question", "answers": [{"text",
            "answer_start"}], "is_impossible"?}]}]}]}).

    Returns:
        A list of `SquadExample`.

    Raises:
        ValueError: The file can't be read or parsed, or a field is missing
            or mistyped; the message names the file (and line or question).
    """
    try:
        with open(path, encoding="utf-8") as f:
            dataset = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: bad JSON: {e.msg}.") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"Cannot read {path}: {e}") from e
    examples = []
    where = f"{path}: data"
    try:
        for article in dataset["data"]:
            for paragraph in article["paragraphs"]:
                context = _text(paragraph["context"], "context")
                for qa in paragraph["qas"]:
                    where = f"{path}: question {qa.get('id')!r}"
                    is_impossible = bool(qa.get("is_impossible", False))
                    answers = [] if is_impossible else qa["answers"]
                    examples.append(SquadExample(
                        qas_id=str(qa["id"]),
                        question_text=_text(qa["question"], "question"),
                        context_text=context,
                        answer_texts=[_text(a["text"], "answer text") for a in answers],
                        answer_starts=[int(a["answer_start"]) for a in answers],
                        is_impossible=is_impossible))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{where}: malformed SQuAD entry ({type(e).__name__}: {e}).") from e
    return examples


def _text(value, what):
    if not isinstance(value, str):
        raise TypeError(f"{what} is {type(value).__name__}, not a string")
    return value


def squad_gold_answers(examples):
    """{question id: gold answer texts}, what `keras_bert_zoo.metrics.squad_v1_metrics` scores against."""
    return {example.qas_id: list(example.answer_texts) for example in examples}
