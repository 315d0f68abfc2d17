"""Reading and writing byte-level BPE files: vocab.json + merges.txt, or a BPE tokenizer.json."""

import functools
import json
import os

from keras_bert_zoo.files import write_json_atomic, write_text_atomic

# The special tokens' roles, their tokenizer_config.json keys (in order of preference) and RoBERTa's tokens.
SPECIAL_TOKEN_KEYS = {
    "cls": (("cls_token", "bos_token"), "<s>"),
    "sep": (("sep_token", "eos_token"), "</s>"),
    "pad": (("pad_token",), "<pad>"),
    "unk": (("unk_token",), "<unk>"),
    "mask": (("mask_token",), "<mask>"),
}


@functools.lru_cache(maxsize=None)
def byte_to_unicode():
    """GPT-2's table of byte -> the character that stands for it in vocab and merges strings.

    Printable Latin-1 bytes stand for themselves; the others (controls,
    space, U+007F-U+00A0, U+00AD) are shifted to U+0100 and up in byte order,
    so that no token string holds whitespace or control characters.
    """
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shifted = {}, 0
    for byte in range(256):
        if byte in kept:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return table


@functools.lru_cache(maxsize=None)
def _unicode_to_byte():
    return {char: byte for byte, char in byte_to_unicode().items()}


def token_bytes(token):
    """The bytes a vocab string stands for, or None if it isn't made of byte characters (an added token)."""
    table = _unicode_to_byte()
    try:
        return bytes(table[char] for char in token)
    except KeyError:
        return None


def read_byte_pair_files(path):
    """The vocab, merges and special tokens of a byte-level BPE tokenizer.

    Args:
        path: A directory with vocab.json + merges.txt (and optionally
            tokenizer_config.json / special_tokens_map.json naming the special
            tokens), or with a tokenizer.json of BPE kind alone (as
            transformers 5 saves), or the path of such a tokenizer.json.

    Returns:
        (tokens by id, merges as (left, right) pairs by rank, {role: token}
        for the roles of `SPECIAL_TOKEN_KEYS`).

    Raises:
        ValueError: naming the path, when it holds none of these, or a file is malformed.
    """
    path = os.fspath(path)
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    vocab_file, merges_file = os.path.join(path, "vocab.json"), os.path.join(path, "merges.txt")
    if os.path.isdir(path) and os.path.isfile(vocab_file) and os.path.isfile(merges_file):
        vocab, merges = read_vocab_json(vocab_file), read_merges(merges_file)
    elif os.path.isfile(path) or os.path.isfile(os.path.join(path, "tokenizer.json")):
        tokenizer_file = path if os.path.isfile(path) else os.path.join(path, "tokenizer.json")
        vocab, merges = _read_tokenizer_json(tokenizer_file)
    else:
        raise ValueError(f"{path} holds no byte-level BPE tokenizer: expected vocab.json + merges.txt or a "
                         "tokenizer.json.")
    return vocab, merges, _special_tokens(directory)


def normalization(path):
    """The Unicode normalization a BPE tokenizer's files state: "NFC" (a tokenizer.json's NFC normalizer,
    ModernBERT's) or None (vocab.json + merges.txt, or a tokenizer.json without a normalizer)."""
    path = os.fspath(path)
    if os.path.isdir(path) and all(os.path.isfile(os.path.join(path, name)) for name in ("vocab.json", "merges.txt")):
        return None
    tokenizer_file = path if os.path.isfile(path) else os.path.join(path, "tokenizer.json")
    return _normalization((_read_json(tokenizer_file) or {}).get("normalizer"), tokenizer_file)


def _normalization(normalizer, path):
    """"NFC" or None for a tokenizer.json's `normalizer` (NFC alone, or a Sequence of just it); ValueError else."""
    if normalizer is None:
        return None
    steps = normalizer.get("normalizers") if normalizer.get("type") == "Sequence" else [normalizer]
    kinds = [step.get("type") for step in steps or []]
    if kinds == ["NFC"]:
        return "NFC"
    raise ValueError(f"{path}: only an NFC normalizer is supported in a byte-level BPE tokenizer.json, got "
                     f"{normalizer}.")


