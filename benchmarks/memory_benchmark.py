"""Peak resident memory of fine-tuning BERT-base, ours against keras-hub, each in its own process."""

import os
import subprocess
import sys
import textwrap

from benchmarks.report import BenchmarkRow

# Each side fine-tunes a classifier for a few steps on a fixed random batch, in the same harness.
_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import tensorflow as tf
    import keras
    from keras_bert_zoo.config import BertConfig
    from keras_bert_zoo.training.optimization import create_optimizer

    side, preset, batch, seq, steps = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    config = BertConfig.from_preset(preset)
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, config.vocab_size, (batch, seq)).astype("int32")
    mask, types = np.ones_like(ids), np.zeros_like(ids)
    labels = rng.integers(0, 2, batch).astype("int32")
    if side == "ours":
        from keras_bert_zoo.models import BertClassifier, BertEncoder
        model = BertClassifier(BertEncoder(config), num_classes=2)
        inputs = {"input_word_ids": ids, "input_mask": mask, "input_type_ids": types}
        logits_of = lambda outputs: outputs["logits"]
    else:
        import keras_hub
        backbone = keras_hub.models.BertBackbone(
            vocabulary_size=config.vocab_size, num_layers=config.num_layers, num_heads=config.num_heads,
            hidden_dim=config.hidden_size, intermediate_dim=config.intermediate_size,
            max_sequence_length=config.max_position_embeddings)
        model = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None)
        inputs = {"token_ids": ids, "padding_mask": mask, "segment_ids": types}
        logits_of = lambda outputs: outputs
    optimizer = create_optimizer("adamw", 2e-5, 100, 10)
    optimizer.build(model.trainable_variables)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            logits = logits_of(model(inputs, training=True))
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    for _ in range(steps):
        step().numpy()
    import resource
    print("peak_rss_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def _peak_rss_mib(side, preset, batch_size, seq_length, steps):
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, side, preset, str(batch_size), str(seq_length), str(steps)],
        check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), capture_output=True, text=True)
    kib = int(result.stdout.split("peak_rss_kib")[-1].split()[0])  # ru_maxrss is KiB on Linux
    return kib / 1024.0


def benchmark_peak_memory(preset="bert_base_uncased", batch_size=32, seq_length=128, steps=3):
    """Peak RSS (MiB) of a few fine-tuning steps, ours and keras-hub's, each in a fresh process."""
    ours = _peak_rss_mib("ours", preset, batch_size, seq_length, steps)
    peer = _peak_rss_mib("keras_hub", preset, batch_size, seq_length, steps)
    return [BenchmarkRow("peak RSS, fine-tuning", "MiB", ours, peer, "keras-hub BertTextClassifier",
                         {"model": preset, "batch": batch_size, "seq": seq_length, "steps": steps, "precision":
                          "float32"}, "each side in its own process, same harness and optimizer",
                         lower_is_better=True)]
