"""ELECTRA's pretraining: a small generator fills in masked tokens, the encoder spots the replacements."""

import dataclasses
import logging
import os

import keras

from keras_bert_zoo.layers import ElectraDiscriminatorHead, ReplacedTokenSampler
from keras_bert_zoo.layers.checkpoint_slice import prefixed
from keras_bert_zoo.models.bert_encoder import INPUT_NAMES
from keras_bert_zoo.models.checkpoint_weights import assign_checkpoint_values
from keras_bert_zoo.models.masked_lm import MaskedLM, masked_inputs
from keras_bert_zoo.models.pretrainer import Pretrainer

logger = logging.getLogger("keras_bert_zoo")

# Where save_pretrained puts the generator: transformers keeps it as its own ElectraForMaskedLM.
GENERATOR_DIRECTORY = "generator"


def generator_config(config, generator_size):
    """ELECTRA's generator beside a discriminator of `config`: `generator_size` of its width, as many layers,
    one head per 64 units and 4x feed-forward (google-research/electra's `get_generator_config`)."""
    hidden_size = max(1, int(round(config.hidden_size * generator_size)))
    return dataclasses.replace(config, hidden_size=hidden_size, num_heads=max(1, hidden_size // 64),
                               intermediate_size=4 * hidden_size)


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class ElectraPretrainer(Pretrainer):
    """Replaced-token detection (Clark et al., 2020) over an ELECTRA encoder, the discriminator.

    A generator (a smaller ELECTRA encoder sharing the discriminator's
    embeddings, with a masked-LM head) predicts the masked tokens; a sample
    of its predictions replaces them (`ReplacedTokenSampler`), and the
    discriminator scores every token as original or replaced.

    Inputs: the encoder's three int32 [B, T] tensors (the masked text),
    `masked_lm_positions` [B, P] and the original ids there, `masked_lm_ids`
    [B, P]. Outputs: the generator's `mlm_logits` [B, P, V], the
    discriminator's `rtd_logits` [B, T] and `rtd_labels` [B, T] (1 where the
    sample replaced the original), which `ReplacedTokenObjective` trains on.

    `save_pretrained` writes the discriminator as transformers'
    ElectraForPreTraining and the generator as its ElectraForMaskedLM in
    "generator/"; `from_pretrained` reads both back, and Google's TF1
    checkpoints ("generator/..." beside "electra/...").

    Args:
        encoder: The `ElectraEncoder` to pretrain (exposed as `.encoder`).
        generator_size: The generator's width as a share of the encoder's
            (ELECTRA-small 0.25, base and large 1/3).
        temperature: Divides the generator's logits before sampling.
        seed: Optional seed of the sampler.
        **kwargs: Passed to `keras.Model`.
    """

    uses_pooler = False

    def __init__(self, encoder, generator_size=0.25, temperature=1.0, seed=None, **kwargs):
        config = encoder.config
        self.encoder = encoder
        self.generator_size = generator_size
        self.temperature = temperature
        self.seed = seed
        generator_encoder = type(encoder)(generator_config(config, generator_size), dtype=encoder.dtype_policy,
                                          shared_embeddings=encoder.embeddings, name="generator_encoder")
        self.generator = MaskedLM(generator_encoder, name="generator")
        self.sampler = ReplacedTokenSampler(temperature, seed, name="sampler")
        self.discriminator_head = ElectraDiscriminatorHead(
            config.hidden_size, config.hidden_act, config.initializer_range, dtype=encoder.dtype_policy,
            name="discriminator_head")

        inputs = masked_inputs()
        inputs["masked_lm_ids"] = keras.Input(shape=(None,), dtype="int32", name="masked_lm_ids")
        mlm_logits = self.generator({name: inputs[name] for name in (*INPUT_NAMES, "masked_lm_positions")})[
            "mlm_logits"]
        corrupted_ids, replaced = self.sampler(mlm_logits, inputs["input_word_ids"], inputs["masked_lm_positions"],
                                               inputs["masked_lm_ids"])
        encoded = encoder({"input_word_ids": corrupted_ids, "input_mask": inputs["input_mask"],
                           "input_type_ids": inputs["input_type_ids"]})
        outputs = {"mlm_logits": mlm_logits, "rtd_logits": self.discriminator_head(encoded["sequence_output"]),
                   "rtd_labels": replaced}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def head_slices(self):
        return prefixed("discriminator_predictions/", self.discriminator_head.checkpoint_slices())

    def generator_slices(self):
        """The generator's own weights (not the shared embeddings) under Google's names ("generator/encoder/...")."""
        return {name if name.startswith("cls/") else "generator/" + name.removeprefix("bert/"): part
                for name, part in self.generator.checkpoint_slices().items()
                if not name.startswith("bert/embeddings/")}

    def checkpoint_slices(self):
        slices = super().checkpoint_slices()
        slices.update(self.generator_slices())
        return slices

    def hf_directories(self):
        generator = self.generator
        return [("", self.encoder_config, {**self.encoder.checkpoint_slices(), **self.head_slices()}, self.task,
                 self.head_config()),
                (GENERATOR_DIRECTORY, generator.encoder_config, generator.checkpoint_slices(), generator.task, {})]

    def load_companion_weights(self, checkpoint):
        """The generator's weights: from Google's "generator/..." variables, or the "generator/" directory
        save_pretrained writes; otherwise it stays freshly initialized."""
        slices = self.generator_slices()
        if assign_checkpoint_values(slices, checkpoint.weights, checkpoint.source, required=False):
            return
        directory = os.path.join(str(checkpoint.source), GENERATOR_DIRECTORY)
        if os.path.isdir(directory):
            from keras_bert_zoo.convert import read_checkpoint

            saved = read_checkpoint(directory)
            own = {name: part for name, part in self.generator.checkpoint_slices().items()
                   if not name.startswith("bert/embeddings/")}
            assign_checkpoint_values(own, saved.weights, directory)
            return
        logger.warning("%s holds no ELECTRA generator; the generator is freshly initialized.", checkpoint.source)

    def get_config(self):
        return {**super().get_config(), "generator_size": self.generator_size, "temperature": self.temperature,
                "seed": self.seed}
