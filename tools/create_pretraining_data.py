"""Masked-LM/NSP pretraining TFRecords from text, as google-research/bert's create_pretraining_data.py.

  python tools/create_pretraining_data.py --input_file='corpus/*.txt' \
      --output_dir=pretraining_data --num_shards=8 --vocab_file=vocab.txt --dupe_factor=10

ALBERT's sentence-order pairs (run_pretraining.py --objective=mlm_sop), as google-research/albert's:
  --norandom_next_sentence --vocab_file=30k-clean.model --max_seq_length=512

Input: one sentence per line, a blank line between documents.
"""

import os
import time

from absl import app, flags

import tool_runner

FLAGS = flags.FLAGS
flags.DEFINE_string("input_file", None, "Input text: glob patterns, comma-separated.")
flags.DEFINE_string("output_file", None, "Output TFRecord file (or comma-separated files, dealt round-robin).")
flags.DEFINE_string("output_dir", None, "Write --num_shards files part-NNNNN-of-NNNNN.tfrecord here instead.")
flags.DEFINE_integer("num_shards", 1, "Files to write into --output_dir.")
flags.DEFINE_string("vocab_file", None, "The vocab of the model to pretrain: WordPiece vocab.txt, a SentencePiece "
                    ".model (ALBERT's), or a directory of tokenizer files.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case the text (uncased models).")
flags.DEFINE_bool("do_whole_word_mask", False, "Mask whole words (a word and its continuation pieces, WordPiece's ##) together.")
flags.DEFINE_enum("chinese_word_segmenter", None, ["jieba"],
                  "With --do_whole_word_mask: segment Chinese text into words with this segmenter (pip install "
                  "jieba) and mask the characters of each word together, as Chinese-BERT-wwm; ids stay per character.")
flags.DEFINE_integer("max_seq_length", 128, "Tokens per instance.")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Most masked-LM predictions per instance.")
flags.DEFINE_float("masked_lm_prob", 0.15, "Fraction of tokens to predict.")
flags.DEFINE_integer("dupe_factor", 10, "Rounds over the input, each with fresh pairs and masks.")
flags.DEFINE_float("short_seq_prob", 0.1, "How often a document aims at a shorter random length.")
flags.DEFINE_integer("random_seed", 12345, "Seed of everything random; same seed, same bytes.")
flags.DEFINE_bool("random_next_sentence", True,
                  "Next-sentence pairs (BERT's NSP): B is another document's half of the time. --norandom_next_sentence "
                  "writes ALBERT's sentence-order pairs (SOP, google-research/albert's default): B is always the "
                  "actual next, and A and B swap places half of the time (label 1).")


def _output_files():
    if bool(FLAGS.output_file) == bool(FLAGS.output_dir):
        raise app.UsageError("Pass exactly one of --output_file and --output_dir.", exitcode=2)
    if FLAGS.output_file:
        paths = [path.strip() for path in FLAGS.output_file.split(",") if path.strip()]
        for path in paths:
            tool_runner.check_output_path("output_file", path, is_directory=False)
        return paths
    if FLAGS.num_shards < 1:
        raise app.UsageError(f"--num_shards={FLAGS.num_shards}: must be at least 1.", exitcode=2)
    tool_runner.check_output_path("output_dir", FLAGS.output_dir, is_directory=True)
    return [os.path.join(FLAGS.output_dir, f"part-{i:05d}-of-{FLAGS.num_shards:05d}.tfrecord")
            for i in range(FLAGS.num_shards)]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}", exitcode=2)
    for name in ("input_file", "vocab_file"):
        if not FLAGS[name].value:
            raise app.UsageError(f"--{name} is required.", exitcode=2)
    output_files = _output_files()
    import tensorflow as tf

    from keras_bert_zoo.data.chinese_word_segmenter import ChineseWordSegmenter
    from keras_bert_zoo.data.create_pretraining_data import create_pretraining_data
    from keras_bert_zoo.data.pretraining_instances import check_pretraining_options
    from keras_bert_zoo.text import Tokenizer

    try:
        check_pretraining_options(FLAGS.max_seq_length, FLAGS.max_predictions_per_seq, FLAGS.masked_lm_prob,
                                  FLAGS.short_seq_prob, FLAGS.dupe_factor, FLAGS.do_whole_word_mask,
                                  FLAGS.chinese_word_segmenter)
        if FLAGS.chinese_word_segmenter:
            ChineseWordSegmenter(FLAGS.chinese_word_segmenter)  # Installed?
    except (ValueError, ImportError) as e:  # "name=value: why", named as the flag.
        raise app.UsageError(f"--{e}", exitcode=2)
    try:
        tokenizer = Tokenizer.from_pretrained(FLAGS.vocab_file, lower_case=FLAGS.do_lower_case)
    except ValueError as e:
        raise app.UsageError(f"--vocab_file: {e}", exitcode=2)
    start = time.perf_counter()
    try:
        count = create_pretraining_data(
            FLAGS.input_file, output_files, tokenizer, max_seq_length=FLAGS.max_seq_length,
            max_predictions_per_seq=FLAGS.max_predictions_per_seq, masked_lm_prob=FLAGS.masked_lm_prob,
            short_seq_prob=FLAGS.short_seq_prob, dupe_factor=FLAGS.dupe_factor,
            do_whole_word_mask=FLAGS.do_whole_word_mask, random_seed=FLAGS.random_seed,
            chinese_word_segmenter=FLAGS.chinese_word_segmenter, random_next_sentence=FLAGS.random_next_sentence)
    except ValueError as e:  # Unreadable or empty input: the message names the pattern, file or line.
        raise app.UsageError(str(e), exitcode=2)
    except tf.errors.OpError as e:
        raise app.UsageError(f"Cannot write the output: {e.message}", exitcode=2)
    seconds = time.perf_counter() - start
    print(f"Wrote {count:,} instances to {len(output_files)} file(s) in {seconds:.2f} s "
          f"({count / seconds:,.0f} instances/s, start-up excluded).")


if __name__ == "__main__":
    tool_runner.run(main)
