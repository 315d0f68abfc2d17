"""In-graph SentencePiece tokenizer (XLM-RoBERTa, ALBERT) that reproduces transformers' ids."""

import glob
import hashlib
import json
import os
import types

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops.sentencepiece_tokenizer import gen_sentencepiece_tokenizer

from keras_bert_zoo.files import write_bytes_atomic, write_json_atomic
from keras_bert_zoo.text.graph_calls import per_batch, strings
from keras_bert_zoo.text.graph_tokenizer import GraphTokenizer
from keras_bert_zoo.text.segment_packer import SegmentPacker
from keras_bert_zoo.text.sentence_piece_model import CONTROL, NORMAL, UNKNOWN, USER_DEFINED, read_model

# How a family numbers the model's pieces, names its special tokens and packs pairs. The vocab is
# `leading_tokens`, the model's pieces from `replaced_pieces` on, then `trailing_tokens`.
ID_LAYOUTS = {
    # fairseq's dictionary: its four specials take the place of the model's <unk>, <s>, </s>, so
    # every other piece's id is one more than SentencePiece's; <mask> comes last.
    "xlm-roberta": {
        "leading_tokens": ("<s>", "<pad>", "</s>", "<unk>"), "replaced_pieces": 3, "trailing_tokens": ("<mask>",),
        "pad": "<pad>", "unk": "<unk>", "cls": "<s>", "sep": "</s>", "mask": "<mask>",
        "separators_between": 2, "second_type_id": 0, "lower_case": False, "strip_accents": False,
        "quote_pairs": False, "model_file": "sentencepiece.bpe.model", "tokenizer_class": "XLMRobertaTokenizer"},
    # The special tokens are pieces of the model itself; transformers' AlbertTokenizer also turns ``
    # and '' into ", strips accents (NFKD, then combining marks go) and lower-cases, in that order.
    "albert": {
        "leading_tokens": (), "replaced_pieces": 0, "trailing_tokens": (),
        "pad": "<pad>", "unk": "<unk>", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]",
        "separators_between": 1, "second_type_id": 1, "lower_case": True, "strip_accents": True,
        "quote_pairs": True, "model_file": "spiece.model", "tokenizer_class": "AlbertTokenizer"},
}
# The names HF repos give the model file, and the layout each implies without a tokenizer_config.json.
_MODEL_FILES = {layout["model_file"]: name for name, layout in ID_LAYOUTS.items()}
_TOKENIZER_CLASSES = {layout["tokenizer_class"]: name for name, layout in ID_LAYOUTS.items()}
# What transformers' pre-tokenizer splits words at (Rust's char::is_whitespace, Unicode White_Space).
_WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
               + "\u2028\u2029\u202f\u205f\u3000")


