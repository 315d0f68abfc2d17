"""In-graph byte-level BPE tokenizer (GPT-2 / RoBERTa) that reproduces transformers' ids."""

import functools
import itertools
import os
import threading

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_zoo.text.byte_pair_files import (byte_to_unicode, normalization, pair_layout, read_byte_pair_files,
                                                 read_merges, read_vocab_json, token_bytes, write_byte_pair_files,
                                                 write_template_tokenizer_files)
from keras_bert_zoo.text.graph_calls import concat_rows, per_batch, row_ids, scattered, strings
from keras_bert_zoo.text.graph_tokenizer import GraphTokenizer
from keras_bert_zoo.text.segment_packer import SegmentPacker


def _class_items(ranges):
    """RE2 class items of space-separated hex code points and FIRST-LAST ranges."""
    return "".join("-".join(r"\x{%s}" % code for code in item.split("-")) for item in ranges.split())


# The reference pre-tokenizer's regex runs on Oniguruma, whose Unicode 16 tables know letters and
# numbers that RE2's (Unicode 15.1) don't; RE2's \p{L} and \p{N} are otherwise the same sets.
_LETTERS = r"\p{L}" + _class_items(
    "1C89-1C8A A7CB-A7CD A7DA-A7DC 105C0-105F3 10D4A-10D65 10D6F-10D85 10EC2-10EC4 11380-11389 1138B 1138E "
    "11390-113B5 113B7 113D1 113D3 11BC0-11BE0 13460-143FA 16100-1611D 16D40-16D6C 18CFF 1E5D0-1E5ED 1E5F0 "
    "2EBF0-2EE5D")
_NUMBERS = r"\p{N}" + _class_items("10D40-10D49 116D0-116E3 11BF0-11BF9 16130-16139 16D70-16D79 1CCF0-1CCF9 "
                                   "1E5F1-1E5FA")
# Oniguruma's \s (RE2's is ASCII only); U+001C-U+001F, which Python's str.isspace() counts, aren't in it.
_OTHER_SPACES = _class_items("9-D 85 A0 1680 2000-200A 2028-2029 202F 205F 3000")
_SPACES = " " + _OTHER_SPACES
# Classes of characters in GPT-2's pre-tokenization regex
# `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
# Letters, numbers, the space (U+0020), other whitespace, and the others.
_LETTER, _NUMBER, _BLANK, _SPACE, _OTHER = range(5)
# The contractions after the apostrophe, and their lengths with it.
_CONTRACTIONS = {"s": 2, "t": 2, "m": 2, "d": 2, "re": 3, "ve": 3, "ll": 3}
# How many merged words an eager tokenizer remembers, at most, and their longest: about 90 MB at most (an
# entry takes up to 5 bytes per byte of its word). Chinese runs between punctuation, words here, are 90
# bytes at the 99th percentile.
_REMEMBERED_WORDS = 1 << 16
_REMEMBERED_WORD_BYTES = 256
# Merge codes: rank << 32 | id of the merged token; pairs that don't merge get the largest int64.
_ID_BITS = (1 << 32) - 1
_NO_MERGE = np.iinfo(np.int64).max
# A step's order of a pair that doesn't merge (rank << 32 | position) is this or above.
_NO_RANK = _NO_MERGE & ~_ID_BITS
# The length of the UTF-8 character that a byte leads (0: not a lead byte of two bytes or more).
_UTF8_LENGTHS = np.array([0] * 0xC0 + [2] * 32 + [3] * 16 + [4] * 8 + [0] * 8, np.int64)


def _joined_characters(texts):
    """Texts [B] joined: (the joined string, int32 code points [C], int64 their byte offsets in it [C],
    int64 the texts' offsets in it [B]).

    Invalid UTF-8 bytes are U+0001, a control character (tf.strings.unicode_decode's replacement),
    each sequence of them at its first byte.
    """
    joined = tf.strings.reduce_join(texts)
    raw = tf.cast(tf.io.decode_raw(joined, tf.uint8), tf.int32)
    text_starts = tf.cumsum(tf.cast(tf.strings.length(texts), tf.int64), exclusive=True)

    def ascii():
        return raw, tf.range(tf.size(raw, tf.int64))

    def utf8():
        # Each byte's code point if a character starts there: a lead byte's high bits say how many
        # bytes follow, its other bits lead the code point, and each following byte adds its low 6 bits.
        # (Slices and selects over all bytes: gathers of each character's bytes are slower.)
        size = tf.size(raw)
        padded = tf.concat([raw, tf.zeros([3], tf.int32)], 0)
        leads = [raw >= lead for lead in (0xC0, 0xE0, 0xF0)]
        points = tf.bitwise.bitwise_and(raw, tf.where(leads[2], 0x07, tf.where(leads[1], 0x0F,
                                                                               tf.where(leads[0], 0x1F, 0x7F))))
        for offset, lead in enumerate(leads, 1):
            following = tf.bitwise.bitwise_and(padded[offset:size + offset], 0x3F)
            points = tf.where(lead, tf.bitwise.bitwise_or(tf.bitwise.left_shift(points, 6), following), points)
        starts = tf.where(tf.bitwise.bitwise_and(raw, 0xC0) != 0x80)[:, 0]
        return tf.gather(points, starts), starts

    def replaced():
        points, offsets = tf.strings.unicode_decode_with_offsets(texts, "UTF-8", errors="replace", replacement_char=1)
        return points.flat_values, offsets.flat_values + tf.gather(text_starts, row_ids(points.row_splits))

    points, offsets = tf.cond(tf.reduce_all(raw < 0x80), ascii, lambda: tf.cond(
        tf.reduce_all(tf.strings.regex_full_match(texts, "(?s).*")), utf8, replaced))
    return joined, points, offsets, text_starts


