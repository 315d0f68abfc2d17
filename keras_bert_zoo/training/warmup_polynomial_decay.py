"""BERT's learning-rate schedule: linear warmup, then polynomial decay."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly from 0 to `peak_learning_rate` over `warmup_steps`, then decays
    polynomially to `end_learning_rate` at `decay_steps`.

    By default warmup and decay both count from step 0, as google-research/bert's
    optimization.py does, so after warmup the rate is already below the peak
    (10% below with 10% warmup). With `decay_from_warmup_end` the decay starts at
    the peak when warmup ends, as HF's `get_linear_schedule_with_warmup`.

    Args:
        peak_learning_rate: The learning rate at the end of warmup (before decay).
        decay_steps: Step at which `end_learning_rate` is reached.
        warmup_steps: Length of the linear warmup.
        end_learning_rate: Final learning rate.
        power: Polynomial power (1.0: linear decay).
        steps_per_update: Optimizer iterations per update. Keras counts every
            micro-batch when accumulating gradients; dividing by this keeps the
            rate a function of the update, as without accumulation.
        decay_from_warmup_end: Decay over `[warmup_steps, decay_steps]` instead
            of `[0, decay_steps]`.
    """

    def __init__(self, peak_learning_rate, decay_steps, warmup_steps=0, end_learning_rate=0.0, power=1.0,
                 steps_per_update=1, decay_from_warmup_end=False):
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be positive, got {decay_steps}.")
        if not 0 <= warmup_steps <= decay_steps:
            raise ValueError(f"warmup_steps={warmup_steps} must be in [0, decay_steps={decay_steps}].")
        self.peak_learning_rate = peak_learning_rate
        self.decay_steps = decay_steps
        self.warmup_steps = warmup_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.steps_per_update = steps_per_update
        self.decay_from_warmup_end = decay_from_warmup_end

    def __call__(self, step):
        step = ops.cast(ops.floor_divide(step, self.steps_per_update), "float32")
        decay_start = float(self.warmup_steps) if self.decay_from_warmup_end else 0.0
        decay_length = max(float(self.decay_steps) - decay_start, 1.0)
        progress = ops.clip((step - decay_start) / decay_length, 0.0, 1.0)
        decayed = (self.peak_learning_rate - self.end_learning_rate) * (1.0 - progress) ** self.power
        decayed = decayed + self.end_learning_rate
        if not self.warmup_steps:
            return decayed
        warmup = self.peak_learning_rate * step / float(self.warmup_steps)
        return ops.where(step < self.warmup_steps, warmup, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "decay_steps": self.decay_steps,
            "warmup_steps": self.warmup_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "steps_per_update": self.steps_per_update,
            "decay_from_warmup_end": self.decay_from_warmup_end,
        }
