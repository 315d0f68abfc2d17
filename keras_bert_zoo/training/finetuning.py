"""Fine-tuning and batch prediction of task models on tokenized examples."""

import dataclasses
import math
import typing

import numpy as np
import tensorflow as tf

from keras_bert_zoo.convert import find_training_checkpoint
from keras_bert_zoo.data.sequence_batches import inference_batches, training_batches
from keras_bert_zoo.training.optimization import create_optimizer
from keras_bert_zoo.training.trainer import Trainer, write_model_dir_files


@dataclasses.dataclass
class FinetuningSettings:
    """How to fine-tune (the shared flags of run_classifier, run_ner and run_squad).

    Args:
        model_dir: Checkpoints, summaries, config.json and vocab go here.
        train_batch_size: Global examples per update.
        learning_rate: Peak learning rate.
        num_train_epochs: Passes over the training examples (may be fractional).
        warmup_proportion: Share of the updates spent warming up.
        max_seq_length: Longest sequence.
        optimizer: "adamw" or "lamb".
        optimizer_semantics: "google", "torch" or "keras" (see `create_optimizer`).
        adam_epsilon: Adam's epsilon (None: the semantics' own).
        weight_decay: Decoupled weight decay (not on LayerNorm or biases).
        learning_rate_decay: "linear" (to zero at the last update) or "none"
            (the peak rate after warmup until the end).
        fixed_length: Pad every batch to max_seq_length (TPUs) instead of
            padding each batch only to its length bucket.
        length_buckets: Fill each batch from one length bucket (least
            padding) instead of cutting batches from the shuffled order.
        pack_sequences: Pack the examples of each shuffled batch into few
            rows (token-level labels only; see `packed_training_batches`);
            `fixed_length` takes precedence.
        steps_per_execution: Steps per tf.function call.
        jit_compile: XLA-compile the forward/backward pass.
        save_checkpoints_steps: Updates between checkpoints.
        log_steps: Updates between progress lines.
        seed: Shuffle seed.
        mixed_float16: Use loss scaling (global policy mixed_float16).
        nan_policy: "stop" or "skip_step" (see `Trainer`).
    """

    model_dir: str
    train_batch_size: int = 32
    learning_rate: float = 5e-5
    num_train_epochs: float = 3.0
    warmup_proportion: float = 0.1
    max_seq_length: int = 128
    optimizer: str = "adamw"
    optimizer_semantics: str = "torch"
    adam_epsilon: typing.Optional[float] = None
    weight_decay: float = 0.01
    learning_rate_decay: str = "linear"
    fixed_length: bool = False
    length_buckets: bool = True
    pack_sequences: bool = False
    steps_per_execution: int = 1
    jit_compile: bool = False
    save_checkpoints_steps: int = 1000
    log_steps: int = 50
    seed: int = 12345
    mixed_float16: bool = False
    nan_policy: str = "stop"


def load_task_model(model_class, init_checkpoint, model_dir, do_train, **head_kwargs):
    """The model a fine-tuning tool works on; call it under `strategy.scope()`.

    Training starts from `init_checkpoint` (and the Trainer then resumes from
    `model_dir` if it already holds checkpoints). Evaluation or prediction
    without training uses the newest checkpoint in `model_dir`, or
    `init_checkpoint` when there is none.
    """
    if not do_train and model_dir and find_training_checkpoint(model_dir) is not None:
        return model_class.from_pretrained(model_dir)
    return model_class.from_pretrained(init_checkpoint, **head_kwargs)


