"""How a model family packs one or two token segments into an input row, as data."""

import functools
import operator
import types

import numpy as np
import tensorflow as tf


def _gather_in_range(values, index):
    """values[index] for a flat tensor, any value where `index` is out of range (those columns are masked)."""
    # A trailing zero keeps the gather in range for empty batches and empty rows.
    values = tf.concat([values, tf.zeros([1], values.dtype)], 0)
    return tf.gather(values, tf.clip_by_value(index, 0, tf.size(values, tf.int64) - 1))


# The array ops of `SegmentPacker._dense_rows`, so one piece of code packs TensorFlow and NumPy batches.
_TENSORFLOW = types.SimpleNamespace(
    range=lambda length: tf.range(tf.cast(length, tf.int64)), row=lambda length, value: tf.fill([1, length], value),
    where=tf.where, gather=_gather_in_range, int32=lambda values: tf.cast(values, tf.int32))
_NUMPY = types.SimpleNamespace(
    range=np.arange, row=lambda length, value: np.full([1, length], value, np.int32),
    where=np.where, gather=lambda values, index: values.take(index, mode="clip"),
    int32=lambda values: values.astype(np.int32, copy=False))


class SegmentPacker:
    """A family's layout of one or two segments in a model input row, and its truncation.

    One segment packs as `start a end`, two as `start a between b end`,
    then padding. The second segment and its `end` ids get type id
    `second_type_id`; everything else gets 0. BERT is
    `SegmentPacker([cls], [sep], [sep], pad)`: `[CLS] a [SEP] b [SEP]`
    with type ids 0 then 1. RoBERTa is `<s> a </s></s> b </s>`, all type 0.

    Rows are packed by the TensorFlow graph (`pack`, over RaggedTensors) or
    by NumPy (`pack_row`, `pack_spans`), both from these fields. Segments too
    long for a row are truncated longest first: with `truncation="seq_pair"`
    as google-research's `_truncate_seq_pair`, one token at a time from the
    longer segment (the second when they are equal); with
    `truncation="tokenizers"` as Hugging Face tokenizers' `LongestFirst`
    (transformers' Rust tokenizers), which differs when both segments are
    cut to halves of an odd budget: the strictly longer segment gets the
    extra token, else the second.

    Args:
        start_ids: Ids before the first segment.
        between_ids: Ids between the first and the second segment.
        end_ids: Ids after the last segment.
        pad_id: Id of padding columns.
        second_type_id: Type id of the second segment and the ids after it.
        truncation: "seq_pair" or "tokenizers", see above.
    """

    def __init__(self, start_ids, between_ids, end_ids, pad_id, second_type_id=1, truncation="seq_pair"):
        self.start_ids = tuple(int(i) for i in start_ids)
        self.between_ids = tuple(int(i) for i in between_ids)
        self.end_ids = tuple(int(i) for i in end_ids)
        self.pad_id = int(pad_id)
        self.second_type_id = int(second_type_id)
        if truncation not in ("seq_pair", "tokenizers"):
            raise ValueError(f"truncation must be 'seq_pair' or 'tokenizers', got {truncation!r}.")
        self.truncation = truncation

    def num_special_tokens(self, num_segments):
        """Special ids in a row of `num_segments` (1 or 2) segments."""
        return len(self.start_ids) + (num_segments - 1) * len(self.between_ids) + len(self.end_ids)

    def segment_starts(self, lengths):
        """Column of each segment's first token in a row, given the segments' lengths.

        Args:
            lengths: Each segment's length (the last one's isn't needed): ints,
                or NumPy arrays or tensors of one per row.

        Returns:
            A list of one start per segment, of the lengths' kind (the first is an int).
        """
        starts = [len(self.start_ids)]
        for length in lengths[:-1]:
            starts.append(starts[-1] + length + len(self.between_ids))
        return starts

    def pack_row(self, segments, max_length):
        """One packed row from segments of Python or NumPy ids, truncated longest-first to `max_length`.

        Args:
            segments: One or two sequences of token ids.
            max_length: Columns of the row.

        Returns:
            Dict of int32 NumPy `input_word_ids`, `input_mask`, `input_type_ids` [max_length].

        Raises:
            ValueError: `max_length` leaves no room for a token of each segment.
        """
        kept = self._kept_lengths([len(segment) for segment in segments], max_length, min, max)
        word_ids = np.full(max_length, self.pad_id, np.int32)
        type_ids = np.zeros(max_length, np.int32)
        column = len(self.start_ids)
        word_ids[:column] = self.start_ids
        for index, (segment, count) in enumerate(zip(segments, kept)):
            separator = self._separator_after(index, len(segments))
            end = column + count + len(separator)
            word_ids[column:column + count] = segment[:count]
            word_ids[column + count:end] = separator
            if index:
                type_ids[column:end] = self.second_type_id
            column = end
        mask = np.zeros(max_length, np.int32)
        mask[:column] = 1
        return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": type_ids}

    def pack(self, segments, max_length, length=None):
        """Packed rows of a batch, in the TensorFlow graph, truncated longest-first to `max_length`.

        Args:
            segments: One or two int RaggedTensors [B, (tokens)].
            max_length: Most columns a row's tokens and special ids take.
            length: Columns of the output; None: the longest row's, at least 2
                (a pooler reads column 0 even of an empty batch).

        Returns:
            Dict of int32 `input_word_ids`, `input_mask`, `input_type_ids` [B, length].

        Raises:
            ValueError: `max_length` leaves no room for a token of each segment.
        """
        counts = self._kept_lengths([segment.row_lengths() for segment in segments], max_length,
                                    tf.minimum, tf.maximum)
        if length is None:
            length = tf.reduce_max(tf.concat([self._total(counts), [2]], 0))
        # The segments' ids one after another, so that one gather reads them all.
        firsts, size = [], 0
        for segment in segments:
            firsts.append(segment.row_starts() + size)
            size += tf.size(segment.flat_values, tf.int64)
        values = tf.concat([segment.flat_values for segment in segments], 0)
        rows, _ = self._dense_rows(_TENSORFLOW, values, firsts, counts, length)
        return rows

    def pack_spans(self, values, spans, length):
        """Packed rows of segments that are spans of one NumPy array of ids, none truncated.

        Args:
            values: Flat token ids [tokens].
            spans: One or two (starts, ends) pairs of int arrays [N], each row's
                segment being values[start:end]; the packed rows fit in `length`.
            length: Columns of the rows.

        Returns:
            Dict of int32 `input_word_ids`, `input_mask`, `input_type_ids` and
            bool `segment_mask` (True on segment tokens) [N, length].
        """
        rows, segment_mask = self._dense_rows(_NUMPY, values, [starts for starts, _ in spans],
                                              [ends - starts for starts, ends in spans], length)
        return dict(rows, segment_mask=segment_mask)

    def _dense_rows(self, ops, values, firsts, counts, length):
        """Packed rows [B, length] and where their segment tokens are, built with `ops`.

        Args:
            ops: `_TENSORFLOW` or `_NUMPY`.
            values: The segments' flat ids.
            firsts: Per segment, the index in `values` of each row's first id [B].
            counts: Per segment, the ids each row takes [B].
            length: Columns of the rows.

        Returns:
            (Dict of int32 `input_word_ids`, `input_mask`, `input_type_ids` [B, length],
            bool [B, length] mask of the segments' tokens).
        """
        counts = [count[:, None] for count in counts]
        starts = self.segment_starts(counts)
        position = ops.range(length)[None, :]
        # int32 from the start: NumPy's where keeps it with Python int ids (int64 is twice the bytes).
        word_ids = self._put(ops, ops.row(length, self.pad_id), position, 0, self.start_ids)
        insides = []
        # Comparisons of positions [1, length] with [B, 1] columns: cheaper than offsets [B, length] in NumPy.
        for index, (start, count) in enumerate(zip(starts, counts)):
            end = start + count
            insides.append((position >= start) & (position < end))
            word_ids = self._put(ops, word_ids, position, end, self._separator_after(index, len(starts)))
        segment_mask = functools.reduce(operator.or_, insides)
        # A row's column in segment s reads values[column + shift_s]; columns outside segments are masked.
        shift = firsts[0][:, None] - starts[0]
        for first, start in zip(firsts[1:], starts[1:]):
            shift = ops.where(position >= start, first[:, None] - start, shift)
        word_ids = ops.where(segment_mask, ops.gather(values, position + shift), word_ids)
        total = self._total(counts)
        mask = position < total
        second_start = starts[1] if len(starts) > 1 else total
        type_ids = ops.int32(mask & (position >= second_start)) * self.second_type_id
        rows = {"input_word_ids": ops.int32(word_ids), "input_mask": ops.int32(mask),
                "input_type_ids": ops.int32(type_ids)}
        return rows, segment_mask

    @staticmethod
    def _put(ops, word_ids, position, column, special_ids):
        """`word_ids` with special_ids[k] where position == column + k."""
        for k, token in enumerate(special_ids):
            word_ids = ops.where(position == column + k, token, word_ids)
        return word_ids

    def _separator_after(self, index, num_segments):
        """The ids after segment `index` of `num_segments`."""
        return self.between_ids if index + 1 < num_segments else self.end_ids

    def _total(self, lengths):
        """Columns a row of segments of these lengths takes, special ids included."""
        return self.segment_starts(lengths)[-1] + lengths[-1] + len(self.end_ids)

    def _kept_lengths(self, lengths, max_length, minimum, maximum):
        """Tokens kept of each segment (one or two) in `max_length`, in ints or tensors (given their min and max)."""
        num_special = self.num_special_tokens(len(lengths))
        budget = max_length - num_special
        if budget < len(lengths):
            raise ValueError(f"max_length={max_length} leaves no room for a token of each segment next to the "
                             f"{num_special} special tokens.")
        if len(lengths) == 1:
            return [minimum(lengths[0], budget)]
        # Both rules in closed form: the shorter segment keeps what it has while it fits in half the
        # budget, the longer gets the rest; past that, halves, the first's rounded up for seq_pair,
        # and for tokenizers only when it is the longer.
        first, second = lengths
        first_half = budget // 2 + budget % 2 * (1 if self.truncation == "seq_pair" else
                                                 minimum(maximum(first - second, 0), 1))
        return [minimum(first, maximum(budget - second, first_half)),
                minimum(second, maximum(budget - first, budget - first_half))]
