"""Pretraining from TFRecords or raw text: model, data, optimizer and loop wired together."""

import dataclasses
import typing

import tensorflow as tf

from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.data.dynamic_pretraining import dynamic_pretraining_dataset
from keras_bert_zoo.data.pretraining_records import read_pretraining_records
from keras_bert_zoo.models import BertEncoder, BertPretrainer
from keras_bert_zoo.text import BertTokenizer
from keras_bert_zoo.training.optimization import create_optimizer
from keras_bert_zoo.training.pretraining_objective import PretrainingObjective, split_pretraining_features
from keras_bert_zoo.training.trainer import Trainer, write_model_dir_files


@dataclasses.dataclass
class PretrainingSettings:
    """What to pretrain, on what, and how (the flags of tools/run_pretraining.py).

    Args:
        model_dir: Checkpoints, summaries, config.json and vocab go here.
        bert_config: Encoder config for a fresh model (None with init_checkpoint).
        init_checkpoint: Any `from_pretrained` source to start from.
        input_files: TFRecords from create_pretraining_data (static masks).
        text_files: Raw text, one sentence per line, blank lines between
            documents (dynamic masking: fresh masks every epoch).
        vocab_file: WordPiece vocab for text_files (and copied to model_dir).
        lower_case: Whether text is lower-cased for the vocab.
        train_batch_size: Global batch per optimizer update.
        max_seq_length: Tokens per example.
        max_predictions_per_seq: Masked positions per example.
        num_train_steps: Optimizer updates in total (resumed runs included).
        num_warmup_steps: Linear warmup updates.
        learning_rate: Peak learning rate.
        optimizer: "adamw" or "lamb".
        optimizer_semantics: "google", "torch" or "keras" (see `create_optimizer`).
        adam_epsilon: Adam's epsilon (None: the semantics' own).
        weight_decay: Decoupled weight decay (not on LayerNorm or biases).
        gradient_accumulation_steps: Micro-batches per update; each holds
            train_batch_size / gradient_accumulation_steps examples.
        save_checkpoints_steps: Updates between checkpoints.
        log_steps: Updates between progress lines.
        steps_per_execution: Micro-steps per tf.function call.
        jit_compile: XLA-compile the forward/backward pass.
        masked_lm_prob: Masking rate for text_files.
        short_seq_prob: Share of shorter target lengths for text_files.
        do_whole_word_mask: Mask whole words for text_files.
        seed: Seed of data shuffling and masking.
        mixed_float16: Whether the global policy is mixed_float16 (loss scaling).
        nan_policy: "stop" or "skip_step" (see `Trainer`).
    """

    model_dir: str
    bert_config: typing.Optional[BertConfig] = None
    init_checkpoint: typing.Optional[str] = None
    input_files: typing.Sequence[str] = ()
    text_files: typing.Sequence[str] = ()
    vocab_file: typing.Optional[str] = None
    lower_case: bool = True
    train_batch_size: int = 32
    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    num_train_steps: int = 100000
    num_warmup_steps: int = 10000
    learning_rate: float = 5e-5
    optimizer: str = "adamw"
    optimizer_semantics: str = "torch"
    adam_epsilon: typing.Optional[float] = None
    weight_decay: float = 0.01
    gradient_accumulation_steps: int = 1
    save_checkpoints_steps: int = 1000
    log_steps: int = 100
    steps_per_execution: int = 1
    jit_compile: bool = False
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    do_whole_word_mask: bool = False
    seed: int = 12345
    mixed_float16: bool = False
    nan_policy: str = "stop"


def run_pretraining(settings, strategy):
    """Trains a BertPretrainer under `strategy` until settings.num_train_steps.

    Returns:
        The metrics of the last logged window (losses, accuracies, step).
    """
    accumulation = settings.gradient_accumulation_steps
    if settings.train_batch_size % accumulation:
        raise ValueError(f"train_batch_size={settings.train_batch_size} is not divisible by "
                         f"gradient_accumulation_steps={accumulation}.")
    micro_batch = settings.train_batch_size // accumulation
    tokenizer = BertTokenizer(settings.vocab_file, settings.lower_case) if settings.vocab_file else None
    with strategy.scope():
        if settings.init_checkpoint:
            model = BertPretrainer.from_pretrained(settings.init_checkpoint)
        else:
            model = BertPretrainer(BertEncoder(settings.bert_config))
        optimizer = create_optimizer(
            settings.optimizer, settings.learning_rate, settings.num_train_steps, settings.num_warmup_steps,
            weight_decay=settings.weight_decay, gradient_accumulation_steps=accumulation,
            mixed_float16=settings.mixed_float16, semantics=settings.optimizer_semantics,
            epsilon=settings.adam_epsilon)
    if strategy.extended.should_checkpoint:
        write_model_dir_files(model, settings.model_dir, tokenizer)

    def dataset_fn(context):
        if settings.text_files:
            examples = dynamic_pretraining_dataset(
                settings.text_files, tokenizer, settings.max_seq_length, settings.max_predictions_per_seq,
                masked_lm_prob=settings.masked_lm_prob, short_seq_prob=settings.short_seq_prob,
                do_whole_word_mask=settings.do_whole_word_mask, seed=settings.seed, input_context=context)
        else:
            examples = read_pretraining_records(
                settings.input_files, settings.max_seq_length, settings.max_predictions_per_seq,
                input_context=context, shuffle=True, seed=settings.seed)
        # Static shapes throughout (drop_remainder, fixed lengths): what TPUs and XLA need.
        batches = examples.batch(context.get_per_replica_batch_size(micro_batch), drop_remainder=True)
        return batches.map(split_pretraining_features, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
            tf.data.AUTOTUNE)

    print(f"Pretraining on {strategy.num_replicas_in_sync} replica(s) with {type(strategy).__name__}, "
          f"global batch {settings.train_batch_size}", flush=True)
    trainer = Trainer(
        model, optimizer, PretrainingObjective(), strategy, settings.model_dir,
        steps_per_execution=settings.steps_per_execution, jit_compile=settings.jit_compile,
        save_checkpoints_steps=settings.save_checkpoints_steps, log_every_steps=settings.log_steps,
        micro_batches_per_update=accumulation, nan_policy=settings.nan_policy)
    return trainer.train(dataset_fn, settings.num_train_steps)