@functools.lru_cache(maxsize=None)
def _character_classes():
    """Each code point's class in GPT-2's pattern as RE2 reads `_LETTERS`, `_NUMBERS` and `_SPACES`.

    Returns:
        (int32 [0x1100] row of each block of 256 code points, int8 [rows * 256]
        the rows' classes): blocks with the same classes share a row.
    """
    points = np.arange(0x110000, dtype=np.int32)
    encodable = points[(points < 0xD800) | (points > 0xDFFF)]  # UTF-8 holds no surrogates.
    classes = np.full(points.shape, _OTHER, np.int8)
    with tf.init_scope():
        characters = tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(encodable[:, None]), "UTF-8")
        for class_id, items in ((_LETTER, _LETTERS), (_NUMBER, _NUMBERS), (_SPACE, _SPACES)):
            classes[encodable[tf.strings.regex_full_match(characters, f"[{items}]").numpy()]] = class_id
    classes[ord(" ")] = _BLANK
    rows, row_of_block = np.unique(classes.reshape(-1, 256), axis=0, return_inverse=True)
    return row_of_block.reshape(-1).astype(np.int32), rows.reshape(-1)


def _word_start_table():
    """bool [6 * 5 * 6]: whether a word starts at a character, by its classes (before + 1, its own,
    after + 1), where the class before a text's first character and after its last is -1.

    The classes of GPT-2's regex match runs of letters, of numbers, or of
    other characters, each after an optional space; `\\s+(?!\\S)|\\s+` make
    whitespace before a non-space character a word but for its last
    character, which is a word of its own unless it is a space ("a  b" is
    "a", " ", " b"; "a\\t\\tb" is "a", "\\t", "\\t", "b"). Contractions are
    `_contractions`'.
    """
    table = np.zeros([6, 5, 6], bool)
    spaces = (_BLANK, _SPACE)
    for before, own, after in itertools.product(range(-1, 5), range(5), range(-1, 5)):
        if before == -1:
            starts = True
        elif own in spaces:  # Starts a run of whitespace, or is the last of two or more before a non-space.
            starts = before not in spaces or after not in (-1, *spaces)
        elif before in spaces:  # Unless a space before it leads its word.
            starts = before != _BLANK
        else:
            starts = own != before
        table[before + 1, own, after + 1] = starts
    return table.reshape(-1)


