"""Optimizers for BERT: AdamW or LAMB with warmup, decay, clipping and accumulation."""

import keras

from keras_bert_zoo.training.fused_adamw import ADAM_SEMANTICS, FusedAdamW
from keras_bert_zoo.training.warmup_polynomial_decay import WarmupPolynomialDecay

OPTIMIZERS = ("adamw", "lamb")
# Each reference's epsilon: google-research/bert's 1e-6; torch's AdamW default and HF Trainer's
# adam_epsilon, 1e-8; and what create_optimizer gave Keras's rule before semantics were named.
DEFAULT_EPSILON = {"torch": 1e-8, "google": 1e-6, "keras": 1e-6}
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
    semantics="torch",
    epsilon=None,
):
    """AdamW as google-research/bert, torch/HF or Keras define it, or LAMB for large batches.

    `semantics` names one reference and follows it in both the update and the
    schedule:
    - "torch" (the default): `torch.optim.AdamW` (bias-corrected, epsilon 1e-8
      added after the correction) with HF's `get_linear_schedule_with_warmup`
      (the decay starts at the peak when warmup ends); what HF's Trainer runs.
    - "google": google-research/bert's AdamWeightDecayOptimizer (no bias
      correction, epsilon 1e-6) and its schedule (the linear decay counts from
      step 0, so after warmup the rate is below the peak).
    - "keras": `keras.optimizers.AdamW` (epsilon added before the correction,
      so 1e-6 acts like 3e-5 at step 1) with google's schedule.
    All three skip weight decay on LayerNorm and bias variables and clip the
    global gradient norm (of embedding gradients with their repeated rows
    summed, as torch sees them), as the references' BERT recipes do. AdamW runs as one
    fused kernel per variable on TensorFlow (see `FusedAdamW`). LAMB is Keras's
    update for every semantics; only the schedule follows them.

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
        semantics: "google", "torch" or "keras" (see above).
        epsilon: Added to the second-moment root; default: the semantics'
            own (`DEFAULT_EPSILON`).

    Returns:
        A Keras optimizer.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of {OPTIMIZERS}.")
    if semantics not in ADAM_SEMANTICS:
        raise ValueError(f"Unknown optimizer semantics {semantics!r}; choose one of {ADAM_SEMANTICS}.")
    if gradient_accumulation_steps < 1:
        raise ValueError(f"gradient_accumulation_steps must be >= 1, got {gradient_accumulation_steps}.")
    schedule = WarmupPolynomialDecay(
        learning_rate,
        decay_steps=num_train_steps,
        warmup_steps=num_warmup_steps,
        end_learning_rate=end_learning_rate,
        steps_per_update=gradient_accumulation_steps,
        decay_from_warmup_end=semantics == "torch",
    )
    common = dict(
        learning_rate=schedule,
        weight_decay=weight_decay,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=DEFAULT_EPSILON[semantics] if epsilon is None else epsilon,
        global_clipnorm=global_clipnorm,
        gradient_accumulation_steps=gradient_accumulation_steps if gradient_accumulation_steps > 1 else None,
    )
    optimizer = FusedAdamW(semantics, **common) if name == "adamw" else keras.optimizers.Lamb(**common)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
    if mixed_float16:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
