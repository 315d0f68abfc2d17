"""SST-2 fine-tuning throughput and accuracy, ours against keras-hub's BertTextClassifier."""

import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks.report import BenchmarkRow
from keras_bert_zoo.convert import read_checkpoint
from keras_bert_zoo.convert.keras_hub_format import google_name_of_keras_hub_variable
from keras_bert_zoo.models import BertClassifier
from keras_bert_zoo.text import BertTokenizer
from keras_bert_zoo.training import (ClassificationObjective, FinetuningSettings, WarmupPolynomialDecay,
                                     create_strategy, finetune, predict)
from keras_bert_zoo.training.optimization import NO_DECAY_NAMES


def _keras_hub_classifier(checkpoint, sequence_length):
    """keras-hub's BertTextClassifier with its default preprocessing, holding the checkpoint's weights."""
    import keras_hub

    source = read_checkpoint(checkpoint)
    config = source.config
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size, num_layers=config.num_layers, num_heads=config.num_heads,
        hidden_dim=config.hidden_size, intermediate_dim=config.intermediate_size,
        max_sequence_length=config.max_position_embeddings, num_segments=config.type_vocab_size)
    for variable in backbone.weights:
        variable.assign(source.weights[google_name_of_keras_hub_variable(variable.path)].reshape(variable.shape))
    vocabulary = BertTokenizer.from_pretrained(checkpoint).vocab
    tokenizer = keras_hub.tokenizers.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=sequence_length)
    return keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=preprocessor)


class _SteadyTimer(keras.callbacks.Callback):
    """Seconds from the end of the first batch (trace and compile) to the end of training."""

    start = None

    def on_train_batch_end(self, batch, logs=None):
        if self.start is None:
            self.start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start


def keras_hub_recipe_optimizer(learning_rate, num_train_steps, warmup_proportion=0.1):
    """What a keras-hub user writes for BERT's recipe: Keras's AdamW, linear warmup and decay, clipping."""
    schedule = WarmupPolynomialDecay(learning_rate, num_train_steps, int(num_train_steps * warmup_proportion),
                                     decay_from_warmup_end=True)
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
    return optimizer


def keras_hub_run(checkpoint, texts, labels, eval_texts, eval_labels, sequence_length, batch_size,
                  learning_rate=5e-5, optimizer=None, epochs=1):
    """Fine-tunes keras-hub's BertTextClassifier on raw text.

    Args:
        optimizer: "auto" for `compile()`'s default (keras-hub's documented
            recipe: Adam at a constant 5e-5); None for BERT's recipe as a
            keras-hub user writes it (`keras_hub_recipe_optimizer`).

    Returns:
        (examples/s after the first batch, accuracy on the eval texts or None).
    """
    model = _keras_hub_classifier(checkpoint, sequence_length)
    steps = -(-len(texts) // batch_size) * epochs
    if optimizer is None:
        optimizer = keras_hub_recipe_optimizer(learning_rate, steps)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    timer = _SteadyTimer()
    model.fit(np.array(texts), np.array(labels), batch_size=batch_size, epochs=epochs, callbacks=[timer],
              verbose=0)
    rate = (len(texts) * epochs - batch_size) / timer.seconds
    accuracy = None
    if eval_texts is not None:
        predicted = model.predict(np.array(eval_texts), batch_size=64, verbose=0).argmax(-1)
        accuracy = float((predicted == np.asarray(eval_labels)).mean())
    return rate, accuracy


def ours_run(checkpoint, texts, labels, eval_texts, eval_labels, max_seq_length, batch_size, learning_rate,
             seed=0, model_dir=None, **settings):
    """Fine-tunes our BertClassifier for one epoch as tools/run_classifier.py does.

    Args:
        settings: Other `FinetuningSettings` fields (optimizer_semantics, ...);
            the rest keep the tool's defaults.

    Returns:
        (examples/s from raw text to the last step, tracing included; accuracy
        on the eval texts).
    """
    import tempfile

    labels = np.asarray(labels, "int32")
    strategy = create_strategy("one_device")
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    tokenizer = BertTokenizer.from_pretrained(checkpoint)
    with strategy.scope():
        model = BertClassifier.from_pretrained(checkpoint, num_classes=2)
    inputs = {k: v.numpy() for k, v in tokenizer(texts, max_length=max_seq_length).items()}
    with tempfile.TemporaryDirectory() as scratch:
        settings = FinetuningSettings(model_dir=model_dir or scratch, train_batch_size=batch_size,
                                      learning_rate=learning_rate, num_train_epochs=1, max_seq_length=max_seq_length,
                                      log_steps=100, seed=seed, **settings)
        finetune(model, ClassificationObjective(2), inputs, {"labels": labels}, settings, strategy, tokenizer)
    rate = len(texts) / (time.perf_counter() - start)
    eval_inputs = {k: v.numpy() for k, v in tokenizer(eval_texts, max_length=max_seq_length).items()}
    accuracy = float((predict(model, eval_inputs, 64, max_seq_length)["logits"].argmax(-1) == eval_labels).mean())
    return rate, accuracy


def benchmark_finetuning(checkpoint, texts, labels, eval_texts, eval_labels, max_seq_length=64, batch_size=32,
                         learning_rate=5e-5, throughput_examples=640, model_dir=None):
    """Examples/s of one SST-2 epoch and the accuracy it reaches, ours against keras-hub.

    Ours runs with tools/run_classifier.py's defaults (packed shuffled batches,
    google's update), timed from raw
    text to the last step, tracing included. keras-hub's BertTextClassifier
    runs `fit` on raw text with its own preprocessing, timed after its first
    batch: once with its default sequence_length (512) on `throughput_examples`
    sentences for speed, and once at `max_seq_length` on all sentences for
    accuracy at equal settings.

    Returns:
        `BenchmarkRow`s: examples/s against keras-hub's default, and against
        keras-hub at equal length, with accuracies in the notes.
    """
    ours_rate, ours_accuracy = ours_run(checkpoint, texts, labels, eval_texts, eval_labels, max_seq_length,
                                        batch_size, learning_rate, model_dir=model_dir, pack_sequences=True,
                                        optimizer_semantics="google")
    keras.utils.set_random_seed(0)
    default_rate, _ = keras_hub_run(checkpoint, texts[:throughput_examples], labels[:throughput_examples], None,
                                     None, 512, batch_size, learning_rate)
    keras.utils.set_random_seed(0)
    equal_rate, equal_accuracy = keras_hub_run(checkpoint, texts, labels, eval_texts, eval_labels, max_seq_length,
                                                batch_size, learning_rate)
    settings = {"examples": len(texts), "batch": batch_size, "epochs": 1, "eval_examples": len(eval_texts),
                "threads": tf.config.threading.get_intra_op_parallelism_threads() or "default"}
    return [
        BenchmarkRow("SST-2 fine-tuning vs keras-hub default (seq 512)", "examples/s", ours_rate, default_rate,
                     "keras-hub BertTextClassifier, default preprocessing", dict(settings, ours_seq=max_seq_length),
                     f"ours accuracy {ours_accuracy:.4f} (keras-hub timed on {throughput_examples} examples)"),
        BenchmarkRow(f"SST-2 fine-tuning vs keras-hub at seq {max_seq_length}", "examples/s", ours_rate, equal_rate,
                     f"keras-hub BertTextClassifier, sequence_length={max_seq_length}", settings,
                     f"accuracy: ours {ours_accuracy:.4f}, keras-hub {equal_accuracy:.4f}"),
    ]
