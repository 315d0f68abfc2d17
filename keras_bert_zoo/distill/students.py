"""The student a distillation starts from: layers of the teacher, a preset, or a fresh config."""

from keras_bert_zoo.config import architecture_registry
from keras_bert_zoo.distill.layer_copy import student_from_teacher_layers
from keras_bert_zoo.models import Encoder


def build_student(teacher, preset=None, config_file=None, num_layers=None):
    """A task model of the teacher's class and head for the student; give exactly one source.

    Args:
        teacher: The fine-tuned task model.
        preset: A preset name or pretrained checkpoint (its encoder weights;
            the head starts fresh).
        config_file: A config JSON of any family (randomly initialized student).
        num_layers: Copy this many of the teacher's layers (see
            `student_from_teacher_layers`).

    Returns:
        The student model, whose vocabulary is the teacher's.

    Raises:
        ValueError: Not exactly one source, or a student whose vocab_size
            differs from the teacher's (they must share the tokenizer).
    """
    if sum(source is not None for source in (preset, config_file, num_layers)) != 1:
        raise ValueError("Give exactly one of preset, config_file, num_layers.")
    model_class = type(teacher)
    if num_layers is not None:
        return student_from_teacher_layers(teacher, num_layers)
    if preset is not None:
        student = model_class.from_pretrained(preset, **teacher.head_config())
    else:
        student = model_class(Encoder(architecture_registry.config_from_json_file(config_file)),
                              **teacher.head_config())
    vocab_sizes = (student.encoder.config.vocab_size, teacher.encoder.config.vocab_size)
    if vocab_sizes[0] != vocab_sizes[1]:
        raise ValueError(f"The student's vocab_size {vocab_sizes[0]} differs from the teacher's {vocab_sizes[1]}; "
                         "both must read the teacher's tokens.")
    return student
