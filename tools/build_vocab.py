"""Learns a vocabulary from text files: BERT's WordPiece, RoBERTa's byte-level BPE or XLM-RoBERTa's SentencePiece.

  python tools/build_vocab.py --input_files='corpus/*.txt' --output_vocab=vocab.txt --vocab_size=30522
  python tools/build_vocab.py --input_files=zh.txt --output_vocab=vocab.txt --vocab_size=30000 --chinese_characters=all
  python tools/build_vocab.py --kind=bpe --input_files='corpus/*.txt' --output_vocab=my_roberta --vocab_size=50265
  python tools/build_vocab.py --kind=sentencepiece --input_files='corpus/*.txt' --output_vocab=xlmr_tokenizer
"""

import importlib
import os
import time

from absl import flags

import tool_runner
from tool_runner import expand_files, usage_error

flags.DEFINE_enum("kind", "wordpiece", ["wordpiece", "bpe", "sentencepiece"],
                  "wordpiece: a BERT vocab.txt (tf-text's learner). bpe: RoBERTa's byte-level BPE (HF tokenizers' "
                  "trainer; <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last). sentencepiece: XLM-RoBERTa's SentencePiece "
                  "model (the sentencepiece trainer; fairseq ids). bpe and sentencepiece write a tokenizer directory "
                  "that kbz.Tokenizer and transformers' RobertaTokenizer / XLMRobertaTokenizer load.")
flags.DEFINE_string("input_files", None, "Text files (comma-separated globs), read line by line.")
flags.DEFINE_string("output_vocab", None, "Where the vocab is written: the vocab.txt file (wordpiece), or the "
                    "directory (bpe, sentencepiece: new, empty, or an earlier output of this tool, replaced whole).")
flags.DEFINE_integer("vocab_size", 30522, "Vocabulary size, special tokens included.")
flags.DEFINE_bool("do_lower_case", None, "Learn an uncased vocab. Default: true for wordpiece (lower-case and strip "
                  "accents, as BERT's uncased models), false for sentencepiece (true: the model case-folds, its "
                  "normalization rule is nmt_nfkc_cf); bpe refuses it (RoBERTa's byte-level BPE is cased).")
flags.DEFINE_integer("num_unused_tokens", 0, "wordpiece: [unusedN] tokens after [PAD] (99 gives Google's special ids).")
flags.DEFINE_enum("chinese_characters", "none", ["none", "corpus", "all"],
                  "wordpiece: which CJK ideographs (the ranges BertTokenizer makes one-character words of) get a token "
                  "each before WordPieces are learned from the other words (Latin text, digits, with ## pieces). "
                  "none: learned as any other character (tf-text's learner keeps at most 1000 distinct characters: "
                  "a Chinese corpus loses its rare ones to [UNK]). corpus: every ideograph of the corpus. all: those "
                  "and the whole CJK Unified Ideographs block U+4E00-U+9FFF (20,992), so that characters the corpus "
                  "lacks aren't [UNK] either; --vocab_size must leave room beyond them (Google's Chinese vocab has "
                  "21128 tokens; 30000 leaves ~9000 for pieces).")
flags.DEFINE_enum("sentencepiece_model_type", "unigram", ["unigram", "bpe"],
                  "sentencepiece: the model type. XLM-RoBERTa's is unigram (its file is sentencepiece.bpe.model "
                  "either way). transformers' XLMRobertaTokenizer reads every model as a unigram one, so a bpe "
                  "model's ids there differ from those of SentencePiece and kbz.Tokenizer, which agree.")

FLAGS = flags.FLAGS

# The reference trainer each kind needs, an optional dependency.
_TRAINER_PACKAGES = {"bpe": "tokenizers", "sentencepiece": "sentencepiece"}
# What an earlier run may have left in a --output_vocab directory, which is replaced whole.
_TOKENIZER_FILES = {"vocab.json", "merges.txt", "tokenizer_config.json", "sentencepiece.bpe.model"}
_WORDPIECE_ONLY_FLAGS = ("num_unused_tokens", "chinese_characters")


