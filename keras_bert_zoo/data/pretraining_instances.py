"""Sentence-pair pretraining instances (masked LM + next sentence or sentence order), vectorized with numpy.

The semantics are google-research/bert's create_pretraining_data.py: each
document is cut into chunks of sentences of about a target length, each chunk
split into segments A and B, with B replaced half of the time by sentences from
another document (the unused sentences of the chunk go back into the document);
or, for sentence order, google-research/albert's: B stays the actual next and
A and B swap places half of the time (a chunk of one sentence still takes a
random B, as there);
pairs are truncated longest-first, one token at a time from the front or the
back at random. Instead of walking one document at a time, all documents of all
rounds advance together, one chunk per numpy step. (A corpus of one document has
no other: its random B comes from that document, as in the original.)
"""

import numpy as np

# Fields of an instance span array; token offsets index TokenizedCorpus.token_ids.
# "is_random_next" is the pair's label: 1 where B is random, or (sentence order) where A and B are swapped.
SPAN_DTYPE = np.dtype([("a_start", np.int64), ("a_end", np.int64), ("b_start", np.int64),
                       ("b_end", np.int64), ("is_random_next", np.int8)])


def check_pretraining_options(max_seq_length, max_predictions_per_seq, masked_lm_prob, short_seq_prob,
                              dupe_factor=1, do_whole_word_mask=False, chinese_word_segmenter=None):
    """Checks pretraining options, as named by tools/create_pretraining_data.py's flags.

    Args:
        max_seq_length: T.
        max_predictions_per_seq: P, at most T.
        masked_lm_prob: In (0, 1].
        short_seq_prob: In [0, 1].
        dupe_factor: At least 1.
        do_whole_word_mask: Whether whole words are masked.
        chinese_word_segmenter: A segmenter's name, only with do_whole_word_mask.

    Raises:
        ValueError: "name=value: why", for the first unusable option.
    """
    problems = [
        ("max_seq_length", max_seq_length, max_seq_length < 5,
         "must be at least 5 ([CLS], [SEP], [SEP] and two tokens)"),
        ("max_predictions_per_seq", max_predictions_per_seq, max_predictions_per_seq < 1,
         "must be at least 1"),
        ("max_predictions_per_seq", max_predictions_per_seq, max_predictions_per_seq > max_seq_length,
         f"exceeds max_seq_length={max_seq_length}"),
        ("masked_lm_prob", masked_lm_prob, not 0 < masked_lm_prob <= 1, "must be in (0, 1]"),
        ("short_seq_prob", short_seq_prob, not 0 <= short_seq_prob <= 1, "must be in [0, 1]"),
        ("dupe_factor", dupe_factor, dupe_factor < 1, "must be at least 1"),
        ("chinese_word_segmenter", chinese_word_segmenter, chinese_word_segmenter and not do_whole_word_mask,
         "groups Chinese words for whole-word masking, so it needs do_whole_word_mask"),
    ]
    for name, value, is_bad, why in problems:
        if is_bad:
            raise ValueError(f"{name}={value}: {why}.")


def pair_segments(corpus, max_seq_length, short_seq_prob, rounds, rng, sentence_order=False):
    """Cuts every document into sentence pairs, `rounds` times over with fresh randomness.

    Args:
        corpus: A `TokenizedCorpus`.
        max_seq_length: T; a pair holds at most T - 3 tokens (for [CLS], [SEP], [SEP]).
        short_seq_prob: Probability that a document (in one round) aims at a
            random length in [2, T - 3] rather than T - 3.
        rounds: How many times to go over the corpus (dupe_factor).
        rng: A `np.random.Generator`.
        sentence_order: Pairs for sentence-order prediction (ALBERT's SOP):
            half of them swapped (label 1) instead of half with a random B.

    Returns:
        A SPAN_DTYPE array [instances], truncated to fit, ordered by step.
    """
    max_num_tokens = max_seq_length - 3
    segment_offsets, document_offsets = corpus.segment_offsets, corpus.document_offsets
    num_documents = corpus.num_documents
    lane_document = np.tile(np.arange(num_documents), rounds)
    position = document_offsets[lane_document].copy()  # Next segment of each lane.
    lane_end = document_offsets[lane_document + 1]
    target = np.full(len(lane_document), max_num_tokens, np.int64)
    is_short = rng.random(len(target)) < short_seq_prob
    target[is_short] = rng.integers(2, max_num_tokens, is_short.sum(), endpoint=True)

    steps = []
    active = np.flatnonzero(position < lane_end)
    while active.size:
        start, end, goal = position[active], lane_end[active], target[active]
        # A chunk grows until it reaches the target length or the document's end.
        chunk_end = np.minimum(np.searchsorted(segment_offsets, segment_offsets[start] + goal), end)
        a_end = start + rng.integers(1, np.maximum(chunk_end - start, 2))
        single = chunk_end - start == 1
        coin = rng.random(len(active)) < 0.5
        is_random_next = single if sentence_order else single | coin
        swapped = ~single & coin if sentence_order else np.zeros_like(single)

        document = lane_document[active]
        if num_documents > 1:
            other = rng.integers(0, num_documents - 1, len(active))
            other += other >= document
        else:
            other = document
        random_start = rng.integers(document_offsets[other], document_offsets[other + 1])
        b_goal = goal - (segment_offsets[a_end] - segment_offsets[start])
        random_end = np.clip(np.searchsorted(segment_offsets, segment_offsets[random_start] + b_goal),
                             random_start + 1, document_offsets[other + 1])

        b_start = np.where(is_random_next, random_start, a_end)
        b_end = np.where(is_random_next, random_end, chunk_end)
        step = np.empty(len(active), SPAN_DTYPE)
        first = (segment_offsets[start], segment_offsets[a_end])
        second = (segment_offsets[b_start], segment_offsets[b_end])
        step["a_start"], step["a_end"] = (np.where(swapped, b, a) for a, b in zip(first, second))
        step["b_start"], step["b_end"] = (np.where(swapped, a, b) for a, b in zip(first, second))
        step["is_random_next"] = is_random_next | swapped
        steps.append(step)
        position[active] = np.where(is_random_next, a_end, chunk_end)
        active = active[position[active] < end]
    spans = np.concatenate(steps) if steps else np.empty([0], SPAN_DTYPE)
    return _truncate(spans, max_num_tokens, rng)


