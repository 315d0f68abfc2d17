"""Held-out SST-2 accuracy over seeds: our optimizer semantics against keras-hub, side by side."""

import random

import numpy as np
import tensorflow as tf

from keras_bert_zoo.benchmarks.finetuning_benchmark import keras_hub_run, ours_run
from keras_bert_zoo.benchmarks.report import BenchmarkRow


def _phrases(words):
    """Every contiguous run of words, joined as SST-2 writes its phrases."""
    return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


def sst2_full_sentence_split(texts, labels, num_heldout, seed=0):
    """Holds out full sentences of SST-2's train split, as its dev set is.

    SST-2 train mixes about 7,000 full sentences with the 60,000 phrases of
    their parse trees, and phrases are easier. A full sentence is a row that no
    other row contains. Held out: `num_heldout` of them at random. Training
    keeps every row that is not a phrase of a held-out sentence, in file order.

    Returns:
        (train_texts, train_labels, heldout_texts, heldout_labels).
    """
    rows = [text.strip() for text in texts]
    present = set(rows)
    inside_another = set()
    for row in rows:
        words = row.split()
        inside_another.update(p for p in _phrases(words) if p in present and p != row)
    full = sorted({row for row in rows if row not in inside_another})
    if len(full) < num_heldout:
        raise ValueError(f"Only {len(full)} full sentences; cannot hold out {num_heldout}.")
    heldout = set(random.Random(seed).sample(full, num_heldout))
    leaked = set().union(*(_phrases(sentence.split()) for sentence in heldout))
    label_of = dict(zip(rows, labels))
    train = [(row, label) for row, label in zip(rows, labels) if row not in leaked]
    heldout = sorted(heldout)
    return ([t for t, _ in train], np.array([l for _, l in train]), heldout,
            np.array([label_of[s] for s in heldout]))


def benchmark_finetuning_quality(checkpoint, texts, labels, eval_texts, eval_labels, seeds=(0, 1, 2),
                                 semantics=("torch",), max_seq_length=64, batch_size=32, learning_rate=5e-5):
    """Accuracy on held-out sentences after one epoch, ours per optimizer semantics against keras-hub.

    Each seed runs every side in turn (ours per semantics, then keras-hub's
    BertTextClassifier with Keras's AdamW, linear warmup and decay and
    clipping), so drift on the machine reaches all of them alike.

    Returns:
        One `BenchmarkRow` per semantics: mean accuracy (%) against keras-hub's,
        with per-seed values, spreads and examples/s in the notes.
    """
    results = {name: [] for name in (*semantics, "keras-hub")}
    for seed in seeds:
        for name in semantics:
            results[name].append(ours_run(checkpoint, texts, labels, eval_texts, eval_labels, max_seq_length,
                                          batch_size, learning_rate, seed=seed, optimizer_semantics=name))
        tf.keras.utils.set_random_seed(seed)
        results["keras-hub"].append(keras_hub_run(checkpoint, texts, labels, eval_texts, eval_labels,
                                                  max_seq_length, batch_size, learning_rate))
        print(f"seed {seed}: " + ", ".join(f"{name} {runs[-1][1]:.4f} ({runs[-1][0]:.0f} examples/s)"
                                           for name, runs in results.items()), flush=True)

    def summary(name):
        rates, accuracies = np.array(results[name]).T
        accuracies = 100 * accuracies
        return (accuracies.mean(), f"{name}: {accuracies.mean():.2f} ± {accuracies.std():.2f} "
                f"({', '.join(f'{a:.2f}' for a in accuracies)}; {rates.mean():.0f} examples/s)")

    peer_mean, peer_note = summary("keras-hub")
    settings = {"train_examples": len(texts), "eval_sentences": len(eval_texts), "seeds": len(seeds),
                "batch": batch_size, "seq": max_seq_length, "lr": learning_rate, "epochs": 1}
    rows = []
    for name in semantics:
        mean, note = summary(name)
        rows.append(BenchmarkRow(f"SST-2 held-out sentences, optimizer_semantics={name}", "% accuracy", mean,
                                 peer_mean, "keras-hub BertTextClassifier, keras.optimizers.AdamW", settings,
                                 f"{note}; {peer_note}"))
    return rows
