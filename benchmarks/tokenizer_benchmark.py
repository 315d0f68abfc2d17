"""Tokenizer speed as users call it, and id agreement, against HF's Rust and tf-text's FastBertTokenizer."""

import json
import os
import time

import numpy as np
import tensorflow as tf

from benchmarks.alternating_timing import alternating_seconds
from benchmarks.report import BenchmarkRow
from keras_bert_zoo.text import BertTokenizer

CORPUS_KINDS = ("text", "tsv", "conll", "squad")


def read_corpus(kind, path, tsv_column="sentence"):
    """Texts of a corpus file: "text" lines, a "tsv" column, "conll" sentences, "squad" contexts.

    CoNLL sentences are their words joined by spaces; SQuAD contexts count
    once each. Blank lines and empty texts are left out.
    """
    if kind == "conll":
        from keras_bert_zoo.data.conll_data import read_conll_file

        return [" ".join(words) for words in read_conll_file(path)[0]]
    if kind == "squad":
        with open(path, encoding="utf-8") as f:
            articles = json.load(f)["data"]
        return list(dict.fromkeys(p["context"] for a in articles for p in a["paragraphs"]))
    from keras_bert_zoo.files import read_texts

    return [text for text in read_texts(path, tsv_column=tsv_column if kind == "tsv" else None) if text.strip()]


def _iterator_start_seconds(tokenize, texts, repeats):
    """Fastest time from a new iterator over a dataset that maps `tokenize` after `batch` to its first batch."""
    dataset = tf.data.Dataset.from_tensor_slices(texts[:64]).batch(8).map(tokenize)
    seconds = []
    for _ in range(repeats + 1):  # The first also traces the map function.
        start = time.perf_counter()
        next(iter(dataset))
        seconds.append(time.perf_counter() - start)
    return min(seconds[1:])


def _batch_one_seconds(call, texts, repeats):
    """Median seconds of one text per call: the fastest of `repeats` passes over `texts`, and the first pass.

    The first pass sees each text for the first time (ours caches ids per word).
    """
    call(texts[0])
    medians = []
    for _ in range(repeats):
        seconds = []
        for text in texts:
            start = time.perf_counter()
            call(text)
            seconds.append(time.perf_counter() - start)
        medians.append(float(np.median(seconds)))
    return min(medians), medians[0]


