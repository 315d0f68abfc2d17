"""ELECTRA's corruption: the generator's samples put in at the masked positions."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ReplacedTokenSampler(keras.layers.Layer):
    """Samples a token from the generator at each masked position and writes it into the original text.

    Sampling is Gumbel-max: argmax(logits / temperature + g), g = -log(-log(u + 1e-9) + 1e-9)
    with u uniform in [0, 1), as ELECTRA's `sample_from_softmax`. The
    originals come back at the masked positions first (`masked_lm_ids`), so
    a token is labelled replaced only where the sample differs from the
    original (a correct sample counts as original). Position 0 ([CLS], which
    is never masked) marks an unused prediction slot.

    Args:
        temperature: Divides the generator's logits before sampling.
        seed: Optional int for the layer's `keras.random.SeedGenerator`.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, temperature=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.temperature = temperature
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, mlm_logits, input_word_ids, masked_lm_positions, masked_lm_ids):
        """The corrupted ids [B, T] and which of them were replaced [B, T] (int32 0/1).

        Args:
            mlm_logits: The generator's logits [B, P, V] at the masked positions.
            input_word_ids: The masked input ids [B, T].
            masked_lm_positions: Positions [B, P] the generator predicted.
            masked_lm_ids: The original ids [B, P] at those positions.
        """
        uniform = keras.random.uniform(ops.shape(mlm_logits), seed=self.seed_generator)
        gumbel = -ops.log(-ops.log(uniform + 1e-9) + 1e-9)
        logits = ops.stop_gradient(ops.cast(mlm_logits, "float32")) / self.temperature
        sampled_ids = ops.argmax(logits + gumbel, axis=-1)
        positions = ops.cast(masked_lm_positions, "int32")
        # [B, P, T]: where each used prediction slot writes.
        slots = ops.one_hot(positions, ops.shape(input_word_ids)[1], dtype="int32") * ops.cast(
            positions > 0, "int32")[:, :, None]
        written = ops.max(slots, axis=1)
        original_ids = input_word_ids * (1 - written) + ops.sum(
            slots * ops.cast(masked_lm_ids, "int32")[:, :, None], axis=1)
        corrupted_ids = input_word_ids * (1 - written) + ops.sum(
            slots * ops.cast(sampled_ids, "int32")[:, :, None], axis=1)
        return corrupted_ids, ops.cast(ops.not_equal(corrupted_ids, original_ids), "int32")

    def compute_output_spec(self, mlm_logits, input_word_ids, masked_lm_positions, masked_lm_ids):
        spec = keras.KerasTensor(input_word_ids.shape, dtype="int32")
        return spec, keras.KerasTensor(input_word_ids.shape, dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update({"temperature": self.temperature, "seed": self.seed})
        return config
