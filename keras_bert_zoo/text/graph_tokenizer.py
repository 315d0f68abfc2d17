"""What the in-graph tokenizers share: BertTokenizer's call forms around a family's own tokenization."""

import types

import numpy as np
import tensorflow as tf

from keras_bert_zoo.text.graph_calls import (EAGER_SLICES, CompiledCalls, eager_tensor, in_slices, one_eager_text,
                                             per_batch, strings)


class GraphTokenizer(tf.Module):
    """Base of the tokenizers built from TF and tf-text ops: their shared methods and call forms.

    It gives every family the same public surface, `tokenize`, `detokenize`,
    `pack`, `__call__`, `id_to_token`, `token_to_id` and `vocab_size`, each
    taking one string or a batch (list, array or tensor), eagerly or inside
    a tf.function / tf.data map. Eager calls run graphs traced once per kind
    of input (`CompiledCalls`), their batches cut into parallel slices; traced
    calls put the ops inline.

    A subclass calls `__init__` first, then provides:

    - `vocab`: the tokens by id, then calls `_index_vocab` and
      `_set_special_ids` (`pad_id`, `unk_id`, `cls_id`, `sep_id`, `mask_id`).
    - `packer`: the `SegmentPacker` of its layout of pairs and their truncation.
    - `_tokenize_batch(texts)`: its ids of texts [B], in graph ops.
    - `_joined(ids)`: the texts [B] of ids [B, (T)], for `detokenize`.
    - Optionally `_python_ids(text)`, ids of one string in plain Python
      (a graph call costs more than a sentence's tokenization), and
      `_skipped_ids()`, what `detokenize` leaves out (the special ids).

    Args:
        name: The tf.Module's name.
    """

    def __init__(self, name):
        super().__init__(name=name)
        # Python helpers and data in a SimpleNamespace, which tf.Module doesn't track, so SavedModels that
        # hold the tokenizer don't save them (tracking a list wraps every item: seconds for a big vocab).
        self._untracked = types.SimpleNamespace(compiled=CompiledCalls(self), slices=EAGER_SLICES, token_ids={})

    @property
    def vocab_size(self):
        return len(self.vocab)

    def token_to_id(self, token):
        """The id of a token.

        Raises:
            ValueError: The vocab lacks the token.
        """
        token_id = self._untracked.token_ids.get(token)
        if token_id is None:
            raise ValueError(f"{token!r} is not in the vocab.")
        return token_id

    def id_to_token(self, token_id):
        """The token of an id: a str for a Python int, else a string tensor of the ids' shape."""
        if isinstance(token_id, (int, np.integer)):
            return self.vocab[token_id]
        return tf.gather(self._vocab_tensor, token_id)

    def tokenize(self, texts):
        """Ids of texts, without special tokens.

        Args:
            texts: A string or a [B] batch of strings (list, array or tensor).

        Returns:
            int32 ids: a RaggedTensor [B, (tokens)], or a 1-D tensor for one string.
        """
        text = one_eager_text(texts)
        ids = None if text is None else self._python_ids(text)
        if ids is not None:
            return eager_tensor(np.array(ids, np.int32))
        return self._run("tokenize", strings(texts), sliced=True)

    def detokenize(self, ids, skip_special_tokens=True):
        """Text of ids: the tokens joined as the family writes them.

        WordPiece joins tokens with spaces, "##" continuations glued to the
        piece before; byte-level BPE joins the bytes its tokens stand for (the
        original text of `tokenize`'s ids); SentencePiece joins pieces and
        reads "▁" as a space, less the first one.

        Args:
            ids: int ids [T] (one text) or [B, T] / RaggedTensor [B, (T)].
            skip_special_tokens: Leave out padding, the start, separator and
                mask tokens (and SentencePiece's other control pieces), not
                the unknown token.

        Returns:
            A string tensor: scalar for [T], else [B].
        """
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        return self._run("detokenize", tf.cast(ids, tf.int32), skip_special_tokens)

    def pack(self, texts, text_pairs=None, max_length=128):
        """Model inputs padded to the longest packed text of the batch (at least 2), as serving needs.

        The same as `__call__` but for the padded length.
        """
        return self._run("pack", strings(texts), strings(text_pairs), max_length, sliced=True)

    def __call__(self, texts, text_pairs=None, max_length=128):
        """Packs texts (and pairs) into fixed-length model inputs in the family's layout (its `packer`).

        BERT: `[CLS] a [SEP] b [SEP]`, type ids 0 then 1; RoBERTa and
        XLM-RoBERTa: `<s> a </s></s> b </s>`, all type 0; ALBERT as BERT.
        Pairs too long for `max_length` are truncated longest first, as the
        family's reference tokenizer does (see `SegmentPacker`).

        Args:
            texts: A string or a [B] batch of strings.
            text_pairs: Optional second segments, shaped as `texts`.
            max_length: Output length T.

        Returns:
            Dict of int32 `input_word_ids`, `input_mask`, `input_type_ids`:
            [B, T], or [T] for one string.

        Raises:
            ValueError: `texts` is one string and `text_pairs` a batch.
        """
        text = one_eager_text(texts)
        if text is not None:
            pair = None if text_pairs is None else one_eager_text(text_pairs)
            if text_pairs is not None and pair is None:
                raise ValueError("texts is one string, so text_pairs must be one string too.")
            segments = [self._python_ids(part) for part in (text, pair) if part is not None]
            if None not in segments:
                packed = self.packer.pack_row(segments, max_length)
                return {name: eager_tensor(values) for name, values in packed.items()}
        return self._run("call", strings(texts), strings(text_pairs), max_length, sliced=True)

    def _index_vocab(self):
        """Indexes `vocab`: `_untracked.token_ids` ({token: id}, a repeated token's first) and `_vocab_tensor`."""
        token_ids = self._untracked.token_ids
        for token_id, token in enumerate(self.vocab):
            token_ids.setdefault(token, token_id)
        self._vocab_tensor = tf.constant(self.vocab)
        return token_ids

    def _set_special_ids(self, tokens, source):
        """Sets `pad_id`, `unk_id`, `cls_id`, `sep_id` and `mask_id` from {role: token} of those roles.

        Raises:
            ValueError: The vocab lacks some of the tokens; the message names `source`.
        """
        token_ids = self._untracked.token_ids
        missing = [token for token in tokens.values() if token not in token_ids]
        if missing:
            raise ValueError(f"{source} lacks the special tokens {missing}.")
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (
            token_ids[tokens[role]] for role in ("pad", "unk", "cls", "sep", "mask"))

    def _python_ids(self, text):
        """Ids of one eager string (str or UTF-8 bytes) in plain Python; None: the graph tokenizes it."""
        del text  # Families without a Python tokenization run the graph.
        return None

    def _skipped_ids(self):
        """bool NumPy [vocab_size]: which ids `detokenize(skip_special_tokens=True)` leaves out."""
        skipped = np.zeros(self.vocab_size, bool)
        skipped[[self.pad_id, self.cls_id, self.sep_id, self.mask_id]] = True
        return skipped

    def _run(self, name, *args, sliced=False):
        """`self._<name>(*args)`: eagerly its compiled graph, batches cut into slices if `sliced`; traced, inline.

        Only eager calls take slices: every new tf.data iterator would instantiate each slice's ops again.
        """
        if not tf.executing_eagerly():
            return getattr(self, f"_{name}")(*args)
        return self._untracked.compiled(name, *args, *((self._untracked.slices,) if sliced else ()))

    def _tokenize(self, texts, slices=1):
        """Ids of texts [B] (or one), their batch cut into `slices` contiguous parts that run in parallel."""
        return per_batch(lambda batch: in_slices(self._tokenize_batch, batch, slices), texts)

    def _detokenize(self, ids, skip_special_tokens):
        if ids.shape.rank == 1:
            return self._detokenize(ids[None], skip_special_tokens)[0]
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        if skip_special_tokens:
            ids = tf.ragged.boolean_mask(ids, ~tf.gather(tf.constant(self._skipped_ids()), ids))
        return self._joined(ids)

    def _call(self, texts, text_pairs, max_length, slices=1):
        if texts.shape.rank == 0:
            packed = self._call(texts[None], None if text_pairs is None else text_pairs[None], max_length)
            return {name: values[0] for name, values in packed.items()}
        return self._packed(texts, text_pairs, max_length, max_length, slices)

    def _pack(self, texts, text_pairs, max_length, slices=1):
        return self._packed(texts, text_pairs, max_length, None, slices)

    def _packed(self, texts, text_pairs, max_length, length, slices):
        """Dense packed rows of `length` columns (None: the longest row, at least 2)."""
        segments = [self._tokenize(part, slices) for part in (texts, text_pairs) if part is not None]
        return self.packer.pack(segments, max_length, length)
