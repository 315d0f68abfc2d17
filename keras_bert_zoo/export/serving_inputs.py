"""In-graph preparation of raw serving text: the WordPieces of words."""

import tensorflow as tf


def word_pieces(tokenizer, words, max_pieces_per_word=None):
    """Token ids of each word as in running text, never empty: a word that normalizes to nothing becomes [UNK].

    Args:
        tokenizer: A tokenizer of `keras_bert_zoo.text`.
        words: RaggedTensor [B, (W)] of words.
        max_pieces_per_word: Keep at most this many pieces of a word.

    Returns:
        RaggedTensor [B, (W), (P)] of int32 ids.
    """
    pieces = tokenizer.tokenize_words(words.flat_values)
    if max_pieces_per_word:
        pieces = pieces[:, :max_pieces_per_word]
    lengths = pieces.row_lengths()
    count = tf.size(lengths, out_type=tf.int64)
    unknown = tf.RaggedTensor.from_row_lengths(tf.fill([count], tf.constant(tokenizer.unk_id, pieces.dtype)),
                                               tf.ones_like(lengths))
    # Row i of `pieces`, or the [UNK] row i where the word has no piece.
    rows = tf.where(lengths == 0, count + tf.range(count), tf.range(count))
    return words.with_flat_values(tf.gather(tf.concat([pieces, unknown], 0), rows))
