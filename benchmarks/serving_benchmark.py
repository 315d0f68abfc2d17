"""Raw-text serving latency and throughput of an exported classifier against HF transformers (torch)."""

import concurrent.futures
import contextlib
import os
import tempfile
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks.alternating_timing import seconds_in_turns
from benchmarks.report import BenchmarkRow
from keras_bert_zoo.export import BatchingParameters, export_saved_model, quantize_model
from keras_bert_zoo.export.cc_saved_model_session import CcSavedModelSession
from keras_bert_zoo.kernels.onednn_int8 import ONEDNN_ENV
from keras_bert_zoo.models import BertClassifier
from keras_bert_zoo.text import BertTokenizer

PEER_NAME = "HF tokenizer + BertForSequenceClassification (torch)"


def wall_timed(call):
    """`call` of one batch, made to return (its result, the wall-clock seconds it took).

    Args:
        call: A callable of one batch.
    """

    def timed(batch):
        start = time.perf_counter()
        result = call(batch)
        return result, time.perf_counter() - start

    return timed


@contextlib.contextmanager
def _python_loader(path):
    """serving_default through `tf.saved_model.load`, on this process's TensorFlow thread pools.

    Args:
        path: The exported SavedModel.

    Yields:
        A callable of a batch of texts returning (the signature's outputs as NumPy arrays, wall-clock
        seconds of the call).
    """
    serving = tf.saved_model.load(path).signatures["serving_default"]
    yield wall_timed(lambda batch: {name: output.numpy() for name, output in serving(text=tf.constant(batch)).items()})


@contextlib.contextmanager
def _cc_loader(path, onednn=None):
    """serving_default through TensorFlow's C++ LoadSavedModel + Session::Run, as TF Serving runs it.

    The session gets this process's TensorFlow thread settings as its SessionOptions, and each call
    counts the Session::Run seconds alone: what the server spends on a Predict, minus the RPC.

    Args:
        path: The exported SavedModel.
        onednn: True runs the C++ process with TF_ENABLE_ONEDNN_OPTS=1, as a server of an
            `int8_kernel="onednn"` export must run; False with 0; None leaves it this process's
            environment.

    Yields:
        A callable of a batch of texts returning (the signature's outputs, Session::Run seconds).
    """
    with CcSavedModelSession(path, intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
                             inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
                             env=None if onednn is None else {ONEDNN_ENV: str(int(onednn))}) as session:
        yield lambda batch: session.run("serving_default", {"text": np.array(batch, dtype=object)})


LOADERS = {"python": _python_loader, "cc": _cc_loader}


def export_benchmark_classifier(checkpoint, directory, max_seq_length, quantize="none", in_graph_batching=None,
                                int8_kernel="portable"):
    """The checkpoint as a two-class sentiment classifier, saved for HF and exported for TF Serving.

    The head is fresh (seeded by the caller, if at all): speed does not depend on its weights, and
    both sides read the same ones.

    Args:
        checkpoint: A BERT checkpoint directory.
        directory: Where "hf" (save_pretrained, float32) and "saved/classifier" (the export) go.
        max_seq_length: The export's longest packed sequence.
        quantize: "int8" exports the classifier quantized (`quantize_model`).
        in_graph_batching: `BatchingParameters` for the export, or None.
        int8_kernel: The int8 export's matmul (`quantize_model`); "onednn" needs oneDNN on here.

    Returns:
        (the HF directory, the export's version directory).
    """
    model = BertClassifier.from_pretrained(checkpoint, num_classes=2, label_names=["negative", "positive"])
    tokenizer = BertTokenizer.from_pretrained(checkpoint)
    hf_dir = os.path.join(directory, "hf")
    model.save_pretrained(hf_dir, tokenizer=tokenizer)
    # Saved before quantizing: the peer loads the float32 weights.
    path = export_saved_model(quantize_model(model, quantize, int8_kernel), tokenizer, os.path.join(directory, "saved", "classifier"),
                              max_seq_length=max_seq_length, in_graph_batching=in_graph_batching)
    return hf_dir, path


