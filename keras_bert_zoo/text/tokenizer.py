"""`kbz.Tokenizer`: the tokenizer of whichever kind a checkpoint's files are."""

import glob
import os

from keras_bert_zoo.text.bert_tokenizer import BertTokenizer


class Tokenizer:
    """Loads the tokenizer a checkpoint directory holds, picked by its files.

    WordPiece (vocab.txt, or a WordPiece tokenizer.json alone, as transformers
    5 saves BERT tokenizers) gives a `kbz.BertTokenizer`. Byte-level BPE
    (vocab.json + merges.txt) and SentencePiece (*.model) directories are
    recognized and refused by name until those tokenizers land, as the vocab
    reader refuses a tokenizer.json of another kind.
    """

    @staticmethod
    def from_pretrained(path_or_preset, **kwargs):
        """The tokenizer of a checkpoint directory, preset name or vocab file (arguments as `BertTokenizer`'s).

        Raises:
            ValueError: For a tokenizer kind this version can't run, naming
                the files found, or when no tokenizer files are found.
        """
        path = os.fspath(path_or_preset)
        kind = _non_wordpiece_kind(path)
        if kind is not None:
            raise ValueError(f"{path} holds a {kind} tokenizer; keras_bert_zoo runs WordPiece tokenizers "
                             "(vocab.txt, or a WordPiece tokenizer.json) so far.")
        return BertTokenizer.from_pretrained(path, **kwargs)


def _non_wordpiece_kind(path):
    """"byte-level BPE" or "SentencePiece" for a directory of those files, else None."""
    if not os.path.isdir(path) or os.path.isfile(os.path.join(path, "vocab.txt")):
        return None
    if os.path.isfile(os.path.join(path, "vocab.json")) and os.path.isfile(os.path.join(path, "merges.txt")):
        return "byte-level BPE (vocab.json + merges.txt)"
    models = glob.glob(os.path.join(path, "*.model"))
    if models:
        return f"SentencePiece ({os.path.basename(models[0])})"
    return None
