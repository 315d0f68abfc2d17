"""A byte-level BPE vocab trained by the reference trainer, for the bpe tokenizer benchmark's parity.

    python -m benchmarks.byte_pair_vocab OUTPUT_DIR VOCAB_SIZE TEXT_FILE[:MAX_BYTES] ...

trains HF tokenizers' `ByteLevelBPETokenizer` on the files' lines (each file
read up to MAX_BYTES if given) with RoBERTa's special tokens (<s>=0 <pad>=1
</s>=2 <unk>=3, <mask> last) and writes vocab.json + merges.txt.
"""

import json
import os
import sys


def train_byte_level_bpe(texts, directory, vocab_size):
    """Trains on `texts` and writes vocab.json + merges.txt into `directory`."""
    from tokenizers import ByteLevelBPETokenizer

    from keras_bert_zoo.files import write_json_atomic

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(texts, vocab_size=vocab_size - 1, min_frequency=2,
                                special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    os.makedirs(directory, exist_ok=True)
    trainer.save_model(directory)
    with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    vocab["<mask>"] = len(vocab)
    write_json_atomic(os.path.join(directory, "vocab.json"), vocab)


def _lines(spec):
    path, _, limit = spec.partition(":")
    lines, size = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            size += len(line.encode("utf-8"))
            if limit and size > int(limit):
                break
            lines.append(line.rstrip("\n"))
    return lines


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    train_byte_level_bpe([line for spec in sys.argv[3:] for line in _lines(spec)], sys.argv[1], int(sys.argv[2]))
