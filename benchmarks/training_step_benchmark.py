"""Pretraining-step throughput against keras-hub's BertMaskedLM, and this machine's matmul ceiling."""

import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks.alternating_timing import alternating_seconds
from benchmarks.flops import pretraining_flops, random_pretraining_batch
from benchmarks.report import BenchmarkRow
from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.models import BertEncoder, BertPretrainer
from keras_bert_zoo.training.optimization import NO_DECAY_NAMES, create_optimizer
from keras_bert_zoo.training.pretraining_objective import PretrainingObjective


def matmul_gflops(dtype, size=4096, repeats=10):
    """Best GFLOP/s of a [size, size] x [size, size] tf.matmul in `dtype`."""
    a = tf.random.normal([size, size], dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def _optimizer(ours):
    """Our AdamW (`create_optimizer`), or for the peer Keras's own AdamW with the same settings."""
    optimizer = create_optimizer("adamw", 1e-4, 10000, 100)
    if ours:
        return optimizer
    # What a keras-hub user trains with: keras.optimizers.AdamW, which keras-hub uses itself.
    config = optimizer.get_config()
    config.pop("semantics")  # Keras's own rule; the speed of the update is the same form.
    peer = keras.optimizers.AdamW.from_config(config)
    peer.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
    return peer


def _training_step(model, loss_fn, inputs, labels, jit_compile, optimizer):
    """A compiled function that runs one training step on the fixed batch and waits for it."""
    optimizer.build(model.trainable_variables)

    @tf.function(jit_compile=jit_compile)
    def step(inputs, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(model(inputs, training=True), labels)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    run = lambda: step(inputs, labels).numpy()  # noqa: E731
    run()  # trace and compile
    run()
    return run


def _ours(config, batch, jit_compile):
    model = BertPretrainer(BertEncoder(config))
    inputs = {"input_word_ids": batch["ids"], "input_mask": batch["mask"], "input_type_ids": batch["types"],
              "masked_lm_positions": batch["positions"]}
    labels = {"masked_lm_ids": batch["labels"], "masked_lm_weights": batch["weights"],
              "next_sentence_labels": batch["nsp"]}
    objective = PretrainingObjective()
    return _training_step(model, lambda outputs, y: objective(outputs, y)[0], inputs, labels, jit_compile,
                          _optimizer(ours=True))


def _keras_hub(config, batch, jit_compile):
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size, num_layers=config.num_layers, num_heads=config.num_heads,
        hidden_dim=config.hidden_size, intermediate_dim=config.intermediate_size,
        max_sequence_length=config.max_position_embeddings)
    model = keras_hub.models.BertMaskedLM(backbone=backbone, preprocessor=None)
    inputs = {"token_ids": batch["ids"], "padding_mask": batch["mask"], "segment_ids": batch["types"],
              "mask_positions": batch["positions"]}
    labels = {"ids": batch["labels"], "weights": batch["weights"]}

    def loss_fn(logits, y):
        ce = keras.losses.sparse_categorical_crossentropy(y["ids"], logits, from_logits=True)
        return tf.reduce_sum(ce * y["weights"]) / tf.reduce_sum(y["weights"])

    return _training_step(model, loss_fn, inputs, labels, jit_compile, _optimizer(ours=False))


def benchmark_pretraining_step(preset="bert_base_uncased", batch_size=32, seq_length=128, predictions=20,
                               precision="mixed_bfloat16", jit_compile=False, steps=5):
    """Sequences/s of one BERT pretraining step, ours (MLM + NSP) against keras-hub's BertMaskedLM (MLM only).

    Both run the same harness: one tf.function with forward, backward and an
    AdamW update (ours from `create_optimizer`, keras-hub's Keras's own, same
    settings), on the same random batch, at the same Keras dtype policy.
    Their steps alternate, `steps` of each, and each side's median counts, so
    load from other jobs on the machine weighs on both alike.
    The notes give achieved GFLOP/s and their share of a same-precision matmul
    measured in the same run.

    Returns:
        A one-row list of `BenchmarkRow` (seq/s).
    """
    config = BertConfig.from_preset(preset)
    batch = random_pretraining_batch(config, batch_size, seq_length, predictions)
    keras.mixed_precision.set_global_policy(precision)
    try:
        runs = {"ours": _ours(config, batch, jit_compile), "peer": _keras_hub(config, batch, jit_compile)}
        seconds = {name: float(np.median(values)) for name, values in alternating_seconds(runs, steps).items()}
    finally:
        keras.mixed_precision.set_global_policy("float32")
    ours, peer = batch_size / seconds["ours"], batch_size / seconds["peer"]
    ceiling = matmul_gflops(tf.bfloat16 if precision == "mixed_bfloat16" else
                            tf.float16 if precision == "mixed_float16" else tf.float32)
    flops = pretraining_flops(config, seq_length, predictions)
    ours_gflops, peer_gflops = ours * flops / 1e9, peer * flops / 1e9
    return [BenchmarkRow(
        name="pretraining step", unit="seq/s", ours=ours, peer=peer, peer_name="keras-hub BertMaskedLM",
        settings={"model": preset, "batch": batch_size, "seq": seq_length, "predictions": predictions,
                  "precision": precision, "xla": jit_compile},
        notes=(f"ours {ours_gflops:.0f} GFLOP/s ({ours_gflops / ceiling:.0%} of a {ceiling:.0f} GFLOP/s matmul), "
               f"keras-hub {peer_gflops:.0f} GFLOP/s ({peer_gflops / ceiling:.0%})"),
    )]
