"""Reading WordPiece vocabularies and finding them inside checkpoint directories."""

import glob
import json
import os

from keras_bert_zoo.config.presets import get_preset, is_preset, preset_directory, unknown_preset_hint

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# What transformers 5's save_pretrained writes for a BERT tokenizer, without vocab.txt.
HF_TOKENIZER_FILE = "tokenizer.json"


def read_vocab(vocab_file):
    """The tokens of a vocab file in id order: a vocab.txt (one per line) or a Hugging Face tokenizer.json.

    Raises:
        ValueError: The file is missing, not UTF-8, has duplicate tokens, or
            lacks one of the special tokens, or a tokenizer.json holds no
            WordPiece vocab; the message names the file/line.
    """
    if os.path.basename(vocab_file) == HF_TOKENIZER_FILE:
        return _checked_tokens(_tokenizer_json_tokens(vocab_file), vocab_file)
    try:
        with open(vocab_file, encoding="utf-8") as f:
            tokens = [line.rstrip("\r\n") for line in f]
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"Cannot read vocab file {vocab_file}: {e}") from e
    return _checked_tokens(tokens, vocab_file)


def _tokenizer_json_tokens(path):
    """The WordPiece tokens of a Hugging Face tokenizer.json, in id order."""
    try:
        with open(path, encoding="utf-8") as f:
            model = json.load(f).get("model") or {}
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"Cannot read {path}: {e}") from e
    if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
        raise ValueError(f"{path} holds a {model.get('type')} tokenizer; BertTokenizer reads WordPiece vocabs.")
    by_id = sorted(model["vocab"].items(), key=lambda item: item[1])
    if [token_id for _, token_id in by_id] != list(range(len(by_id))):
        raise ValueError(f"{path}: the WordPiece vocab's ids are not 0..{len(by_id) - 1}.")
    return [token for token, _ in by_id]


def _checked_tokens(tokens, vocab_file):
    """`tokens` without trailing blank lines, checked for repeats and the special tokens."""
    while tokens and not tokens[-1].strip():
        tokens.pop()
    seen = {}
    for line, token in enumerate(tokens, start=1):
        if token in seen:
            raise ValueError(f"{vocab_file}:{line}: token {token!r} repeats line {seen[token]}.")
        seen[token] = line
    missing = [token for token in SPECIAL_TOKENS if token not in seen]
    if missing:
        raise ValueError(f"Vocab file {vocab_file} lacks the special token(s) {', '.join(missing)}.")
    return tokens


def vocab_is_lower_case(tokens):
    """Guesses casing from a vocab: an uncased vocab has no upper-case letters."""
    return not any(
        not (token.startswith("[") and token.endswith("]")) and token != token.lower() for token in tokens)


def locate_vocab(path_or_preset):
    """Finds the vocab of a checkpoint and whether it expects lower-cased text.

    Args:
        path_or_preset: A vocab file, a Hugging Face / save_pretrained
            directory, a Google BERT directory or checkpoint prefix, a keras-hub
            preset directory, or a preset name.

    Returns:
        (vocab_file, lower_case): a vocab.txt, or the tokenizer.json of a
        directory transformers 5 wrote; lower_case None when nothing states it.
    """
    path = os.fspath(path_or_preset)
    if os.path.isfile(path):
        return path, None
    if not os.path.exists(path) and is_preset(path):
        return os.path.join(preset_directory(path), "vocab.txt"), get_preset(path)["lower_case"]
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    # A name without a directory is a preset or a checkpoint prefix in the working directory.
    if not os.path.isdir(directory) and not os.path.exists(path + ".index"):
        raise ValueError(f"{path} does not exist and is not a preset name; {unknown_preset_hint(path)}")
    keras_hub_vocab = os.path.join(directory, "assets", "tokenizer", "vocabulary.txt")
    if os.path.isfile(keras_hub_vocab):
        return keras_hub_vocab, _json_value(os.path.join(directory, "tokenizer.json"), "config", "lowercase")
    vocab_file = os.path.join(directory, "vocab.txt")
    if os.path.isfile(vocab_file):
        lower_case = _json_value(os.path.join(directory, "tokenizer_config.json"), "do_lower_case")
        if lower_case is None:
            lower_case = _lower_case_from_release_name(directory)
        return vocab_file, lower_case
    tokenizer_file = os.path.join(directory, HF_TOKENIZER_FILE)
    if os.path.isfile(tokenizer_file):
        lower_case = _json_value(os.path.join(directory, "tokenizer_config.json"), "do_lower_case")
        if lower_case is None:
            lower_case = _json_value(tokenizer_file, "normalizer", "lowercase")
        return tokenizer_file, lower_case
    found = glob.glob(os.path.join(directory, "*vocab*.txt"))
    hint = f" (found {', '.join(found)})" if found else ""
    raise ValueError(f"No vocab.txt or tokenizer.json in {directory}{hint}; pass the vocab file explicitly.")


def _json_value(file, *keys):
    if not os.path.isfile(file):
        return None
    with open(file, encoding="utf-8") as f:
        value = json.load(f)
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return None if value is None else bool(value)


def _lower_case_from_release_name(directory):
    # Google names its releases uncased_L-12_H-768_A-12, cased_..., multi_cased_...
    name = os.path.basename(os.path.normpath(directory))
    if name.startswith(("uncased", "chinese", "multilingual_L")):
        return True
    if name.startswith(("cased", "multi_cased")):
        return False
    return None
