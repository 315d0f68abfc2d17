"""BERT pretraining-step throughput on the JAX backend (GPU), ours against keras-hub's BertMaskedLM.

Needs only JAX, Keras, keras-hub and this package: set KERAS_BACKEND=jax
before Keras is imported.
"""

import time

import jax
import jax.numpy as jnp
import keras
from keras import ops

from benchmarks.flops import pretraining_flops, random_pretraining_batch
from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.models import BertEncoder, BertPretrainer


def matmul_tflops(size=8192, repeats=10):
    """Best bf16 TFLOP/s of a [size, size] @ [size, size] product on the default device."""
    a = jax.random.normal(jax.random.key(0), (size, size), jnp.bfloat16)
    product = jax.jit(lambda x: x @ x)
    product(a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product(a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e12


def _masked_lm_loss(logits, labels, weights):
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    picked = ops.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
    return -ops.sum(picked * weights) / (ops.sum(weights) + 1e-5)


def _seconds_per_step(model, inputs, loss_fn, steps):
    """Times a jitted stateless train step (forward, backward, AdamW) of `model`."""
    optimizer = keras.optimizers.AdamW(learning_rate=1e-4, weight_decay=0.01, global_clipnorm=1.0)
    optimizer.build(model.trainable_variables)

    def compute_loss(trainable, non_trainable, inputs):
        outputs, non_trainable = model.stateless_call(trainable, non_trainable, inputs, training=True)
        return loss_fn(outputs), non_trainable

    grad_fn = jax.value_and_grad(compute_loss, has_aux=True)

    @jax.jit
    def step(state, inputs):
        trainable, non_trainable, optimizer_variables = state
        (loss, non_trainable), grads = grad_fn(trainable, non_trainable, inputs)
        trainable, optimizer_variables = optimizer.stateless_apply(optimizer_variables, grads, trainable)
        return loss, (trainable, non_trainable, optimizer_variables)

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])
    inputs = jax.tree_util.tree_map(jnp.asarray, inputs)
    for _ in range(2):  # compile, then one settled step
        loss, state = step(state, inputs)
    loss.block_until_ready()
    start = time.perf_counter()
    for _ in range(steps):
        loss, state = step(state, inputs)
    loss.block_until_ready()
    return (time.perf_counter() - start) / steps


def measure(preset, batch_size=256, seq_length=128, predictions=20, steps=20, precision="mixed_bfloat16",
            matmul_size=8192):
    """seq/s and model-FLOPs utilization of ours (MLM + NSP) and keras-hub (MLM) in one process.

    The peak MFU is measured against is a bf16 [matmul_size]² product.

    Returns:
        Dict with seq/s, TFLOP/s and MFU for "ours" and "keras_hub", and the peak.
    """
    import keras_hub

    config = BertConfig.from_preset(preset)
    batch = random_pretraining_batch(config, batch_size, seq_length, predictions)
    keras.mixed_precision.set_global_policy(precision)
    ours_model = BertPretrainer(BertEncoder(config))
    ours_inputs = {"input_word_ids": batch["ids"], "input_mask": batch["mask"], "input_type_ids": batch["types"],
                   "masked_lm_positions": batch["positions"]}
    nsp = jnp.asarray(batch["nsp"])

    def ours_loss(outputs):
        nsp_log_probs = ops.log_softmax(ops.cast(outputs["nsp_logits"], "float32"), axis=-1)
        nsp_loss = -ops.mean(ops.take_along_axis(nsp_log_probs, nsp[:, None], axis=-1))
        return _masked_lm_loss(outputs["mlm_logits"], batch["labels"], batch["weights"]) + nsp_loss

    ours = _seconds_per_step(ours_model, ours_inputs, ours_loss, steps)
    del ours_model
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size, num_layers=config.num_layers, num_heads=config.num_heads,
        hidden_dim=config.hidden_size, intermediate_dim=config.intermediate_size,
        max_sequence_length=config.max_position_embeddings)
    hub_model = keras_hub.models.BertMaskedLM(backbone=backbone, preprocessor=None)
    hub_inputs = {"token_ids": batch["ids"], "padding_mask": batch["mask"], "segment_ids": batch["types"],
                  "mask_positions": batch["positions"]}
    hub = _seconds_per_step(hub_model, hub_inputs,
                            lambda logits: _masked_lm_loss(logits, batch["labels"], batch["weights"]), steps)
    keras.mixed_precision.set_global_policy("float32")
    peak = matmul_tflops(matmul_size)
    flops = pretraining_flops(config, seq_length, predictions)
    result = {"preset": preset, "batch": batch_size, "seq": seq_length, "precision": precision,
              "device": str(jax.devices()[0].device_kind), "peak_tflops": peak}
    for name, seconds in (("ours", ours), ("keras_hub", hub)):
        seq_per_s = batch_size / seconds
        result[name] = {"seq_per_s": seq_per_s, "tflops": seq_per_s * flops / 1e12,
                        "mfu": seq_per_s * flops / 1e12 / peak}
    result["ratio"] = result["ours"]["seq_per_s"] / result["keras_hub"]["seq_per_s"]
    return result
