"""Tokenizer throughput and id agreement against HF's Rust and Python BERT tokenizers."""

import numpy as np
import tensorflow as tf

from keras_bert_zoo.benchmarks.alternating_timing import alternating_seconds
from keras_bert_zoo.benchmarks.report import BenchmarkRow
from keras_bert_zoo.text import BertTokenizer


def _graph_tokenizer(tokenize, batches):
    """Runs a tf.function of `tokenize` over string batches, returning per-text id lists."""
    function = tf.function(tokenize)
    tensors = [tf.constant(batch) for batch in batches]
    function(tensors[0])  # Trace once, outside the timing.
    return lambda: [function(batch) for batch in tensors]


def _agreement(ids, reference_ids):
    return float(np.mean([a == b for a, b in zip(ids, reference_ids)]))


def benchmark_tokenizer(texts, vocab_file, lower_case=True, batch_size=1024, repeats=3):
    """Times BertTokenizer.tokenize against HF's Rust tokenizer and tf-text's FastBertTokenizer.

    All produce WordPiece ids without special tokens, batch by batch. Each
    row's notes give how often each side's ids equal the Python reference's
    (HF's port of google-research's tokenization.py).

    Returns:
        Two `BenchmarkRow`s (texts/s): against Rust, and against FastBertTokenizer.
    """
    import tensorflow_text as tf_text
    from transformers import BertTokenizerFast
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
    ours = BertTokenizer(vocab_file, lower_case=lower_case)
    fast_bert = tf_text.FastBertTokenizer(vocab=ours.vocab, token_out_type=tf.int32,
                                          lower_case_nfd_strip_accents=lower_case)
    rust = BertTokenizerFast(vocab_file, do_lower_case=lower_case)
    runs = {
        "ours": _graph_tokenizer(ours.tokenize, batches),
        "FastBertTokenizer": _graph_tokenizer(fast_bert.tokenize, batches),
        "Rust": lambda: [rust(batch, add_special_tokens=False)["input_ids"] for batch in batches],
    }
    # The sides take turns within each repeat; each side's fastest repeat counts.
    rates = {name: len(texts) / min(seconds) for name, seconds in alternating_seconds(runs, repeats).items()}
    ids = {name: [x for batch in run() for x in (batch if name == "Rust" else batch.to_list())]
           for name, run in runs.items()}
    reference = BertTokenizerLegacy(vocab_file, do_lower_case=lower_case)
    reference_ids = [reference.convert_tokens_to_ids(reference._tokenize(t, split_special_tokens=True))
                     for t in texts]
    agreement = {name: _agreement(values, reference_ids) for name, values in ids.items()}
    settings = {"texts": len(texts), "batch": batch_size, "lower_case": lower_case}
    return [
        BenchmarkRow(
            name="tokenizer", unit="texts/s", ours=rates["ours"], peer=rates[peer], peer_name=peer_name,
            settings=settings,
            notes=f"ids equal to the Python reference: ours {agreement['ours']:.4%}, peer {agreement[peer]:.4%}")
        for peer, peer_name in (("Rust", "HF BertTokenizerFast (Rust)"),
                                ("FastBertTokenizer", "tf-text FastBertTokenizer"))
    ]
