"""Learning a WordPiece vocabulary from text files."""

import collections

import tensorflow as tf

from keras_bert_zoo.files import write_text_atomic
from keras_bert_zoo.text.bert_char_classes import CJK_RANGES
from keras_bert_zoo.text.bert_text_normalizer import BertTextNormalizer
from keras_bert_zoo.text.vocab_files import SPECIAL_TOKENS


# What --chinese_characters may say: which CJK ideographs become tokens of their own before WordPieces are learned.
CHINESE_CHARACTER_CHOICES = ("none", "corpus", "all")
# The CJK Unified Ideographs block, that "all" adds whole.
BASIC_CJK_BLOCK = (0x4E00, 0x9FFF)


def build_wordpiece_vocab(text_files, vocab_size, lower_case=True, num_unused_tokens=0, chinese_characters="none"):
    """Learns a WordPiece vocabulary with tf-text's learner.

    Words are split exactly as `BertTokenizer` will split them, so the
    learned pieces cover what the tokenizer produces. Every word counts, even
    rare ones (keras-hub's wrapper drops words seen under 10 times, which
    starves small corpora).

    The learner keeps at most 1000 distinct characters, which a Chinese
    corpus exceeds: its rare characters would become [UNK]. As BertTokenizer
    makes each CJK ideograph a word of its own, `chinese_characters` can
    give the ideographs their tokens up front (after the reserved ones, in
    code point order), as Google's Chinese vocab does; WordPieces learned
    from the other words (Latin text, digits, with their "##" continuations)
    fill the rest of `vocab_size`. No "##" form of an ideograph is added:
    the tokenizer never continues a word with one.

    Args:
        text_files: UTF-8 files of text, read line by line.
        vocab_size: Size of the vocabulary, special and unused tokens included.
        lower_case: Learn on lower-cased, accent-stripped text (uncased models).
        num_unused_tokens: "[unusedN]" placeholders after [PAD]; 99 puts
            [UNK] [CLS] [SEP] [MASK] at ids 100-103 as in Google's vocabs.
        chinese_characters: "none": ideographs are learned like any other
            character; "corpus": every ideograph of the corpus is a token;
            "all": those and every one of the CJK Unified Ideographs block
            U+4E00-U+9FFF (20,992), so that characters the corpus lacks are
            no [UNK] either.

    Returns:
        The tokens in id order: [PAD], [unused0..], [UNK], [CLS], [SEP], [MASK],
        then the ideographs (if asked for) and the learned pieces.

    Raises:
        ValueError: `vocab_size` leaves no room beside the reserved tokens and ideographs.
    """
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    if chinese_characters not in CHINESE_CHARACTER_CHOICES:
        raise ValueError(f"chinese_characters={chinese_characters!r}: expected one of {CHINESE_CHARACTER_CHOICES}.")
    reserved = ["[PAD]"] + [f"[unused{i}]" for i in range(num_unused_tokens)] + list(SPECIAL_TOKENS[1:])
    if vocab_size <= len(reserved):
        raise ValueError(f"vocab_size={vocab_size} leaves no room beside {len(reserved)} reserved tokens.")
    counts = _word_counts(text_files, lower_case)
    ideographs = set()
    if chinese_characters != "none":
        ideographs = {word for word in counts if len(word) == 1 and _is_cjk(word)}
        if chinese_characters == "all":
            ideographs.update(map(chr, range(BASIC_CJK_BLOCK[0], BASIC_CJK_BLOCK[1] + 1)))
        for character in ideographs:
            counts.pop(character, None)
    fixed = reserved + sorted(ideographs)
    if vocab_size < len(fixed):
        raise ValueError(f"vocab_size={vocab_size} is too small for {len(reserved)} reserved tokens and "
                         f"{len(ideographs)} CJK ideographs (chinese_characters={chinese_characters!r}).")
    learned = []
    if counts and vocab_size > len(fixed):
        learned = learner.learn(list(counts.items()), vocab_size - len(ideographs), reserved, lower_thresh=1,
                                joiner="##")[len(reserved):]
    return list(dict.fromkeys(fixed + learned))[:vocab_size]


def _word_counts(text_files, lower_case):
    """{word: count} of the words BertTokenizer's normalizer splits the files' lines into."""
    normalizer = BertTextNormalizer(lower_case)
    counts = collections.Counter()
    for lines in tf.data.TextLineDataset(list(text_files)).batch(4096):
        counts.update(normalizer.words(lines).flat_values.numpy())
    return collections.Counter({word.decode("utf-8"): count for word, count in counts.items()})


def _is_cjk(character):
    code = ord(character)
    return any(first <= code <= last for first, last in CJK_RANGES)


def write_vocab(tokens, path):
    """Writes one token per line to `path`, atomically."""
    write_text_atomic(path, "".join(token + "\n" for token in tokens))