def hf_classifier_call(hf_tokenizer, hf_model, max_seq_length):
    """HF tokenizer + sequence classifier (torch) on a batch of texts, returning (probabilities, wall seconds).

    Args:
        hf_tokenizer: A transformers tokenizer.
        hf_model: A transformers `BertForSequenceClassification` (or its quantized copy), in eval mode.
        max_seq_length: Tokens per text at most.
    """
    import torch

    @wall_timed
    def probabilities(batch):
        with torch.no_grad():
            encoded = hf_tokenizer(batch, truncation=True, max_length=max_seq_length, padding=True,
                                   return_tensors="pt")
            return torch.softmax(hf_model(**encoded).logits, -1).numpy()

    return probabilities


def reported_seconds_in_turns(calls, batches, turns):
    """Like `seconds_in_turns`, for calls returning (result, seconds): the seconds each call reports.

    Args:
        calls: Name: callable of one batch returning (result, seconds).
        batches: The batches, as for `seconds_in_turns`.
        turns: Turns each call takes through them.

    Returns:
        Dict of name: list of the seconds reported for each batch.
    """
    reported = {name: [] for name in calls}
    seconds_in_turns({name: lambda batch, name=name, call=call: reported[name].append(call(batch)[1])
                      for name, call in calls.items()}, batches, turns)
    return reported


