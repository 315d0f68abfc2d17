"""In-graph BERT tokenizer that reproduces the reference tokenizer's ids."""

import os

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops.regex_split_ops import gen_regex_split_ops

from keras_bert_zoo.files import write_json_atomic, write_text_atomic
from keras_bert_zoo.text.bert_char_classes import fast_path_patterns
from keras_bert_zoo.text.bert_text_normalizer import BertTextNormalizer
from keras_bert_zoo.text.graph_calls import concat_rows, merge_inner, per_batch, strings
from keras_bert_zoo.text.graph_tokenizer import GraphTokenizer
from keras_bert_zoo.text.python_word_pieces import PythonWordPieces
from keras_bert_zoo.text.segment_packer import SegmentPacker
from keras_bert_zoo.text.vocab_files import locate_vocab, read_vocab, vocab_is_lower_case


class BertTokenizer(GraphTokenizer):
    """WordPiece tokenizer built from TF and tf-text ops, for tf.data and SavedModels.

    Its ids equal those of the reference BERT tokenizer (Hugging Face's Python
    `BertTokenizer`, the port of google-research's tokenization.py): control
    characters are dropped, CJK ideographs and punctuation become words, and
    lower-casing strips accents by NFD. Texts of printable ASCII, CJK
    ideographs and punctuation that normalization leaves as they are (the bulk
    of English and Chinese corpora) take tf-text's FastWordpieceTokenizer with
    its own BERT pre-tokenization, which is exact on them once ASCII is
    lower-cased. Other texts are normalized with ops that follow Python's `str.lower`,
    `unicodedata` categories and NFC/NFD, then split and WordPiece'd. Invalid
    UTF-8 is read with U+FFFD replacement, which the reference drops.

    Unlike HF's default, "[SEP]" or "[CLS]" typed inside a text are ordinary
    characters (as in google-research's tokenizer), so user text can't inject
    segment boundaries. Its `packer`, a `SegmentPacker`, holds the
    `[CLS] a [SEP] b [SEP]` layout that `__call__`, the data builders and
    the serving modules pack with.

    Args:
        vocab_file: Path of a vocab.txt (one token per line), or a list of tokens.
        lower_case: Whether to lower-case and strip accents (uncased models).
        max_chars_per_word: Longer words become [UNK] (100, as HF; Google's is 200).
    """

    def __init__(self, vocab_file, lower_case=True, max_chars_per_word=100):
        super().__init__("bert_tokenizer")
        if isinstance(vocab_file, (list, tuple)):
            self.vocab = list(vocab_file)
            self.vocab_file = None
        else:
            self.vocab_file = os.fspath(vocab_file)
            self.vocab = read_vocab(self.vocab_file)
        self.lower_case = bool(lower_case)
        self.max_chars_per_word = max_chars_per_word
        token_ids = self._index_vocab()
        self._set_special_ids({"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"},
                              self.vocab_file or "The vocab")
        self.packer = SegmentPacker([self.cls_id], [self.sep_id], [self.sep_id], self.pad_id)
        self.normalizer = BertTextNormalizer(self.lower_case)
        # The fast path's characters have no accents to strip, so it lower-cases with tf.strings.lower
        # and skips FastBertTokenizer's Unicode normalizer (a tenth of FastBertTokenizer's time on ASCII).
        self._fast_tokenizer = tf_text.FastWordpieceTokenizer(
            vocab=self.vocab,
            token_out_type=tf.int32,
            no_pretokenization=False,
            max_bytes_per_word=max_chars_per_word,  # Its longer words are ASCII: a byte a character.
        )
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=self.vocab,
            token_out_type=tf.int32,
            no_pretokenization=True,
            max_bytes_per_word=4 * max_chars_per_word,  # The character limit is applied before.
        )
        # Mixed batches' ops sit behind one call op: in the branch that a batch on the fast path
        # doesn't take, each op would still be visited, which cost a quarter of the fast path's time.
        self._untracked.tokenize_mixed = tf.function(self._tokenize_mixed,
                                                     input_signature=[tf.TensorSpec([None], tf.string)])
        # One eager string takes plain Python, which skips TF's per-call overhead.
        self._untracked.word_pieces = PythonWordPieces(token_ids, self.unk_id, self.lower_case, max_chars_per_word)

    @classmethod
    def from_pretrained(cls, path_or_preset, lower_case=None, **kwargs):
        """The tokenizer of a checkpoint directory, preset name or vocab file.

        Args:
            path_or_preset: Anything `BertEncoder.from_pretrained` reads, or a vocab file.
            lower_case: Overrides the casing the checkpoint states; if neither
                says, an uncased vocab (no upper-case tokens) means True.
            **kwargs: Passed to the constructor.
        """
        vocab_file, stated = locate_vocab(path_or_preset)
        if lower_case is None:
            lower_case = stated if stated is not None else vocab_is_lower_case(read_vocab(vocab_file))
        return cls(vocab_file, lower_case=lower_case, **kwargs)

    def save_pretrained(self, directory):
        """Writes vocab.txt and a transformers-style tokenizer_config.json into `directory`, each atomically."""
        os.makedirs(directory, exist_ok=True)
        write_text_atomic(os.path.join(directory, "vocab.txt"), "".join(token + "\n" for token in self.vocab))
        write_json_atomic(os.path.join(directory, "tokenizer_config.json"),
                          {"do_lower_case": self.lower_case, "tokenizer_class": "BertTokenizer",
                           "model_max_length": 512})

    def words(self, texts):
        """Normalizes and splits texts [B] into words (see `BertTextNormalizer`)."""
        return self.normalizer.words(texts)

    def continues_word(self):
        """bool NumPy [vocab_size]: which tokens only ever continue a word, WordPiece's "##" pieces.

        Whole-word masking groups a word's pieces with this; a tokenizer
        whose pieces mark word starts instead (BPE's "Ġ", SentencePiece's
        "▁") defines it the other way round.
        """
        return np.array([token.startswith("##") for token in self.vocab], bool)

    def tokenize_with_alignment(self, texts, offsets_unit="BYTE"):
        """WordPiece ids of texts with each piece's word and its place in that word.

        Words are those of `words(texts)`: the pre-tokenization split at
        whitespace, around each punctuation character and CJK ideograph, after
        normalization. A piece's offsets index its word as normalized there; a
        word that WordPiece can't cover, or longer than `max_chars_per_word`,
        is one [UNK] spanning the whole word. The ids equal `tokenize`'s, which
        is faster where the alignment isn't needed.

        Args:
            texts: A string or a [B] batch of strings (list, array or tensor).
            offsets_unit: "BYTE" (UTF-8 bytes) or "UTF8_CHAR" (characters).

        Returns:
            Dict of `ids` (int32), `word_ids` (int64, the index of the piece's
            word among its text's words), `starts` and `ends` (int64, the piece
            is its word's [start, end)): RaggedTensors [B, (pieces)], or 1-D
            tensors for one string.
        """
        if offsets_unit not in ("BYTE", "UTF8_CHAR"):
            raise ValueError(f"offsets_unit must be 'BYTE' or 'UTF8_CHAR', got {offsets_unit!r}.")
        return self._run("tokenize_with_alignment", strings(texts), offsets_unit)

    def tokenize_words(self, words):
        """Ids of each word as it reads inside running text: WordPiece sees no context, so `tokenize`'s.

        Tokenizers whose pieces carry the space before a word (BPE's "Ġ",
        SentencePiece's "▁") tokenize each word as if a space preceded it, so
        the data builders and serving modules call this for words.

        Args:
            words: A [N] batch of words (list, array or tensor).

        Returns:
            int32 RaggedTensor [N, (pieces)].
        """
        return self.tokenize(words)

    def _python_ids(self, text):
        return self._untracked.word_pieces.ids(text)

    def _tokenize_batch(self, texts):
        # One match over the joined batch costs half as much as one per text, which only mixed batches need.
        all_fast = tf.strings.regex_full_match(tf.strings.reduce_join(texts), fast_path_patterns()[0])
        return tf.cond(all_fast, lambda: self._tokenize_fast(texts), lambda: self._untracked.tokenize_mixed(texts))

    def _tokenize_mixed(self, texts):
        """Ids of a batch with texts off the fast path: the others on it, these cut into pieces."""
        return self._by_path(texts, tf.strings.regex_full_match(texts, fast_path_patterns()[0]),
                             self._tokenize_by_pieces)

    def _joined(self, ids):
        """Tokens joined by spaces, "##" continuations glued to the piece before."""
        joined = tf.strings.reduce_join(tf.gather(self._vocab_tensor, ids), axis=-1, separator=" ")
        return tf.strings.regex_replace(joined, " ##", "")

    def _tokenize_fast(self, texts):
        """Fast-path ids of texts that `fast_path_patterns` matches."""
        if self.lower_case:
            texts = tf.strings.lower(texts)
        return self._fast_tokenizer.tokenize(texts)

    def _tokenize_by_pieces(self, texts):
        """Ids of texts off the fast path, cut at spaces into runs of fast-path words and the other words.

        None of the reference's steps looks across a space (control characters
        go, CJK and punctuation split off, NFC composes only with a preceding
        letter, final sigma stops at whitespace), so a text's ids are its
        pieces' ids in order. Keeping fast-path words together in runs, rather than
        one piece per word, makes few and long pieces for the fast path. Tabs
        and newlines stay inside pieces, where either path splits on them.
        """
        pieces = _pieces(texts)
        is_fast = tf.strings.regex_full_match(pieces.flat_values, fast_path_patterns()[0])
        ids = self._by_path(pieces.flat_values, is_fast, self._tokenize_unicode)
        return merge_inner(pieces.with_flat_values(ids))

    def _by_path(self, texts, is_fast, tokenize_others):
        """Fast-path ids for the `texts` where `is_fast`, `tokenize_others` ids for the rest, in order.

        The two paths don't depend on each other, so TF's executor runs them on separate cores.
        """
        fast_ids = self._tokenize_fast(tf.boolean_mask(texts, is_fast))
        other_ids = tokenize_others(tf.boolean_mask(texts, ~is_fast))
        is_fast = tf.cast(is_fast, tf.int64)
        rank_in_path = tf.cumsum(is_fast, exclusive=True)
        rank_among_others = tf.range(tf.size(is_fast, out_type=tf.int64)) - rank_in_path
        rows = tf.where(is_fast > 0, rank_in_path, tf.reduce_sum(is_fast) + rank_among_others)
        return tf.gather(concat_rows([fast_ids, other_ids]), rows)

    def _tokenize_unicode(self, texts):
        words, _ = self._unknown_if_too_long(self.words(texts))
        return merge_inner(self._wordpiece.tokenize(words))

    def _unknown_if_too_long(self, words):
        """Words [B, (W)] with those over `max_chars_per_word` made "[UNK]", and bool [B * W] which those are."""
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > self.max_chars_per_word
        return words.with_flat_values(tf.where(too_long, "[UNK]", words.flat_values)), too_long

    def _tokenize_with_alignment(self, texts, offsets_unit):
        return per_batch(self._aligned, texts, offsets_unit)

    def _aligned(self, texts, offsets_unit):
        words = self.words(texts)
        wordpiece_words, too_long = self._unknown_if_too_long(words)
        ids, starts, ends = self._wordpiece.tokenize_with_offsets(wordpiece_words)  # [B, (W), (P)]
        piece_word = ids.values.value_rowids()  # Index into words.flat_values.
        word_of_piece = tf.gather(words.flat_values, piece_word)
        starts, ends = tf.cast(starts.flat_values, tf.int64), tf.cast(ends.flat_values, tf.int64)
        # The [UNK] of a too long word spans the word, not the "[UNK]" string it was replaced by.
        ends = tf.where(tf.gather(too_long, piece_word), tf.cast(tf.strings.length(word_of_piece), tf.int64), ends)
        if offsets_unit == "UTF8_CHAR":
            starts, ends = (_utf8_chars_before(word_of_piece, offsets) for offsets in (starts, ends))
        word_in_text = tf.range(tf.size(words.flat_values, tf.int64)) - tf.gather(words.row_starts(),
                                                                                  words.value_rowids())
        per_piece = {"ids": ids.flat_values, "word_ids": tf.gather(word_in_text, piece_word), "starts": starts,
                     "ends": ends}
        return {name: merge_inner(ids.with_flat_values(values)) for name, values in per_piece.items()}


def _utf8_chars_before(strings, byte_offsets):
    """int64 characters in the first `byte_offsets` bytes of each string."""
    prefixes = tf.strings.substr(strings, tf.zeros_like(byte_offsets), byte_offsets)
    return tf.cast(tf.strings.length(prefixes, unit="UTF8_CHAR"), tf.int64)


def _pieces(texts):
    """Texts [B] cut into runs of fast-path words and the words with other characters [B, (pieces)]."""
    # regex_split ends a text at its first NUL; U+0001 is a control character that the
    # reference drops just the same.
    texts = tf.strings.regex_replace(texts, "\x00", "\x01")
    # The op itself: tf_text.regex_split validates its row splits with assertions, each a
    # conditional that every new tf.data iterator instantiates again. The op cuts at the
    # pattern's first capturing group, which tf_text's wrapper would add.
    pattern = f"({fast_path_patterns()[1]})"
    flat, _, _, splits = gen_regex_split_ops.regex_split_with_offsets(texts, pattern, pattern)
    return tf.RaggedTensor.from_row_splits(flat, splits, validate=False)
