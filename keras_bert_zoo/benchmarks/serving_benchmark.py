"""Raw-text serving latency and throughput of an exported classifier against HF transformers (torch)."""

import os
import tempfile

import numpy as np
import tensorflow as tf

from keras_bert_zoo.benchmarks.alternating_timing import seconds_in_turns
from keras_bert_zoo.benchmarks.report import BenchmarkRow
from keras_bert_zoo.export import export_saved_model
from keras_bert_zoo.models import BertClassifier
from keras_bert_zoo.text import BertTokenizer


def benchmark_serving(checkpoint, texts, max_seq_length=128, batch_size=32):
    """Times the exported classifier's serving_default against tokenizer + BertForSequenceClassification.

    Both start from the same weights (the classifier is saved with
    save_pretrained and loaded by transformers), see the same sentences, and
    return class probabilities. Latency is one sentence per call, from raw
    text to probabilities. The two take turns through the texts, so drift
    on a shared machine reaches both alike.

    Returns:
        `BenchmarkRow`s: p50 and p99 latency (ms) at batch 1, and texts/s at `batch_size`.
    """
    import torch
    import transformers

    model = BertClassifier.from_pretrained(checkpoint, num_classes=2, label_names=["negative", "positive"])
    tokenizer = BertTokenizer.from_pretrained(checkpoint)
    with tempfile.TemporaryDirectory() as scratch:
        model.save_pretrained(os.path.join(scratch, "hf"), tokenizer=tokenizer)
        path = export_saved_model(model, tokenizer, os.path.join(scratch, "saved", "classifier"),
                                  max_seq_length=max_seq_length)
        serving = tf.saved_model.load(path).signatures["serving_default"]
        hf_tokenizer = transformers.BertTokenizerFast.from_pretrained(os.path.join(scratch, "hf"))
        hf_model = transformers.BertForSequenceClassification.from_pretrained(os.path.join(scratch, "hf")).eval()

        def ours(batch):
            return serving(text=tf.constant(batch))["probabilities"].numpy()

        def peer(batch):
            with torch.no_grad():
                encoded = hf_tokenizer(batch, truncation=True, max_length=max_seq_length, padding=True,
                                       return_tensors="pt")
                return torch.softmax(hf_model(**encoded).logits, -1).numpy()

        for call in (ours, peer):  # warm up: traces, allocations, thread pools
            for text in texts[:20]:
                call([text])
            call(texts[:batch_size])
        agreement = float(np.abs(ours(texts[:batch_size]) - peer(texts[:batch_size])).max())
        # Five turns each, not one per call: torch's threads still spin when TF's call starts, which
        # measured both sides slower and TF more so.
        calls = {"ours": ours, "peer": peer}
        latency = seconds_in_turns(calls, [[text] for text in texts], turns=5)
        ours_ms, peer_ms = np.asarray(latency["ours"]) * 1000.0, np.asarray(latency["peer"]) * 1000.0
        batched = seconds_in_turns(calls, [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)],
                                   turns=5)
        ours_rate, peer_rate = len(texts) / sum(batched["ours"]), len(texts) / sum(batched["peer"])
    settings = {"checkpoint": os.path.basename(os.path.normpath(checkpoint)), "texts": len(texts),
                "max_seq_length": max_seq_length, "torch_threads": torch.get_num_threads(),
                "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or "default",
                "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads() or "default"}
    notes = f"largest probability difference {agreement:.1e}"
    return [
        BenchmarkRow("serving latency p50 (batch 1)", "ms", float(np.percentile(ours_ms, 50)),
                     float(np.percentile(peer_ms, 50)), "HF tokenizer + BertForSequenceClassification (torch)",
                     settings, notes, lower_is_better=True),
        BenchmarkRow("serving latency p99 (batch 1)", "ms", float(np.percentile(ours_ms, 99)),
                     float(np.percentile(peer_ms, 99)), "HF tokenizer + BertForSequenceClassification (torch)",
                     settings, notes, lower_is_better=True),
        BenchmarkRow(f"serving throughput (batch {batch_size})", "texts/s", ours_rate, peer_rate,
                     "HF tokenizer + BertForSequenceClassification (torch)", settings, notes),
    ]
