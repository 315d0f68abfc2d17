"""Accuracy and served speed of fine-tuned models, their distilled students and int8 exports."""

import collections
import contextlib
import itertools
import os
import re
import shutil
import tempfile

import numpy as np

from benchmarks.finetuning_quality import sst2_full_sentence_split
from benchmarks.report import BenchmarkRow
from benchmarks.serving_benchmark import (LOADERS, hf_classifier_call, reported_seconds_in_turns,
                                                           wall_timed)
from keras_bert_zoo.export import export_saved_model, quantize_model, use_int8_kernel
from keras_bert_zoo.files import write_text_atomic
from keras_bert_zoo.metrics import ner_metrics
from keras_bert_zoo.models import BertClassifier, BertTokenClassifier
from keras_bert_zoo.text import BertTokenizer

# Each model is served four ways: float32 and Keras's portable int8 by a server with TensorFlow's default
# settings (oneDNN off on this AMD CPU), and both again by one with TF_ENABLE_ONEDNN_OPTS=1, where the
# int8 export multiplies with oneDNN's u8 x s8 kernel. Side: (export, oneDNN on in the server).
SERVED = {"float32": ("float32", False), "int8": ("int8", False), "float32 oneDNN": ("float32", True),
          "int8 oneDNN": ("int8 onednn", True)}


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


def _conll_text(sentences, tags):
    return "".join("".join(f"{word} {tag}\n" for word, tag in zip(words, word_tags)) + "\n"
                   for words, word_tags in zip(sentences, tags))


def write_ner_compression_data(sentences, tags, eval_sentences, eval_tags, directory, max_train, num_heldout,
                               max_unlabeled):
    """Writes the NER teacher's and students' data: CoNLL sentences, held-out sentences and unlabeled text.

    Args:
        sentences: Training sentences (lists of words), e.g. CoNLL-2003 train's.
        tags: Their tags.
        eval_sentences: Held-out sentences, e.g. CoNLL-2003 dev's.
        eval_tags: Their tags.
        directory: Where train.txt, eval.txt (CoNLL: word and tag per line) and unlabeled.txt go.
        max_train: Labelled training sentences: the first ones.
        num_heldout: Held-out sentences kept: the first ones.
        max_unlabeled: Sentences after the labelled ones whose tags are dropped: the students'
            unlabeled text, one sentence per line, words joined by spaces.

    Returns:
        (train path, eval path, unlabeled path, held-out sentences, held-out tags).

    Raises:
        ValueError: No training sentence is left for the unlabeled text, or no held-out sentence.
    """
    unlabeled = sentences[max_train:max_train + max_unlabeled]
    if not unlabeled or not eval_sentences[:num_heldout]:
        raise ValueError(f"{len(sentences)} training and {len(eval_sentences)} held-out sentences leave nothing "
                         f"unlabeled after {max_train} labelled ones, or nothing held out.")
    eval_sentences, eval_tags = eval_sentences[:num_heldout], eval_tags[:num_heldout]
    paths = [os.path.join(directory, name) for name in ("train.txt", "eval.txt", "unlabeled.txt")]
    write_text_atomic(paths[0], _conll_text(sentences[:max_train], tags[:max_train]))
    write_text_atomic(paths[1], _conll_text(eval_sentences, eval_tags))
    write_text_atomic(paths[2], "".join(" ".join(words) + "\n" for words in unlabeled))
    return (*paths, eval_sentences, eval_tags)


