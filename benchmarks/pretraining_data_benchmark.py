"""create_pretraining_data throughput against google-research/bert's original, on the same text."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

from benchmarks.report import BenchmarkRow
from keras_bert_zoo.data.create_pretraining_data import create_pretraining_data
from keras_bert_zoo.data.pretraining_corpus import wikitext_to_sentence_lines
from keras_bert_zoo.data.pretraining_records import read_pretraining_records
from keras_bert_zoo.text import BertTokenizer

PEER_NAME = "google-research/bert create_pretraining_data.py (bert-tensorflow 1.0.4)"

# The original runs in its own process (its absl flags clash with ours). Like ours, it is
# timed from a built tokenizer (TensorFlow imported) to the records written.
_ORIGINAL = textwrap.dedent("""
    import json, random, sys, time
    from absl import flags
    from bert import create_pretraining_data as original, tokenization
    flags.FLAGS(sys.argv[:1])  # Its tokenizer reads a flag: the defaults.
    options = json.loads(sys.argv[1])
    tokenizer = tokenization.FullTokenizer(options["vocab_file"], options["do_lower_case"])
    start = time.perf_counter()
    instances = original.create_training_instances(
        [options["input_file"]], tokenizer, options["max_seq_length"], options["dupe_factor"],
        options["short_seq_prob"], options["masked_lm_prob"], options["max_predictions_per_seq"],
        random.Random(options["random_seed"]))
    original.write_instance_to_example_files(
        instances, tokenizer, options["max_seq_length"], options["max_predictions_per_seq"], [options["output_file"]])
    print(json.dumps({"instances": len(instances), "seconds": time.perf_counter() - start}))
""")


def benchmark_create_pretraining_data(input_file, vocab_file, do_lower_case=True, wikitext=False,
                                      max_seq_length=128, max_predictions_per_seq=20, masked_lm_prob=0.15,
                                      short_seq_prob=0.1, dupe_factor=10, random_seed=12345):
    """Times our create_pretraining_data against the original on the same input, in one run.

    Both are timed from a ready tokenizer to the last record written (start-up,
    i.e. imports and loading the vocab, excluded). The notes compare the
    instances both wrote.

    Args:
        input_file: Text, one sentence per line and a blank line between
            documents (or WikiText raw text, with `wikitext`).
        vocab_file: WordPiece vocab.
        do_lower_case: Whether the vocab is uncased.
        wikitext: Convert `input_file` from WikiText raw text first.
        max_seq_length: T.
        max_predictions_per_seq: P.
        masked_lm_prob: Fraction of tokens to predict.
        short_seq_prob: How often a document aims at a shorter random length.
        dupe_factor: Rounds over the input.
        random_seed: Seed of both.

    Returns:
        One `BenchmarkRow` (instances/s).
    """
    options = {"vocab_file": vocab_file, "do_lower_case": do_lower_case, "max_seq_length": max_seq_length,
               "max_predictions_per_seq": max_predictions_per_seq, "masked_lm_prob": masked_lm_prob,
               "short_seq_prob": short_seq_prob, "dupe_factor": dupe_factor, "random_seed": random_seed}
    input_name = os.path.basename(input_file) + (" (WikiText, one sentence per line)" if wikitext else "")
    with tempfile.TemporaryDirectory() as work_dir:
        if wikitext:
            with open(input_file, encoding="utf-8") as f:
                text = wikitext_to_sentence_lines(f.read())
            input_file = os.path.join(work_dir, "sentences.txt")
            with open(input_file, "w", encoding="utf-8") as f:
                f.write(text)
        ours_file = os.path.join(work_dir, "ours.tfrecord")
        tokenizer = BertTokenizer(vocab_file, lower_case=do_lower_case)
        tokenizer.tokenize(["Loads the tokenizer's ops (ASCII and Unicode paths) before the clock starts — ok."])
        start = time.perf_counter()
        ours_count = create_pretraining_data(
            input_file, [ours_file], tokenizer, max_seq_length=max_seq_length,
            max_predictions_per_seq=max_predictions_per_seq, masked_lm_prob=masked_lm_prob,
            short_seq_prob=short_seq_prob, dupe_factor=dupe_factor, random_seed=random_seed, log=lambda line: None)
        ours_seconds = time.perf_counter() - start

        original_file = os.path.join(work_dir, "original.tfrecord")
        original_options = {**options, "input_file": input_file, "output_file": original_file}
        result = subprocess.run([sys.executable, "-c", _ORIGINAL, json.dumps(original_options)],
                                capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"The original create_pretraining_data failed:\n{result.stderr[-3000:]}")
        original = json.loads(result.stdout.strip().splitlines()[-1])
        statistics = {name: _statistics(path, max_seq_length, max_predictions_per_seq)
                      for name, path in (("ours", ours_file), ("original", original_file))}

    settings = {"input": input_name, "max_seq_length": max_seq_length,
                "max_predictions_per_seq": max_predictions_per_seq, "dupe_factor": dupe_factor,
                "lower_case": do_lower_case, "cores": os.cpu_count()}
    notes = "; ".join(
        f"{label}: ours {statistics['ours'][key]:{spec}}, original {statistics['original'][key]:{spec}}"
        for label, key, spec in (("instances", "instances", ",d"), ("tokens/instance", "tokens", ".1f"),
                                 ("predictions/instance", "predictions", ".2f"),
                                 ("random next", "random_next", ".1%")))
    return [BenchmarkRow(
        name="create_pretraining_data", unit="instances/s", ours=ours_count / ours_seconds,
        peer=original["instances"] / original["seconds"], peer_name=PEER_NAME, settings=settings,
        notes=f"{notes}; seconds: ours {ours_seconds:.1f}, original {original['seconds']:.1f}")]


def _statistics(path, max_seq_length, max_predictions_per_seq):
    """Instance count and means of tokens, predictions and random-next labels in a records file."""
    totals = np.zeros(4)
    dataset = read_pretraining_records(path, max_seq_length, max_predictions_per_seq, shuffle=False)
    for batch in dataset.batch(8192):
        totals += [len(batch["input_mask"]), batch["input_mask"].numpy().sum(),
                   batch["masked_lm_weights"].numpy().sum(), batch["next_sentence_labels"].numpy().sum()]
    count = int(totals[0])
    return {"instances": count, "tokens": totals[1] / count, "predictions": totals[2] / count,
            "random_next": totals[3] / count}
