"""Pretrains an encoder with its family's objective from TFRecords or raw text.

BERT: masked LM + next-sentence prediction; ELECTRA: replaced-token detection
with a generator; RoBERTa, XLM-RoBERTa and DistilBERT: masked LM (--objective
picks another). From --text_file, masked LM alone packs RoBERTa's full
sentences across documents; the other objectives train on sentence pairs.

  python tools/run_pretraining.py --preset=bert_tiny_uncased --input_file='data/*.tfrecord' \
      --model_dir=/tmp/pretraining --num_train_steps=1000 --num_warmup_steps=100

  python tools/run_pretraining.py --bert_config_file=roberta_config.json --vocab_file=bpe_dir \
      --text_file=corpus.txt --model_dir=/tmp/roberta --num_train_steps=1000 --num_warmup_steps=100

Flags follow google-research/bert's run_pretraining.py. Rerunning with the same
--model_dir, data and flags resumes from its newest checkpoint; other data or flags stop
before any work unless --overwrite_model_dir.
"""

from absl import flags

import tool_runner
from tool_runner import usage_error

import training_flags
from training_flags import FLAGS

flags.DEFINE_string("preset", None, "Preset whose config a fresh model uses (see kbz.list_presets()).")
flags.DEFINE_string("bert_config_file", None, "bert_config.json (Google) or config.json (HF) of a fresh model.")
flags.DEFINE_string("init_checkpoint", None, "Start from this checkpoint (any from_pretrained source).")
flags.DEFINE_enum("objective", None, ["mlm_nsp", "mlm_sop", "mlm", "rtd"],
                  "Pretraining objective: mlm_nsp (masked LM + next sentence), mlm_sop (ALBERT's masked LM + "
                  "sentence order, from TFRecords whose next_sentence_labels hold sentence order), mlm (masked LM "
                  "alone) or rtd (ELECTRA's replaced-token detection with a generator). Default: the encoder "
                  "family's own.")
flags.DEFINE_string("input_file", None, "TFRecords from create_pretraining_data (comma-separated globs).")
flags.DEFINE_string("text_file", None,
                    "Raw text instead of TFRecords (comma-separated globs): one sentence per line, blank "
                    "line between documents; instances are built on the fly with fresh masks each epoch "
                    "(masked LM alone: full sentences across documents, as RoBERTa; else sentence pairs).")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab file, or a directory of tokenizer files (BPE vocab.json + "
                    "merges.txt, a SentencePiece *.model); needed with --text_file; default: the checkpoint's.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case text for the vocab (with --text_file).")
flags.DEFINE_string("model_dir", None, "Checkpoints and summaries; reruns resume from here.")
flags.DEFINE_integer("train_batch_size", 32, "Global batch size per optimizer update.")
flags.DEFINE_integer("max_seq_length", 128, "Tokens per example.")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions per example.")
flags.DEFINE_integer("num_train_steps", 100000, "Optimizer updates.")
flags.DEFINE_integer("num_warmup_steps", 10000, "Linear warmup updates.")
flags.DEFINE_float("learning_rate", 5e-5, "Peak learning rate.")
flags.DEFINE_integer("gradient_accumulation_steps", 1, "Micro-batches accumulated per update.")
flags.DEFINE_integer("save_checkpoints_steps", 1000, "Updates between checkpoints.")
flags.DEFINE_integer("log_steps", 100, "Updates between progress lines and TensorBoard scalars.")
flags.DEFINE_float("masked_lm_prob", 0.15, "Masking rate (with --text_file).")
flags.DEFINE_float("short_seq_prob", 0.1, "Share of shorter sentence pairs (with --text_file).")
flags.DEFINE_bool("do_whole_word_mask", False, "Mask whole words (with --text_file).")
flags.DEFINE_enum("chinese_word_segmenter", None, ["jieba"],
                  "With --text_file and --do_whole_word_mask: segment Chinese text into words with this segmenter "
                  "(pip install jieba) and mask the characters of each word together, as Chinese-BERT-wwm.")


def _settings():
    """PretrainingSettings from the flags, every one checked before any work."""
    from keras_bert_zoo.training.pretraining_run import PretrainingSettings

    training_flags.check_common_flags()
    try:
        return PretrainingSettings.from_flags(
            model_dir=FLAGS.model_dir,
            preset=FLAGS.preset,
            bert_config_file=FLAGS.bert_config_file,
            init_checkpoint=FLAGS.init_checkpoint,
            objective=FLAGS.objective,
            input_file=FLAGS.input_file,
            text_file=FLAGS.text_file,
            vocab_file=FLAGS.vocab_file,
            do_lower_case=FLAGS.do_lower_case,
            train_batch_size=FLAGS.train_batch_size,
            max_seq_length=FLAGS.max_seq_length,
            max_predictions_per_seq=FLAGS.max_predictions_per_seq,
            num_train_steps=FLAGS.num_train_steps,
            num_warmup_steps=FLAGS.num_warmup_steps,
            learning_rate=FLAGS.learning_rate,
            optimizer=FLAGS.optimizer,
            optimizer_semantics=FLAGS.optimizer_semantics,
            adam_epsilon=FLAGS.adam_epsilon,
            weight_decay=FLAGS.weight_decay,
            gradient_accumulation_steps=FLAGS.gradient_accumulation_steps,
            save_checkpoints_steps=FLAGS.save_checkpoints_steps,
            log_steps=FLAGS.log_steps,
            steps_per_execution=FLAGS.steps_per_execution,
            jit_compile=FLAGS.jit_compile,
            masked_lm_prob=FLAGS.masked_lm_prob,
            short_seq_prob=FLAGS.short_seq_prob,
            do_whole_word_mask=FLAGS.do_whole_word_mask,
            chinese_word_segmenter=FLAGS.chinese_word_segmenter,
            seed=FLAGS.seed,
            mixed_float16=FLAGS.mixed_precision == "mixed_float16",
            nan_policy=FLAGS.nan_policy,
        )
    except ValueError as e:  # The message names the flag.
        usage_error(str(e))


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    settings = _settings()
    run = training_flags.check_model_dir({
        "input_file": settings.input_files, "text_file": settings.text_files,
        "vocab_file": [FLAGS.vocab_file] if FLAGS.vocab_file else [],
        "bert_config_file": [FLAGS.bert_config_file] if FLAGS.bert_config_file else []})
    strategy = training_flags.set_up_strategy()
    from keras_bert_zoo.training.pretraining_run import run_pretraining

    metrics = run_pretraining(settings, strategy, training_run=run)
    print("Final: " + "  ".join(f"{k}={v:.4g}" for k, v in metrics.items()), flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
