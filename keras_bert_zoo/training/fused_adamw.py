"""AdamW with a named update rule, fused into one kernel per variable on TensorFlow."""

import keras
from keras import ops

# How the Adam step is normalized; the references differ, and short fine-tuning runs feel it.
#   torch:  torch.optim.AdamW (and HF's), bias-corrected moments, eps added after correction:
#           step = lr * (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + eps)
#   google: google-research/bert's AdamWeightDecayOptimizer, no bias correction:
#           step = lr * m / (sqrt(v) + eps)
#   keras:  keras.optimizers.AdamW, eps added before bias correction:
#           step = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + eps)
ADAM_SEMANTICS = ("torch", "google", "keras")


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class FusedAdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with the update rule of torch, google-research/bert or Keras.

    All three share one form, `variable -= alpha * m / (sqrt(v) + epsilon_hat)`,
    and differ only in `alpha` and `epsilon_hat` (see `ADAM_SEMANTICS`):
    google takes `alpha = lr`, `epsilon_hat = epsilon`; Keras takes
    `alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`, `epsilon_hat = epsilon`;
    torch takes Keras's `alpha` with `epsilon_hat = epsilon * sqrt(1 - beta_2^t)`,
    which is torch's formula multiplied out. `t` counts updates.

    On the TensorFlow backend the update runs as TensorFlow's fused
    `ResourceApplyAdam` kernel, one pass over memory instead of about a dozen
    elementwise ops (a quarter of a second a step for BERT-base on CPU); it
    computes exactly that form from `beta_1^t`, `beta_2^t` and `epsilon_hat`,
    so google's rule passes powers of 0. Weight decay (`lr * weight_decay *
    variable`) is taken before the step, as all three references do, and in
    each one's arithmetic: torch multiplies by `1 - lr * weight_decay` rounded
    to float32, which loses up to 6% of a 5e-7 decay, so matching its curves
    means rounding the same way. Clipping, gradient accumulation and loss
    scaling are Keras's. Other backends and non-float32 variables run the same
    form in keras.ops, which XLA fuses.

    Args:
        semantics: "torch", "google" or "keras" (the default, for optimizers
            saved before the rule was named).
        **kwargs: Passed to `keras.optimizers.AdamW`.
    """

    def __init__(self, semantics="keras", **kwargs):
        if semantics not in ADAM_SEMANTICS:
            raise ValueError(f"Unknown Adam semantics {semantics!r}; choose one of {ADAM_SEMANTICS}.")
        super().__init__(**kwargs)
        if self.amsgrad and semantics != "keras":
            raise ValueError(f"amsgrad is Keras's rule; it does not combine with semantics={semantics!r}.")
        self.semantics = semantics

    def _correction(self, dtype):
        """(beta_1^t, beta_2^t, epsilon_hat) of the update form, for the current update t."""
        if self.semantics == "google":
            return ops.zeros((), dtype), ops.zeros((), dtype), ops.cast(self.epsilon, dtype)
        step = ops.cast(self.iterations + 1, dtype)  # Keras counts updates here, not micro-batches.
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
        epsilon = ops.cast(self.epsilon, dtype)
        if self.semantics == "torch":
            epsilon = epsilon * ops.sqrt(1.0 - beta_2_power)
        return beta_1_power, beta_2_power, epsilon

    def _clip_gradients(self, grads):
        # An embedding's gradient arrives as IndexedSlices with one row per lookup; Keras's global
        # norm squares those rows before summing repeated ids, so any repeated token ([CLS], [PAD])
        # skews the norm and the clipping. Summed first, the norm is the gradient's, as in torch.
        # The update densifies these gradients anyway.
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        return super()._clip_gradients(grads)

    def _apply_weight_decay(self, variables):
        """Nothing: `update_step` decays each variable, in the semantics' arithmetic."""

    def _decay(self, variable, learning_rate):
        if self.weight_decay is None or not self._use_weight_decay(variable):
            return
        rate = ops.cast(learning_rate, variable.dtype) * ops.cast(self.weight_decay, variable.dtype)
        if self.semantics == "torch":
            self.assign(variable, variable * (1.0 - rate))
        else:
            self.assign_sub(variable, variable * rate)

    def update_step(self, gradient, variable, learning_rate):
        self._decay(variable, learning_rate)
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        if keras.backend.backend() == "tensorflow" and variable.dtype == "float32":
            return self._fused_tensorflow_step(gradient, variable, learning_rate, m, v)
        dtype = variable.dtype
        beta_1_power, beta_2_power, epsilon = self._correction(dtype)
        gradient = ops.cast(gradient, dtype)
        alpha = ops.cast(learning_rate, dtype) * ops.sqrt(1.0 - beta_2_power) / (1.0 - beta_1_power)
        self.assign_add(m, (gradient - m) * (1.0 - self.beta_1))
        self.assign_add(v, (ops.square(gradient) - v) * (1.0 - self.beta_2))
        self.assign_sub(variable, alpha * m / (ops.sqrt(v) + epsilon))

    def _fused_tensorflow_step(self, gradient, variable, learning_rate, m, v):
        import tensorflow as tf

        beta_1_power, beta_2_power, epsilon = self._correction("float32")
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.handle, v=v.handle, beta1_power=beta_1_power, beta2_power=beta_2_power,
            lr=tf.cast(learning_rate, tf.float32), beta1=tf.constant(self.beta_1, tf.float32),
            beta2=tf.constant(self.beta_2, tf.float32), epsilon=epsilon,
            grad=tf.convert_to_tensor(gradient, tf.float32),  # Densifies IndexedSlices, as Keras's update does.
        )

    def get_config(self):
        return {**super().get_config(), "semantics": self.semantics}
