"""The tokens of SQuAD contexts and the text each covers, shared by run_squad's features and the served signature."""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_zoo.data.word_offsets import cut_words
from keras_bert_zoo.text.bert_char_classes import char_classes

_SPACE = 0x20
# UTF-8 continuation bytes are 0b10xxxxxx; every other byte starts a character.
_CONTINUATION_MASK, _CONTINUATION = 0xC0, 0x80


def uses_word_pieces(tokenizer):
    """Whether `tokenizer` is WordPiece, whose answers are labelled as google-research/bert's run_squad.

    WordPiece's alignment offsets index the normalized (lower-cased,
    accent-stripped) words, which `context_pieces` maps back to the text.
    Byte-level BPE and SentencePiece give offsets into the text itself, and
    their answers are labelled as transformers' run_qa.
    """
    return hasattr(tokenizer, "tokenize_with_alignment")


def context_pieces(tokenizer, contexts):
    """Token ids of whole contexts and the bytes of the context each token covers.

    The ids are `tokenizer.tokenize(contexts)`'s. WordPiece pieces cover their
    own characters, whatever normalization made of them ("Café" for "cafe",
    "1996" of "(1996)", "Pad" of "ThinkPad", each ideograph of unspaced
    Chinese), see `_word_piece_spans`. BPE and SentencePiece tokens cover
    what transformers' run_qa reads from their offsets, see
    `_trimmed_token_spans`. So the text of tokens i to j, from i's start to
    j's end, is whole characters without spaces at its ends (or empty where
    they cover nothing), for run_squad's answers and the served ones alike.

    Args:
        tokenizer: A `keras_bert_zoo.text` tokenizer.
        contexts: string Tensor [B].

    Returns:
        (ids int32, starts int64, ends int64): RaggedTensors [B, (tokens)];
        contexts[b][starts:ends] (bytes) is what a token covers.
    """
    if uses_word_pieces(tokenizer):
        return _word_piece_spans(tokenizer, contexts)
    return _trimmed_token_spans(tokenizer, contexts)


def _word_piece_spans(tokenizer, contexts):
    """`context_pieces` of WordPiece: each piece's characters, mapped back from its normalized word.

    Whitespace-separated tokens are tokenized alone (no step of the
    reference tokenizer looks across a space, so the ids are the context's).
    Each piece's characters in its normalized words, laid end to end over
    the token, meet the characters that each grapheme of the token (a
    character and its nonspacing marks) normalizes to alone; a piece covers
    the graphemes holding its first to last normalized character, so
    graphemes that normalize to nothing (control, zero-width) stay outside
    it unless inside. [UNK] covers the word it replaces. A token whose
    pieces don't add up to its graphemes (rare: e.g. Hangul jamo that NFC
    composes) gives each piece the whole token.
    """
    whitespace = char_classes()["whitespace"]
    # tf-text's splitter stops at NUL bytes; a same-length stand-in keeps the offsets.
    safe = tf.strings.regex_replace(contexts, r"\x00", "\x01")
    _, token_starts, token_ends = tf_text.regex_split_with_offsets(safe, f"{whitespace}+")
    token_lengths = token_ends.flat_values - token_starts.flat_values
    tokens = cut_words(contexts, token_starts, token_ends)[0].flat_values
    num_tokens = tf.size(tokens, out_type=tf.int64)
    aligned = tokenizer.tokenize_with_alignment(tokens, "UTF8_CHAR")  # [tokens, (pieces)]
    piece_token = aligned["ids"].value_rowids()
    piece_lengths = aligned["ends"].flat_values - aligned["starts"].flat_values

    grapheme = f"(?s).{char_classes()['nonspacing_mark']}*"
    _, grapheme_starts, grapheme_ends = tf_text.regex_split_with_offsets(
        tf.strings.regex_replace(tokens, r"\x00", "\x01"), grapheme, grapheme)
    grapheme_token = grapheme_starts.value_rowids()
    graphemes = cut_words(tokens, grapheme_starts, grapheme_ends)[0].flat_values
    # Printable ASCII stays one character (at most lower-cased); only the others go through the normalizer.
    others = tf.where(~tf.strings.regex_full_match(graphemes, "[!-~]"))
    other_lengths = tf.reduce_sum(tf.strings.length(tokenizer.words(tf.gather_nd(graphemes, others)),
                                                    unit="UTF8_CHAR"), axis=1)
    normalized_lengths = tf.tensor_scatter_nd_update(tf.ones_like(grapheme_token), others,
                                                     tf.cast(other_lengths, tf.int64))

    # Normalized positions counted over all tokens: each token's pieces start where its graphemes do.
    grapheme_total = tf.math.unsorted_segment_sum(normalized_lengths, grapheme_token, num_tokens)
    piece_total = tf.math.unsorted_segment_sum(piece_lengths, piece_token, num_tokens)
    token_base = tf.cumsum(grapheme_total, exclusive=True)
    piece_ends = tf.cumsum(piece_lengths) - tf.gather(tf.cumsum(piece_total, exclusive=True), piece_token)
    piece_ends += tf.gather(token_base, piece_token)
    grapheme_ends_at = tf.cumsum(normalized_lengths)
    first = tf.searchsorted(grapheme_ends_at, piece_ends - piece_lengths, side="right", out_type=tf.int64)
    last = tf.searchsorted(grapheme_ends_at, piece_ends, side="left", out_type=tf.int64)
    # Unaligned tokens' searches may run past the end: one spare entry keeps the gathers in range.
    starts_in_token = tf.gather(tf.concat([grapheme_starts.flat_values, [0]], 0), first)
    ends_in_token = tf.gather(tf.concat([grapheme_ends.flat_values, [0]], 0), last)
    is_aligned = tf.gather(tf.equal(grapheme_total, piece_total), piece_token)
    token_start = tf.gather(token_starts.flat_values, piece_token)
    starts = token_start + tf.where(is_aligned, starts_in_token, 0)
    ends = token_start + tf.where(is_aligned, ends_in_token, tf.gather(token_lengths, piece_token))

    def per_context(values):
        return token_starts.with_flat_values(aligned["ids"].with_flat_values(values)).merge_dims(1, 2)

    return per_context(aligned["ids"].flat_values), per_context(starts), per_context(ends)


def _trimmed_token_spans(tokenizer, contexts):
    """`context_pieces` of tokenizers with offsets into the text (`BytePairTokenizer`, `SentencePieceTokenizer`).

    Each token's span from `tokenizer.tokenize_with_offsets` is trimmed of
    spaces at its ends (transformers' `trim_offsets`: "Ġworld" covers
    "world") and widened to whole UTF-8 characters (each byte token of "東"
    covers "東", as transformers' character offsets). A token that covers
    nothing (a lone "Ġ" or "▁" before a word cut into pieces) starts where
    the text after it does and ends where the text before it does (its end
    is then before its start).
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