def _truncate(spans, max_num_tokens, rng):
    """Trims pairs longest-first to `max_num_tokens`, each token from the front or back at random."""
    length_a = spans["a_end"] - spans["a_start"]
    length_b = spans["b_end"] - spans["b_start"]
    excess = np.maximum(length_a + length_b - max_num_tokens, 0)
    # The longer side shrinks until both are equal, then they alternate (B first on ties).
    from_longer = np.minimum(excess, np.abs(length_a - length_b))
    alternating = excess - from_longer
    trim_a = alternating // 2 + np.where(length_a > length_b, from_longer, 0)
    trim_b = alternating - alternating // 2 + np.where(length_a > length_b, 0, from_longer)
    front_a = rng.binomial(trim_a, 0.5)
    front_b = rng.binomial(trim_b, 0.5)
    spans = spans.copy()
    spans["a_start"] += front_a
    spans["a_end"] -= trim_a - front_a
    spans["b_start"] += front_b
    spans["b_end"] -= trim_b - front_b
    return spans


def make_instances(token_ids, spans, max_seq_length, masker, packer, rng, word_continuations=None):
    """Packs spans as [CLS] A [SEP] B [SEP] (the packer's layout), padded, and masks them.

    Args:
        token_ids: The corpus' flat int32 token ids.
        spans: SPAN_DTYPE array [N] from `pair_segments`.
        max_seq_length: T.
        masker: A `MaskedLmMasker`.
        packer: The tokenizer's `SegmentPacker`.
        rng: A `np.random.Generator` for the masks.
        word_continuations: Optional bool array beside `token_ids`: tokens
            that continue a word whatever their id (the corpus' own).

    Returns:
        Dict of the pretraining features: int32 `input_ids`, `input_mask`,
        `segment_ids` [N, T]; int32 `masked_lm_positions`, `masked_lm_ids` and
        float32 `masked_lm_weights` [N, P]; int32 `next_sentence_labels` [N]
        (1 when B is random, or for sentence order when A and B are swapped).
    """
    segments = [(spans["a_start"], spans["a_end"]), (spans["b_start"], spans["b_end"])]
    packed = packer.pack_spans(token_ids, segments, max_seq_length)
    features = masker(packed["input_word_ids"], packed["input_mask"].sum(axis=1), packed["segment_mask"], rng,
                      word_continues=pack_marks(word_continuations, segments, max_seq_length, packer, packed))
    features["input_mask"] = packed["input_mask"]
    features["segment_ids"] = packed["input_type_ids"]
    features["next_sentence_labels"] = spans["is_random_next"].astype(np.int32)
    return features


def pack_marks(marks, segments, max_seq_length, packer, packed):
    """bool [N, T]: per-token `marks` where `packed` holds their tokens, False elsewhere; None for None.

    Args:
        marks: bool array beside the flat token ids that `packed` was packed from, or None.
        segments: The (starts, ends) pairs that `packed` was packed with.
        max_seq_length: T.
        packer: The `SegmentPacker` that packed them.
        packed: Its `pack_spans` result.
    """
    if marks is None:
        return None
    # The packer lays out any values as it does ids; its special ids fall outside the segments.
    return packed["segment_mask"] & (packer.pack_spans(marks, segments, max_seq_length)["input_word_ids"] == 1)