def benchmark_tokenizer(corpora, vocab_file, lower_case=True, batch_size=1024, repeats=3, latency_texts=200):
    """Times `BertTokenizer` as users call it, per corpus, against HF's Rust `BertTokenizerFast`.

    Per corpus: `tokenize(list_of_str)` eagerly, batch by batch (what a user
    writes), against Rust's batch call, both giving ids without special
    tokens; the same inside `tf.function` over tensors, against tf-text's
    FastBertTokenizer; one text per call (`tokenizer(text)` against
    `rust(text)`, both padded to 128 with special tokens) at the median; and
    the start of a tf.data iterator that maps each tokenizer (once per corpus
    set, on the first corpus). The sides take turns within each repeat;
    each side's fastest repeat counts. Notes give how often each side's ids
    equal the Python reference's (HF's port of google-research's tokenization.py).

    Args:
        corpora: {name: texts}.

    Returns:
        `BenchmarkRow`s: per corpus eager texts/s against Rust, traced texts/s
        against FastBertTokenizer, batch-1 latency against Rust; then the
        iterator start against FastBertTokenizer.
    """
    import tensorflow_text as tf_text
    from transformers import BertTokenizerFast
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    ours = BertTokenizer(vocab_file, lower_case=lower_case)
    fast_bert = tf_text.FastBertTokenizer(vocab=ours.vocab, token_out_type=tf.int32,
                                          lower_case_nfd_strip_accents=lower_case)
    rust = BertTokenizerFast(vocab_file, do_lower_case=lower_case)
    reference = BertTokenizerLegacy(vocab_file, do_lower_case=lower_case)
    traced = {"ours": tf.function(ours.tokenize), "FastBertTokenizer": tf.function(fast_bert.tokenize)}
    rows = []
    for corpus, texts in corpora.items():
        batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
        tensors = [tf.constant(batch) for batch in batches]
        for function in traced.values():
            function(tensors[0])  # Trace outside the timing.
        runs = {
            "ours eager": lambda: [ours.tokenize(batch) for batch in batches],
            "Rust": lambda: [rust(batch, add_special_tokens=False)["input_ids"] for batch in batches],
            **{f"{name} traced": lambda f=function: [f(batch) for batch in tensors] for name, function in traced.items()},
        }
        rates = {name: len(texts) / min(seconds) for name, seconds in alternating_seconds(runs, repeats).items()}
        reference_ids = [reference.convert_tokens_to_ids(reference._tokenize(t, split_special_tokens=True))
                         for t in texts]
        agreement = {}
        for name, run in runs.items():
            ids = [x for batch in run() for x in (batch if name == "Rust" else batch.to_list())]
            agreement[name] = float(np.mean([a == b for a, b in zip(ids, reference_ids)]))
        few = texts[:latency_texts]
        latency = {"ours": _batch_one_seconds(lambda t: ours(t), few, repeats),
                   "Rust": _batch_one_seconds(lambda t: rust(t, max_length=128, padding="max_length",
                                                            truncation=True), few, repeats)}
        cold = {name: 1e3 * first for name, (_, first) in latency.items()}
        latency = {name: best for name, (best, _) in latency.items()}
        settings = {"corpus": corpus, "texts": len(texts), "batch": batch_size, "lower_case": lower_case}
        agree = (f"ids equal to the Python reference: ours {agreement['ours eager']:.4%} "
                 f"(traced {agreement['ours traced']:.4%})")
        rows += [
            BenchmarkRow(f"tokenizer, {corpus}, eager tokenize(list)", "texts/s", rates["ours eager"], rates["Rust"],
                         "HF BertTokenizerFast (Rust), batch call", settings,
                         f"{agree}, Rust {agreement['Rust']:.4%}"),
            BenchmarkRow(f"tokenizer, {corpus}, in tf.function", "texts/s", rates["ours traced"],
                         rates["FastBertTokenizer traced"], "tf-text FastBertTokenizer, in tf.function", settings,
                         f"{agree}, FastBertTokenizer {agreement['FastBertTokenizer traced']:.4%}; "
                         f"ours traced {rates['ours traced'] / rates['Rust']:.2f}x Rust"),
            BenchmarkRow(f"tokenizer, {corpus}, one text per call, p50", "ms", 1e3 * latency["ours"],
                         1e3 * latency["Rust"], "HF BertTokenizerFast (Rust), rust(text)",
                         dict(settings, texts=len(few), max_length=128),
                         f"ours: tokenizer(text) eagerly -> three padded tensors; first pass over the texts: "
                         f"ours {cold['ours']:.2f} ms, Rust {cold['Rust']:.2f} ms", lower_is_better=True),
        ]
    first = next(iter(corpora.values()))
    starts = {name: _iterator_start_seconds(function, first, repeats) for name, function in
              (("ours", lambda t: ours(t, max_length=64)), ("FastBertTokenizer", fast_bert.tokenize))}
    rows.append(BenchmarkRow("tokenizer, new tf.data iterator to its first batch", "ms", 1e3 * starts["ours"],
                             1e3 * starts["FastBertTokenizer"], "tf-text FastBertTokenizer", {"map": "after batch"},
                             "ours: tokenizer(texts, max_length=64); FastBertTokenizer: tokenize(texts)",
                             lower_is_better=True))
    return rows


# Per kind: transformers' tokenizer class of the family (its Rust code), and keras-hub's tokenizer class.
_FAMILY_TOKENIZERS = {"bpe": ("RobertaTokenizer", "BytePairTokenizer"),
                      "sentencepiece": ("XLMRobertaTokenizer", "SentencePieceTokenizer")}


