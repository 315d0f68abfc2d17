"""Masked-LM instances of full sentences packed across documents (RoBERTa's FULL-SENTENCES), with numpy.

RoBERTa (Liu et al., 2019, §4.2) fills each input with full sentences sampled
contiguously from one or more documents, up to the length limit; when a
document ends, the next one's sentences follow after an extra separator token.
There is no next-sentence prediction. Here each epoch lays the documents out in
a new random order, one separator between two, and cuts that stream greedily
into instances of whole sentences, framed by the packer's one-segment layout
(`<s> ... </s>`, all type ids 0). A sentence longer than an instance's room is
cut into pieces of that room first.
"""

import bisect
import dataclasses
import typing

import numpy as np

from keras_bert_zoo.data.pretraining_corpus import TokenizedCorpus, concatenate_ranges
from keras_bert_zoo.data.pretraining_instances import pack_marks


@dataclasses.dataclass
class FullSentenceInstances:
    """One epoch's instances: spans of a stream of all its documents' tokens.

    Args:
        tokens: int32 [stream] the documents one after another, `separator_id`
            before each one (the first instance of a document skips it).
        starts: int64 [instances] each instance's first offset in `tokens`.
        ends: int64 [instances] each instance's end offset in `tokens`.
        sentence_starts: int64 [sentences] ascending offsets in `tokens` of
            the sentences' first tokens.
        separator_id: The id between two documents.
        word_continuations: Optional bool [stream] beside `tokens`: those
            that continue a word whatever their id (the corpus' own; False on
            separators).
    """

    tokens: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    sentence_starts: np.ndarray
    separator_id: int
    word_continuations: typing.Optional[np.ndarray] = None

    def __len__(self):
        return len(self.starts)


def split_long_sentences(corpus, room):
    """`corpus` with each sentence longer than `room` tokens cut into pieces of `room` tokens (the last shorter)."""
    offsets = corpus.segment_offsets
    lengths = np.diff(offsets)
    pieces = -(-lengths // room)
    first_piece = np.concatenate([[0], np.cumsum(pieces)])
    piece_sentence = np.repeat(np.arange(len(lengths)), pieces)
    piece_starts = offsets[piece_sentence] + (np.arange(first_piece[-1]) - first_piece[piece_sentence]) * room
    return TokenizedCorpus(token_ids=corpus.token_ids, segment_offsets=np.append(piece_starts, offsets[-1]),
                           document_offsets=first_piece[corpus.document_offsets],
                           word_continuations=corpus.word_continuations)


def pack_full_sentences(corpus, room, separator_id, rng):
    """Lays the documents out in a random order and cuts them into instances of whole sentences.

    Each instance takes sentences while they fit in `room` tokens, a
    separator before each sentence that opens a document counted in (except
    before the instance's first sentence).

    Args:
        corpus: A `TokenizedCorpus` whose sentences hold at most `room` tokens
            (see `split_long_sentences`).
        room: Tokens an instance holds inside its framing.
        separator_id: The id between two documents.
        rng: A `np.random.Generator` for the document order.

    Returns:
        `FullSentenceInstances`, in stream order.
    """
    documents = rng.permutation(corpus.num_documents)
    document_offsets, segment_offsets = corpus.document_offsets, corpus.segment_offsets
    sentences = concatenate_ranges(document_offsets[documents], document_offsets[documents + 1])
    sentences_per_document = np.diff(document_offsets)[documents]
    opens_document = np.zeros(len(sentences), np.int64)
    opens_document[np.cumsum(sentences_per_document) - sentences_per_document] = 1
    lengths = np.diff(segment_offsets)[sentences]
    ends = np.cumsum(lengths + opens_document)
    starts = ends - lengths
    in_stream = concatenate_ranges(starts, ends)
    in_corpus = concatenate_ranges(segment_offsets[sentences], segment_offsets[sentences + 1])
    tokens = np.full(ends[-1], separator_id, np.int32)
    tokens[in_stream] = corpus.token_ids[in_corpus]
    word_continuations = None
    if corpus.word_continuations is not None:
        word_continuations = np.zeros(ends[-1], bool)
        word_continuations[in_stream] = corpus.word_continuations[in_corpus]

    # Greedy and sequential: one binary search per instance.
    sentence_starts, sentence_ends = starts.tolist(), ends.tolist()
    instance_starts, instance_ends = [], []
    first = 0
    while first < len(sentence_starts):
        start = sentence_starts[first]
        last = bisect.bisect_right(sentence_ends, start + room, lo=first) - 1
        instance_starts.append(start)
        instance_ends.append(sentence_ends[last])
        first = last + 1
    return FullSentenceInstances(tokens, np.asarray(instance_starts, np.int64), np.asarray(instance_ends, np.int64),
                                 starts, separator_id, word_continuations)


def make_full_sentence_instances(instances, indices, max_seq_length, masker, packer, rng):
    """Packs some instances as one segment each (`<s> ... </s>` for RoBERTa), padded, and masks them.

    Separators are never masked, and each sentence's first token starts a word
    for whole-word masking.

    Args:
        instances: `FullSentenceInstances`.
        indices: int [N] the instances to make.
        max_seq_length: T.
        masker: A `MaskedLmMasker`.
        packer: The tokenizer's `SegmentPacker`.
        rng: A `np.random.Generator` for the masks.

    Returns:
        Dict of the pretraining features (see `make_instances`), with
        `next_sentence_labels` 0.
    """
    starts, ends = instances.starts[indices], instances.ends[indices]
    segments = [(starts, ends)]
    packed = packer.pack_spans(instances.tokens, segments, max_seq_length)
    input_ids = packed["input_word_ids"]
    candidates = packed["segment_mask"] & (input_ids != instances.separator_id)
    first = np.searchsorted(instances.sentence_starts, starts)
    last = np.searchsorted(instances.sentence_starts, ends)
    rows = np.repeat(np.arange(len(starts)), last - first)
    columns = len(packer.start_ids) + instances.sentence_starts[concatenate_ranges(first, last)] - starts[rows]
    word_starts = np.zeros(input_ids.shape, bool)
    word_starts[rows, columns] = True
    features = masker(input_ids, packed["input_mask"].sum(axis=1), candidates, rng, word_starts,
                      pack_marks(instances.word_continuations, segments, max_seq_length, packer, packed))
    features["input_mask"] = packed["input_mask"]
    features["segment_ids"] = packed["input_type_ids"]
    features["next_sentence_labels"] = np.zeros(len(starts), np.int32)
    return features
