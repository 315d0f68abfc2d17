"""Tokenizer throughput and id agreement against HF's Rust and Python BERT tokenizers."""

import time

import numpy as np
import tensorflow as tf

from keras_bert_zoo.benchmarks.report import BenchmarkRow
from keras_bert_zoo.text import BertTokenizer


def _best_rate(run, num_texts, repeats):
    """Texts per second of `run()` over the fastest of `repeats` timed runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return num_texts / min(times)


def benchmark_tokenizer(texts, vocab_file, lower_case=True, batch_size=1024, repeats=3):
    """Times BertTokenizer.tokenize against transformers' BertTokenizerFast on `texts`.

    Both produce WordPiece ids without special tokens, batch by batch. Agreement
    is measured against the Python reference (HF's port of tokenization.py).

    Returns:
        A `BenchmarkRow` (texts/s) with agreement rates in its notes.
    """
    from transformers import BertTokenizerFast
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    ours = BertTokenizer(vocab_file, lower_case=lower_case)
    rust = BertTokenizerFast(vocab_file, do_lower_case=lower_case)
    batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
    tensors = [tf.constant(batch) for batch in batches]
    tokenize = tf.function(ours.tokenize)
    tokenize(tensors[0])  # Trace once, outside the timing.

    def run_ours():
        return [tokenize(batch) for batch in tensors]

    def run_rust():
        return [rust(batch, add_special_tokens=False)["input_ids"] for batch in batches]

    ours_rate = _best_rate(run_ours, len(texts), repeats)
    rust_rate = _best_rate(run_rust, len(texts), repeats)

    ours_ids = [ids for batch in run_ours() for ids in batch.to_list()]
    rust_ids = [ids for batch in run_rust() for ids in batch]
    reference = BertTokenizerLegacy(vocab_file, do_lower_case=lower_case)
    reference_ids = [reference.convert_tokens_to_ids(reference._tokenize(t, split_special_tokens=True))
                     for t in texts]
    agree_reference = np.mean([a == b for a, b in zip(ours_ids, reference_ids)])
    agree_rust = np.mean([a == b for a, b in zip(ours_ids, rust_ids)])
    rust_reference = np.mean([a == b for a, b in zip(rust_ids, reference_ids)])
    return BenchmarkRow(
        name="tokenizer",
        unit="texts/s",
        ours=ours_rate,
        peer=rust_rate,
        peer_name="HF BertTokenizerFast (Rust)",
        settings={"texts": len(texts), "batch": batch_size, "lower_case": lower_case,
                  "threads": tf.config.threading.get_inter_op_parallelism_threads() or "default"},
        notes=(f"ids equal to the Python reference on {agree_reference:.4%} of texts "
               f"(Rust: {rust_reference:.4%}); ours vs Rust {agree_rust:.4%}"),
    )