def finetune(model, objective, inputs, labels, settings, strategy, tokenizer=None, training_run=None):
    """Trains `model` (built under `strategy.scope()`) on tokenized examples.

    Also writes config.json and the tokenizer's vocab into the model_dir, so
    it can be loaded with `from_pretrained` and exported.

    Args:
        model: A task model.
        objective: Its training objective (see `Trainer`).
        inputs: Dict of padded int32 arrays [N, T]: `input_word_ids`,
            `input_mask`, `input_type_ids` (batches are re-padded by length).
        labels: Dict of label arrays for the objective, [N] or [N, T].
        settings: `FinetuningSettings`.
        strategy: The tf.distribute strategy.
        tokenizer: The `BertTokenizer` of the inputs (its vocab is saved, its
            [PAD] id pads batches).
        training_run: Optional `TrainingRun` recorded in the model_dir (see `Trainer`).

    Returns:
        The metrics of the last logged window, plus "step".
    """
    pad_id = tokenizer.pad_id if tokenizer is not None else 0
    if strategy.extended.should_checkpoint:
        write_model_dir_files(model, settings.model_dir, tokenizer)
    num_examples = len(inputs["input_word_ids"])
    num_train_steps = max(1, math.ceil(num_examples * settings.num_train_epochs / settings.train_batch_size))
    with strategy.scope():
        optimizer = create_optimizer(
            settings.optimizer, settings.learning_rate, num_train_steps,
            int(num_train_steps * settings.warmup_proportion), weight_decay=settings.weight_decay,
            end_learning_rate=settings.learning_rate if settings.learning_rate_decay == "none" else 0.0,
            mixed_float16=settings.mixed_float16, semantics=settings.optimizer_semantics,
            epsilon=settings.adam_epsilon)

    def dataset_fn(context):
        return training_batches(
            inputs, labels, context.get_per_replica_batch_size(settings.train_batch_size),
            settings.max_seq_length, seed=settings.seed, fixed_length=settings.fixed_length, pad_id=pad_id,
            input_context=context, length_buckets=settings.length_buckets,
            pack_sequences=settings.pack_sequences).prefetch(tf.data.AUTOTUNE)

    trainer = Trainer(model, optimizer, objective, strategy, settings.model_dir,
                      steps_per_execution=settings.steps_per_execution, jit_compile=settings.jit_compile,
                      save_checkpoints_steps=settings.save_checkpoints_steps, log_every_steps=settings.log_steps,
                      nan_policy=settings.nan_policy, training_run=training_run)
    print(f"Fine-tuning on {num_examples} examples for {num_train_steps} steps", flush=True)
    return trainer.train(dataset_fn, num_train_steps)


def predict(model, inputs, batch_size, max_seq_length, sequence_outputs=(), fixed_length=False, pad_id=0,
            jit_compile=False):
    """Runs `model` over tokenized examples, in batches of similar length.

    Args:
        model: A task model.
        inputs: Dict of padded int32 arrays [N, T]: `input_word_ids`, `input_mask`,
            `input_type_ids`.
        batch_size: Examples per batch.
        max_seq_length: Longest sequence; per-token outputs are padded to it.
        sequence_outputs: Names of the outputs with a time axis (axis 1).
        fixed_length: Pad every batch to max_seq_length.
        pad_id: The vocab's [PAD] id.
        jit_compile: XLA-compile the forward pass.

    Returns:
        Dict of NumPy arrays [N, ...] in the order of `inputs`; per-token
        outputs are [N, max_seq_length, ...], zero beyond each sequence.
    """
    dataset, order = inference_batches(inputs, batch_size, max_seq_length, fixed_length, pad_id)
    # One trace serves every batch shape (XLA still compiles each bucket once).
    signature = {name: tf.TensorSpec([None, None], tf.int32) for name in dataset.element_spec}
    forward = tf.function(lambda x: model(x, training=False), input_signature=[signature],
                          jit_compile=jit_compile)
    pieces = {}
    for batch in dataset:
        for name, value in forward(batch).items():
            value = np.asarray(value)
            if name in sequence_outputs:
                value = _pad_time_axis(value, max_seq_length)
            pieces.setdefault(name, []).append(value)
    outputs = {name: np.concatenate(values) for name, values in pieces.items()}
    restored = np.empty_like(order)
    restored[order] = np.arange(len(order))
    return {name: value[restored] for name, value in outputs.items()}


def _pad_time_axis(value, length):
    padding = [(0, 0)] * value.ndim
    padding[1] = (0, length - value.shape[1])
    return np.pad(value, padding)
