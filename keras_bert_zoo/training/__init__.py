"""Training: optimizers, strategies, objectives, the resumable loop, pretraining and fine-tuning."""

from keras_bert_zoo.training.classification_objective import ClassificationObjective
from keras_bert_zoo.training.distribution import configure_numerics, create_strategy
from keras_bert_zoo.training.finetuning import FinetuningSettings, finetune, load_task_model, predict
from keras_bert_zoo.training.fused_adamw import FusedAdamW
from keras_bert_zoo.training.optimization import create_optimizer
from keras_bert_zoo.training.pretraining_objective import PretrainingObjective, split_pretraining_features
from keras_bert_zoo.training.pretraining_run import PretrainingSettings, run_pretraining
from keras_bert_zoo.training.span_objective import SpanObjective
from keras_bert_zoo.training.token_classification_objective import TokenClassificationObjective
from keras_bert_zoo.training.trainer import NonFiniteLossError, Trainer, UnreadableCheckpointsError
from keras_bert_zoo.training.training_run import ModelDirConflictError, TrainingRun
from keras_bert_zoo.training.warmup_polynomial_decay import WarmupPolynomialDecay
