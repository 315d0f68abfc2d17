"""SentencePieceTokenizer against transformers' XLM-R tokenizer and the sentencepiece library on real text.

  python benchmarks/sentence_piece_parity.py --data_dir=/work/shared/data --work_dir=/tmp/spm_parity

Trains a 30k unigram model with SentencePieceTrainer on WikiText-2, Tiny
Shakespeare and the first 1.5M characters of the Chinese corpus, then per
corpus prints how often our ids equal transformers' `XLMRobertaTokenizer` and
SentencePiece's own `encode`, and how often a token's span of the original
text normalizes to its piece.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from benchmarks.tokenizer_benchmark import read_corpus  # noqa: E402


def _train(data_dir, work_dir):
    import sentencepiece as spm

    model_dir = os.path.join(work_dir, "xlmr")
    model_file = os.path.join(model_dir, "sentencepiece.bpe.model")
    if os.path.exists(model_file):
        return model_dir
    os.makedirs(model_dir, exist_ok=True)
    lines = []
    for name in ("text/wikitext2_test.raw", "text/tinyshakespeare.txt"):
        with open(os.path.join(data_dir, name), encoding="utf-8") as f:
            lines += f.read().splitlines()
    with open(os.path.join(data_dir, "zh/text/zh_corpus.txt"), encoding="utf-8") as f:
        lines += f.read(1_500_000).splitlines()
    corpus = os.path.join(work_dir, "train.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(line for line in lines if line.strip()) + "\n")
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(work_dir, "u30k"), vocab_size=30000,
                                   model_type="unigram", character_coverage=0.9995, minloglevel=2)
    os.replace(os.path.join(work_dir, "u30k.model"), model_file)
    return model_dir


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--work_dir", required=True)
    args = parser.parse_args()
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer

    from keras_bert_zoo.text import SentencePieceTokenizer

    model_dir = _train(args.data_dir, args.work_dir)
    ours = SentencePieceTokenizer.from_pretrained(model_dir)
    reference = XLMRobertaTokenizer.from_pretrained(model_dir)
    library = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "sentencepiece.bpe.model"))
    path = lambda name: os.path.join(args.data_dir, name)  # noqa: E731
    with open(path("zh/text/zh_corpus.txt"), "rb") as f:
        f.seek(os.path.getsize(path("zh/text/zh_corpus.txt")) // 2)  # Chinese text the model wasn't trained on.
        f.readline()
        zh_text = [line for line in f.read(3_000_000).decode("utf-8", "ignore").splitlines() if line.strip()]
    corpora = {"SST-2": read_corpus("tsv", path("sst2/train.tsv")),
               "CoNLL": read_corpus("conll", path("conll2003/train.txt")),
               "SQuAD contexts": read_corpus("squad", path("squad/squad_v1.1_dev_part1.json")),
               "WikiText-2": read_corpus("text", path("text/wikitext2_test.raw")),
               "zh sentiment": read_corpus("tsv", path("zh/sentiment/train.tsv")),
               "zh text": zh_text}
    for name, texts in corpora.items():
        ours_ids, starts, ends = [], [], []
        for i in range(0, len(texts), 1024):
            ids, batch_starts, batch_ends = ours.tokenize_with_offsets(texts[i:i + 1024])
            ours_ids += ids.to_list()
            starts += batch_starts.to_list()
            ends += batch_ends.to_list()
        hf_ids = reference(texts, add_special_tokens=False)["input_ids"]
        library_ids = [[3 if i == 0 else i + 1 for i in ids] for ids in library.encode(texts)]
        equal_hf = np.mean([a == b for a, b in zip(ours_ids, hf_ids)])
        equal_library = np.mean([a == b for a, b in zip(ours_ids, library_ids)])
        hf_library = np.mean([a == b for a, b in zip(hf_ids, library_ids)])
        spans = sliced_back = 0
        for text, row_ids, row_starts, row_ends in zip(texts, ours_ids, starts, ends):
            data = text.encode("utf-8")
            for token_id, start, end in zip(row_ids, row_starts, row_ends):
                piece = ours.vocab[token_id].lstrip("\u2581")
                covered = data[start:end].decode("utf-8")
                spans += 1
                sliced_back += token_id == ours.unk_id or library.normalize(covered).lstrip("\u2581") == piece
        print(f"{name}: {len(texts)} texts; ids equal to transformers {equal_hf:.4%}, to sentencepiece "
              f"{equal_library:.4%} (transformers vs sentencepiece {hf_library:.4%}); "
              f"spans normalizing to their piece {sliced_back / spans:.4%} of {spans}")


if __name__ == "__main__":
    main()