class BytePairTokenizer(GraphTokenizer):
    """Byte-level BPE tokenizer (GPT-2's, RoBERTa's) built from TF and tf-text ops, for tf.data and SavedModels.

    Its ids equal transformers' `RobertaTokenizer` (the Rust `tokenizers`
    ByteLevel pre-tokenizer and BPE model) with `add_prefix_space=False`.
    Texts are split by GPT-2's regex (contractions, runs of letters, of
    numbers, of other symbols, each with an optional leading space, and
    whitespace), each word's UTF-8 bytes become byte tokens, and merges apply
    by rank. Words whose BPE is a single vocab token are looked up in a static
    table built at construction; the others are merged in the graph, all
    distinct words of a batch at once, each step making every merge of a
    word that the reference would make next before any pair they create.
    Eager calls remember the words they merged (up to 65,536 words) and
    look them up after, as the reference and keras-hub cache words; graphs
    traced by a user or for an export hold no such table.

    Typed "<s>", "</s>" or "<mask>" are ordinary text (the reference with
    `split_special_tokens=True`), so user text can't inject special tokens.
    Any bytes are tokenized: invalid UTF-8 bytes count as symbol characters
    (as a control character does) and keep their byte tokens, so
    `detokenize` gives the input back. Its `packer` holds RoBERTa's
    `<s> a </s></s> b </s>` layout, all type ids 0, or with one separator
    ModernBERT's `[CLS] a [SEP] b [SEP]`.

    Args:
        vocab: Path of a vocab.json ({token: id}), a {token: id} dict, or tokens by id.
        merges: Path of a merges.txt, or (left, right) token pairs (or "left right" strings) by rank.
        cls_token, sep_token, pad_token, unk_token, mask_token: The special tokens.
        pair_separators: How many separators stand between a pair's texts (RoBERTa 2, ModernBERT 1).
        second_type_id: The type id of a pair's second text.
        normalization: None, or "NFC": texts are NFC-normalized first (ModernBERT's
            tokenizer.json), offsets still pointing into the texts as given.
    """

    def __init__(self, vocab, merges, cls_token="<s>", sep_token="</s>", pad_token="<pad>", unk_token="<unk>",
                 mask_token="<mask>", pair_separators=2, second_type_id=0, normalization=None):
        super().__init__("byte_pair_tokenizer")
        if normalization not in (None, "NFC"):
            raise ValueError(f"normalization must be None or 'NFC', got {normalization!r}.")
        self.normalization = normalization
        if isinstance(vocab, (str, os.PathLike)):
            vocab = read_vocab_json(vocab)
        if isinstance(merges, (str, os.PathLike)):
            merges = read_merges(merges)
        if isinstance(vocab, dict):
            vocab = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
        # Kept untracked, as the base class's other Python data.
        self._untracked.vocab = list(vocab)
        self._untracked.merges = [tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge)
                                  for merge in merges]
        self._untracked.special_tokens = {"cls": cls_token, "sep": sep_token, "pad": pad_token, "unk": unk_token,
                                          "mask": mask_token}
        self.lower_case = False
        token_ids = self._index_vocab()
        self._set_special_ids(self.special_tokens, "The vocab")
        self.packer = SegmentPacker([self.cls_id], [self.sep_id] * pair_separators, [self.sep_id], self.pad_id,
                                    second_type_id=second_type_id, truncation="tokenizers")
        special = set(self.special_tokens.values())
        # What each token stands for: its bytes, or the UTF-8 of a special or added token.
        raw = [None if token in special else token_bytes(token) for token in self.vocab]
        covers = [token.encode("utf-8") if b is None else b for token, b in zip(self.vocab, raw)]
        self._token_bytes = tf.constant(covers)
        self._token_lengths = tf.constant([len(b) for b in covers], tf.int64)
        byte_tokens = byte_to_unicode()
        # Bytes whose character isn't in the vocab are dropped (-1), as the reference BPE without an unk
        # token does (no byte-level vocab trained with its initial alphabet lacks any).
        self._byte_ids = tf.constant([token_ids.get(byte_tokens[byte], -1) for byte in range(256)], tf.int32)
        self._merge_table, self._merge_limits, self._character_table = self._merge_codes(token_ids)
        self._word_table = self._single_token_words(raw)
        row_of_block, class_rows = _character_classes()
        self._row_of_block, self._class_rows = tf.constant(row_of_block), tf.constant(class_rows, tf.int32)
        self._word_starts = tf.constant(_word_start_table())
        # Not inlined: every graph that calls it would be optimized with its ops again (seconds each).
        self._untracked.split, self._untracked.remembering_split = (
            tf.function(functools.partial(self._split, remember=remember),
                        input_signature=[tf.TensorSpec([None], tf.string)], autograph=False,
                        experimental_attributes={"_noinline": True}) for remember in (False, True))
        # Eager calls remember the pieces of the words they merged, as the reference and keras-hub do. The
        # table is a resource no export could hold, so only eager calls' graphs use it.
        with tf.init_scope():
            self._untracked.remembered = tf.lookup.experimental.MutableHashTable(tf.int64, tf.string, b"")
        # Set while this thread's eager call traces its graphs.
        self._untracked.remembering = threading.local()

    @property
    def vocab(self):
        """Tokens by id."""
        return self._untracked.vocab

    @property
    def merges(self):
        """(left, right) token pairs by rank."""
        return self._untracked.merges

    @property
    def special_tokens(self):
        """{role: token} of the roles cls, sep, pad, unk and mask."""
        return self._untracked.special_tokens

    @classmethod
    def from_pretrained(cls, path):
        """The tokenizer of a directory with vocab.json + merges.txt, or with (or of) a BPE tokenizer.json.

        Special tokens are those tokenizer_config.json or special_tokens_map.json
        name, else RoBERTa's; pairs are packed as a tokenizer.json's post-processor
        says (`byte_pair_files.pair_layout`), else as RoBERTa's; its NFC normalizer
        (ModernBERT's) is applied.

        Raises:
            ValueError: naming the path, if it holds no byte-level BPE tokenizer.
        """
        vocab, merges, special = read_byte_pair_files(path)
        separators, second_type_id = pair_layout(path)
        return cls(vocab, merges, **{f"{role}_token": token for role, token in special.items()},
                   pair_separators=separators, second_type_id=second_type_id, normalization=normalization(path))

    def save_pretrained(self, directory):
        """Writes vocab.json, merges.txt and tokenizer_config.json (a RobertaTokenizer's) into `directory`, or
        for another pair layout or a normalization (ModernBERT's) a tokenizer.json that states them, with its
        tokenizer_config.json."""
        separators, second_type_id = len(self.packer.between_ids), self.packer.second_type_id
        if (separators, second_type_id, self.normalization) == (2, 0, None):
            write_byte_pair_files(directory, self.vocab, self.merges, self.special_tokens)
        else:
            write_template_tokenizer_files(directory, self.vocab, self.merges, self.special_tokens, separators,
                                           second_type_id, self.normalization)

    def continues_word(self):
        """bool NumPy [vocab_size]: tokens that continue a word, for whole-word masking.

        A word's first token starts with "Ġ" (its leading space); the others,
        and words at the start of a text, don't. Special tokens never continue.
        """
        special = set(self.special_tokens.values())
        return np.array([not token.startswith("Ġ") and token not in special for token in self.vocab], bool)

    def tokenize_with_offsets(self, texts):
        """BPE ids of texts with the byte span of the input text that each token stands for.

        A token covers its own bytes: "Ġworld" spans " world", its leading
        space included (HF's offsets, with `trim_offsets`, leave the space
        out). So `text[start:end]` (of the UTF-8 bytes) is the token's bytes,
        which may be part of a multi-byte character, and a text's spans tile it
        but for its dropped bytes (none with a full byte alphabet).

        Args:
            texts: A string or a [B] batch of strings.

        Returns:
            (int32 ids, int64 starts, int64 ends): RaggedTensors [B, (tokens)],
            or 1-D tensors for one string.
        """
        return self._run("tokenize_with_offsets", strings(texts))

    def tokenize_words(self, words):
        """Ids of each word as it is tokenized after a space in running text, never across words.

        transformers' `is_split_into_words=True` (with `add_prefix_space=True`),
        as NER tags words: a space is put before each word that doesn't start
        with one (an empty word has no tokens), then each word is tokenized on its own.

        Args:
            words: A string, [N] strings, or a RaggedTensor [B, (N)] of them.

        Returns:
            int32 RaggedTensor [N, (pieces)] ([B, (N), (pieces)] for ragged
            words), or a 1-D tensor for one word.
        """
        if isinstance(words, tf.RaggedTensor):
            return words.with_flat_values(self.tokenize_words(words.flat_values))
        words = strings(words)
        spaced = tf.where((tf.strings.substr(words, 0, 1) == " ") | (words == ""), words,
                          tf.strings.join([" ", words]))
        return self.tokenize(spaced)

    def _run(self, name, *args, sliced=False):
        # The graphs that eager calls trace, here and nowhere else, remember merged words.
        remembering = self._untracked.remembering
        outer, remembering.on = getattr(remembering, "on", False), tf.executing_eagerly()
        try:
            return super()._run(name, *args, sliced=sliced)
        finally:
            remembering.on = outer

    def _split_words(self, texts):
        """`_split` of texts [B], remembering merged words if the graph is an eager call's."""
        remembering = getattr(self._untracked.remembering, "on", False)
        return (self._untracked.remembering_split if remembering else self._untracked.split)(texts)

    def _tokenize_batch(self, texts):
        if self.normalization:
            texts = tf_text.normalize_utf8(texts, self.normalization)
        pieces, word_splits, _ = self._split_words(texts)
        return tf.RaggedTensor.from_row_splits(pieces.flat_values, tf.gather(pieces.row_splits, word_splits),
                                               validate=False)

    def _tokenize_with_offsets(self, texts):
        return per_batch(self._with_offsets, texts)

    def _with_offsets(self, texts):
        if not self.normalization:
            return self._normalized_with_offsets(texts)
        # Offsets found in the normalized texts are mapped back into the texts as given. tf-text's
        # FindSourceOffsets refuses a row without offsets and its offset map of an empty batch crashes the
        # process: one more text, empty, goes last, and each row gets a leading 0, all dropped again.
        normalized, offsets_map = tf_text.normalize_utf8_with_offsets_map(tf.concat([texts, [""]], 0),
                                                                          self.normalization)
        ids, starts, ends = self._normalized_with_offsets(normalized)

        def in_source(offsets):
            leading = tf.RaggedTensor.from_tensor(tf.zeros([offsets.nrows(), 1], offsets.dtype))
            return tf_text.find_source_offsets(offsets_map, tf.concat([leading, offsets], 1))[:-1, 1:]

        return ids[:-1], in_source(starts), in_source(ends)

    def _normalized_with_offsets(self, texts):
        pieces, word_splits, word_starts = self._split_words(texts)
        lengths = tf.gather(self._token_lengths, pieces.flat_values)
        # A piece starts where its word does, plus the lengths of the word's pieces before it.
        rows = row_ids(pieces.row_splits)
        before = tf.cumsum(lengths, exclusive=True)
        starts = tf.gather(word_starts, rows) + before - tf.gather(before, tf.gather(pieces.row_starts(), rows))
        splits = tf.gather(pieces.row_splits, word_splits)
        return tuple(tf.RaggedTensor.from_row_splits(values, splits, validate=False)
                     for values in (pieces.flat_values, starts, starts + lengths))

    def _split(self, texts, remember):
        """The BPE pieces of the words of texts [B].

        Traced once (a tf.function in `_untracked`) for every call site of a tokenizer's graphs, and once
        more (`remember`) for eager calls, which remember merged words.

        Returns:
            (int32 pieces [words, (pieces)], the words' row splits [B + 1],
            the words' int64 byte offsets in their texts [words]).
        """
        words, starts = self._words(texts)
        return self._word_pieces(words.flat_values, remember), words.row_splits, starts.flat_values

    def _words(self, texts):
        """Texts [B] split as GPT-2's regex splits them: (words, byte offsets in the texts) [B, (words)].

        For every character at once: whether a word starts there follows from
        its class and its neighbours' (`_word_start_table`), but for
        contractions (`_contractions`). Invalid UTF-8 bytes are other
        characters, as in the reference's byte-level reading.
        """
        joined, points, offsets, text_starts = _joined_characters(texts)
        count = tf.size(points, tf.int64)
        classes = tf.gather(self._class_rows, tf.gather(self._row_of_block, tf.bitwise.right_shift(points, 8)) * 256
                            + tf.bitwise.bitwise_and(points, 255))
        # Each text's first character (an empty text's is the next one's, or none).
        text_firsts = tf.searchsorted(offsets, text_starts, out_type=tf.int64)
        text_firsts = tf.boolean_mask(text_firsts, text_firsts < count)
        first = scattered(text_firsts, tf.ones_like(text_firsts, tf.bool), count, False)
        last = tf.concat([first[1:], [True]], 0)
        # Neighbours' classes within a text; -1 past its ends.
        before = tf.where(first, -1, tf.concat([[-1], classes[:-1]], 0))
        after = tf.where(last, -1, tf.concat([classes[1:], [-1]], 0))
        starts_word = tf.gather(self._word_starts, ((before + 1) * 5 + classes) * 6 + after + 1)
        word_starts = tf.gather(offsets, tf.where(self._contractions(points, last, starts_word))[:, 0])
        # Words tile the joined texts, which substr reads without copying them per word.
        lengths = tf.concat([word_starts[1:], tf.cast(tf.strings.length(joined), tf.int64)[None]], 0) - word_starts
        words = tf.strings.substr(joined, word_starts, lengths)
        # An empty text shares its start with the next text, which the word is in.
        word_texts = tf.searchsorted(text_starts, word_starts, side="right", out_type=tf.int64) - 1
        texts_count = tf.size(texts, tf.int64)
        splits = tf.concat([[0], tf.cumsum(tf.math.bincount(word_texts, minlength=texts_count, maxlength=texts_count,
                                                            dtype=tf.int64))], 0)
        return (tf.RaggedTensor.from_row_splits(words, splits, validate=False),
                tf.RaggedTensor.from_row_splits(word_starts - tf.gather(text_starts, word_texts), splits,
                                                validate=False))

    @staticmethod
    def _contractions(points, last, starts_word):
        """`starts_word` [N] with each contraction after an apostrophe that starts a word made one word."""
        at = tf.where(starts_word & (points == ord("'")))[:, 0]
        # The two characters after each apostrophe, as (first << 21 | second); 0 past its text's end.
        padded_points, padded_last = tf.concat([points, [0, 0]], 0), tf.concat([last, [True, True]], 0)
        ended = tf.gather(padded_last, at)
        second_ended = ended | tf.gather(padded_last, at + 1)
        key = tf.bitwise.bitwise_or(tf.bitwise.left_shift(tf.where(ended, 0, tf.gather(padded_points, at + 1)), 21),
                                    tf.where(second_ended, 0, tf.gather(padded_points, at + 2)))
        length = tf.zeros_like(at)
        for suffix, suffix_length in _CONTRACTIONS.items():
            prefix = tf.bitwise.right_shift(key, 21) if len(suffix) == 1 else key
            code = ord(suffix[0]) if len(suffix) == 1 else ord(suffix[0]) << 21 | ord(suffix[1])
            length = tf.where(prefix == code, tf.constant(suffix_length, tf.int64), length)
        at, length = tf.boolean_mask(at, length > 0), tf.boolean_mask(length, length > 0)
        # Its other characters start no word; the character after it does (a text's first already does).
        inside = tf.ragged.range(at + 1, at + length).flat_values
        after = at + length
        after = tf.boolean_mask(after, after < tf.size(points, tf.int64))
        changed = tf.concat([inside, after], 0)
        return tf.tensor_scatter_nd_update(starts_word, changed[:, None],
                                           tf.concat([tf.zeros_like(inside, tf.bool), tf.ones_like(after, tf.bool)], 0))

    def _word_pieces(self, words, remember=False):
        """BPE ids of words [N]: int32 RaggedTensor [N, (pieces)]; `remember`: through `_remembered_pieces`."""
        ids = tf.cast(self._word_table.lookup(words), tf.int32)
        missed = ids < 0
        missed_words, missed_index = tf.unique(tf.boolean_mask(words, missed))
        merged = (self._remembered_pieces if remember else self._merge_words)(missed_words)
        merged = tf.gather(merged, missed_index)  # [missed words, (pieces)]
        at = tf.where(missed)[:, 0]
        lengths = scattered(at, merged.row_lengths(), tf.size(ids, tf.int64), 1)
        splits = tf.concat([[0], tf.cumsum(lengths)], 0)
        rows = row_ids(merged.row_splits)
        merged_at = (tf.gather(tf.gather(splits, at), rows) + tf.range(tf.size(rows, tf.int64))
                     - tf.gather(merged.row_starts(), rows))
        values = scattered(tf.concat([tf.boolean_mask(splits[:-1], ~missed), merged_at], 0),
                           tf.concat([tf.boolean_mask(ids, ~missed), merged.flat_values], 0), splits[-1])
        return tf.RaggedTensor.from_row_splits(values, splits, validate=False)

    def _remembered_pieces(self, words):
        """`_merge_words` of distinct words [U], of those merged before from the table of remembered ones.

        The table maps a word's 64-bit fingerprint to its length (4 bytes),
        itself, and its pieces as UTF-32 code points (ids from U+D800 up
        shifted past the surrogates, so one decode_raw reads them all back);
        a word counts as remembered only if its length and bytes match, so a
        fingerprint shared by two words costs a merge, never a wrong piece.
        New words up to _REMEMBERED_WORD_BYTES long are added while the table
        holds fewer than _REMEMBERED_WORDS.
        """
        table = self._untracked.remembered
        keys = tf.bitcast(tf.fingerprint(words), tf.int64)
        kept = table.lookup(keys)
        lengths = tf.strings.length(words)
        # A missing word's "" gets a length no word has, so that every substr below is in range.
        padded = tf.strings.join([kept, b"\xff" * 4])
        stored_lengths = tf.reshape(tf.io.decode_raw(tf.strings.substr(padded, 0, 4), tf.int32, little_endian=False),
                                    [-1])
        stored_words = tf.strings.substr(padded, tf.fill(tf.shape(lengths), 4), lengths)
        found = (stored_lengths == lengths) & (stored_words == words)
        new, old = tf.where(~found)[:, 0], tf.where(found)[:, 0]
        # Once most words are remembered, most batches have none to merge.
        merged = tf.cond(tf.size(new) > 0, lambda: self._merge_words(tf.gather(words, new)),
                         lambda: tf.RaggedTensor.from_row_splits(tf.zeros([0], tf.int32), tf.zeros([1], tf.int64),
                                                                 validate=False))
        shift = 0xE000 - 0xD800
        points = merged.with_flat_values(tf.where(merged.flat_values >= 0xD800, merged.flat_values + shift,
                                                  merged.flat_values))
        new_lengths = tf.gather(lengths, new)
        values = tf.strings.join([tf.strings.unicode_encode(new_lengths[:, None], "UTF-32-BE"), tf.gather(words, new),
                                  tf.strings.unicode_encode(points, "UTF-32-BE")])
        added = tf.where(new_lengths <= _REMEMBERED_WORD_BYTES)[:, 0]
        added = added[:tf.clip_by_value(_REMEMBERED_WORDS - table.size(), 0, tf.size(added, tf.int64))]
        table.insert(tf.gather(tf.gather(keys, new), added), tf.gather(values, added))
        kept, skipped = tf.gather(kept, old), tf.gather(lengths, old) + 4
        piece_bytes = tf.strings.substr(kept, skipped, tf.strings.length(kept) - skipped)
        points = tf.io.decode_raw(tf.strings.reduce_join(piece_bytes), tf.int32, little_endian=False)
        remembered = tf.RaggedTensor.from_row_lengths(tf.where(points >= 0xE000, points - shift, points),
                                                      tf.cast(tf.strings.length(piece_bytes) // 4, tf.int64),
                                                      validate=False)
        # Both parts back in the words' order.
        return tf.gather(concat_rows([merged, remembered]), tf.math.invert_permutation(tf.concat([new, old], 0)))

    def _merge_words(self, words):
        """BPE of words [U] from their bytes, merging many of each word's pairs a step at a time.

        All words step together in one flat array of symbols, each word
        behind a separator that pairs with nothing. A word starts as its
        bytes, but for the characters in `_character_table`, which start as
        their token. The reference merges one pair at a time, the lowest
        (rank, position) first. A word's limit is the lowest over its pairs
        of `_merge_limits` (a merge's rank, or the lowest rank of a merge that
        takes its token, whichever is higher). Each of the word's pairs ranked
        below the limit makes a token that no merge below the limit takes, so
        the reference merges those pairs next, in (rank, position) order,
        before any pair that they create, and a step makes them at once: each
        one that no neighbour coming before it took a symbol from (a greedy
        matching). Where the limit is no higher than the word's lowest rank
        (merges that take a token before the merge that makes it), the step
        makes the first lowest pair alone. A word that has no pair left leaves
        the loop with its tokens.

        Returns:
            int32 RaggedTensor [U, (pieces)], int64 row splits.
        """
        count = tf.size(words)
        lengths = tf.strings.length(words)
        # The words' bytes, each word behind a NUL that becomes the separator.
        joined = tf.strings.reduce_join(tf.strings.join([b"\x00", words]))
        separators = tf.cast(tf.cumsum(lengths + 1, exclusive=True), tf.int64)
        size = tf.cast(tf.strings.length(joined), tf.int64)
        is_separator = scattered(separators, tf.ones_like(separators, tf.bool), size, False)
        raw = tf.cast(tf.io.decode_raw(joined, tf.uint8), tf.int32)
        symbols = tf.where(is_separator, self.vocab_size, tf.gather(self._byte_ids, raw))
        if self._character_table is not None:
            characters, inside = self._character_tokens(tf.cast(raw, tf.int64))
            symbols = tf.where(characters >= 0, characters, tf.where(inside, -1, symbols))
        known = tf.where(symbols >= 0)[:, 0]
        symbols, is_separator = tf.cast(tf.gather(symbols, known), tf.int64), tf.gather(is_separator, known)
        symbol_words = tf.cumsum(tf.cast(is_separator, tf.int32)) - 1
        last_rank = self._merge_limits.shape[0] - 1

        def step(values, words, origins, done_values, done_origins, steps):
            # Each symbol's pair with the next one; the last symbol's pairs with nothing.
            codes = tf.concat([self._merge_table.lookup(values[:-1] * (self.vocab_size + 1) + values[1:]),
                               [_NO_MERGE]], 0)
            # The reference's order: rank << 32 | position (values keep the words' order); _NO_RANK and above
            # for pairs that don't merge.
            order = tf.bitwise.bitwise_or(tf.bitwise.bitwise_and(codes, ~_ID_BITS), tf.range(tf.size(codes, tf.int64)))
            # Words stay sorted, so their segments are (a dropped word's is empty, and never read).
            limits = tf.math.segment_min(
                tf.gather(self._merge_limits, tf.minimum(tf.bitwise.right_shift(codes, 32), last_rank)), words)
            first = tf.math.segment_min(order, words)
            last_taken = tf.minimum(tf.maximum(limits - 1, first), _NO_RANK - 1)
            taken = tf.where(order <= tf.gather(last_taken, words))[:, 0]
            # Greedy matching in `order` along the taken pairs: a pair merges unless a neighbour that comes
            # before it merges. Along a run of pairs each coming after its left (right) neighbour, they merge
            # alternately from the run's first (last) one; a pair after both neighbours merges if both of them
            # don't.
            taken_order = tf.gather(order, taken)
            adjacent = taken[1:] - taken[:-1] == 1
            after_left = tf.concat([[False], adjacent & (taken_order[:-1] < taken_order[1:])], 0)
            after_right = tf.concat([adjacent & (taken_order[1:] < taken_order[:-1]), [False]], 0)
            runs = tf.range(tf.size(taken, tf.int64))
            from_start = runs - tf.gather(tf.where(~after_left)[:, 0], tf.cumsum(tf.cast(~after_left, tf.int32)) - 1)
            to_end = tf.gather(tf.where(~after_right)[:, 0],
                               tf.cumsum(tf.cast(~after_right, tf.int32), exclusive=True)) - runs
            at = tf.boolean_mask(taken, tf.bitwise.bitwise_and(tf.bitwise.bitwise_or(from_start, to_end), 1) == 0)
            merging = scattered(at, tf.ones_like(at, tf.bool), tf.size(values, tf.int64), False)
            values = tf.where(merging, tf.bitwise.bitwise_and(codes, _ID_BITS), values)
            # Merged right halves leave; so do the words with no pair left, their tokens kept by origin.
            removed = tf.concat([[False], merging[:-1]], 0)
            finished = tf.gather(first, words) >= _NO_RANK
            kept, done = tf.where(~removed & ~finished)[:, 0], tf.where(finished)[:, 0]
            return (tf.gather(values, kept), tf.gather(words, kept), tf.gather(origins, kept),
                    done_values.write(steps, tf.gather(values, done)),
                    done_origins.write(steps, tf.gather(origins, done)), steps + 1)

        done = [tf.TensorArray(tf.int64, size=0, dynamic_size=True, infer_shape=False, element_shape=[None])
                for _ in range(2)]
        _, _, _, done_values, done_origins, _ = tf.while_loop(
            lambda values, *_: tf.size(values) > 0, step,
            (symbols, symbol_words, tf.range(tf.size(symbols, tf.int64)), *done, 0),
            shape_invariants=(tf.TensorShape([None]),) * 3 + (None, None, tf.TensorShape([])))
        tokens = scattered(done_origins.concat(), done_values.concat(), tf.size(symbols, tf.int64), -1)
        is_token = tf.where((tokens >= 0) & ~is_separator)[:, 0]
        return tf.RaggedTensor.from_value_rowids(tf.cast(tf.gather(tokens, is_token), tf.int32),
                                                 tf.cast(tf.gather(symbol_words, is_token), tf.int64),
                                                 tf.cast(count, tf.int64), validate=False)

    def _character_tokens(self, raw):
        """The tokens that characters of int64 bytes [N] start as: (int32 token at a character's first byte,
        else -1; bool, its other bytes) [N]. Keys are a character's UTF-8 bytes read big-endian."""
        at = tf.where(raw >= 0xC0)[:, 0]
        padded = tf.concat([raw, tf.zeros([3], tf.int64)], 0)
        key = tf.zeros_like(at)
        for offset in range(4):
            key = tf.bitwise.bitwise_or(tf.bitwise.left_shift(key, 8), tf.gather(padded, at + offset))
        # A lead byte's length keeps its own bytes; a byte that isn't a continuation never matches a key.
        length = tf.gather(_UTF8_LENGTHS, tf.gather(raw, at))
        key = tf.bitwise.bitwise_and(key, tf.bitwise.left_shift(tf.constant(-1, tf.int64), 8 * (4 - length)))
        token = self._character_table.lookup(key)
        hit = token >= 0
        at, token, length = tf.boolean_mask(at, hit), tf.boolean_mask(token, hit), tf.boolean_mask(length, hit)
        size = tf.size(raw, tf.int64)
        inside = tf.ragged.range(at + 1, at + length).flat_values
        return (scattered(at, tf.cast(token, tf.int32), size, -1),
                scattered(inside, tf.ones_like(inside, tf.bool), size, False))

    def _merge_codes(self, token_ids):
        """The merge table, each merge's limit for `_merge_words`, and the characters it starts as tokens.

        Returns:
            (StaticHashTable of left id * (vocab_size + 1) + right id ->
            rank << 32 | merged id, int64 [merges + 1] of limit << 32 by rank,
            `_character_table_of`'s table). A merge's limit is the lowest rank of
            a merge that takes its token, or its own rank where that is higher: a
            pair ranked below a word's lowest limit makes a token that no merge
            below that limit takes. Ranks no pair has (repeated pairs), the entry
            after the last (pairs that don't merge) and tokens no merge takes get
            the largest int64.
        """
        codes = {}
        for rank, (left, right) in enumerate(self.merges):
            ids = [token_ids.get(token) for token in (left, right, left + right)]
            if None in ids:
                raise ValueError(f"Merge {rank} ({left!r} {right!r}) has a token missing from the vocab.")
            # A repeated pair takes its last rank, as in the reference.
            codes[ids[0] * (self.vocab_size + 1) + ids[1]] = rank << 32 | ids[2]
        keys = np.array(list(codes), np.int64).reshape(-1)
        values = np.array(list(codes.values()), np.int64).reshape(-1)
        # The lowest rank of a merge that takes each token on its left (row 0), and on its right (row 1).
        first_use = np.full([2, self.vocab_size + 1], _NO_MERGE, np.int64)
        for side, ids in enumerate((keys // (self.vocab_size + 1), keys % (self.vocab_size + 1))):
            np.minimum.at(first_use[side], ids, values >> 32)
        limits = np.full(len(self.merges) + 1, _NO_MERGE, np.int64)
        limit = np.maximum(first_use.min(0)[values & _ID_BITS], values >> 32)
        limits[values >> 32] = np.where(limit == _NO_MERGE, _NO_MERGE, limit << 32)
        table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(tf.constant(keys), tf.constant(values)),
                                          _NO_MERGE)
        return table, tf.constant(limits), self._character_table_of(codes, first_use)

    def _character_table_of(self, codes, first_use):
        """StaticHashTable of a character's UTF-8 bytes (read big-endian) -> the token its words start it as,
        or None where no character qualifies.

        A character whose bytes merge on their own into one token t, by
        merges of ranks up to M, is t from the start when no merge of rank M
        or below takes t, and none pairs a symbol that the character is on
        its way to t (a byte or a part made of them) with a symbol outside
        it: a part that comes first with a symbol on its left, one that comes
        last with a symbol on its right. Then in any word the reference makes
        t before a merge touches the character's parts, and every merge it
        makes before t exists ranks below those that take t, so none would see
        t otherwise. Most Chinese characters of a vocab trained on Chinese
        qualify, which cuts their words' symbols to a third before the first step.
        """
        merges = {(key // (self.vocab_size + 1), key % (self.vocab_size + 1)): (code >> 32, code & _ID_BITS)
                  for key, code in codes.items()}
        byte_ids = self._byte_ids.numpy()
        keys, tokens = [], []
        for token, covers in enumerate(self.vocab):
            character = token_bytes(covers)
            # A lead byte and its continuation bytes, so that no character's bytes hold another's lead.
            if (not character or len(character) < 2 or _UTF8_LENGTHS[character[0]] != len(character)
                    or any(byte >> 6 != 0b10 for byte in character[1:])):
                continue
            symbols, parts, highest = [int(byte_ids[byte]) for byte in character], [], -1
            while len(symbols) > 1 and min(symbols) >= 0:
                found = [(merges[pair], i) for i, pair in enumerate(zip(symbols, symbols[1:])) if pair in merges]
                if not found:
                    break
                (rank, merged), i = min(found)
                parts.append(symbols)
                highest = max(highest, rank)
                symbols = symbols[:i] + [merged] + symbols[i + 2:]
            if (symbols == [token] and first_use[:, token].min() > highest
                    and all(first_use[1, part[0]] > highest and first_use[0, part[-1]] > highest for part in parts)):
                keys.append(int.from_bytes(character.ljust(4, b"\0"), "big"))
                tokens.append(token)
        if not keys:  # TF refuses an empty table.
            return None
        return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(keys, tf.int64), tf.constant(tokens, tf.int64)), -1)

    def _single_token_words(self, raw):
        """StaticHashTable of word bytes -> id, for the tokens whose bytes as a word are that one token."""
        candidates = [(i, b) for i, b in enumerate(raw) if b]
        ids = np.array([i for i, _ in candidates], np.int64)
        keys = tf.constant([b for _, b in candidates], tf.string)
        pieces = tf.function(self._merge_words, autograph=False)(keys)
        single = (pieces.row_lengths().numpy() == 1) & (pieces[:, :1].to_tensor(-1).numpy()[:, 0] == ids)
        return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.boolean_mask(keys, single), tf.constant(ids[single])), -1)

    def _joined(self, ids):
        """The bytes the tokens stand for, joined."""
        return tf.strings.reduce_join(tf.gather(self._token_bytes, ids), axis=-1)
