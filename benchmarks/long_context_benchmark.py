"""ModernBERT at long context: our encoder against transformers' torch ModernBertModel (SDPA attention).

For each length, each side runs in a fresh child process that builds a randomly initialized encoder of the same
shape, warms up, then times a forward pass (inference, no dropout) and a training step (forward, a mean-square
loss on the sequence output, backward, AdamW: ours `create_optimizer`'s with torch's update, the peer
torch.optim.AdamW) over a fixed batch of random ids, and reports its peak memory: the
accelerator's peak allocation where the side runs on one (tf.config.experimental.get_memory_info,
torch.cuda.max_memory_allocated), else the process's peak RSS. The two sides' children take turns `rounds` times
per length, so drift on a shared machine reaches both alike; each side's time is the median over its rounds of
its median step, its memory the largest peak. A side whose children all fail at a length (out of memory) gets
NaN there, and the row names the error.
"""

import json
import os
import statistics
import subprocess
import sys
import textwrap

from benchmarks.report import BenchmarkRow

# ModernBERT-base (answerdotai/ModernBERT-base's config.json) and a tiny shape that checks the harness in seconds.
SHAPES = {
    "base": dict(vocab_size=50368, hidden_size=768, num_layers=22, num_heads=12, intermediate_size=1152,
                 local_attention=128, global_attn_every_n_layers=3, pad_token_id=50283, cls_token_id=50281,
                 sep_token_id=50282),
    "tiny": dict(vocab_size=512, hidden_size=64, num_layers=3, num_heads=4, intermediate_size=96, local_attention=32,
                 global_attn_every_n_layers=3, pad_token_id=0, cls_token_id=1, sep_token_id=2),
}

_CHILD = textwrap.dedent("""
    import json, resource, statistics, sys, time
    import numpy as np

    side, shape, length, batch, steps, torch_device = sys.argv[1], json.loads(sys.argv[2]), *map(int, sys.argv[3:6]), \\
        sys.argv[6]
    rng = np.random.default_rng(0)
    ids = rng.integers(10, shape["vocab_size"], (batch, length)).astype("int32")
    mask = np.ones_like(ids)

    def timed(run):
        run()  # Warm-up: tracing, compilation, allocation.
        seconds = []
        for _ in range(steps):
            start = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - start)
        return statistics.median(seconds)

    if side == "ours":
        import tensorflow as tf
        import keras_bert_zoo as kbz
        from keras_bert_zoo.training.optimization import create_optimizer

        config = kbz.ModernBertConfig(**shape, max_position_embeddings=max(length, 8192))
        encoder = kbz.ModernBertEncoder(config)
        inputs = {"input_word_ids": tf.constant(ids), "input_mask": tf.constant(mask),
                  "input_type_ids": tf.zeros_like(ids)}
        # Our AdamW, as our tools train with it: torch's update, as the peer's torch.optim.AdamW (decay 0.01,
        # no clipping), one fused kernel per variable.
        optimizer = create_optimizer("adamw", 1e-5, num_train_steps=10**6, num_warmup_steps=0, global_clipnorm=None)
        optimizer.build(encoder.trainable_variables)

        @tf.function
        def forward():
            return encoder(inputs, training=False)["sequence_output"]

        @tf.function
        def train_step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(encoder(inputs, training=True)["sequence_output"]))
            optimizer.apply_gradients(zip(tape.gradient(loss, encoder.trainable_variables),
                                          encoder.trainable_variables))
            return loss

        forward_seconds = timed(lambda: forward().numpy())
        train_seconds = timed(lambda: train_step().numpy())
        gpu = tf.config.list_logical_devices("GPU")
        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20 if gpu else None
        device = "GPU" if gpu else "CPU"
    else:
        import torch
        import transformers

        every = shape["global_attn_every_n_layers"]
        config = transformers.ModernBertConfig(
            vocab_size=shape["vocab_size"], hidden_size=shape["hidden_size"], num_hidden_layers=shape["num_layers"],
            num_attention_heads=shape["num_heads"], intermediate_size=shape["intermediate_size"],
            local_attention=shape["local_attention"], max_position_embeddings=max(length, 8192),
            layer_types=["sliding_attention" if i % every else "full_attention" for i in range(shape["num_layers"])],
            pad_token_id=shape["pad_token_id"], cls_token_id=shape["cls_token_id"], bos_token_id=shape["cls_token_id"],
            sep_token_id=shape["sep_token_id"], eos_token_id=shape["sep_token_id"], attn_implementation="sdpa")
        model = transformers.ModernBertModel(config).to(torch_device)
        input_ids = torch.tensor(ids, dtype=torch.long, device=torch_device)
        attention_mask = torch.tensor(mask, dtype=torch.long, device=torch_device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
        sync = torch.cuda.synchronize if torch_device.startswith("cuda") else (lambda: None)

        def forward():
            model.eval()
            with torch.no_grad():
                model(input_ids=input_ids, attention_mask=attention_mask)
            sync()

        def train_step():
            model.train()
            loss = model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.square().mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync()

        forward_seconds = timed(forward)
        train_seconds = timed(train_step)
        on_gpu = torch_device.startswith("cuda")
        peak = torch.cuda.max_memory_allocated() / 2**20 if on_gpu else None
        device = torch_device
    if peak is None:  # ru_maxrss is KiB on Linux.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT", json.dumps({"forward": forward_seconds, "train": train_seconds, "peak_mib": peak,
                                "device": device}))
""")


