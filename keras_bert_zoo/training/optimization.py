"""Optimizers for BERT: AdamW or LAMB with warmup, decay, clipping and accumulation."""

import keras

from keras_bert_zoo.training.fused_adamw import FusedAdamW
from keras_bert_zoo.training.warmup_polynomial_decay import WarmupPolynomialDecay

OPTIMIZERS = ("adamw", "lamb")
# Variable names that get no weight decay: LayerNorm scales/offsets and every bias.
NO_DECAY_NAMES = ("gamma", "beta", "bias")


def create_optimizer(
    name,
    learning_rate,
    num_train_steps,
    num_warmup_steps,
    weight_decay=0.01,
    end_learning_rate=0.0,
    gradient_accumulation_steps=1,
    global_clipnorm=1.0,
    mixed_float16=False,
):
    """The optimizer of google-research/bert (AdamW) or of large-batch BERT (LAMB).

    AdamW is Keras's, with its TensorFlow update fused into one kernel per
    variable (see `FusedAdamW`).

    Args:
        name: "adamw" or "lamb".
        learning_rate: Peak learning rate after warmup.
        num_train_steps: Optimizer updates until the rate reaches `end_learning_rate`.
        num_warmup_steps: Updates of linear warmup.
        weight_decay: Decoupled weight decay; LayerNorm and bias variables are excluded.
        end_learning_rate: Rate at `num_train_steps`.
        gradient_accumulation_steps: Micro-batches summed into one update (1: none).
        global_clipnorm: Gradients are clipped to this global norm.
        mixed_float16: Wrap in a dynamic LossScaleOptimizer (for float16 compute).

    Returns:
        A Keras optimizer.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of {OPTIMIZERS}.")
    if gradient_accumulation_steps < 1:
        raise ValueError(f"gradient_accumulation_steps must be >= 1, got {gradient_accumulation_steps}.")
    schedule = WarmupPolynomialDecay(
        learning_rate,
        decay_steps=num_train_steps,
        warmup_steps=num_warmup_steps,
        end_learning_rate=end_learning_rate,
        steps_per_update=gradient_accumulation_steps,
    )
    common = dict(
        learning_rate=schedule,
        weight_decay=weight_decay,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        global_clipnorm=global_clipnorm,
        gradient_accumulation_steps=gradient_accumulation_steps if gradient_accumulation_steps > 1 else None,
    )
    optimizer = FusedAdamW(**common) if name == "adamw" else keras.optimizers.Lamb(**common)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
    if mixed_float16:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