def _check_flags():
    """Stops with exit code 2 on flags that don't go together, before any work."""
    kind = FLAGS.kind
    if kind != "wordpiece":
        given = [f"--{name}" for name in _WORDPIECE_ONLY_FLAGS if FLAGS[name].present]
        if given:
            usage_error(f"{', '.join(given)}: only for --kind=wordpiece, not --kind={kind}.")
    if kind != "sentencepiece" and FLAGS["sentencepiece_model_type"].present:
        usage_error(f"--sentencepiece_model_type: only for --kind=sentencepiece, not --kind={kind}.")
    if kind == "bpe" and FLAGS.do_lower_case:
        usage_error("--do_lower_case: RoBERTa's byte-level BPE is cased (its tokenizer never lower-cases); leave "
                    "the flag out, or lower-case the corpus and the texts yourself.")
    if kind in _TRAINER_PACKAGES:
        package = _TRAINER_PACKAGES[kind]
        try:
            importlib.import_module(package)
        except ImportError:
            usage_error(f"--kind={kind} trains with the reference trainer of the {package} package, which is not "
                        f"installed: pip install {package}")
    minimum, room = {"wordpiece": (6 + FLAGS.num_unused_tokens, "the special tokens"),
                     "bpe": (262, "5 special tokens, 256 byte tokens and a merge"),
                     "sentencepiece": (6, "XLM-RoBERTa's 5 special tokens")}[kind]
    if kind == "wordpiece" and FLAGS.chinese_characters == "all":
        from keras_bert_zoo.text.vocab_builder import BASIC_CJK_BLOCK

        block = BASIC_CJK_BLOCK[1] - BASIC_CJK_BLOCK[0] + 1
        minimum += block
        room += f" and the {block:,} ideographs of --chinese_characters=all"
    if FLAGS.vocab_size < minimum:
        usage_error(f"--vocab_size={FLAGS.vocab_size} is too small for {room}: --kind={kind} needs at least {minimum}.")


def _check_output_dir(path):
    """Stops unless --output_vocab is, or can be made as, a directory holding nothing but an earlier vocab's files."""
    tool_runner.check_output_path("output_vocab", path, is_directory=True)
    others = sorted(set(os.listdir(path)) - _TOKENIZER_FILES) if os.path.isdir(path) else []
    if others:
        usage_error(f"--output_vocab={path} holds other files ({', '.join(others[:3])}, ...) than a tokenizer's; "
                    "it would be replaced whole. Give a new or empty directory.")


def _train(kind, files):
    """Trains the vocab and writes it; returns the number of tokens."""
    if kind == "bpe":
        from keras_bert_zoo.text.byte_pair_trainer import train_byte_pair_vocab

        return train_byte_pair_vocab(files, FLAGS.output_vocab, FLAGS.vocab_size)
    if kind == "sentencepiece":
        from keras_bert_zoo.text.sentence_piece_trainer import train_sentence_piece_vocab

        return train_sentence_piece_vocab(files, FLAGS.output_vocab, FLAGS.vocab_size,
                                          model_type=FLAGS.sentencepiece_model_type,
                                          lower_case=bool(FLAGS.do_lower_case))
    from keras_bert_zoo.text.vocab_builder import build_wordpiece_vocab, write_vocab

    lower_case = True if FLAGS.do_lower_case is None else FLAGS.do_lower_case
    tokens = build_wordpiece_vocab(files, FLAGS.vocab_size, lower_case, FLAGS.num_unused_tokens,
                                   FLAGS.chinese_characters)
    write_vocab(tokens, FLAGS.output_vocab)
    return len(tokens)


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.input_files:
        usage_error("--input_files is required.")
    if not FLAGS.output_vocab:
        usage_error("--output_vocab is required.")
    _check_flags()
    if FLAGS.kind == "wordpiece":
        tool_runner.check_output_path("output_vocab", FLAGS.output_vocab, is_directory=False)
    else:
        _check_output_dir(FLAGS.output_vocab)
    files = expand_files("input_files", FLAGS.input_files)

    start = time.perf_counter()
    megabytes = sum(os.path.getsize(f) for f in files) / 1e6
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    print(f"Learning a {FLAGS.vocab_size}-token {FLAGS.kind} vocab from {len(files)} file(s), {megabytes:.1f} MB: "
          f"{shown}", flush=True)
    if FLAGS.kind == "sentencepiece" and FLAGS.sentencepiece_model_type == "bpe":
        print("Note: transformers' XLMRobertaTokenizer reads a SentencePiece model as unigram: for a bpe model its "
              "ids differ from SentencePiece's (and kbz.Tokenizer's, which agree with SentencePiece).", flush=True)
    try:
        size = _train(FLAGS.kind, files)
    except ValueError as e:
        usage_error(f"--input_files / --vocab_size: {e}")
    print(f"Wrote {size} tokens to {FLAGS.output_vocab} in {time.perf_counter() - start:.1f}s", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
