"""Accuracy and served speed of fine-tuned classifiers, their distilled students and int8 exports."""

import contextlib
import itertools
import os
import re
import tempfile

import numpy as np

from keras_bert_zoo.benchmarks.finetuning_quality import sst2_full_sentence_split
from keras_bert_zoo.benchmarks.report import BenchmarkRow
from keras_bert_zoo.benchmarks.serving_benchmark import LOADERS, hf_classifier_call, reported_seconds_in_turns
from keras_bert_zoo.export import export_saved_model, quantize_model
from keras_bert_zoo.files import write_text_atomic
from keras_bert_zoo.models import BertClassifier
from keras_bert_zoo.text import BertTokenizer

PRECISIONS = ("float32", "int8")


def _letters_and_digits(text):
    """A sentence's letters and digits, lower-cased: SST-2 and rt-polarity space and quote differently."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def write_compression_data(texts, labels, directory, max_train, num_heldout, unlabeled_files, max_unlabeled):
    """Writes the teacher's and students' data: SST-2 rows, held-out full sentences and unlabeled text.

    Args:
        texts: SST-2 train's sentences.
        labels: Their labels.
        directory: Where train.tsv, eval.tsv (sentence, label) and unlabeled.txt go.
        max_train: Training rows kept (the first, as the fine-tuning benchmark does).
        num_heldout: Full sentences held out (`sst2_full_sentence_split`, seed 0).
        unlabeled_files: Files of one sentence per line (rt-polarity's, Latin-1); those that are a
            held-out sentence are left out, since SST-2's sentences come from the same reviews.
        max_unlabeled: Unlabeled sentences kept.

    Returns:
        (train path, eval path, unlabeled path, held-out texts, held-out labels).
    """
    train_texts, train_labels, eval_texts, eval_labels = sst2_full_sentence_split(texts, labels, num_heldout)
    heldout = {_letters_and_digits(text) for text in eval_texts}
    per_file = []
    for path in unlabeled_files:
        with open(path, encoding="latin-1") as f:
            per_file.append([line.strip() for line in f
                             if line.strip() and _letters_and_digits(line) not in heldout])
    paths = [os.path.join(directory, name) for name in ("train.tsv", "eval.tsv", "unlabeled.txt")]
    for path, rows in ((paths[0], zip(train_texts[:max_train], train_labels[:max_train])),
                       (paths[1], zip(eval_texts, eval_labels))):
        write_text_atomic(path, "sentence\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows))
    # Interleaved, so a prefix holds every file's sentences (rt-polarity: both polarities).
    mixed = [text for line in itertools.zip_longest(*per_file) for text in line if text is not None]
    write_text_atomic(paths[2], "".join(text + "\n" for text in mixed[:max_unlabeled]))
    return (*paths, eval_texts, eval_labels)


def int8_matmul_row(rows=2048, depth=384, columns=1536, repeats=10):
    """TensorFlow's int8 x int8 -> int32 matmul (what the int8 export's Dense layers run) against float32.

    The shape is MiniLM's intermediate Dense layer on 32 texts of 64 tokens.
    """
    import tensorflow as tf

    from keras_bert_zoo.benchmarks.alternating_timing import alternating_seconds

    generator = np.random.default_rng(0)
    int8 = [tf.constant(generator.integers(-127, 128, shape).astype(np.int8)) for shape in ((rows, depth),
                                                                                          (depth, columns))]
    floats = [tf.cast(x, tf.float32) for x in int8]
    int8_matmul = tf.function(lambda a, b: tf.matmul(a, b, output_type=tf.int32))
    float_matmul = tf.function(tf.matmul)
    runs = {"int8": lambda: int8_matmul(*int8).numpy(), "float32": lambda: float_matmul(*floats).numpy()}
    for run in runs.values():
        run()
    seconds = {name: min(times) for name, times in alternating_seconds(runs, repeats).items()}
    return BenchmarkRow("compression, TF matmul int8 x int8 -> int32 (BatchMatMulV3)", "ms", 1e3 * seconds["int8"],
                        1e3 * seconds["float32"], "TF float32 matmul", {"shape": f"[{rows},{depth}]x[{depth},{columns}]"},
                        "the kernel every int8 Dense layer of the export runs", lower_is_better=True)


def _accuracy(probabilities, labels):
    return 100.0 * float(np.mean(np.argmax(np.concatenate(probabilities), -1) == labels))


def _torch_peers(model_dir, scratch, max_seq_length):
    """HF tokenizer + BertForSequenceClassification of `model_dir`, float32 and `quantize_dynamic` int8.

    Returns:
        Dict of precision: callable of a batch of texts returning (probabilities, wall-clock seconds).
    """
    import torch
    import transformers

    hf_dir = os.path.join(scratch, "hf")
    BertClassifier.from_pretrained(model_dir).save_pretrained(hf_dir, tokenizer=BertTokenizer.from_pretrained(model_dir))
    tokenizer = transformers.BertTokenizerFast.from_pretrained(hf_dir)
    float_model = transformers.BertForSequenceClassification.from_pretrained(hf_dir).eval()
    # PyTorch's recipe for BERT on CPU: Linear weights int8, activations quantized per call.
    int8_model = torch.ao.quantization.quantize_dynamic(
        transformers.BertForSequenceClassification.from_pretrained(hf_dir).eval(), {torch.nn.Linear},
        dtype=torch.qint8)
    return {"float32": hf_classifier_call(tokenizer, float_model, max_seq_length),
            "int8": hf_classifier_call(tokenizer, int8_model, max_seq_length)}


def benchmark_compression(model_dirs, eval_texts, eval_labels, max_seq_length=128, batch_size=32,
                          latency_texts=200, turns=5, loader="cc"):
    """Held-out accuracy, batch-1 latency and batch throughput of classifiers served float32 and int8.

    Every model (the teacher first, then its students) is exported from its
    tool `--model_dir` twice, float32 and int8 (`quantize_model`), and served
    by `loader` ("cc": TensorFlow's C++ loader, as TF Serving runs it). All
    exports take turns through the same texts, so drift on a shared machine
    reaches each alike; accuracy comes from the batched pass over all
    `eval_texts`. PyTorch's `quantize_dynamic` of the teacher (HF
    `BertForSequenceClassification`) against its float32 is measured the same
    way, for the ratio of ratios.

    Args:
        model_dirs: Dict of name: fine-tuned classifier directory; the first is the teacher.
        eval_texts: Held-out texts.
        eval_labels: Their label ids.
        max_seq_length: Tokens per text, on every side.
        batch_size: Texts per call in the throughput rows.
        latency_texts: How many of `eval_texts` the batch-1 latency runs over.
        turns: Turns each side takes through the texts.
        loader: A key of `serving_benchmark.LOADERS`.

    Returns:
        `BenchmarkRow`s: per model and precision, accuracy, p50 latency and
        throughput against the teacher's float32 export; then torch int8
        against torch float32.
    """
    eval_labels = np.asarray(eval_labels)
    teacher = next(iter(model_dirs))
    batches = [eval_texts[i:i + batch_size] for i in range(0, len(eval_texts), batch_size)]
    singles = [[text] for text in eval_texts[:latency_texts]]
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        calls, layers = {}, {}
        for name, model_dir in model_dirs.items():
            tokenizer = BertTokenizer.from_pretrained(model_dir)
            model = BertClassifier.from_pretrained(model_dir, require_head=True)
            layers[name] = model.encoder.config.num_layers
            for precision in PRECISIONS:  # float32 first: int8 quantizes the model in place.
                path = export_saved_model(quantize_model(model, "int8" if precision == "int8" else "none"),
                                          tokenizer, os.path.join(scratch, name, precision),
                                          max_seq_length=max_seq_length)
                calls[f"{name} {precision}"] = stack.enter_context(LOADERS[loader](path))
        torch_calls = _torch_peers(model_dirs[teacher], scratch, max_seq_length)
        calls.update({f"torch {precision}": call for precision, call in torch_calls.items()})
        for call in calls.values():  # Warm up: traces, allocations, thread pools.
            for batch in singles[:10] + batches[:1]:
                call(batch)
        probabilities = {name: [call(batch)[0] for batch in batches] for name, call in calls.items()}
        throughput = reported_seconds_in_turns(calls, batches, turns)
        latency = reported_seconds_in_turns(calls, singles, turns)
    accuracy = {name: _accuracy(p, eval_labels) for name, p in probabilities.items()}
    rate = {name: len(eval_texts) / sum(seconds) for name, seconds in throughput.items()}
    p50 = {name: 1e3 * float(np.percentile(seconds, 50)) for name, seconds in latency.items()}
    rows = []
    base = f"{teacher} float32"
    for name in model_dirs:
        for precision in PRECISIONS:
            side = f"{name} {precision}"
            settings = {"model": name, "layers": layers[name], "precision": precision, "serving_loader": loader,
                        "texts": len(eval_texts), "max_seq_length": max_seq_length}
            peer = f"{base} export"
            rows += [
                BenchmarkRow(f"compression, {side}, held-out accuracy", "%", accuracy[side], accuracy[base], peer,
                             settings, f"{accuracy[side] - accuracy[base]:+.2f} points"),
                BenchmarkRow(f"compression, {side}, latency p50 (batch 1)", "ms", p50[side], p50[base], peer,
                             dict(settings, texts=len(singles)), "", lower_is_better=True),
                BenchmarkRow(f"compression, {side}, throughput (batch {batch_size})", "texts/s", rate[side],
                             rate[base], peer, settings, ""),
            ]
    ours_gain = rate[f"{teacher} int8"] / rate[base]
    torch_gain = rate["torch int8"] / rate["torch float32"]
    rows.append(BenchmarkRow(
        f"compression, torch quantize_dynamic int8, throughput (batch {batch_size})", "texts/s", rate["torch int8"],
        rate["torch float32"], "HF BertForSequenceClassification float32 (torch)",
        {"model": teacher, "texts": len(eval_texts), "max_seq_length": max_seq_length},
        f"accuracy {accuracy['torch int8']:.2f} vs {accuracy['torch float32']:.2f}; ours int8/float32 "
        f"{ours_gain:.2f}x vs torch's {torch_gain:.2f}x (ratio of ratios {ours_gain / torch_gain:.2f})"))
    rows.append(int8_matmul_row())
    return rows