def benchmark_family_tokenizer(corpora, kind, tokenizer_dir, batch_size=1024, repeats=3):
    """Times our BPE or SentencePiece `tokenize(list_of_str)` eagerly against HF's Rust and keras-hub's, per corpus.

    All three tokenize the same batches without special tokens, taking turns
    within each repeat (each side's fastest repeat counts): transformers'
    `RobertaTokenizer` / `XLMRobertaTokenizer` (Rust) batch call, and
    keras-hub's `BytePairTokenizer` (TF ops, its words cached in a
    MutableHashTable) / `SentencePieceTokenizer` (tf-text's op, eager) built
    from the same files. Each is timed after a first pass, so all BPE
    tokenizers have their words cached (ours remembers merged words in
    eager calls); for BPE the notes also give our speed on a first pass.
    Notes give how often ours and keras-hub's ids equal
    Rust's (with `split_special_tokens=True`, as ours reads "<s>" as text)
    and, for BPE, how many of our tokens' byte offsets slice back to the
    token's bytes.

    Args:
        corpora: {name: texts}.
        kind: "bpe" (a directory with vocab.json + merges.txt) or
            "sentencepiece" (one with sentencepiece.bpe.model, XLM-R's layout).
        tokenizer_dir: The directory.

    Returns:
        `BenchmarkRow`s: per corpus, eager texts/s against Rust, then against keras-hub.
    """
    import keras_hub
    import transformers

    from keras_bert_zoo.text import Tokenizer
    from keras_bert_zoo.text.byte_pair_files import token_bytes

    rust_class, hub_class = _FAMILY_TOKENIZERS[kind]
    ours = Tokenizer.from_pretrained(tokenizer_dir)
    rust = getattr(transformers, rust_class).from_pretrained(tokenizer_dir)
    if kind == "bpe":
        hub = keras_hub.tokenizers.BytePairTokenizer(vocabulary=os.path.join(tokenizer_dir, "vocab.json"),
                                                     merges=os.path.join(tokenizer_dir, "merges.txt"))
    else:
        with open(ours.model_file, "rb") as f:
            hub = keras_hub.tokenizers.SentencePieceTokenizer(proto=f.read())
    rows = []
    for corpus, texts in corpora.items():
        batches = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
        runs = {
            "ours": lambda: [ours.tokenize(batch) for batch in batches],
            "Rust": lambda: [rust(batch, add_special_tokens=False, split_special_tokens=True)["input_ids"]
                             for batch in batches],
            "keras-hub": lambda: [hub(batch) for batch in batches],
        }
        for run in runs.values():
            run()  # Traces, and fills keras-hub's cache as a server's would be.
        rates = {name: len(texts) / min(seconds) for name, seconds in alternating_seconds(runs, repeats).items()}
        if kind == "bpe":
            # Ours remembers the words it merged, as Rust's and keras-hub's caches do: also time a first
            # pass, by a new tokenizer that has seen none of the corpus (traced on one other text).
            fresh = Tokenizer.from_pretrained(tokenizer_dir)
            fresh.tokenize(["trace"])
            start = time.perf_counter()
            for batch in batches:
                fresh.tokenize(batch)
            first_pass = len(texts) / (time.perf_counter() - start)
        # keras-hub may answer eagerly with lists instead of a RaggedTensor.
        ids = {name: [row for batch in run() for row in (batch.to_list() if hasattr(batch, "to_list") else batch)]
               for name, run in runs.items()}
        if kind == "sentencepiece":
            # keras-hub numbers the pieces as the model does; ours (and Rust's) as the family does (fairseq's).
            hub_to_ours = [ours.token_to_id(token) for token in hub.get_vocabulary()]
            ids["keras-hub"] = [[hub_to_ours[i] for i in row] for row in ids["keras-hub"]]
        agree = {name: float(np.mean([a == b for a, b in zip(ids[name], ids["Rust"])])) for name in ("ours", "keras-hub")}
        notes = f"ids equal to Rust's: ours {agree['ours']:.4%}, keras-hub {agree['keras-hub']:.4%}"
        if kind == "bpe":
            covers = [token_bytes(token) for token in ours.vocab]  # Our tokens never are special ones.
            sliced, tokens = 0, 0
            for batch in batches:
                pieces, starts, ends = ours.tokenize_with_offsets(batch)
                for text, row, row_starts, row_ends in zip(batch, pieces.to_list(), starts.to_list(), ends.to_list()):
                    data = text.encode("utf-8")
                    sliced += sum(data[s:e] == covers[i] for i, s, e in zip(row, row_starts, row_ends))
                    tokens += len(row)
            notes += (f"; our offsets slice back to the token on {sliced / max(tokens, 1):.4%} of {tokens} tokens"
                      f"; ours on a first pass (no word remembered yet): {first_pass:,.0f} texts/s")
        settings = {"corpus": corpus, "texts": len(texts), "batch": batch_size, "vocab": ours.vocab_size}
        rows += [
            BenchmarkRow(f"{kind} tokenizer, {corpus}, eager tokenize(list)", "texts/s", rates["ours"], rates["Rust"],
                         f"HF {rust_class} (Rust), batch call", settings, notes),
            BenchmarkRow(f"{kind} tokenizer, {corpus}, eager tokenize(list)", "texts/s", rates["ours"],
                         rates["keras-hub"], f"keras-hub {hub_class}, eager call", settings, notes),
        ]
    return rows
