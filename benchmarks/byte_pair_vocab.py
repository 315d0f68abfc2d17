"""A byte-level BPE vocab trained by the reference trainer, for the bpe tokenizer benchmark's parity.

    python -m benchmarks.byte_pair_vocab OUTPUT_DIR VOCAB_SIZE TEXT_FILE[:MAX_BYTES] ...

trains as `tools/build_vocab.py --kind=bpe` does (HF tokenizers' trainer,
RoBERTa's special tokens <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last) on the
files' lines, each file read up to MAX_BYTES if given.
"""

import os
import sys
import tempfile


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
    from keras_bert_zoo.text.byte_pair_trainer import train_byte_pair_vocab

    with tempfile.TemporaryDirectory() as scratch:
        corpus = os.path.join(scratch, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(line for spec in sys.argv[3:] for line in _lines(spec)))
        train_byte_pair_vocab([corpus], sys.argv[1], int(sys.argv[2]))
