"""Training a byte-level BPE vocabulary as RoBERTa's, with the reference trainer (HF `tokenizers`)."""

import json

from keras_bert_zoo.files import read_texts
from keras_bert_zoo.files import write_directory_atomically
from keras_bert_zoo.text.byte_pair_files import SPECIAL_TOKEN_KEYS, write_byte_pair_files

# RoBERTa's ids: <s> <pad> </s> <unk> first, <mask> last.
_LEADING_ROLES = ("cls", "pad", "sep", "unk")


def train_byte_pair_vocab(text_files, directory, vocab_size, min_frequency=2):
    """Trains a byte-level BPE on the lines of `text_files` and writes it into `directory` as RoBERTa's.

    The `tokenizers` library's trainer (GPT-2's pre-tokenizer, no prefix space)
    learns merges over the files' lines, each without its line break (texts
    reach the tokenizer a line at a time). Ids are RoBERTa's: <s>=0 <pad>=1
    </s>=2 <unk>=3, the 256 byte tokens and the learned tokens, <mask> last.
    `directory` gets vocab.json, merges.txt and tokenizer_config.json as
    `BytePairTokenizer.save_pretrained` writes them, so transformers'
    `RobertaTokenizer.from_pretrained` and `kbz.Tokenizer.from_pretrained`
    load it; it is written under a temporary name and renamed, replacing an
    old one whole.

    Args:
        text_files: UTF-8 text files.
        directory: The output directory.
        vocab_size: Tokens in all, special tokens included. Fewer when the
            corpus runs out of pairs seen `min_frequency` times.
        min_frequency: How often a pair must occur to be merged.

    Returns:
        The number of tokens written.

    Raises:
        ValueError: `vocab_size` leaves no room for the byte tokens.
    """
    from tokenizers import ByteLevelBPETokenizer

    special = {role: default for role, (_, default) in SPECIAL_TOKEN_KEYS.items()}
    leading = [special[role] for role in _LEADING_ROLES]
    if vocab_size <= len(leading) + 1 + 256:
        raise ValueError(f"vocab_size={vocab_size} leaves no room for merges beside the 5 special and 256 byte "
                         "tokens.")
    trainer = ByteLevelBPETokenizer()
    lines = (line for path in text_files for line in read_texts(path))  # A file in memory at a time.
    trainer.train_from_iterator(lines, vocab_size=vocab_size, min_frequency=min_frequency,
                                special_tokens=leading + [special["mask"]], show_progress=False)
    # The trainer puts every special token first; RoBERTa has <mask> last.
    model = json.loads(trainer.to_str())["model"]
    tokens = sorted(model["vocab"], key=model["vocab"].get)
    tokens.remove(special["mask"])
    tokens.append(special["mask"])
    merges = [tuple(merge.split(" ") if isinstance(merge, str) else merge) for merge in model["merges"]]
    write_directory_atomically(directory, lambda staging: write_byte_pair_files(staging, tokens, merges, special))
    return len(tokens)