def int8_matmul_rows(rows=2048, depth=384, columns=1536, repeats=10):
    """TensorFlow's int8 matmuls against its float32 matmul, in this process.

    The int8 x int8 -> int32 `BatchMatMulV3` is what the portable int8
    export's Dense layers run; `onednn_int8_matmul` (activations quantized
    per call, bias and scales applied) what the oneDNN one runs, timed only
    when this process has oneDNN on (and then the float32 matmul is
    oneDNN's too). The shape is MiniLM's intermediate Dense layer on 32 texts
    of 64 tokens.
    """
    import tensorflow as tf

    from benchmarks.alternating_timing import alternating_seconds
    from keras_bert_zoo.kernels.onednn_int8 import onednn_enabled, onednn_int8_constants, onednn_int8_matmul

    generator = np.random.default_rng(0)
    int8 = [tf.constant(generator.integers(-127, 128, shape).astype(np.int8)) for shape in ((rows, depth),
                                                                                          (depth, columns))]
    floats = [tf.cast(x, tf.float32) for x in int8]
    matmuls = {"float32": (tf.function(tf.matmul), floats),
               "int8 x int8 -> int32 (BatchMatMulV3)": (
                   tf.function(lambda a, b: tf.matmul(a, b, output_type=tf.int32)), int8)}
    if onednn_enabled():
        constants = onednn_int8_constants(int8[1], np.ones(columns, np.float32), np.zeros(columns, np.float32))
        matmuls["oneDNN u8 x s8 with quantized float inputs (QuantizedMatMulWithBiasAndDequantize)"] = (
            tf.function(lambda a, b: onednn_int8_matmul(a, b, constants)), [floats[0], int8[1]])
    runs = {name: lambda matmul=matmul, inputs=inputs: matmul(*inputs).numpy()
            for name, (matmul, inputs) in matmuls.items()}
    for run in runs.values():
        run()
    seconds = {name: min(times) for name, times in alternating_seconds(runs, repeats).items()}
    settings = {"shape": f"[{rows},{depth}]x[{depth},{columns}]", "onednn": onednn_enabled()}
    return [BenchmarkRow(f"compression, TF matmul {name}", "ms", 1e3 * seconds[name], 1e3 * seconds["float32"],
                         "TF float32 matmul", settings, "what the int8 exports' Dense layers run",
                         lower_is_better=True) for name in list(runs)[1:]]


def _conll_word_tags(outputs, sentences):
    """Each given word's tag from the NER signature: the tag of the served word that starts where it starts.

    The signature splits words further at punctuation ("U.S." is four words); a
    given word takes the tag of its first, as the model is trained. A word no
    served word starts at (all its characters dropped) gets "O".
    """
    rows = []
    for words, tags, starts in zip(sentences, outputs["tags"], outputs["word_start"]):
        tag_at = {int(start): tag.decode() if isinstance(tag, bytes) else str(tag)
                  for start, tag in zip(starts, tags) if start >= 0}
        offsets = itertools.accumulate((len(word.encode()) + 1 for word in words[:-1]), initial=0)
        rows.append([tag_at.get(offset, "O") for offset in offsets])
    return rows


def _hf_tagger_call(hf_tokenizer, hf_model, max_seq_length):
    """HF tokenizer + BertForTokenClassification (torch) on a batch of word lists, returning (tags, seconds).

    Seconds cover tokenization and the model, not picking each word's first
    piece in Python; words cut off by truncation get "O".
    """
    import torch

    names = [hf_model.config.id2label[i] for i in range(hf_model.config.num_labels)]

    @wall_timed
    def encoded_tag_ids(batch):
        with torch.no_grad():
            encoded = hf_tokenizer(batch, is_split_into_words=True, truncation=True, max_length=max_seq_length,
                                   padding=True, return_tensors="pt")
            return encoded, hf_model(**encoded).logits.argmax(-1).numpy()

    def tags(batch):
        (encoded, tag_ids), seconds = encoded_tag_ids(batch)
        rows = []
        for row, words in enumerate(batch):
            first_piece = {}
            for position, word in enumerate(encoded.word_ids(row)):
                if word is not None:
                    first_piece.setdefault(word, position)
            rows.append([names[tag_ids[row, first_piece[word]]] if word in first_piece else "O"
                         for word in range(len(words))])
        return rows, seconds

    return tags


def _hf_label_call(hf_tokenizer, hf_model, max_seq_length):
    """`hf_classifier_call`, returning (label ids, seconds)."""
    call = hf_classifier_call(hf_tokenizer, hf_model, max_seq_length)

    def labels(batch):
        probabilities, seconds = call(batch)
        return np.argmax(probabilities, -1), seconds

    return labels


def _accuracy(predictions, labels):
    return 100.0 * float(np.mean(np.concatenate(predictions) == np.asarray(labels)))


def _entity_f1(predictions, tags):
    return 100.0 * ner_metrics(list(tags), [row for batch in predictions for row in batch])["f1"]


# What differs between tasks: the model class, what a served batch is made of and returns, the peer, the metric.
_Task = collections.namedtuple("_Task", ["model_class", "hf_class", "texts", "predictions", "hf_call", "score",
                                         "metric"])
_TASKS = {
    "classifier": _Task(BertClassifier, "BertForSequenceClassification", lambda batch: batch,
                        lambda outputs, batch: np.argmax(outputs["probabilities"], -1), _hf_label_call, _accuracy,
                        "held-out accuracy"),
    "ner": _Task(BertTokenClassifier, "BertForTokenClassification",
                 lambda batch: [" ".join(words) for words in batch], lambda outputs, batch: _conll_word_tags(
                     outputs, batch), _hf_tagger_call, _entity_f1, "held-out entity F1"),
}
TASKS = tuple(_TASKS)