def benchmark_serving(checkpoint, texts, max_seq_length=128, batch_size=32, loader="python", quantize="none"):
    """Times the exported classifier's serving_default against tokenizer + BertForSequenceClassification.

    Both start from the same weights (the classifier is saved with
    save_pretrained and loaded by transformers), see the same sentences, and
    return class probabilities. Latency is one sentence per call, from raw
    text to probabilities. The two take turns through the texts, so drift
    on a shared machine reaches both alike.

    Args:
        checkpoint: A BERT checkpoint directory both sides start from.
        texts: The sentences, raw.
        max_seq_length: Tokens per sentence, on both sides.
        batch_size: Texts per call in the throughput row.
        loader: How the export is served. "python": `tf.saved_model.load` in this process, timed by
            the wall clock around each call. "cc": `CcSavedModelSession`, TensorFlow's C++ loader in a
            child process, timed by its Session::Run alone. Both use this process's TensorFlow thread
            settings (`tf.config.threading`, 0 for TensorFlow's default); "cc" passes them to the
            session's SessionOptions, as TF Serving's --tensorflow_intra_op_parallelism and
            --tensorflow_inter_op_parallelism do.
        quantize: "int8" exports the classifier quantized (`quantize_model`); the peer stays float32,
            so the notes' probability difference is what int8 changes.

    Returns:
        `BenchmarkRow`s: p50 and p99 latency (ms) at batch 1, and texts/s at `batch_size`.

    Raises:
        ValueError: If `loader` is not one of `LOADERS`, or `quantize` not one of `QUANTIZE_MODES`.
    """
    if loader not in LOADERS:
        raise ValueError(f"loader={loader!r}: must be one of {sorted(LOADERS)}.")
    import torch
    import transformers

    with tempfile.TemporaryDirectory() as scratch:
        hf_dir, path = export_benchmark_classifier(checkpoint, scratch, max_seq_length, quantize)
        peer = hf_classifier_call(transformers.BertTokenizerFast.from_pretrained(hf_dir),
                                  transformers.BertForSequenceClassification.from_pretrained(hf_dir).eval(),
                                  max_seq_length)

        with LOADERS[loader](path) as served:

            def ours(batch):
                outputs, seconds = served(batch)
                return outputs["probabilities"], seconds

            for call in (ours, peer):  # warm up: traces, allocations, thread pools
                for text in texts[:20]:
                    call([text])
                call(texts[:batch_size])
            agreement = float(np.abs(ours(texts[:batch_size])[0] - peer(texts[:batch_size])[0]).max())
            # Five turns each, not one per call: torch's threads still spin when TF's call starts, which
            # measured both sides slower and TF more so.
            calls = {"ours": ours, "peer": peer}
            latency = reported_seconds_in_turns(calls, [[text] for text in texts], turns=5)
            batched = reported_seconds_in_turns(
                calls, [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)], turns=5)
    ours_ms, peer_ms = np.asarray(latency["ours"]) * 1000.0, np.asarray(latency["peer"]) * 1000.0
    ours_rate, peer_rate = len(texts) / sum(batched["ours"]), len(texts) / sum(batched["peer"])
    settings = {"checkpoint": os.path.basename(os.path.normpath(checkpoint)), "serving_loader": loader,
                "quantize": quantize,
                "texts": len(texts), "max_seq_length": max_seq_length, "torch_threads": torch.get_num_threads(),
                "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or "default",
                "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads() or "default"}
    notes = f"largest probability difference {agreement:.1e}"
    return [
        BenchmarkRow("serving latency p50 (batch 1)", "ms", float(np.percentile(ours_ms, 50)),
                     float(np.percentile(peer_ms, 50)), PEER_NAME, settings, notes, lower_is_better=True),
        BenchmarkRow("serving latency p99 (batch 1)", "ms", float(np.percentile(ours_ms, 99)),
                     float(np.percentile(peer_ms, 99)), PEER_NAME, settings, notes, lower_is_better=True),
        BenchmarkRow(f"serving throughput (batch {batch_size})", "texts/s", ours_rate, peer_rate, PEER_NAME,
                     settings, notes),
    ]


def threaded_load(call, texts, clients, max_seconds):
    """`call` on each text alone from `clients` Python threads at once, as a Python server runs it.

    Args:
        call: A callable of a batch of texts (the peer's pipeline).
        texts: One request per text.
        clients: Threads.
        max_seconds: No request starts after this many seconds.

    Returns:
        (wall seconds, per-request seconds), as `CcSavedModelSession.load` returns them.
    """
    deadline = time.perf_counter() + max_seconds
    pending = iter(texts)
    lock = threading.Lock()
    latencies = []

    def client():
        while time.perf_counter() < deadline:
            with lock:
                text = next(pending, None)
            if text is None:
                return
            start = time.perf_counter()
            call([text])
            with lock:
                latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    return time.perf_counter() - start, np.asarray(latencies)


def benchmark_concurrent_serving(checkpoint, texts, max_seq_length=128, clients=16, max_seconds=60.0, rounds=3,
                                 batching=None):
    """Many single-text requests at once: texts/s and p99 latency, with and without in-graph batching.

    Both exports (`BatchingParameters` in the graph, and none) load in TensorFlow's C++ loader, and
    `clients` C++ threads call Session::Run on the one session each, a text per call, as TF Serving's
    RPC threads do (`CcSavedModelSession.load`); the peer is HF's tokenizer + classifier (torch)
    called from as many Python threads. The three take turns `rounds` times through `texts`, and
    each load stops after `max_seconds`.

    Args:
        checkpoint: A BERT checkpoint directory both sides start from.
        texts: The sentences, raw, one request each.
        max_seq_length: Tokens per sentence at most, on both sides.
        clients: Concurrent clients.
        max_seconds: Bound on each load's time.
        rounds: Turns each takes.
        batching: The in-graph `BatchingParameters`; default its defaults.

    Returns:
        `BenchmarkRow`s: texts/s and p99 ms for the unbatched export, then for the batched one.
    """
    import torch
    import transformers

    batching = batching or BatchingParameters()
    with tempfile.TemporaryDirectory() as scratch:
        paths = {}
        for name, parameters in (("unbatched", None), ("batched", batching)):
            # The same fresh head in both exports.
            keras.utils.set_random_seed(0)
            hf_dir, paths[name] = export_benchmark_classifier(checkpoint, os.path.join(scratch, name), max_seq_length,
                                                              in_graph_batching=parameters)
        peer = hf_classifier_call(transformers.BertTokenizerFast.from_pretrained(hf_dir),
                                  transformers.BertForSequenceClassification.from_pretrained(hf_dir).eval(),
                                  max_seq_length)
        requests = [{"text": np.array([text], dtype=object)} for text in texts]
        with contextlib.ExitStack() as stack:
            sessions = {name: stack.enter_context(CcSavedModelSession(
                path, intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
                inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads())) for name, path in paths.items()}
            loads = {name: lambda batch, session=session: session.load("serving_default", batch, clients, max_seconds)
                     for name, session in sessions.items()}
            loads["peer"] = lambda batch: threaded_load(peer, [r["text"][0] for r in batch], clients, max_seconds)
            for load in loads.values():  # warm up: thread pools, allocations, the shapes of the first texts
                load(requests[:4 * clients])
            results = {name: [] for name in loads}
            for _ in range(rounds):
                for name, load in loads.items():
                    results[name].append(load(requests))
    settings = {"checkpoint": os.path.basename(os.path.normpath(checkpoint)), "serving_loader": "cc",
                "clients": clients, "texts": len(texts), "rounds": rounds, "max_seconds": max_seconds,
                "max_seq_length": max_seq_length, "torch_threads": torch.get_num_threads(),
                "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or "default",
                "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads() or "default"}

    def rate(name):
        return sum(len(latencies) for _, latencies in results[name]) / sum(wall for wall, _ in results[name])

    def p99(name):
        return 1000.0 * float(np.percentile(np.concatenate([latencies for _, latencies in results[name]]), 99))

    peer_name = f"{PEER_NAME}, {clients} Python threads"
    rows = []
    for name in ("unbatched", "batched"):
        label = "in-graph batching" if name == "batched" else "no batching"
        notes = f"BatchFunction {batching}" if name == "batched" else "serving_default as exported by default"
        rows += [
            BenchmarkRow(f"serving {clients} concurrent clients, {label}: throughput", "texts/s", rate(name),
                         rate("peer"), peer_name, settings, notes),
            BenchmarkRow(f"serving {clients} concurrent clients, {label}: latency p99", "ms", p99(name), p99("peer"),
                         peer_name, settings, notes, lower_is_better=True),
        ]
    return rows


def hf_peers(hf_dir, max_seq_length, quantized=False):
    """{"peer": the HF pipeline of the classifier saved in `hf_dir`}, and with `quantized` also
    {"peer int8": the same with its Linear layers made int8 by torch's `quantize_dynamic`}.

    `quantize_dynamic` is PyTorch's post-training int8 for BERT on CPU: int8 weights (one scale per
    tensor) and activations quantized per call on x86's fbgemm kernels; LayerNorm, GELU, softmax and
    the attention products stay float32, as in our int8 exports.
    """
    import torch
    import transformers

    tokenizer = transformers.BertTokenizerFast.from_pretrained(hf_dir)
    model = transformers.BertForSequenceClassification.from_pretrained(hf_dir).eval()
    peers = {"peer": hf_classifier_call(tokenizer, model, max_seq_length)}
    if quantized:
        int8 = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        peers["peer int8"] = hf_classifier_call(tokenizer, int8, max_seq_length)
    return peers


def benchmark_serving_variants(variants, peers, texts, batch_size=32, turns=5):
    """Several served exports and server settings against HF pipelines, all taking turns in one run.

    What each change to the export or the server gives, as a ratio to HF measured beside it:
    each variant is an export loaded in the C++ loader with its own SessionOptions and environment.

    Args:
        variants: Name: (export version directory, intra-op threads, inter-op threads, environment
            dict for the C++ process or None). The exports must hold the weights the peers load.
        peers: Name: HF pipeline call (`hf_peers`); the first is the reference of every difference.
        texts: The sentences, raw.
        batch_size: Texts per call in the throughput measurement.
        turns: Turns each takes through the texts.

    Returns:
        Name (variants and peers): {"p50_ms", "p99_ms", "texts_per_second", "max_difference"}, the
        last the largest probability difference from the first peer's.
    """
    reference = next(iter(peers.values()))
    with contextlib.ExitStack() as stack:
        calls = {}
        for name, (path, intra, inter, env) in variants.items():
            session = stack.enter_context(CcSavedModelSession(path, intra, inter, env=env))
            calls[name] = lambda batch, session=session: (lambda outputs, seconds: (outputs["probabilities"], seconds))(
                *session.run("serving_default", {"text": np.array(batch, dtype=object)}))
        calls.update(peers)
        batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
        differences = {name: max(float(np.abs(call(batch)[0] - reference(batch)[0]).max()) for batch in batches)
                       for name, call in calls.items()}
        for call in calls.values():  # warm up
            for text in texts[:20]:
                call([text])
        latency = reported_seconds_in_turns(calls, [[text] for text in texts], turns=turns)
        batched = reported_seconds_in_turns(calls, batches, turns=turns)
    return {name: {"p50_ms": 1000.0 * float(np.percentile(latency[name], 50)),
                   "p99_ms": 1000.0 * float(np.percentile(latency[name], 99)),
                   "texts_per_second": len(texts) / sum(batched[name]), "max_difference": differences[name]}
            for name in calls}


# (TF_ENABLE_ONEDNN_OPTS, intra-op threads, inter-op threads) of the server settings compared.
SERVER_SETTINGS = ((1, 1, 1), (0, 1, 1), (1, 0, 0), (0, 0, 0))


def benchmark_server_settings(checkpoint, texts, max_seq_length=128, settings=SERVER_SETTINGS):
    """The classifier export served with oneDNN on and off, one thread per op and TF's default, against HF.

    Args:
        checkpoint: A BERT checkpoint directory both sides start from.
        texts: The sentences, raw.
        max_seq_length: Tokens per sentence at most, on both sides.
        settings: (TF_ENABLE_ONEDNN_OPTS, intra-op threads, inter-op threads) of each server; 0
            threads is TensorFlow's default.

    Returns:
        `BenchmarkRow`s: batch-1 p50 and p99 (ms) and batch-32 texts/s of each setting, HF's of the
        same run as the peer.
    """
    import torch

    with tempfile.TemporaryDirectory() as scratch:
        hf_dir, path = export_benchmark_classifier(checkpoint, scratch, max_seq_length)
        names = {setting: f"oneDNN {'on' if setting[0] else 'off'}, threads "
                          f"{f'{setting[1]}/{setting[2]}' if setting[1] else 'default'}" for setting in settings}
        results = benchmark_serving_variants(
            {names[setting]: (path, setting[1], setting[2], {ONEDNN_ENV: str(setting[0])}) for setting in settings},
            hf_peers(hf_dir, max_seq_length), texts)
    peer = results["peer"]
    rows = []
    for setting in settings:
        result = results[names[setting]]
        row_settings = {"checkpoint": os.path.basename(os.path.normpath(checkpoint)), "serving_loader": "cc",
                        "texts": len(texts), "max_seq_length": max_seq_length,
                        "torch_threads": torch.get_num_threads(), "TF_ENABLE_ONEDNN_OPTS": setting[0],
                        "tf_intra_op_threads": setting[1] or "default", "tf_inter_op_threads": setting[2] or "default"}
        notes = f"largest probability difference {result['max_difference']:.1e}"
        rows += [
            BenchmarkRow(f"serving {names[setting]}: latency p50 (batch 1)", "ms", result["p50_ms"], peer["p50_ms"],
                         PEER_NAME, row_settings, notes, lower_is_better=True),
            BenchmarkRow(f"serving {names[setting]}: latency p99 (batch 1)", "ms", result["p99_ms"], peer["p99_ms"],
                         PEER_NAME, row_settings, notes, lower_is_better=True),
            BenchmarkRow(f"serving {names[setting]}: throughput (batch 32)", "texts/s", result["texts_per_second"],
                         peer["texts_per_second"], PEER_NAME, row_settings, notes),
        ]
    return rows


def benchmark_int8_serving(checkpoint, texts, max_seq_length=128, batch_size=32):
    """The oneDNN int8 export against the float32 export of the same weights, and each against HF torch's.

    Both exports are served by TensorFlow's C++ loader with oneDNN on (which the int8 kernel needs)
    and this process's thread settings; the peers are HF's pipeline in float32 and with torch's
    `quantize_dynamic` (`hf_peers`). All four take turns through the texts.

    Args:
        checkpoint: A BERT checkpoint directory every side starts from.
        texts: The sentences, raw.
        max_seq_length: Tokens per sentence at most, on every side.
        batch_size: Texts per call in the throughput rows.

    Returns:
        `BenchmarkRow`s: batch-1 p50 and p99 (ms) and batch-`batch_size` texts/s of the int8 export
        against the float32 export, of the int8 export against torch's int8, and of the float32
        export against torch's float32.
    """
    import torch

    with tempfile.TemporaryDirectory() as scratch:
        paths = {}
        for name, quantize in (("float32", "none"), ("int8", "int8")):
            keras.utils.set_random_seed(0)  # The same fresh head in both exports.
            hf_dir, paths[name] = export_benchmark_classifier(checkpoint, os.path.join(scratch, name), max_seq_length,
                                                              quantize, int8_kernel="onednn" if quantize == "int8"
                                                              else "portable")
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        results = benchmark_serving_variants(
            {name: (path, intra, inter, {ONEDNN_ENV: "1"}) for name, path in paths.items()},
            hf_peers(hf_dir, max_seq_length, quantized=True), texts, batch_size)
    settings = {"checkpoint": os.path.basename(os.path.normpath(checkpoint)), "serving_loader": "cc",
                "texts": len(texts), "max_seq_length": max_seq_length, "torch_threads": torch.get_num_threads(),
                "TF_ENABLE_ONEDNN_OPTS": 1, "tf_intra_op_threads": intra or "default",
                "tf_inter_op_threads": inter or "default"}
    torch_int8 = results["peer int8"]["texts_per_second"] / results["peer"]["texts_per_second"]
    comparisons = (("int8", "float32", "our float32 export, same server"),
                   ("int8", "peer int8", f"{PEER_NAME}, quantize_dynamic int8"),
                   ("float32", "peer", PEER_NAME))
    rows = []
    for ours, peer, peer_name in comparisons:
        notes = (f"largest probability difference from HF float32: ours {results[ours]['max_difference']:.1e}, "
                 f"peer {results[peer]['max_difference']:.1e}; torch int8 {torch_int8:.2f}x torch float32's "
                 "batch throughput")
        label = f"serving {ours} export vs {peer if peer.startswith('peer') else peer + ' export'}"
        rows += [
            BenchmarkRow(f"{label}: latency p50 (batch 1)", "ms", results[ours]["p50_ms"], results[peer]["p50_ms"],
                         peer_name, settings, notes, lower_is_better=True),
            BenchmarkRow(f"{label}: latency p99 (batch 1)", "ms", results[ours]["p99_ms"], results[peer]["p99_ms"],
                         peer_name, settings, notes, lower_is_better=True),
            BenchmarkRow(f"{label}: throughput (batch {batch_size})", "texts/s", results[ours]["texts_per_second"],
                         results[peer]["texts_per_second"], peer_name, settings, notes),
        ]
    return rows
