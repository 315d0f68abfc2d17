"""Learns a WordPiece vocab.txt from text files, with BERT's special tokens.

  python tools/build_vocab.py --input_files='corpus/*.txt' --output_vocab=vocab.txt --vocab_size=30522
"""

import time

from absl import flags

import tool_runner
from tool_runner import expand_files, usage_error

flags.DEFINE_string("input_files", None, "Text files (comma-separated globs), read line by line.")
flags.DEFINE_string("output_vocab", None, "Where vocab.txt is written.")
flags.DEFINE_integer("vocab_size", 30522, "Vocabulary size, special tokens included.")
flags.DEFINE_bool("do_lower_case", True, "Learn an uncased vocab (lower-case and strip accents).")
flags.DEFINE_integer("num_unused_tokens", 0, "[unusedN] tokens after [PAD] (99 gives Google's special ids).")

FLAGS = flags.FLAGS


def main(argv):

    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.input_files:
        usage_error("--input_files is required.")
    if not FLAGS.output_vocab:
        usage_error("--output_vocab is required.")
    tool_runner.check_output_path("output_vocab", FLAGS.output_vocab, is_directory=False)
    if FLAGS.vocab_size < 6 + FLAGS.num_unused_tokens:
        usage_error(f"--vocab_size={FLAGS.vocab_size} is too small for the special tokens.")
    files = expand_files("input_files", FLAGS.input_files)
    from keras_bert_zoo.text.vocab_builder import build_wordpiece_vocab, write_vocab

    start = time.perf_counter()
    print(f"Learning a {FLAGS.vocab_size}-token vocab from {len(files)} file(s)", flush=True)
    tokens = build_wordpiece_vocab(files, FLAGS.vocab_size, FLAGS.do_lower_case, FLAGS.num_unused_tokens)
    write_vocab(tokens, FLAGS.output_vocab)
    print(f"Wrote {len(tokens)} tokens to {FLAGS.output_vocab} in {time.perf_counter() - start:.1f}s", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
