"""Learning a WordPiece vocabulary from text files."""

import collections

import tensorflow as tf

from keras_bert_zoo.files import write_text_atomic
from keras_bert_zoo.text.bert_text_normalizer import BertTextNormalizer
from keras_bert_zoo.text.vocab_files import SPECIAL_TOKENS


def build_wordpiece_vocab(text_files, vocab_size, lower_case=True, num_unused_tokens=0):
    """Learns a WordPiece vocabulary with tf-text's learner.

    Words are split exactly as `BertTokenizer` will split them, so the
    learned pieces cover what the tokenizer produces. Every word counts, even
    rare ones (keras-hub's wrapper drops words seen under 10 times, which
    starves small corpora).

    Args:
        text_files: UTF-8 files of text, read line by line.
        vocab_size: Size of the vocabulary, special and unused tokens included.
        lower_case: Learn on lower-cased, accent-stripped text (uncased models).
        num_unused_tokens: "[unusedN]" placeholders after [PAD]; 99 puts
            [UNK] [CLS] [SEP] [MASK] at ids 100-103 as in Google's vocabs.

    Returns:
        The tokens in id order: [PAD], [unused0..], [UNK], [CLS], [SEP], [MASK], then learned pieces.
    """
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    reserved = ["[PAD]"] + [f"[unused{i}]" for i in range(num_unused_tokens)] + list(SPECIAL_TOKENS[1:])
    if vocab_size <= len(reserved):
        raise ValueError(f"vocab_size={vocab_size} leaves no room beside {len(reserved)} reserved tokens.")
    normalizer = BertTextNormalizer(lower_case)
    counts = collections.Counter()
    for lines in tf.data.TextLineDataset(list(text_files)).batch(4096):
        counts.update(normalizer.words(lines).flat_values.numpy())
    word_counts = [(word.decode("utf-8"), count) for word, count in counts.items()]
    vocab = learner.learn(word_counts, vocab_size, reserved, lower_thresh=1, joiner="##")
    return list(vocab[:vocab_size])



def write_vocab(tokens, path):
    """Writes one token per line to `path`, atomically."""
    write_text_atomic(path, "".join(token + "\n" for token in tokens))
