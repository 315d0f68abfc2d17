"""from_pretrained / save_pretrained / save_google_checkpoint, shared by the encoder and every task model."""

import inspect
import logging
import os

from keras_bert_zoo.config import architecture_registry
from keras_bert_zoo.convert import (
    find_training_checkpoint,
    google_names_of,
    read_checkpoint,
    write_google_checkpoint,
    write_hf_config,
    write_hf_directory,
)
from keras_bert_zoo.files import write_directory_atomically, write_json_atomic
from keras_bert_zoo.models.checkpoint_weights import assign_checkpoint_values, checkpoint_values

logger = logging.getLogger("keras_bert_zoo")

# What keras.Model's constructor takes besides inputs and outputs.
_KERAS_ARGUMENTS = ("name", "trainable", "dtype")
# get_config() entries that are no head arguments: the encoder (or its config), the preprocessor and Keras' own.
_NOT_HEAD_ARGUMENTS = ("config", "encoder", "preprocessor", *_KERAS_ARGUMENTS)


class HeadNotInCheckpointError(ValueError):
    """A checkpoint lacks the head a model needs; `held_task` names the task it holds."""

    def __init__(self, message, held_task):
        super().__init__(message)
        self.held_task = held_task


class PretrainedModel:
    """Mixin for Keras models that load and save BERT checkpoints.

    Subclasses set `task` and implement `build_from_config`; models with a
    head implement `head_slices`, and report their head arguments in
    `get_config` (see `head_config`).
    """

    task = None
    # Tasks whose checkpoints hold this model's head; default: its own task alone.
    head_tasks = None
    # Whether outputs depend on the pooler; HF drops it from token and span models.
    uses_pooler = True

    def __init__(self, inputs, outputs, **kwargs):
        # keras.Model's functional constructor silently drops arguments it doesn't know.
        unexpected = [name for name in kwargs if name not in _KERAS_ARGUMENTS]
        if unexpected:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unexpected[0]!r}: neither "
                            "its constructor nor keras.Model's takes it.")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    @classmethod
    def build_from_config(cls, config, dtype=None, **kwargs):
        """A freshly initialized model for the encoder config `config`; `kwargs` go to the constructor."""
        raise NotImplementedError

    def checkpoint_slices(self):
        """All weights of the model, as Google checkpoint name -> CheckpointSlice."""
        slices = self.encoder.checkpoint_slices()
        slices.update(self.head_slices())
        return slices

    def head_slices(self):
        """The weights outside the encoder, as name -> CheckpointSlice."""
        return {}

    def head_config(self):
        """JSON-able constructor arguments besides the encoder: `get_config()` less the encoder and Keras' own.

        `save_pretrained` writes them and `from_pretrained` passes them back,
        so a subclass's own arguments survive both once its `get_config`
        reports them.
        """
        return {name: value for name, value in self.get_config().items() if name not in _NOT_HEAD_ARGUMENTS}

    @classmethod
    def from_pretrained(cls, path_or_preset, dtype=None, require_head=False, **kwargs):
        """Builds the model and loads a checkpoint into it.

        Args:
            path_or_preset: A Hugging Face BERT directory, a google-research/bert
                directory or checkpoint prefix, a keras-hub BertBackbone preset
                directory, a `save_pretrained` directory, a training tool's
                --model_dir (its newest checkpoint), or a preset name.
            dtype: Optional Keras dtype policy ("mixed_bfloat16", ...).
            require_head: Raise instead of initializing a head the
                checkpoint lacks (for exports, which must serve trained heads).
            **kwargs: Constructor arguments (num_classes, a subclass's own,
                ...). They override those saved with a checkpoint of the same
                task.

        Returns:
            The model. Encoder weights must all be present. Head weights load
            when the checkpoint has them for this task; otherwise the head keeps
            its fresh initialization and a warning says so.

        Raises:
            ValueError: With `require_head`, if the checkpoint holds no weights
                of this model's head; the message names the task it holds.
            TypeError: If no constructor takes one of `kwargs`.
        """
        training = find_training_checkpoint(path_or_preset)
        if training is not None:
            return cls._from_training_checkpoint(training, dtype, require_head, kwargs)
        checkpoint = read_checkpoint(path_or_preset)
        model = cls._build(checkpoint.config, checkpoint.task, checkpoint.head_config, dtype, kwargs)
        built = type(model)  # The family's class where `cls` is a factory (kbz.Pretrainer).
        encoder = model if built.task == "encoder" else model.encoder
        slices = encoder.checkpoint_slices()
        pooler = {name: slices.pop(name) for name in list(slices) if name.startswith("bert/pooler/")}
        assign_checkpoint_values(slices, checkpoint.weights, checkpoint.source)
        if not assign_checkpoint_values(pooler, checkpoint.weights, checkpoint.source, required=False):
            if model.uses_pooler:
                logger.warning("%s has no pooler weights; the pooler is freshly initialized.", checkpoint.source)
        head = model.head_slices()
        if head:
            loaded = checkpoint.task in (None, *(built.head_tasks or (built.task,))) and assign_checkpoint_values(
                head, checkpoint.weights, checkpoint.source, required=False)
            if not loaded:
                built._missing_head(checkpoint.source, checkpoint.held_task, require_head)
        model.load_companion_weights(checkpoint)
        return model

    def load_companion_weights(self, checkpoint):
        """Loads weights besides the encoder and head (ELECTRA's generator) from a `PretrainedCheckpoint`."""

    @classmethod
    def _from_training_checkpoint(cls, training, dtype, require_head, kwargs):
        import tensorflow as tf

        model = cls._build(training.config, training.task, training.head_config, dtype, kwargs)
        built = type(model)  # The family's class where `cls` is a factory (kbz.Pretrainer).
        same_task = training.task == built.task
        encoder = model if built.task == "encoder" else model.encoder
        # Training checkpoints hold the task model under "model" and its encoder under "encoder".
        parts = {"model": model} if same_task else {"encoder": encoder}
        status = tf.train.Checkpoint(**parts).restore(training.prefix).expect_partial()
        status.assert_existing_objects_matched()
        if not same_task and model.head_slices():
            built._missing_head(training.prefix, training.task, require_head)
        return model

    @classmethod
    def _build(cls, config, saved_task, saved_kwargs, dtype, kwargs):
        """A fresh model: `kwargs` over the checkpoint's saved head arguments, if of this task and taken here.

        A subclass saves arguments of its own, which its base class, loading
        the same checkpoint, doesn't take.
        """
        target = cls.class_for_config(config)
        saved = saved_kwargs if saved_task == target.task else {}
        accepted = target._constructor_arguments()
        ignored = sorted(set(saved) - accepted - set(kwargs))
        if ignored:
            logger.warning("%s takes no %s; the checkpoint's saved value is ignored.", target.__name__,
                           ", ".join(ignored))
        kept = {name: value for name, value in saved.items() if name in accepted}
        return target.build_from_config(config, dtype=dtype, **{**kept, **kwargs})

    @classmethod
    def class_for_config(cls, config):
        """The class `from_pretrained` builds for an encoder config: this one, unless it is a family factory."""
        return cls

    @classmethod
    def _constructor_arguments(cls):
        """Names the constructor takes by keyword: each __init__'s own, up the MRO while they pass on **kwargs."""
        names = set(_KERAS_ARGUMENTS)
        for klass in cls.__mro__:
            if klass is PretrainedModel:
                break
            init = vars(klass).get("__init__")
            if init is None:
                continue
            parameters = inspect.signature(init).parameters.values()
            names.update(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
            if not any(p.kind is p.VAR_KEYWORD for p in parameters):
                break
        return names

    @classmethod
    def _missing_head(cls, source, held_task, require_head):
        """Warns that this model's head starts fresh, or raises with `require_head`."""
        article = "an" if held_task[0] in "aeiou" else "a"
        message = f"{source} holds {article} {held_task} model, with no {cls.__name__} head weights"
        if require_head:
            raise HeadNotInCheckpointError(f"{message}; its head would be freshly initialized.", held_task)
        logger.warning("%s; the head is freshly initialized.", message)

    @property
    def encoder_config(self):
        """The `BertConfig` of this model's encoder (the model itself for `BertEncoder`)."""
        return (self if self.task == "encoder" else self.encoder).config

    def write_config(self, directory):
        """Writes config.json (encoder config, task and head) into `directory`."""
        os.makedirs(directory, exist_ok=True)
        write_hf_config(directory, self.encoder_config, self.task, self.head_config())

    def save_pretrained(self, directory, tokenizer=None):
        """Writes config.json + model.safetensors (Hugging Face layout), atomically.

        transformers can load the result (BertModel, BertForPreTraining,
        BertForSequenceClassification, ...), and so can `from_pretrained`.

        Args:
            directory: Target directory; replaced if it exists.
            tokenizer: Optional `BertTokenizer` whose vocab is saved beside.
        """
        def write(staging):
            for subdirectory, config, slices, task, head_config in self.hf_directories():
                target = os.path.join(staging, subdirectory)
                os.makedirs(target, exist_ok=True)
                write_hf_directory(target, config, checkpoint_values(slices), task, head_config)
            if tokenizer is not None:
                tokenizer.save_pretrained(staging)

        write_directory_atomically(directory, write)

    def hf_directories(self):
        """What `save_pretrained` writes: (subdirectory, encoder config, CheckpointSlices, task, head config) of
        each Hugging Face directory; the model's own is "" (ELECTRA's pretrainer adds its generator's)."""
        return [("", self.encoder_config, self.checkpoint_slices(), self.task, self.head_config())]

    def save_google_checkpoint(self, directory, tokenizer=None):
        """Writes bert_config.json + bert_model.ckpt.* (google-research/bert layout), atomically.

        Variable names are the original's ("bert/encoder/layer_0/...",
        "cls/predictions/..."), so its scripts and `from_pretrained` read it;
        ALBERT's are google-research/albert's, in albert_config.json + model.ckpt.*.

        Args:
            directory: Target directory; replaced if it exists.
            tokenizer: Optional `BertTokenizer` whose vocab is saved beside.

        Raises:
            ValueError: If the config can't be written in Google's format
                (exact-erf GELU, see `BertConfig.to_google_dict`).
        """
        google_config = self.encoder_config.to_google_dict()
        google_name = google_names_of(self.encoder_config)
        config_name, checkpoint_name = architecture_registry.for_config(self.encoder_config).google_files

        def write(staging):
            write_json_atomic(os.path.join(staging, config_name), google_config)
            values = checkpoint_values(self.checkpoint_slices())
            write_google_checkpoint(os.path.join(staging, checkpoint_name),
                                    {google_name(name): value for name, value in values.items()})
            if tokenizer is not None:
                tokenizer.save_pretrained(staging)  # vocab.txt, and the casing in tokenizer_config.json

        write_directory_atomically(directory, write)