def _child(side, shape, length, batch_size, steps, torch_device):
    """One side's measurements at one length, or {"failed": its last error line} (out of memory, most likely)."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, side, json.dumps(shape), str(length), str(batch_size), str(steps),
         torch_device], env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), capture_output=True, text=True)
    if result.returncode:
        lines = [line for line in result.stderr.splitlines() if line.strip()] or [f"exit {result.returncode}"]
        print(f"long_context: {side} at {length} tokens failed:\n{result.stderr[-3000:]}", file=sys.stderr)
        return {"failed": lines[-1][:200]}
    return json.loads(result.stdout.rsplit("RESULT", 1)[1])


def _value(results, key, combine):
    """`combine` of the side's successful children's `key`, or NaN where every child failed."""
    values = [r[key] for r in results if "failed" not in r]
    return combine(values) if values else float("nan")


def benchmark_long_context(lengths=(512, 2048, 8192), shape="base", batch_size=1, steps=3, rounds=2,
                           torch_device="cpu"):
    """Rows of forward and training-step time and peak memory per length, ours against HF torch's ModernBertModel.

    Args:
        lengths: Sequence lengths to time.
        shape: A key of `SHAPES`.
        batch_size: Sequences per step.
        steps: Timed steps per child, after one warm-up.
        rounds: Children per side and length, taking turns.
        torch_device: The peer's torch device ("cpu", "cuda").
    """
    rows = []
    for length in lengths:
        results = {"ours": [], "peer": []}
        for _ in range(rounds):
            for side in results:
                results[side].append(_child(side, SHAPES[shape], length, batch_size, steps, torch_device))
        device = {side: next((r["device"] for r in runs if "device" in r), "-") for side, runs in results.items()}
        settings = {"shape": f"ModernBERT-{shape}", "seq": length, "batch": batch_size, "steps": steps,
                    "rounds": rounds, "ours on": device["ours"], "peer on": device["peer"], "precision": "float32"}
        failures = "; ".join(f"{side} failed: {r['failed']}" for side, runs in results.items() for r in runs[:1]
                             if "failed" in r)
        peer_name = "transformers ModernBertModel (torch, sdpa)"
        for kind, label in (("forward", "forward"), ("train", "training step")):
            ours, peer = (_value(results[side], kind, statistics.median) * 1000 for side in ("ours", "peer"))
            rows.append(BenchmarkRow(f"ModernBERT {label}, {length} tokens", "ms", ours, peer, peer_name, settings,
                                     failures or "median over rounds of each child's median step",
                                     lower_is_better=True))
        ours, peer = (_value(results[side], "peak_mib", max) for side in ("ours", "peer"))
        rows.append(BenchmarkRow(f"ModernBERT peak memory, {length} tokens", "MiB", ours, peer, peer_name, settings,
                                 failures or "forward and training step; device peak on an accelerator, else peak "
                                 "RSS", lower_is_better=True))
    return rows
