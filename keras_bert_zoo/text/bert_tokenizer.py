"""In-graph BERT tokenizer that reproduces the reference tokenizer's ids."""

import os

import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_zoo.config.atomic_files import write_json_atomic, write_text_atomic
from keras_bert_zoo.text.bert_char_classes import ASCII_PATTERN, NON_ASCII_WORD_PATTERN
from keras_bert_zoo.text.bert_text_normalizer import BertTextNormalizer
from keras_bert_zoo.text.vocab_files import locate_vocab, read_vocab, vocab_is_lower_case


# The tokenizer ops each run on one core: slices of a batch, tokenized independently, keep a few
# cores busy, and the empty slices of a small batch cost microseconds.
_SLICES = 4


class BertTokenizer(tf.Module):
    """WordPiece tokenizer built from TF and tf-text ops, for tf.data and SavedModels.

    Its ids equal those of the reference BERT tokenizer (Hugging Face's Python
    `BertTokenizer`, the port of google-research's tokenization.py): control
    characters are dropped, CJK ideographs and punctuation become words, and
    lower-casing strips accents by NFD. Pure printable-ASCII texts, the bulk of
    most corpora, take tf-text's FastWordpieceTokenizer with its own BERT
    pre-tokenization, which is exact on ASCII once lower-cased.
    Other texts are normalized with ops that follow Python's `str.lower`,
    `unicodedata` categories and NFC/NFD, then split and WordPiece'd. Invalid
    UTF-8 is read with U+FFFD replacement, which the reference drops.

    Unlike HF's default, "[SEP]" or "[CLS]" typed inside a text are ordinary
    characters (as in google-research's tokenizer), so user text can't inject
    segment boundaries.

    Args:
        vocab_file: Path of a vocab.txt (one token per line), or a list of tokens.
        lower_case: Whether to lower-case and strip accents (uncased models).
        max_chars_per_word: Longer words become [UNK] (100, as HF; Google's is 200).
    """

    def __init__(self, vocab_file, lower_case=True, max_chars_per_word=100):
        super().__init__(name="bert_tokenizer")
        if isinstance(vocab_file, (list, tuple)):
            self.vocab = list(vocab_file)
            self.vocab_file = None
        else:
            self.vocab_file = os.fspath(vocab_file)
            self.vocab = read_vocab(self.vocab_file)
        self.lower_case = bool(lower_case)
        self.max_chars_per_word = max_chars_per_word
        token_ids = {token: i for i, token in enumerate(self.vocab)}
        self.pad_id = token_ids["[PAD]"]
        self.unk_id = token_ids["[UNK]"]
        self.cls_id = token_ids["[CLS]"]
        self.sep_id = token_ids["[SEP]"]
        self.mask_id = token_ids["[MASK]"]
        self.normalizer = BertTextNormalizer(self.lower_case)
        # ASCII has no accents to strip, so the fast path lower-cases with tf.strings.lower and
        # skips FastBertTokenizer's Unicode normalizer (a tenth of FastBertTokenizer's time on ASCII).
        self._ascii_tokenizer = tf_text.FastWordpieceTokenizer(
            vocab=self.vocab,
            token_out_type=tf.int32,
            no_pretokenization=False,
            max_bytes_per_word=max_chars_per_word,  # One byte per character in ASCII.
        )
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=self.vocab,
            token_out_type=tf.int32,
            no_pretokenization=True,
            max_bytes_per_word=4 * max_chars_per_word,  # The character limit is applied before.
        )

    @property
    def vocab_size(self):
        return len(self.vocab)

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

    def token_to_id(self, token):
        return self.vocab.index(token)

    def id_to_token(self, token_id):
        return self.vocab[token_id]

    def words(self, texts):
        """Normalizes and splits texts [B] into words (see `BertTextNormalizer`)."""
        return self.normalizer.words(texts)

    def tokenize(self, texts):
        """WordPiece ids of texts, without special tokens.

        Args:
            texts: A string or a [B] batch of strings (list, array or tensor).

        Returns:
            int32 ids: a RaggedTensor [B, (tokens)], or a 1-D tensor for one string.
        """
        texts = tf.convert_to_tensor(texts, tf.string)
        if texts.shape.rank == 0:
            return self.tokenize(texts[None])[0]
        size = tf.shape(texts, out_type=tf.int64)[0]
        bounds = [size * i // _SLICES for i in range(_SLICES + 1)]
        return tf.concat([self._tokenize_slice(texts[bounds[i]:bounds[i + 1]]) for i in range(_SLICES)], 0)

    def _tokenize_slice(self, texts):
        """Ids of one slice of a batch: all on the fast path if it is all ASCII."""
        is_ascii = tf.strings.regex_full_match(texts, ASCII_PATTERN)
        return tf.cond(tf.reduce_all(is_ascii), lambda: self._tokenize_ascii(texts),
                       lambda: self._by_path(texts, is_ascii, self._tokenize_by_pieces))

    def _tokenize_ascii(self, texts):
        """Fast-path ids of printable-ASCII texts."""
        if self.lower_case:
            texts = tf.strings.lower(texts)
        return self._ascii_tokenizer.tokenize(texts)

    def _tokenize_by_pieces(self, texts):
        """Ids of non-ASCII texts, cut at spaces into runs of ASCII words and the other words.

        None of the reference's steps looks across a space (control characters
        go, CJK and punctuation split off, NFC composes only with a preceding
        letter, final sigma stops at whitespace), so a text's ids are its
        pieces' ids in order. Keeping ASCII words together in runs, rather than
        one piece per word, makes few and long pieces for the fast path. Tabs
        and newlines stay inside pieces, where either path splits on them.
        """
        # regex_split ends a text at its first NUL; U+0001 is a control character that the
        # reference drops just the same.
        texts = tf.strings.regex_replace(texts, "\x00", "\x01")
        pieces = tf_text.regex_split(texts, NON_ASCII_WORD_PATTERN, NON_ASCII_WORD_PATTERN)
        flat = pieces.flat_values
        ids = self._by_path(flat, tf.strings.regex_full_match(flat, ASCII_PATTERN), self._tokenize_unicode)
        return pieces.with_flat_values(ids).merge_dims(1, 2)

    def _by_path(self, texts, is_ascii, tokenize_others):
        """Fast-path ids for the ASCII `texts`, `tokenize_others` ids for the rest, in order.

        The two paths don't depend on each other, so TF's executor runs them on separate cores.
        """
        ascii_ids = self._tokenize_ascii(tf.boolean_mask(texts, is_ascii))
        other_ids = tokenize_others(tf.boolean_mask(texts, ~is_ascii))
        is_ascii = tf.cast(is_ascii, tf.int64)
        rank_in_path = tf.cumsum(is_ascii, exclusive=True)
        rank_among_others = tf.range(tf.size(is_ascii, out_type=tf.int64)) - rank_in_path
        rows = tf.where(is_ascii > 0, rank_in_path, tf.reduce_sum(is_ascii) + rank_among_others)
        return tf.gather(tf.concat([ascii_ids, other_ids], 0), rows)

    def _tokenize_unicode(self, texts):
        words = self.words(texts)
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > self.max_chars_per_word
        words = words.with_flat_values(tf.where(too_long, "[UNK]", words.flat_values))
        return self._wordpiece.tokenize(words).merge_dims(1, 2)

    def pack(self, texts, text_pairs=None, max_length=128):
        """[CLS] a [SEP] (b [SEP]) without padding, truncated longest-first to `max_length`.

        Pairs too long for `max_length` are truncated as the reference
        `_truncate_seq_pair` does: one token at a time from the longer segment.

        Args:
            texts: [B] strings.
            text_pairs: Optional [B] second segments.
            max_length: Longest packed length.

        Returns:
            Dict of int32 RaggedTensors [B, (length)]: `input_word_ids`, `input_type_ids`.
        """
        segments = [self.tokenize(texts)]
        if text_pairs is not None:
            segments.append(self.tokenize(text_pairs))
        budget = max_length - 1 - len(segments)
        if budget < len(segments):
            raise ValueError(f"max_length={max_length} leaves no room for tokens after [CLS]/[SEP].")
        segments = tf_text.RoundRobinTrimmer(budget).trim(segments)
        ids, type_ids = tf_text.combine_segments(
            segments, start_of_sequence_id=self.cls_id, end_of_segment_id=self.sep_id)
        return {"input_word_ids": tf.cast(ids, tf.int32), "input_type_ids": tf.cast(type_ids, tf.int32)}

    def __call__(self, texts, text_pairs=None, max_length=128):
        """Packs texts (and pairs) into fixed-length model inputs (see `pack`).

        Args:
            texts: [B] strings.
            text_pairs: Optional [B] second segments.
            max_length: Output length T.

        Returns:
            Dict of int32 [B, T] `input_word_ids`, `input_mask`, `input_type_ids`.
        """
        packed = self.pack(texts, text_pairs, max_length)
        word_ids, mask = tf_text.pad_model_inputs(packed["input_word_ids"], max_length, pad_value=self.pad_id)
        type_ids, _ = tf_text.pad_model_inputs(packed["input_type_ids"], max_length, pad_value=0)
        return {"input_word_ids": word_ids, "input_mask": tf.cast(mask, tf.int32), "input_type_ids": type_ids}