def pair_layout(path):
    """(separators between a pair's texts, type id of the second text) that a BPE tokenizer's files state.

    vocab.json + merges.txt are RoBERTa's (`<s> a </s></s> b </s>`, all type
    ids 0): (2, 0). A tokenizer.json's post-processor decides otherwise: a
    TemplateProcessing (ModernBERT's `[CLS] a [SEP] b [SEP]`) gives the special
    tokens its pair template puts between the texts, and the second's type id.

    Raises:
        ValueError: naming the file, for a pair template with other tokens
            than separators between the texts.
    """
    path = os.fspath(path)
    if os.path.isdir(path) and all(os.path.isfile(os.path.join(path, name)) for name in ("vocab.json", "merges.txt")):
        return 2, 0
    tokenizer_file = path if os.path.isfile(path) else os.path.join(path, "tokenizer.json")
    processor = (_read_json(tokenizer_file) or {}).get("post_processor") or {}
    processors = processor.get("processors") or [] if processor.get("type") == "Sequence" else [processor]
    template = next((p for p in processors if p.get("type") == "TemplateProcessing"), None)
    if template is None:
        return 2, 0
    pieces = template.get("pair") or []
    sequences = [i for i, piece in enumerate(pieces) if "Sequence" in piece]
    if len(sequences) != 2:
        raise ValueError(f"{tokenizer_file}: the pair template must hold the texts $A and $B.")
    first, second = sequences
    between = [piece.get("SpecialToken", {}).get("id") for piece in pieces[first + 1:second]]
    if not between or len(set(between)) != 1 or None in between:
        raise ValueError(f"{tokenizer_file}: the pair template must put separators between $A and $B, got "
                         f"{pieces[first + 1:second]}.")
    return len(between), int(pieces[second]["Sequence"].get("type_id", 0))


def write_byte_pair_files(directory, vocab, merges, special_tokens):
    """Writes vocab.json, merges.txt and tokenizer_config.json (a RobertaTokenizer's), each atomically."""
    os.makedirs(directory, exist_ok=True)
    write_json_atomic(os.path.join(directory, "vocab.json"), {token: i for i, token in enumerate(vocab)})
    write_text_atomic(os.path.join(directory, "merges.txt"),
                      "#version: 0.2\n" + "".join(f"{left} {right}\n" for left, right in merges))
    config = {"tokenizer_class": "RobertaTokenizer", "add_prefix_space": False, "model_max_length": 512,
              "bos_token": special_tokens["cls"], "eos_token": special_tokens["sep"]}
    config.update({f"{role}_token": token for role, token in special_tokens.items()})
    write_json_atomic(os.path.join(directory, "tokenizer_config.json"), config)