def _torch_peers(task, model_dir, scratch, max_seq_length):
    """HF tokenizer + the task's HF model of `model_dir`, float32 and `quantize_dynamic` int8.

    Returns:
        Dict of "torch <precision>": callable of a batch returning (predictions, wall-clock seconds).
    """
    import torch
    import transformers

    hf_dir = os.path.join(scratch, "hf")
    task.model_class.from_pretrained(model_dir).save_pretrained(hf_dir,
                                                                tokenizer=BertTokenizer.from_pretrained(model_dir))
    tokenizer = transformers.BertTokenizerFast.from_pretrained(hf_dir)
    hf_class = getattr(transformers, task.hf_class)
    float_model = hf_class.from_pretrained(hf_dir).eval()
    # PyTorch's recipe for BERT on CPU: Linear weights int8, activations quantized per call.
    int8_model = torch.ao.quantization.quantize_dynamic(hf_class.from_pretrained(hf_dir).eval(), {torch.nn.Linear},
                                                        dtype=torch.qint8)
    return {"torch float32": task.hf_call(tokenizer, float_model, max_seq_length),
            "torch int8": task.hf_call(tokenizer, int8_model, max_seq_length)}


def _served_models(task, model_dirs, scratch, stack, max_seq_length):
    """Exports every model float32, int8 and int8 with the oneDNN kernel, served as `SERVED` says.

    The servers are TensorFlow's C++ loader (`LoadSavedModel` + `Session::Run`, as TF Serving runs
    it); they close with `stack`.

    Returns:
        (dict of "<name> <side>": callable of a batch returning (predictions, seconds),
        dict of name: encoder layers).
    """
    calls, layers = {}, {}
    for name, model_dir in model_dirs.items():
        tokenizer = BertTokenizer.from_pretrained(model_dir)
        model = task.model_class.from_pretrained(model_dir, require_head=True)
        layers[name] = model.encoder.config.num_layers
        paths = {}
        # float32 first: int8 quantizes the model in place; the oneDNN kernel then changes only the graph.
        for export, prepare in (("float32", lambda: model), ("int8", lambda: quantize_model(model, "int8")),
                                ("int8 onednn", lambda: use_int8_kernel(model, "onednn"))):
            paths[export] = export_saved_model(prepare(), tokenizer, os.path.join(scratch, name, export),
                                               max_seq_length=max_seq_length)
        for side, (export, onednn) in SERVED.items():
            served = stack.enter_context(LOADERS["cc"](paths[export], onednn=onednn))

            def predictions(batch, served=served):
                outputs, seconds = served(task.texts(batch))
                return task.predictions(outputs, batch), seconds

            calls[f"{name} {side}"] = predictions
    return calls, layers