class SentencePieceTokenizer(GraphTokenizer):
    """SentencePiece tokenizer built from TF and tf-text ops, for tf.data and SavedModels.

    It runs tf-text's SentencePiece op on the model file's bytes (unigram or
    BPE models; the model is saved inside SavedModels that hold the
    tokenizer) and numbers the pieces as the model family does (`ID_LAYOUTS`:
    XLM-RoBERTa's fairseq ids, ALBERT's own). Its ids equal those of
    transformers' tokenizer of the family, which re-implements the model in
    the `tokenizers` library, on real text. Two things are added to the op
    for that:

    - Unigram segmentations with equal scores are broken as `tokenizers`
      does. They are orderings of the same pieces of a repeated string, as
      "!" "!!" against "!!" "!" in "!!!": SentencePiece sums scores in
      float32, so which ordering wins depends on rounding, while
      `tokenizers` (float64) always puts the shorter piece first. The pieces
      of such runs are sorted by length.
    - Characters that transformers splits words at (Unicode White_Space) but
      the model's normalizer keeps, such as U+0085, become spaces.

    "<mask>", "</s>" and the like typed in a text stay text: SentencePiece
    cuts them into ordinary pieces (transformers would give the special ids).
    Invalid UTF-8 is left to SentencePiece, which makes each bad byte run one
    unknown piece. Its `packer` holds the layout's pairs (XLM-RoBERTa's
    `<s> a </s></s> b </s>`, ALBERT's `[CLS] a [SEP] b [SEP]`), truncated as
    transformers' `truncation=True` does (`SegmentPacker`'s "tokenizers").

    Args:
        model_file: Path of a SentencePiece model file, or its bytes.
        lower_case: Whether to lower-case texts first; None: the layout's
            default (ALBERT's do_lower_case=True).
        layout: A name in `ID_LAYOUTS`, or a dict with the same keys.
        strip_accents: Whether to strip accents first (NFKD, then combining
            marks go); None: the layout's default (ALBERT's keep_accents=False).
    """

    def __init__(self, model_file, lower_case=None, layout="xlm-roberta", strip_accents=None):
        super().__init__("sentence_piece_tokenizer")
        self.layout = _layout(layout)
        if isinstance(model_file, bytes):
            self.model_file, proto = None, model_file
        else:
            self.model_file = os.fspath(model_file)
            try:
                with open(self.model_file, "rb") as f:
                    proto = f.read()
            except OSError as e:
                raise ValueError(f"Cannot read SentencePiece model file {self.model_file}: {e}") from e
        name = self.model_file or "the SentencePiece model"
        model = read_model(proto, name)
        self.model_type = model.model_type
        self.lower_case = bool(self.layout["lower_case"] if lower_case is None else lower_case)
        self.strip_accents = bool(self.layout["strip_accents"] if strip_accents is None else strip_accents)
        replaced = self.layout["replaced_pieces"]
        self.vocab = (list(self.layout["leading_tokens"]) + model.pieces[replaced:]
                      + list(self.layout["trailing_tokens"]))
        self._index_vocab()
        self._set_special_ids({role: self.layout[role] for role in ("pad", "unk", "cls", "sep", "mask")},
                              f"{name} with the {layout!r} layout")
        # Both families' transformers tokenizers truncate pairs in Rust, as `tokenizers`' LongestFirst.
        self.packer = SegmentPacker([self.cls_id], [self.sep_id] * self.layout["separators_between"], [self.sep_id],
                                    self.pad_id, second_type_id=self.layout["second_type_id"], truncation="tokenizers")
        # Each token's piece type; the layout's own tokens count as control pieces.
        shift = len(self.layout["leading_tokens"]) - replaced
        piece_types = np.full(len(self.vocab), CONTROL)
        piece_types[replaced + shift:len(model.pieces) + shift] = model.types[replaced:]
        piece_types[self.unk_id] = UNKNOWN
        self._untracked.piece_types = piece_types
        self._untracked.proto = proto
        # Model ids to ours: a shift, and the model's unknown piece to the layout's.
        self._id_shift = shift
        self._model_unk_id = model.unk_id
        self._add_dummy_prefix = model.add_dummy_prefix
        self._sentencepiece = tf_text.SentencepieceTokenizer(model=proto, out_type=tf.int32)
        self._sentencepiece._model_resource = _SharedModelResource(proto)
        runs = _commuting_runs(model) if model.model_type == "unigram" else None
        self._run_keys, self._run_powers = (None, None) if runs is None else (tf.constant(runs[0]),
                                                                               tf.constant(runs[1]))
        self._untracked.kept_whitespace = self._whitespace_kept_by_model()

    @classmethod
    def from_pretrained(cls, path, lower_case=None, **kwargs):
        """The tokenizer of a Hugging Face directory, or of a model file.

        The directory holds sentencepiece.bpe.model (XLM-RoBERTa),
        spiece.model (ALBERT) or one other *.model file, and optionally a
        tokenizer_config.json whose `tokenizer_class` picks the layout (else
        the file name does; XLM-RoBERTa's by default) and whose
        `do_lower_case` / `keep_accents` set the casing and accents.

        Args:
            path: The directory or the model file.
            lower_case: Overrides the casing the config states.
            **kwargs: Passed to the constructor.

        Raises:
            ValueError: No single model file is found; the message names `path`.
        """
        path = os.fspath(path)
        directory, model_file = (path, _model_file_in(path)) if os.path.isdir(path) else (os.path.dirname(path), path)
        config = _tokenizer_config(directory)
        layout = (kwargs.pop("layout", None) or _TOKENIZER_CLASSES.get(config.get("tokenizer_class"))
                  or _MODEL_FILES.get(os.path.basename(model_file), "xlm-roberta"))
        if lower_case is None:
            lower_case = config.get("do_lower_case")
        if "strip_accents" not in kwargs and "keep_accents" in config:
            kwargs["strip_accents"] = not config["keep_accents"]
        return cls(model_file, lower_case=lower_case, layout=layout, **kwargs)

    def save_pretrained(self, directory):
        """Writes the model file (under the layout's name) and tokenizer_config.json into `directory`, atomically.

        transformers' `from_pretrained(directory)` of the layout's tokenizer class loads them.
        """
        os.makedirs(directory, exist_ok=True)
        write_bytes_atomic(os.path.join(directory, self.layout["model_file"]), self._untracked.proto)
        write_json_atomic(os.path.join(directory, "tokenizer_config.json"),
                          {"tokenizer_class": self.layout["tokenizer_class"], "do_lower_case": self.lower_case,
                           "keep_accents": not self.strip_accents, "model_max_length": 512})

    def continues_word(self):
        """bool NumPy [vocab_size]: which tokens continue a word: pieces of text without a leading "▁".

        Special, unknown and byte pieces don't.
        """
        starts_word = np.array([token.startswith("\u2581") for token in self.vocab], bool)
        return ~starts_word & np.isin(self._untracked.piece_types, (NORMAL, USER_DEFINED))

    def tokenize_with_offsets(self, texts):
        """Ids of texts with the byte span of the original text each token covers.

        A token covers the characters its piece was normalized from
        (SentencePiece's alignment of its NFKC normalization), without
        whitespace: the "▁" a word's first piece starts with covers nothing,
        so that piece starts at the word's first character, and a lone "▁"
        piece is an empty span where its word begins. Characters that
        normalization removes belong to a neighbouring token. Where one
        character normalizes to several pieces ("½" to "1" "⁄" "2"), the last
        spans it and the others are empty before it.

        Args:
            texts: A string or a [B] batch of strings.

        Returns:
            (ids int32, starts int64, ends int64): RaggedTensors [B, (tokens)],
            or 1-D tensors for one string; text[start:end] is the token's text.
        """
        return self._run("tokenize_with_offsets", strings(texts))

    def tokenize_words(self, words):
        """Each word's ids as it appears after a space in running text, for aligning word labels.

        A word's ids never reach into another word; an empty word has none.

        Args:
            words: A [N] batch of words (list, array or tensor).

        Returns:
            int32 RaggedTensor [N, (pieces)].
        """
        return self._run("tokenize_words", strings(words))

    def _skipped_ids(self):
        """The layout's special tokens and the model's control pieces ([PAD], <s>, </s>, <mask>, ...), not <unk>."""
        return self._untracked.piece_types == CONTROL

    def _tokenize_batch(self, texts):
        return self._ids(self._pieces(texts))

    def _tokenize_words(self, words):
        if not self._add_dummy_prefix:
            # A literal "▁" reads as the space the model doesn't add itself.
            words = tf.strings.join(["\u2581", words])
        return per_batch(self._tokenize_batch, words)

    def _tokenize_with_offsets(self, texts):
        return per_batch(self._with_offsets, texts)

    def _with_offsets(self, texts):
        pieces, starts, ends = self._pieces(texts, with_offsets=True)
        starts, ends = tf.cast(starts, tf.int64), tf.cast(ends, tf.int64)
        if self._changes_lengths():
            starts, ends = self._source_offsets(texts, starts, ends)
        starts, ends = _without_whitespace(texts, starts, ends)
        return self._ids(pieces), starts, ends

    def _pieces(self, texts, with_offsets=False):
        """The model's ids of texts [B] (and their byte offsets), ties broken as `tokenizers` does."""
        texts = self._prepared(texts)
        if with_offsets:
            pieces, starts, ends = self._sentencepiece.tokenize_with_offsets(texts)
            if self._run_keys is None:
                return pieces, starts, ends
            return _sorted_runs(pieces, self._run_keys, self._run_powers, starts, ends)
        pieces = self._sentencepiece.tokenize(texts)
        return pieces if self._run_keys is None else _sorted_runs(pieces, self._run_keys, self._run_powers)[0]

    def _prepared(self, texts):
        """Texts as the op should see them.

        White_Space the model would keep becomes spaces of the same byte
        length; then, if the layout says so, `` and '' become ", accents go
        and letters are lower-cased, as transformers' normalizers do.
        """
        for characters, spaces in self._untracked.kept_whitespace:
            texts = tf.strings.regex_replace(texts, characters, spaces)
        return self._transformed(texts, self.layout["quote_pairs"])

    def _transformed(self, texts, quote_pairs):
        """Texts with `` and '' made " (if `quote_pairs`), accents stripped and lower-cased, as configured."""
        if quote_pairs:
            texts = tf.strings.regex_replace(texts, "``|''", '"')
        if self.strip_accents:
            texts = tf.strings.regex_replace(tf_text.normalize_utf8(texts, "NFKD"), r"\p{M}", "")
        if self.lower_case:
            # Character by character, as transformers does (a final capital sigma becomes σ, not ς);
            # on whole texts the op would also stop at a NUL.
            chars = tf.strings.unicode_split(texts, "UTF-8", errors="replace")
            lowered = tf.where(chars.flat_values == "\x00", chars.flat_values,
                               tf.strings.lower(chars.flat_values, encoding="utf-8"))
            texts = tf.strings.reduce_join(chars.with_flat_values(lowered), axis=-1)
        return texts

    def _changes_lengths(self):
        return self.layout["quote_pairs"] or self.strip_accents or self.lower_case

    def _source_offsets(self, texts, starts, ends):
        """Byte offsets into the prepared texts [B] mapped back to `texts`, through each character's prepared length.

        A token starts at the character its prepared text starts in, and ends
        where the next character that prepares to anything begins: characters
        that prepare to nothing (stripped accents, the second ` of ``) belong
        to the token before. As SentencePiece does with its own normalization,
        where one character prepares to several tokens ("™" to "t" "m"), the
        last spans it and those before are empty at its start.
        """
        chars, char_starts = tf.strings.unicode_split_with_offsets(texts, "UTF-8", errors="replace")
        rows = chars.value_rowids()
        prepared_lengths = tf.cast(tf.strings.length(self._transformed(chars.flat_values, False)), tf.int64)
        if self.layout["quote_pairs"]:
            # Of each `` or '' (pairs taken from the left of a run), the first becomes " and the second goes.
            flat = chars.flat_values
            # The first character starts a run; a batch of empty texts has none.
            new_run = tf.concat([tf.ones_like(rows[:1], tf.bool), (flat[1:] != flat[:-1]) | (rows[1:] != rows[:-1])],
                                0)
            index = tf.range(tf.size(flat, tf.int64))
            run_start = tf.gather(tf.boolean_mask(index, new_run), tf.cumsum(tf.cast(new_run, tf.int64)) - 1)
            quote = (flat == "`") | (flat == "'")
            prepared_lengths = tf.where(quote & ((index - run_start) % 2 == 1), tf.zeros_like(prepared_lengths),
                                        prepared_lengths)
        lengths = tf.cast(tf.strings.length(texts), tf.int64)
        # Offsets into the texts and into the prepared texts, each laid end to end over the batch; only
        # characters that prepare to something, so that their prepared starts increase strictly.
        base = tf.cumsum(lengths, exclusive=True)
        prepared_base = tf.cumsum(tf.math.unsorted_segment_sum(prepared_lengths, rows, tf.size(texts)), exclusive=True)
        kept = prepared_lengths > 0
        char_starts = tf.boolean_mask(char_starts.flat_values + tf.gather(base, rows), kept)
        char_starts = tf.concat([char_starts, tf.reduce_sum(lengths)[None]], 0)
        prepared_ends = tf.boolean_mask(tf.cumsum(prepared_lengths), kept)
        prepared_starts = prepared_ends - tf.boolean_mask(prepared_lengths, kept)
        token_rows = starts.value_rowids()
        token_starts = starts.flat_values + tf.gather(prepared_base, token_rows)
        token_ends = ends.flat_values + tf.gather(prepared_base, token_rows)
        first = tf.maximum(tf.searchsorted(prepared_starts, token_starts, side="right") - 1, 0)
        after = tf.searchsorted(prepared_starts, token_ends, side="left")
        last = tf.maximum(after - 1, 0)
        inside_last = (after > 0) & (tf.gather(prepared_ends, last) > token_ends)
        source_ends = tf.where(inside_last, tf.gather(char_starts, last), tf.gather(char_starts, after))
        row_base = tf.gather(base, token_rows)
        # The next kept character may be in a later row, after characters of that row that prepare to nothing.
        source_ends = tf.minimum(source_ends - row_base, tf.gather(lengths, token_rows))
        return starts.with_flat_values(tf.gather(char_starts, first) - row_base), ends.with_flat_values(source_ends)

    def _ids(self, pieces):
        """Our ids of the model's ids (a RaggedTensor)."""
        values = pieces.flat_values
        if self._id_shift or self._model_unk_id + self._id_shift != self.unk_id:
            values = tf.where(values == self._model_unk_id, self.unk_id, values + self._id_shift)
        return pieces.with_flat_values(values)

    def _joined(self, ids):
        """The pieces joined, "▁" read as a space, without the first one's."""
        joined = tf.strings.reduce_join(tf.gather(self._vocab_tensor, ids), axis=-1)
        return tf.strings.regex_replace(tf.strings.regex_replace(joined, "\u2581", " "), "^ ", "")

    def _whitespace_kept_by_model(self):
        """(pattern, spaces) replacements for the White_Space characters the model's normalizer keeps.

        transformers splits words at them after normalizing; SentencePiece
        only at spaces. Each becomes as many spaces as its UTF-8 bytes, which
        keeps byte offsets, and the model collapses them into one.
        """
        probes = [f"a{character}a" for character in _WHITESPACE] + ["a a", "aa"]
        with tf.init_scope():
            ids = self._sentencepiece.tokenize(tf.constant(probes)).to_list()
        # Neither a space nor removed (removed ones split no word in transformers either).
        kept = [character for character, probe in zip(_WHITESPACE, ids) if probe not in ids[-2:]]
        by_length = {}
        for character in kept:
            by_length.setdefault(len(character.encode("utf-8")), []).append(character)
        return [(f"[{''.join(characters)}]", " " * length) for length, characters in sorted(by_length.items())]


