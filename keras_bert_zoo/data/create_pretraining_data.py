"""Masked-LM/NSP pretraining TFRecords from text, as google-research/bert's create_pretraining_data.py."""

import collections
import concurrent.futures
import contextlib
import os
import time
import uuid

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.chinese_word_segmenter import ChineseWordSegmenter
from keras_bert_zoo.data.example_serialization import serialize_examples
from keras_bert_zoo.data.masked_lm_masker import MaskedLmMasker
from keras_bert_zoo.data.pretraining_corpus import read_corpus
from keras_bert_zoo.data.pretraining_instances import check_pretraining_options, make_instances, pair_segments
from keras_bert_zoo.data.tfrecord_framing import FRAMING_BYTES, frame_records

# Instances per unit of parallel work. Masks are drawn per chunk, so the chunk
# size is fixed: the output doesn't depend on the number of workers or shards.
CHUNK_SIZE = 4096
# Streams of one seed: pairing (then the instance order), and the masks of each chunk.
PAIRING_STREAM, MASKING_STREAM = 0, 1


def create_pretraining_data(input_patterns, output_files, tokenizer, max_seq_length=128,
                            max_predictions_per_seq=20, masked_lm_prob=0.15, short_seq_prob=0.1, dupe_factor=10,
                            do_whole_word_mask=False, random_seed=12345, num_workers=None, log=print,
                            chinese_word_segmenter=None, random_next_sentence=True):
    """Writes pretraining instances of one-sentence-per-line text to TFRecord files.

    Instances follow google-research/bert: sentence pairs from `dupe_factor`
    rounds over every document (each round with fresh pairs and masks), B a
    random other document's sentences half of the time, masked 80/10/10, all
    shuffled and dealt round-robin to `output_files`, with the original's
    record features and padding. Output bytes depend only on the inputs and
    options (not on `num_workers`); the instances don't depend on how many
    output files there are. Each file is written under a temporary name and
    renamed when complete. Numpy does the work on `num_workers` threads.

    Args:
        input_patterns: Comma-separated glob patterns (or a list of them) of
            UTF-8 files: one sentence per line, a blank line between documents.
        output_files: TFRecord paths to write.
        tokenizer: A `keras_bert_zoo.text.BertTokenizer`.
        max_seq_length: T, tokens per instance.
        max_predictions_per_seq: P, most masked-LM predictions per instance.
        masked_lm_prob: Fraction of tokens to predict.
        short_seq_prob: How often a document aims at a shorter random length.
        dupe_factor: Rounds over the corpus.
        do_whole_word_mask: Mask whole words (a word and its continuation pieces).
        random_seed: Seed of everything random.
        num_workers: Threads; default: the CPU count.
        log: Receives progress lines.
        chinese_word_segmenter: With do_whole_word_mask, a segmenter's name
            ("jieba") whose Chinese words are masked whole, characters
            together (see `ChineseWordSegmenter`); the ids stay the same.
        random_next_sentence: True: next-sentence pairs (BERT's NSP); False:
            sentence-order pairs (ALBERT's SOP, google-research/albert's
            flag of that name), A and B swapped half of the time.

    Returns:
        The number of instances written.

    Raises:
        ValueError: An option is out of range ("name=value: why"), or the
            input is missing, unreadable or empty (naming the pattern, file or line).
        ImportError: The Chinese word segmenter isn't installed.
    """
    check_pretraining_options(max_seq_length, max_predictions_per_seq, masked_lm_prob, short_seq_prob, dupe_factor,
                              do_whole_word_mask, chinese_word_segmenter)
    segmenter = ChineseWordSegmenter(chinese_word_segmenter) if chinese_word_segmenter else None
    start = time.perf_counter()
    corpus, files = read_corpus(input_patterns, tokenizer, segmenter)
    segmented = f", segmented into words by {chinese_word_segmenter}," if segmenter else ""
    log(f"Read {corpus.num_documents:,} documents, {corpus.num_segments:,} sentences and "
        f"{corpus.num_tokens:,} tokens from {len(files)} file(s){segmented} in {time.perf_counter() - start:.1f} s.")
    rng = np.random.default_rng([random_seed, PAIRING_STREAM])
    spans = pair_segments(corpus, max_seq_length, short_seq_prob, dupe_factor, rng,
                          sentence_order=not random_next_sentence)
    spans = spans[rng.permutation(len(spans))]
    masker = MaskedLmMasker(tokenizer, max_predictions_per_seq, masked_lm_prob, do_whole_word_mask)
    log(f"Made {len(spans):,} instances in {dupe_factor} round(s); writing {len(output_files)} file(s).")

    def encode_chunk(chunk):
        """The TFRecord bytes of one chunk of instances for each output file."""
        first = chunk * CHUNK_SIZE
        chunk_spans = spans[first:first + CHUNK_SIZE]
        features = make_instances(corpus.token_ids, chunk_spans, max_seq_length, masker, tokenizer.packer,
                                  np.random.default_rng([random_seed, MASKING_STREAM, chunk]),
                                  corpus.word_continuations)
        output_of_row = (first + np.arange(len(chunk_spans))) % len(output_files)
        by_output = np.argsort(output_of_row, kind="stable")
        data, used = serialize_examples({name: value[by_output] for name, value in features.items()})
        lengths = used.sum(axis=1)
        framed = frame_records(data[used], lengths)
        record_ends = np.concatenate([[0], np.cumsum(lengths + FRAMING_BYTES)])
        rows_per_output = np.bincount(output_of_row, minlength=len(output_files))
        bounds = record_ends[np.concatenate([[0], np.cumsum(rows_per_output)])]
        return [framed[start:end].tobytes() for start, end in zip(bounds[:-1], bounds[1:])]

    num_chunks = -(-len(spans) // CHUNK_SIZE)
    progress_every = max(1, num_chunks // 10)
    with _atomic_output_files(output_files) as outputs:
        chunks = _ordered_parallel_map(encode_chunk, range(num_chunks), num_workers or os.cpu_count() or 1)
        for chunk, blobs in enumerate(chunks):
            for output, blob in zip(outputs, blobs):
                output.write(blob)
            if (chunk + 1) % progress_every == 0 or chunk + 1 == num_chunks:
                log(f"  {min((chunk + 1) * CHUNK_SIZE, len(spans)):,} / {len(spans):,} instances written")
    return len(spans)


def _ordered_parallel_map(function, items, num_workers):
    """Yields function(item) in order, computing a few items ahead on `num_workers` threads."""
    with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
        pending = collections.deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > 2 * num_workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


@contextlib.contextmanager
def _atomic_output_files(paths):
    """Binary files open under temporary names, renamed to `paths` on success and deleted on failure."""
    temporary = [f"{path}.tmp-{uuid.uuid4().hex}" for path in paths]
    files = []
    try:
        for directory in sorted({os.path.dirname(path) for path in paths} - {""}):
            tf.io.gfile.makedirs(directory)
        for path in temporary:
            files.append(tf.io.gfile.GFile(path, "wb"))
        yield files
        for f in files:
            f.close()
        for source, destination in zip(temporary, paths):
            tf.io.gfile.rename(source, destination, overwrite=True)
    except BaseException:
        for f in files:
            f.close()
        for path in temporary:
            if tf.io.gfile.exists(path):
                tf.io.gfile.remove(path)
        raise