def benchmark_compression(task, seed_model_dirs, eval_inputs, eval_targets, max_seq_length=128, batch_size=32,
                          latency_texts=200, turns=5):
    """Held-out quality, batch-1 latency and batch throughput of fine-tuned models served float32 and int8.

    Every model (the teacher first, then its students) is exported from its
    tool `--model_dir` as float32, int8 (`quantize_model`) and int8 with the
    oneDNN kernel, and served by TensorFlow's C++ loader four ways (`SERVED`),
    next to PyTorch's `quantize_dynamic` of the teacher (its HF model) against
    its float32. Quality is that of every seed's models, served, over all
    `eval_inputs`; speed is the first seed's, all sides taking turns through
    the same texts so that drift on a shared machine reaches each alike. This
    process needs TF_ENABLE_ONEDNN_OPTS=1 (to export the oneDNN kernel).

    Args:
        task: "classifier" (inputs: texts; targets: label ids; accuracy) or
            "ner" (inputs: lists of words, served joined by spaces; targets:
            their tags; entity F1).
        seed_model_dirs: Dict of seed: dict of name: fine-tuned model directory, the teacher first,
            with the same names for every seed.
        eval_inputs: Held-out inputs.
        eval_targets: Their labels.
        max_seq_length: Tokens per text, on every side.
        batch_size: Inputs per call in the throughput rows.
        latency_texts: How many of `eval_inputs` the batch-1 latency runs over.
        turns: Turns each side takes through the inputs.

    Returns:
        `BenchmarkRow`s: per model and side, quality (mean over seeds), p50
        latency and throughput against the teacher's float32 export on the
        default server; torch int8 against torch float32; TensorFlow's int8
        matmul against float32.
    """
    spec = _TASKS[task]
    seeds = list(seed_model_dirs)
    names = list(seed_model_dirs[seeds[0]])
    batches = [eval_inputs[i:i + batch_size] for i in range(0, len(eval_inputs), batch_size)]
    singles = [[text] for text in eval_inputs[:latency_texts]]
    quality = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            with contextlib.ExitStack() as stack:
                calls, layers = _served_models(spec, seed_model_dirs[seed], scratch, stack, max_seq_length)
                calls.update(_torch_peers(spec, seed_model_dirs[seed][names[0]], scratch, max_seq_length))
                for name, call in calls.items():
                    quality[name].append(spec.score([call(batch)[0] for batch in batches], eval_targets))
                print(f"compression {task}, seed {seed}: " + ", ".join(
                    f"{name} {values[-1]:.2f}" for name, values in quality.items()), flush=True)
                if seed == seeds[0]:
                    for call in calls.values():  # Warm up: traces, allocations, thread pools.
                        for batch in singles[:10] + batches[:1]:
                            call(batch)
                    throughput = reported_seconds_in_turns(calls, batches, turns)
                    latency = reported_seconds_in_turns(calls, singles, turns)
            for name in os.listdir(scratch):  # Each seed's exports are done with.
                shutil.rmtree(os.path.join(scratch, name))
    mean = {name: float(np.mean(values)) for name, values in quality.items()}
    rate = {name: len(eval_inputs) / sum(seconds) for name, seconds in throughput.items()}
    p50 = {name: 1e3 * float(np.percentile(seconds, 50)) for name, seconds in latency.items()}

    def over_seeds(name):
        values = quality[name]
        return f"{np.mean(values):.2f} ± {np.std(values):.2f} ({', '.join(f'{v:.2f}' for v in values)})"

    rows = []
    base = f"{names[0]} float32"
    peer = f"{base} export"
    for name in names:
        for side, (export, onednn) in SERVED.items():
            served = f"{name} {side}"
            settings = {"model": name, "layers": layers[name], "export": export, "server_onednn": onednn,
                        "serving_loader": "cc", "texts": len(eval_inputs), "max_seq_length": max_seq_length}
            # The oneDNN int8 kernel's gain is against float32 on the same (oneDNN) server.
            same_server = (f"; {rate[served] / rate[f'{name} float32 oneDNN']:.2f}x the throughput of its float32 "
                           "on the same oneDNN server" if side == "int8 oneDNN" else "")
            rows += [
                BenchmarkRow(f"compression {task}, {served}, {spec.metric}", "%", mean[served], mean[base], peer,
                             dict(settings, seeds=",".join(map(str, seeds))),
                             f"{mean[served] - mean[base]:+.2f} points; seeds {over_seeds(served)} vs "
                             f"{over_seeds(base)}"),
                BenchmarkRow(f"compression {task}, {served}, latency p50 (batch 1)", "ms", p50[served], p50[base],
                             peer, dict(settings, texts=len(singles)), "", lower_is_better=True),
                BenchmarkRow(f"compression {task}, {served}, throughput (batch {batch_size})", "texts/s",
                             rate[served], rate[base], peer, settings, same_server.lstrip("; ")),
            ]
    gains = {side: rate[f"{names[0]} {side}"] / rate[f"{names[0]} float32{onednn}"]
             for side, onednn in (("int8", ""), ("int8 oneDNN", " oneDNN"))}
    torch_gain = rate["torch int8"] / rate["torch float32"]
    rows.append(BenchmarkRow(
        f"compression {task}, torch quantize_dynamic int8, throughput (batch {batch_size})", "texts/s",
        rate["torch int8"], rate["torch float32"], f"HF {spec.hf_class} float32 (torch)",
        {"model": names[0], "texts": len(eval_inputs), "max_seq_length": max_seq_length},
        f"{spec.metric} {over_seeds('torch int8')} vs {over_seeds('torch float32')}; ours int8/float32 "
        + ", ".join(f"{side} {gain:.2f}x" for side, gain in gains.items())
        + f" vs torch's {torch_gain:.2f}x (ratios of ratios "
        + ", ".join(f"{gain / torch_gain:.2f}" for gain in gains.values()) + ")"))
    return rows + int8_matmul_rows()
