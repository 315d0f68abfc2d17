"""Training: optimizers, strategies, objectives and the resumable loop."""

from keras_bert_zoo.training.distribution import configure_numerics, create_strategy
from keras_bert_zoo.training.optimization import create_optimizer
from keras_bert_zoo.training.pretraining_objective import PretrainingObjective, split_pretraining_features
from keras_bert_zoo.training.trainer import NonFiniteLossError, Trainer
from keras_bert_zoo.training.warmup_polynomial_decay import WarmupPolynomialDecay
