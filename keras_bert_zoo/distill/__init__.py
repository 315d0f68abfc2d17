"""Knowledge distillation: students initialized from a teacher's layers, and the distillation loss."""

from keras_bert_zoo.distill.distillation_objective import (DistillationObjective, teacher_labels,
                                                           with_teacher_only_examples)
from keras_bert_zoo.distill.layer_copy import evenly_spaced_layers, student_from_teacher_layers
from keras_bert_zoo.distill.students import build_student