def write_template_tokenizer_files(directory, vocab, merges, special_tokens, pair_separators, second_type_id,
                                   normalization=None):
    """Writes tokenizer.json (byte-level BPE, pairs `cls a sep* b sep`) and tokenizer_config.json, each atomically.

    The layout transformers' `AutoTokenizer` reads for a tokenizer whose pairs
    aren't RoBERTa's (ModernBERT's `[CLS] a [SEP] b [SEP]`) or that normalizes
    its texts (ModernBERT's NFC), and `pair_layout` and `normalization` read back.
    """
    os.makedirs(directory, exist_ok=True)
    cls, sep = special_tokens["cls"], special_tokens["sep"]
    ids = {token: i for i, token in enumerate(vocab)}
    special = set(special_tokens.values())
    added = [{"id": i, "content": token, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": token not in special, "special": token in special}
             for i, token in enumerate(vocab) if token in special or token_bytes(token) is None]

    def piece(kind, name, type_id=0):
        return {kind: {"id": name, "type_id": type_id}}

    single = [piece("SpecialToken", cls), piece("Sequence", "A"), piece("SpecialToken", sep)]
    pair = single + [piece("SpecialToken", sep)] * (pair_separators - 1) + [
        piece("Sequence", "B", second_type_id), piece("SpecialToken", sep, second_type_id)]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    config = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": normalization} if normalization else None,
        "pre_tokenizer": byte_level,
        "post_processor": {"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": {
            token: {"id": token, "ids": [ids[token]], "tokens": [token]} for token in (cls, sep)}},
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": ids, "merges": [list(merge) for merge in merges]}}
    write_json_atomic(os.path.join(directory, "tokenizer.json"), config)
    tokenizer_config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": cls, "eos_token": sep}
    tokenizer_config.update({f"{role}_token": token for role, token in special_tokens.items()})
    write_json_atomic(os.path.join(directory, "tokenizer_config.json"), tokenizer_config)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a JSON file: {error}") from None


def read_vocab_json(path):
    """Tokens by id of a vocab.json ({token: id}, ids 0..n-1)."""
    return _tokens_by_id(_read_json(path), path)


def _tokens_by_id(token_ids, path):
    """Tokens listed by id from a {token: id} dict whose ids run 0..n-1."""
    if not isinstance(token_ids, dict) or not token_ids:
        raise ValueError(f"{path}: expected a non-empty {{token: id}} object.")
    tokens = [None] * len(token_ids)
    for token, token_id in token_ids.items():
        if not isinstance(token_id, int) or not 0 <= token_id < len(tokens) or tokens[token_id] is not None:
            raise ValueError(f"{path}: ids must be 0..{len(tokens) - 1}, each once; {token!r} has {token_id!r}.")
        tokens[token_id] = token
    return tokens


def read_merges(path):
    """(left, right) pairs of a merges.txt, by rank; its "#version" line and blank lines skipped."""
    merges = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if (number == 1 and line.startswith("#version")) or not line:
                continue
            parts = line.split(" ")
            if len(parts) != 2 or not all(parts):
                raise ValueError(f"{path}, line {number}: expected two tokens separated by a space, got {line!r}.")
            merges.append(tuple(parts))
    return merges


def _read_tokenizer_json(path):
    """Tokens by id (added tokens included) and merges of a tokenizer.json of byte-level BPE kind."""
    config = _read_json(path)
    model = config.get("model") if isinstance(config, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE":
        kind = model.get("type") if isinstance(model, dict) else None
        raise ValueError(f"{path} is not a BPE tokenizer.json (its model is {kind!r}).")
    pre_tokenizer = config.get("pre_tokenizer") or {}
    unsupported = {
        "a pre-tokenizer other than ByteLevel": pre_tokenizer.get("type") != "ByteLevel",
        "add_prefix_space": bool(pre_tokenizer.get("add_prefix_space")),
        "a regex other than GPT-2's": pre_tokenizer.get("use_regex") is False,
        "subword prefixes or suffixes": bool(model.get("continuing_subword_prefix") or
                                             model.get("end_of_word_suffix")),
        "byte fallback": bool(model.get("byte_fallback")),
        "ignore_merges": bool(model.get("ignore_merges")),
    }
    _normalization(config.get("normalizer"), path)
    reasons = [name for name, present in unsupported.items() if present]
    if reasons:
        raise ValueError(f"{path} is not a GPT-2 / RoBERTa byte-level BPE tokenizer: it has {', '.join(reasons)}.")
    token_ids = dict(model.get("vocab") or {})
    for added in config.get("added_tokens") or []:
        token_ids.setdefault(added["content"], added["id"])
    merges = [tuple(merge.split(" ") if isinstance(merge, str) else merge) for merge in model.get("merges") or []]
    if any(len(merge) != 2 for merge in merges):
        raise ValueError(f"{path}: every merge must be two tokens.")
    return _tokens_by_id(token_ids, path), merges


def _special_tokens(directory):
    """{role: token}: from tokenizer_config.json or special_tokens_map.json in `directory`, else RoBERTa's."""
    stated = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):  # The config wins.
        file = os.path.join(directory, name)
        if os.path.isfile(file):
            values = _read_json(file)
            if isinstance(values, dict):
                stated.update(values)
    special = {}
    for role, (keys, default) in SPECIAL_TOKEN_KEYS.items():
        token = next((stated[key] for key in keys if stated.get(key)), default)
        special[role] = token["content"] if isinstance(token, dict) else token
    return special
