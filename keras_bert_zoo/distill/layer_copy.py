"""Students that start from some of their teacher's transformer layers (as DistilBERT does)."""

import numpy as np


def evenly_spaced_layers(teacher_layers, num_layers):
    """Indices of `num_layers` of `teacher_layers` layers, evenly spaced, first and last included.

    12 -> 6 gives [0, 2, 4, 7, 9, 11], DistilBERT's choice.

    Args:
        teacher_layers: The teacher's number of transformer layers.
        num_layers: How many the student keeps.

    Returns:
        A sorted list of distinct indices.
    """
    if not 1 <= num_layers <= teacher_layers:
        raise ValueError(f"num_layers must be in [1, {teacher_layers}] (the teacher's layers), got {num_layers}.")
    return [int(i) for i in np.round(np.linspace(0, teacher_layers - 1, num_layers))]


def student_from_teacher_layers(teacher, num_layers):
    """A task model like `teacher` with `num_layers` of its transformer layers, weights copied.

    The embeddings, pooler and task head are copied too, so with every layer
    kept the student computes exactly what the teacher does. A teacher whose
    layers share weights (ALBERT) gives a student that keeps sharing
    (`config.with_num_layers`): each student block takes the weights of the
    teacher block that its kept layer ran (the last such layer's, where
    several share it), so with one shared block (the released ALBERTs) the
    student runs that block `num_layers` times.

    Args:
        teacher: A task model (`BertClassifier`, `BertTokenClassifier`,
            `BertQuestionAnswerer`, ...) over any family's encoder.
        num_layers: The student's number of layers (see `evenly_spaced_layers`).

    Returns:
        The new task model, of the teacher's class and head configuration.
    """
    source = teacher.encoder
    chosen = evenly_spaced_layers(source.config.num_layers, num_layers)
    encoder = type(source)(source.config.with_num_layers(num_layers), dtype=source.dtype_policy)
    student = type(teacher)(encoder, **teacher.head_config())
    encoder.embeddings.set_weights(source.embeddings.get_weights())
    # Each layer runs this many blocks in turn (ALBERT's inner groups; BERT's one).
    runs = len(source.transformer_layers) // source.config.num_layers
    for position, index in enumerate(chosen):
        for run in range(runs):
            block = source.transformer_layers[index * runs + run]
            encoder.transformer_layers[position * runs + run].set_weights(block.get_weights())
    # Where the family has them: ELECTRA's embedding projection, BERT's pooler.
    for part in ("embedding_projection", "pooler"):
        if getattr(source, part) is not None:
            getattr(encoder, part).set_weights(getattr(source, part).get_weights())
    # The head is whatever the task model holds beyond its encoder; both models build it alike.
    for target, value in zip(_head_weights(student), _head_weights(teacher)):
        target.assign(value)
    return student


def _head_weights(model):
    encoder_ids = {id(w) for w in model.encoder.weights}
    return [w for w in model.weights if id(w) not in encoder_ids]