def _layout(layout):
    """A read-only view of a layout named in ID_LAYOUTS or given as a dict with its keys.

    Read-only, which also keeps tf.Module from tracking it as it tracks dicts.
    """
    if isinstance(layout, str):
        if layout not in ID_LAYOUTS:
            raise ValueError(f"Unknown layout {layout!r}; known: {sorted(ID_LAYOUTS)}, or a dict with their keys.")
        layout = ID_LAYOUTS[layout]
    missing = set(ID_LAYOUTS["xlm-roberta"]) - set(layout)
    if missing:
        raise ValueError(f"The layout lacks the keys {sorted(missing)}.")
    return types.MappingProxyType(dict(layout))


def _commuting_runs(model):
    """Per piece, a key shared by the pieces that are powers of one string (as "!" and "!!!"), and its power.

    Only strings with two or more powers among the pieces share keys; any
    other piece's key is -1. None if no pieces share a key.
    """
    roots = {}
    for piece_id, (piece, piece_type) in enumerate(zip(model.pieces, model.types)):
        if piece_type in (NORMAL, USER_DEFINED):
            # The shortest period of a string is where it first recurs in itself doubled.
            period = (piece + piece).find(piece, 1)
            roots.setdefault(piece[:period], []).append(piece_id)
    keys = np.full(len(model.pieces), -1, np.int32)
    powers = np.ones(len(model.pieces), np.int32)
    shared = False
    for root, piece_ids in roots.items():
        if len(piece_ids) > 1:
            shared = True
            keys[piece_ids] = piece_ids[0]
            powers[piece_ids] = [len(model.pieces[i]) // len(root) for i in piece_ids]
    return (keys, powers) if shared else None


def _sorted_runs(pieces, run_keys, run_powers, starts=None, ends=None):
    """Pieces [B, (T)] with each run of powers of one string sorted shortest first (and their offsets).

    A reordered run's byte span is shared out in proportion to the pieces'
    lengths, exact unless its characters have different byte lengths in the
    text.
    """
    values = pieces.flat_values
    # Only pieces that share a key can be reordered: the rest of the work is on those alone.
    keys = tf.gather(run_keys, values)
    candidates = tf.where(keys >= 0)[:, 0]
    keys = tf.gather(keys, candidates)
    rows = tf.searchsorted(pieces.row_splits, candidates, side="right")
    same_as_previous = tf.concat([[False], (keys[1:] == keys[:-1]) & (rows[1:] == rows[:-1])
                                  & (candidates[1:] == candidates[:-1] + 1)], 0)
    in_run = same_as_previous | tf.concat([same_as_previous[1:], [False]], 0)
    positions = tf.boolean_mask(candidates, in_run)
    run_of = tf.boolean_mask(tf.cumsum(tf.cast(~same_as_previous, tf.int64)), in_run)
    old = tf.gather(values, positions)
    order = tf.argsort(run_of * (tf.cast(tf.reduce_max(run_powers), tf.int64) + 1)
                       + tf.cast(tf.gather(run_powers, old), tf.int64), stable=True)
    new = tf.gather(old, order)
    values = tf.tensor_scatter_nd_update(values, positions[:, None], new)
    if starts is None:
        return pieces.with_flat_values(values), None, None
    # Each run's [first start, last end), shared out by the cumulative powers of its sorted pieces.
    segments = tf.cumsum(tf.cast(run_of != tf.concat([[-1], run_of[:-1]], 0), tf.int64)) - 1
    flat_starts, flat_ends = tf.cast(starts.flat_values, tf.int64), tf.cast(ends.flat_values, tf.int64)
    run_start = tf.math.segment_min(tf.gather(flat_starts, positions), segments)
    run_end = tf.math.segment_max(tf.gather(flat_ends, positions), segments)
    powers = tf.cast(tf.gather(run_powers, new), tf.int64)
    total = tf.math.segment_sum(powers, segments)
    before = tf.cumsum(powers, exclusive=True)
    before -= tf.gather(tf.math.segment_min(before, segments), segments)
    span, first, total = (tf.gather(tf.cast(x, tf.int64), segments) for x in (run_end - run_start, run_start, total))
    # Runs that sorting left as they were keep the op's offsets.
    changed = tf.gather(tf.math.segment_max(tf.cast(new != old, tf.int32), segments), segments) > 0
    new_starts = tf.where(changed, first + span * before // total, tf.gather(flat_starts, positions))
    new_ends = tf.where(changed, first + span * (before + powers) // total, tf.gather(flat_ends, positions))
    flat_starts = tf.tensor_scatter_nd_update(flat_starts, positions[:, None], new_starts)
    flat_ends = tf.tensor_scatter_nd_update(flat_ends, positions[:, None], new_ends)
    return pieces.with_flat_values(values), starts.with_flat_values(flat_starts), ends.with_flat_values(flat_ends)


def _without_whitespace(texts, starts, ends):
    """Token spans [B, (T)] without the White_Space characters at their ends (all-space ones: empty at their end)."""
    codepoints, char_starts = tf.strings.unicode_decode_with_offsets(texts, "UTF-8", errors="replace")
    lengths = tf.cast(tf.strings.length(texts), tf.int64)
    rows = codepoints.value_rowids()
    char_starts = char_starts.flat_values
    last_of_row = tf.concat([rows[1:] != rows[:-1], [True]], 0)
    char_ends = tf.where(last_of_row, tf.gather(lengths, rows), tf.concat([char_starts[1:], [0]], 0))
    # Offsets into the batch's texts laid end to end, so that one sorted search serves every row.
    base = tf.cumsum(lengths, exclusive=True)
    visible = tf.reduce_all(codepoints.flat_values[:, None] != [ord(c) for c in _WHITESPACE], -1)
    char_base = tf.gather(base, rows)
    visible_starts = tf.boolean_mask(char_starts + char_base, visible)
    visible_ends = tf.boolean_mask(char_ends + char_base, visible)
    token_base = tf.gather(base, starts.value_rowids())
    token_starts, token_ends = starts.flat_values + token_base, ends.flat_values + token_base
    beyond = tf.reduce_sum(lengths)[None] + 1
    next_visible = tf.gather(tf.concat([visible_starts, beyond], 0), tf.searchsorted(visible_starts, token_starts))
    new_starts = tf.minimum(next_visible, token_ends)
    last_visible = tf.gather(tf.concat([[-1], visible_ends], 0),
                             tf.searchsorted(visible_ends, token_ends, side="right"))
    new_ends = tf.maximum(last_visible, new_starts)
    return starts.with_flat_values(new_starts - token_base), ends.with_flat_values(new_ends - token_base)


def _model_file_in(directory):
    """The SentencePiece model file of a directory: a name HF repos use, else its only *.model."""
    for name in _MODEL_FILES:
        if os.path.isfile(os.path.join(directory, name)):
            return os.path.join(directory, name)
    models = sorted(glob.glob(os.path.join(directory, "*.model")))
    if len(models) != 1:
        found = ", ".join(os.path.basename(m) for m in models) or "none"
        raise ValueError(f"{directory} should hold one SentencePiece model file ({', '.join(_MODEL_FILES)} or "
                         f"another *.model); found {found}.")
    return models[0]


def _tokenizer_config(directory):
    """tokenizer_config.json of a directory as a dict ({} if absent)."""
    path = os.path.join(directory, "tokenizer_config.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"Cannot read {path}: {e}") from e
    if not isinstance(config, dict):
        raise ValueError(f"{path} should hold a JSON object.")
    return config


class _SharedModelResource(tf.saved_model.experimental.TrackableResource):
    """tf-text's SentencePiece model resource under a shared name.

    tf-text's own resource belongs to the kernel that made it, and dies with
    it when the eager kernel cache is cleared (`keras.utils.set_random_seed`
    does): a tokenizer built before seeding then fails with "Resource ...
    SentencepieceResource does not exist". A shared name, from the model's
    hash, keeps it in the resource manager, where a new kernel finds it.
    """

    def __init__(self, proto):
        super().__init__()
        self._proto = proto
        self._shared_name = "kbz_sentencepiece_" + hashlib.sha256(proto).hexdigest()[:24]
        _ = self.resource_handle  # Creates the resource now, as tf-text's does.

    def _create_resource(self):
        return gen_sentencepiece_tokenizer.sentencepiece_op(model=self._proto, shared_name=self._shared_name)
