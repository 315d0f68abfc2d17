"""Pretraining instances made on the fly from text, with fresh pairs and masks every epoch."""

import itertools

import numpy as np
import tensorflow as tf

from keras_bert_zoo.data.chinese_word_segmenter import ChineseWordSegmenter
from keras_bert_zoo.data.masked_lm_masker import MaskedLmMasker
from keras_bert_zoo.data.pretraining_corpus import read_corpus
from keras_bert_zoo.data.pretraining_full_sentences import (make_full_sentence_instances, pack_full_sentences,
                                                            split_long_sentences)
from keras_bert_zoo.data.pretraining_instances import check_pretraining_options, make_instances, pair_segments
from keras_bert_zoo.data.pretraining_records import pretraining_element_spec

# Instances made per generator step: large enough for numpy to be efficient,
# small enough for the first batch to come quickly.
_INSTANCES_PER_STEP = 1024


def dynamic_pretraining_dataset(text_files, tokenizer, max_seq_length=128, max_predictions_per_seq=20,
                                masked_lm_prob=0.15, short_seq_prob=0.1, do_whole_word_mask=False, seed=12345,
                                input_context=None, full_sentences=False, chinese_word_segmenter=None,
                                sentence_order=False):
    """An endless, unbatched dataset of pretraining instances with dynamic masking.

    Every epoch (one pass over the documents) cuts the documents into new
    instances and draws new masks, in shuffled order. The instances are
    sentence pairs for next-sentence prediction, with the semantics of
    tools/create_pretraining_data.py for one round (dupe_factor=1); or, with
    `full_sentences`, RoBERTa's full sentences for masked LM alone: whole
    sentences packed up to max_seq_length across documents (a separator
    between two) in one `<s> ... </s>` segment, the documents in a new order
    each epoch (see `pretraining_full_sentences`), and random replacements
    never special ids, as RoBERTa's. The text is read and tokenized once,
    when the dataset is made.

    Args:
        text_files: Comma-separated glob patterns (or a list of them) of UTF-8
            text, one sentence per line, a blank line between documents.
        tokenizer: Any `kbz.Tokenizer` (WordPiece, byte-level BPE or SentencePiece).
        max_seq_length: T, tokens per instance.
        max_predictions_per_seq: P, most masked-LM predictions per instance.
        masked_lm_prob: Fraction of tokens to predict.
        short_seq_prob: How often a document aims at a shorter random length
            (sentence pairs only).
        do_whole_word_mask: Mask whole words (a word and its continuation pieces).
        seed: Seed of the pairs and masks; None for a random one.
        input_context: Optional `tf.distribute.InputContext`: each input
            pipeline makes instances from its share of the documents (every
            num_input_pipelines-th one), with its own random stream.
        full_sentences: Pack full sentences for masked LM alone rather than
            sentence pairs.
        chinese_word_segmenter: With do_whole_word_mask, a segmenter's name
            ("jieba") whose Chinese words are masked whole, characters
            together (see `ChineseWordSegmenter`); the ids stay the same.
            The text is segmented once, with the tokenization.
        sentence_order: Sentence-order pairs (ALBERT's SOP; see
            `pretraining_instances.pair_segments`) instead of next-sentence ones.

    Returns:
        A `tf.data.Dataset` of dicts: int32 `input_ids`, `input_mask`,
        `segment_ids` [T]; int32 `masked_lm_positions`, `masked_lm_ids` and
        float32 `masked_lm_weights` [P]; int32 scalar `next_sentence_labels`
        (1: B is a random next sentence, or A and B swapped for sentence
        order; always 0 for full sentences), the
        features of the TFRecords and of `read_pretraining_records`.

    Raises:
        ValueError: An option is out of range, the text is missing or empty,
            or it has fewer documents than there are input pipelines.
        ImportError: The Chinese word segmenter isn't installed.
    """
    check_pretraining_options(max_seq_length, max_predictions_per_seq, masked_lm_prob, short_seq_prob,
                              do_whole_word_mask=do_whole_word_mask, chinese_word_segmenter=chinese_word_segmenter)
    segmenter = ChineseWordSegmenter(chinese_word_segmenter) if chinese_word_segmenter else None
    corpus, files = read_corpus(text_files, tokenizer, segmenter)
    pipeline = input_context.input_pipeline_id if input_context else 0
    num_pipelines = input_context.num_input_pipelines if input_context else 1
    if corpus.num_documents < num_pipelines:
        raise ValueError(f"{', '.join(files)}: {corpus.num_documents} document(s) can't be shared by "
                         f"{num_pipelines} input pipelines.")
    if num_pipelines > 1:
        corpus = corpus.shard(pipeline, num_pipelines)
    packer = tokenizer.packer
    room = max_seq_length - packer.num_special_tokens(1)
    if full_sentences:
        corpus = split_long_sentences(corpus, room)
    masker = MaskedLmMasker(tokenizer, max_predictions_per_seq, masked_lm_prob, do_whole_word_mask,
                            random_special_ids=not full_sentences)
    seed = np.random.SeedSequence().entropy if seed is None else seed

    def epoch_batches(rng):
        """One epoch's instances in shuffled order, in numpy batches."""
        if full_sentences:
            instances = pack_full_sentences(corpus, room, tokenizer.sep_id, rng)
            for chunk in _chunks(rng.permutation(len(instances))):
                yield make_full_sentence_instances(instances, chunk, max_seq_length, masker, packer, rng)
        else:
            spans = pair_segments(corpus, max_seq_length, short_seq_prob, 1, rng, sentence_order)
            for chunk in _chunks(rng.permutation(len(spans))):
                yield make_instances(corpus.token_ids, spans[chunk], max_seq_length, masker, packer, rng,
                                     corpus.word_continuations)

    def instance_batches():
        for epoch in itertools.count():
            yield from epoch_batches(np.random.default_rng([seed, pipeline, epoch]))

    batch_spec = {name: tf.TensorSpec([None, *spec.shape], spec.dtype)
                  for name, spec in pretraining_element_spec(max_seq_length, max_predictions_per_seq).items()}
    return tf.data.Dataset.from_generator(instance_batches, output_signature=batch_spec).unbatch()


def _chunks(order):
    """`order` in consecutive parts of _INSTANCES_PER_STEP."""
    return (order[start:start + _INSTANCES_PER_STEP] for start in range(0, len(order), _INSTANCES_PER_STEP))
