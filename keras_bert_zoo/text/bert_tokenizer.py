"""In-graph BERT tokenizer that reproduces the reference tokenizer's ids."""

import os
import types

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops.regex_split_ops import gen_regex_split_ops

from keras_bert_zoo.files import write_json_atomic, write_text_atomic
from keras_bert_zoo.text.bert_char_classes import ASCII_PATTERN, NON_ASCII_WORD_PATTERN
from keras_bert_zoo.text.bert_text_normalizer import BertTextNormalizer
from keras_bert_zoo.text.vocab_files import locate_vocab, read_vocab, vocab_is_lower_case



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
        self._vocab_tensor = tf.constant(self.vocab)
        # Eager calls run graphs instead of op by op (see `_compiled`). A SimpleNamespace, which
        # tf.Module doesn't track, so SavedModels that hold the tokenizer don't save them too.
        self._eager = types.SimpleNamespace(functions={})

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
        """The token of an id: a str for a Python int, else a string tensor of the ids' shape."""
        if isinstance(token_id, (int, np.integer)):
            return self.vocab[token_id]
        return tf.gather(self._vocab_tensor, token_id)

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
        texts = _strings(texts)
        return self._compiled("tokenize", texts) if tf.executing_eagerly() else self._tokenize(texts)

    def detokenize(self, ids, skip_special_tokens=True):
        """Text of WordPiece ids: tokens joined by spaces, "##" continuations glued to the piece before.

        Args:
            ids: int ids [T] (one text) or [B, T] / RaggedTensor [B, (T)].
            skip_special_tokens: Leave out [PAD], [CLS], [SEP] and [MASK].

        Returns:
            A string tensor: scalar for [T], else [B].
        """
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        ids = tf.cast(ids, tf.int32)
        return (self._compiled("detokenize", ids, skip_special_tokens) if tf.executing_eagerly()
                else self._detokenize(ids, skip_special_tokens))

    def pack(self, texts, text_pairs=None, max_length=128):
        """Model inputs padded to the longest packed text of the batch (at least 2), as serving needs.

        The same as `__call__` but for the padded length.
        """
        texts, text_pairs = _strings(texts), _strings(text_pairs)
        return (self._compiled("pack", texts, text_pairs, max_length) if tf.executing_eagerly()
                else self._pack(texts, text_pairs, max_length))

    def __call__(self, texts, text_pairs=None, max_length=128):
        """Packs texts (and pairs) into fixed-length model inputs: [CLS] a [SEP] (b [SEP]).

        Pairs too long for `max_length` are truncated as the reference
        `_truncate_seq_pair` does: one token at a time from the longer
        segment (the second when they are equal).

        Args:
            texts: A string or a [B] batch of strings.
            text_pairs: Optional second segments, shaped as `texts`.
            max_length: Output length T.

        Returns:
            Dict of int32 `input_word_ids`, `input_mask`, `input_type_ids`:
            [B, T], or [T] for one string.
        """
        texts, text_pairs = _strings(texts), _strings(text_pairs)
        return (self._compiled("call", texts, text_pairs, max_length) if tf.executing_eagerly()
                else self._call(texts, text_pairs, max_length))

    def _compiled(self, name, *args):
        """Runs the method `_<name>` on `args` as a graph traced once per kind of input.

        A kind is each tensor's type, dtype and rank (every dimension left
        unknown, so any batch size reuses the graph) plus the other
        arguments' values. Calling the concrete function directly skips most
        of tf.function's per-call dispatch, half of a short text's latency.
        """
        positions = [i for i, arg in enumerate(args) if isinstance(arg, (tf.Tensor, tf.RaggedTensor))]
        key = (name,) + tuple(_input_kind(arg) for arg in args)
        function = self._eager.functions.get(key)
        if function is None:
            method = getattr(self, f"_{name}")

            def call(*tensors):
                merged = list(args)
                for position, tensor in zip(positions, tensors):
                    merged[position] = tensor
                return method(*merged)

            function = tf.function(call).get_concrete_function(*(_relaxed_spec(args[i]) for i in positions))
            self._eager.functions[key] = function
        return function(*(args[i] for i in positions))

    def _tokenize(self, texts):
        if texts.shape.rank == 0:
            return self._tokenize(texts[None])[0]
        if texts.shape.rank != 1:
            raise ValueError(f"texts must be one string or a 1-D batch of strings, got shape {texts.shape}.")
        # One copy of the ops for the whole batch: every new tf.data iterator instantiates each
        # copy again, and four parallel slices made it several times slower to start.
        is_ascii = tf.strings.regex_full_match(texts, ASCII_PATTERN)
        return tf.cond(tf.reduce_all(is_ascii), lambda: self._tokenize_ascii(texts),
                       lambda: self._by_path(texts, is_ascii, self._tokenize_by_pieces))

    def _detokenize(self, ids, skip_special_tokens):
        if ids.shape.rank == 1:
            return self._detokenize(ids[None], skip_special_tokens)[0]
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        if skip_special_tokens:
            special = tf.constant([self.pad_id, self.cls_id, self.sep_id, self.mask_id])
            ids = tf.ragged.boolean_mask(ids, tf.reduce_all(ids[..., None] != special, -1))
        joined = tf.strings.reduce_join(tf.gather(self._vocab_tensor, ids), axis=-1, separator=" ")
        return tf.strings.regex_replace(joined, " ##", "")

    def _call(self, texts, text_pairs, max_length):
        if texts.shape.rank == 0:
            packed = self._call(texts[None], None if text_pairs is None else text_pairs[None], max_length)
            return {name: values[0] for name, values in packed.items()}
        return self._packed(texts, text_pairs, max_length, max_length)

    def _pack(self, texts, text_pairs, max_length):
        return self._packed(texts, text_pairs, max_length, None)

    def _packed(self, texts, text_pairs, max_length, length):
        """Dense [CLS] a [SEP] (b [SEP]) rows of `length` columns (None: the longest row, at least 2)."""
        segments = [self.tokenize(texts)] + ([] if text_pairs is None else [self.tokenize(text_pairs)])
        budget = max_length - 1 - len(segments)
        if budget < len(segments):
            raise ValueError(f"max_length={max_length} leaves no room for tokens after [CLS]/[SEP].")
        lengths = [segment.row_lengths() for segment in segments]
        if len(segments) == 1:
            kept = [tf.minimum(lengths[0], budget)]
        else:
            # _truncate_seq_pair's result in closed form: the shorter segment keeps what it has while
            # it fits in half the budget, the longer gets the rest; past that, ceil/floor halves.
            kept = [tf.minimum(lengths[0], tf.maximum(budget - lengths[1], (budget + 1) // 2)),
                    tf.minimum(lengths[1], tf.maximum(budget - lengths[0], budget // 2))]
        total = 1 + sum(k + 1 for k in kept)
        if length is None:
            length = tf.reduce_max(tf.concat([total, [2]], 0))
        position = tf.range(tf.cast(length, tf.int64))[None, :]
        word_ids = tf.where(position == 0, tf.constant(self.cls_id, tf.int64), tf.constant(self.pad_id, tf.int64))
        type_ids = tf.zeros_like(position) + tf.zeros_like(total)[:, None]
        start = tf.ones_like(total)  # Column of each segment's first token.
        for type_id, (segment, count) in enumerate(zip(segments, kept)):
            offset = position - start[:, None]
            inside = (offset >= 0) & (offset < count[:, None])
            # A trailing [PAD] keeps the gather in range for empty batches and rows.
            values = tf.concat([tf.cast(segment.flat_values, tf.int64), tf.constant([self.pad_id], tf.int64)], 0)
            index = tf.clip_by_value(segment.row_splits[:-1, None] + offset, 0, tf.size(values, tf.int64) - 1)
            word_ids = tf.where(inside, tf.gather(values, index), word_ids)
            word_ids = tf.where(offset == count[:, None], tf.constant(self.sep_id, tf.int64), word_ids)
            type_ids = tf.where(inside | (offset == count[:, None]), tf.constant(type_id, tf.int64), type_ids)
            start = start + count + 1
        mask = position < total[:, None]
        return {"input_word_ids": tf.cast(word_ids, tf.int32), "input_mask": tf.cast(mask, tf.int32),
                "input_type_ids": tf.cast(type_ids, tf.int32)}

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
        # The op itself: tf_text.regex_split validates its row splits with assertions, each a
        # conditional that every new tf.data iterator instantiates again.
        flat, _, _, splits = gen_regex_split_ops.regex_split_with_offsets(texts, NON_ASCII_WORD_PATTERN,
                                                                          NON_ASCII_WORD_PATTERN)
        ids = self._by_path(flat, tf.strings.regex_full_match(flat, ASCII_PATTERN), self._tokenize_unicode)
        return _merge_inner(tf.RaggedTensor.from_row_splits(ids, splits, validate=False))

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
        return tf.gather(_concat_rows([ascii_ids, other_ids]), rows)

    def _tokenize_unicode(self, texts):
        words = self.words(texts)
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > self.max_chars_per_word
        words = words.with_flat_values(tf.where(too_long, "[UNK]", words.flat_values))
        return _merge_inner(self._wordpiece.tokenize(words))


def _merge_inner(ragged):
    """[B, (W), (P)] -> [B, (W*P)], unvalidated: the splits come straight from ragged ops."""
    return tf.RaggedTensor.from_row_splits(ragged.flat_values, tf.gather(ragged.values.row_splits, ragged.row_splits),
                                           validate=False)


def _concat_rows(parts):
    """Rows of ragged [B_i, (N)] parts one after another, unvalidated (tf.concat asserts on ragged)."""
    starts = tf.cumsum([tf.size(part.flat_values, tf.int64) for part in parts], exclusive=True)
    splits = [parts[0].row_splits[:1]] + [part.row_splits[1:] + start for part, start in zip(parts, tf.unstack(starts))]
    return tf.RaggedTensor.from_row_splits(tf.concat([part.flat_values for part in parts], 0), tf.concat(splits, 0),
                                           validate=False)


def _input_kind(value):
    """What a compiled entry point is traced for: a tensor's type, dtype and rank, else the value."""
    if isinstance(value, tf.RaggedTensor):
        return ("ragged", value.dtype.name, value.shape.rank, value.ragged_rank, value.row_splits.dtype.name)
    if isinstance(value, tf.Tensor):
        return ("tensor", value.dtype.name, value.shape.rank)
    return value


def _relaxed_spec(value):
    """The spec of a tensor like `value` of any size."""
    shape = [None] * value.shape.rank
    if isinstance(value, tf.RaggedTensor):
        return tf.RaggedTensorSpec(shape, value.dtype, value.ragged_rank, value.row_splits.dtype)
    return tf.TensorSpec(shape, value.dtype)


def _strings(texts):
    """Texts as a string tensor; None stays None."""
    return None if texts is None else tf.convert_to_tensor(texts, tf.string)
