"""The tokens of SQuAD contexts and the text each covers, shared by run_squad's features and the served signature."""

import tensorflow as tf

_SPACE = 0x20
# UTF-8 continuation bytes are 0b10xxxxxx; every other byte starts a character.
_CONTINUATION_MASK, _CONTINUATION = 0xC0, 0x80


def tokenizes_doc_tokens(tokenizer):
    """Whether SQuAD contexts reach `tokenizer` as whitespace-separated doc tokens rather than whole.

    WordPiece does, as google-research/bert's run_squad: its alignment
    offsets index the normalized (lower-cased, accent-stripped) words, which
    `keras_bert_zoo.data.word_pieces` maps back word by word. Byte-level BPE
    and SentencePiece tokenize the whole context, as transformers' run_qa
    (BPE's first word then has no leading space), with offsets into the
    text itself (`context_pieces`).
    """
    return hasattr(tokenizer, "tokenize_with_alignment")


def context_pieces(tokenizer, contexts):
    """Token ids of whole contexts and the bytes of the context each token covers, as transformers' run_qa reads them.

    Each token's span from `tokenizer.tokenize_with_offsets` is trimmed of
    spaces at its ends (transformers' `trim_offsets`: "Ġworld" covers
    "world") and widened to whole UTF-8 characters (each byte token of "東"
    covers "東", as transformers' character offsets). A token that covers
    nothing (a lone "Ġ" or "▁" before a word cut into pieces) starts where
    the text after it does and ends where the text before it does (its end
    is then before its start). So the text of tokens i to j, from i's start
    to j's end, is whole characters without spaces at its ends, or empty
    where they cover nothing.

    Args:
        tokenizer: A tokenizer whose `tokenize_with_offsets` gives byte
            offsets into the original text (`BytePairTokenizer`,
            `SentencePieceTokenizer`).
        contexts: string Tensor [B].

    Returns:
        (ids int32, starts int64, ends int64): RaggedTensors [B, (tokens)];
        contexts[b][starts:ends] (bytes) is what a token covers.
    """
    ids, starts, ends = tokenizer.tokenize_with_offsets(contexts)
    lengths = tf.cast(tf.strings.length(contexts), tf.int64)
    # Offsets into the contexts laid end to end, so that one sorted search serves every row.
    row_base = tf.gather(tf.cumsum(lengths, exclusive=True), starts.value_rowids())
    row_end = row_base + tf.gather(lengths, starts.value_rowids())
    data = tf.io.decode_raw(tf.strings.reduce_join(contexts), tf.uint8)
    total = tf.size(data, out_type=tf.int64)
    flat_starts, flat_ends = starts.flat_values + row_base, ends.flat_values + row_base

    visible = tf.where(data != _SPACE)[:, 0]
    new_starts = tf.minimum(tf.gather(tf.concat([visible, [total]], 0), tf.searchsorted(visible, flat_starts)),
                            flat_ends)
    # One past the last non-space byte before the end; 0 where there is none.
    new_ends = tf.maximum(tf.gather(tf.concat([[0], visible + 1], 0), tf.searchsorted(visible, flat_ends)),
                          new_starts)

    char_starts = tf.where(tf.bitwise.bitwise_and(data, _CONTINUATION_MASK) != _CONTINUATION)[:, 0]
    # Starts back to their character's first byte, ends on to the next character; within the row
    # (a context may begin with a stray continuation byte).
    new_starts = tf.maximum(tf.gather(tf.concat([[0], char_starts], 0),
                                      tf.searchsorted(char_starts, new_starts, side="right")), row_base)
    new_ends = tf.minimum(tf.gather(tf.concat([char_starts, [total]], 0), tf.searchsorted(char_starts, new_ends)),
                          row_end)

    # The last token before each that covers something, if in the same context.
    covers = tf.where(new_starts < new_ends)[:, 0]
    previous = tf.gather(tf.concat([[-1], covers], 0),
                         tf.searchsorted(covers, tf.range(tf.size(new_starts, out_type=tf.int64)), side="right"))
    previous_end = tf.where(previous >= tf.gather(starts.row_starts(), starts.value_rowids()),
                            tf.gather(new_ends, tf.maximum(previous, 0)), new_starts)
    new_ends = tf.where(new_starts < new_ends, new_ends, previous_end)
    return ids, starts.with_flat_values(new_starts - row_base), ends.with_flat_values(new_ends - row_base)
