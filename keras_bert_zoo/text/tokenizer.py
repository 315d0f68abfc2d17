"""`kbz.Tokenizer`: the tokenizer of whichever kind a checkpoint's files are."""

import glob
import json
import os

from keras_bert_zoo.text.bert_tokenizer import BertTokenizer
from keras_bert_zoo.text.byte_pair_tokenizer import BytePairTokenizer
from keras_bert_zoo.text.sentence_piece_tokenizer import SentencePieceTokenizer
from keras_bert_zoo.text.vocab_files import HF_TOKENIZER_FILE

# tokenizer.json's model type -> the class that reads such a tokenizer.json alone.
_CLASS_OF_HF_MODEL = {"WordPiece": BertTokenizer, "BPE": BytePairTokenizer, "Unigram": SentencePieceTokenizer}


class Tokenizer:
    """Loads the tokenizer a checkpoint directory holds, picked by its files.

    WordPiece (vocab.txt) gives a `kbz.BertTokenizer`, byte-level BPE
    (vocab.json + merges.txt) a `BytePairTokenizer`, SentencePiece (a
    *.model file) a `SentencePieceTokenizer`; a tokenizer.json alone (what
    transformers 5's `save_pretrained` writes) is read by the class of its
    model type. All share `BertTokenizer`'s methods and call forms, and pack
    pairs the family's way.
    """

    @staticmethod
    def from_pretrained(path_or_preset, **kwargs):
        """The tokenizer of a checkpoint directory, preset name or vocab file.

        Args:
            path_or_preset: A directory, preset name or vocab file.
            **kwargs: Passed to the class's `from_pretrained`: `lower_case`
                overrides the casing a WordPiece or SentencePiece directory
                states (None keeps it; byte-level BPE is cased).

        Raises:
            ValueError: When no tokenizer files are found, or lower-casing is
                asked of a BPE tokenizer; the message names the path.
        """
        cls = tokenizer_class_of(path_or_preset)
        if cls is BytePairTokenizer:
            if kwargs.pop("lower_case", None):
                raise ValueError(f"{os.fspath(path_or_preset)} holds a byte-level BPE tokenizer, which is cased; "
                                 "lower-casing applies to WordPiece and SentencePiece tokenizers.")
        return cls.from_pretrained(path_or_preset, **kwargs)


def tokenizer_class_of(path_or_preset):
    """The tokenizer class whose files `path_or_preset` holds (BertTokenizer for anything else: presets, vocab files)."""
    path = os.fspath(path_or_preset)
    if not os.path.isdir(path):
        return SentencePieceTokenizer if path.endswith(".model") else BertTokenizer
    if os.path.isfile(os.path.join(path, "vocab.txt")):
        return BertTokenizer
    if all(os.path.isfile(os.path.join(path, name)) for name in ("vocab.json", "merges.txt")):
        return BytePairTokenizer
    if glob.glob(os.path.join(path, "*.model")):
        return SentencePieceTokenizer
    hf_file = os.path.join(path, HF_TOKENIZER_FILE)
    if os.path.isfile(hf_file):
        try:
            with open(hf_file, encoding="utf-8") as f:
                model_type = (json.load(f).get("model") or {}).get("type")
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise ValueError(f"Cannot read {hf_file}: {e}") from e
        if model_type not in _CLASS_OF_HF_MODEL:
            raise ValueError(f"{hf_file} holds a {model_type} tokenizer; keras_bert_zoo reads WordPiece, BPE and "
                             "Unigram (SentencePiece) tokenizers.")
        return _CLASS_OF_HF_MODEL[model_type]
    return BertTokenizer
