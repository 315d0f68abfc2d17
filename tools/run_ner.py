"""Fine-tunes and evaluates BERT for named-entity recognition on CoNLL column files.

  python tools/run_ner.py --init_checkpoint=bert_dir --do_train --do_eval \
      --train_file=train.txt --eval_file=dev.txt --model_dir=/tmp/ner

Files: word first column, tag last, blank lines between sentences, -DOCSTART-
lines between documents; IOB1, IOB2 or BIOES tags. Character-tagged files (Chinese NER:
one character a line) train a character tagger, whose exports tag every non-space
character of raw text (--word_unit). Writes
<model_dir>/eval_results.json (entity-level precision, recall, f1 as seqeval)
and predictions.txt (word, predicted tag).
"""

import os

from absl import flags

import tool_runner
from tool_runner import usage_error

import finetuning_flags
import ner_flags
import training_flags
from training_flags import FLAGS

finetuning_flags.set_tool_defaults(ner_flags.DEFAULTS)
flags.DEFINE_list("label_names", None, "Tag names in id order; default: the tags of the training file.")
flags.DEFINE_enum("word_unit", "auto", ["auto", "word", "char"],
                  "What the tagger tags, saved with the model for its exports: word (raw text split as BERT's basic "
                  "tokenizer splits it) or char (every non-space character a word, as Chinese NER data is tagged: "
                  "digits and Latin letters too). auto: char if every word of --train_file is one character; "
                  "without --do_train, the model's own.")
finetuning_flags.define_pack_sequences("sentences")
flags.DEFINE_enum("token_loss_normalization", "batch", ["batch", "dataset"],
                  "dataset: a batch's summed loss over the labelled tokens an average batch of the training set "
                  "holds, so every token weighs the same however batches are drawn; batch: the mean over each "
                  "batch's labelled tokens (HF's), which weighs tokens of short-sentence batches more when "
                  "batches are drawn by length.")


def _word_unit(sentences):
    """--word_unit for a tagger trained on `sentences` (of --train_file), "auto" resolved; exits 2 if it can't be."""
    longer = next((word for words in sentences for word in words if len(word) > 1), None)
    if FLAGS.word_unit == "char" and longer is not None:
        usage_error(f"--word_unit=char, but --train_file has words of several characters, e.g. {longer!r}.")
    unit = FLAGS.word_unit
    if unit == "auto":
        unit = "word" if longer is not None or not sentences else "char"
    if unit == "char":
        print("Tagging characters: exports tag every non-space character of raw text", flush=True)
    return unit


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    finetuning_flags.check_finetuning_flags()
    finetuning_flags.check_data_file("train_file", FLAGS.do_train)
    finetuning_flags.check_data_file("eval_file", FLAGS.do_eval)
    finetuning_flags.check_data_file("predict_file", FLAGS.do_predict)
    if FLAGS.word_unit != "auto" and not FLAGS.do_train:
        usage_error(f"--word_unit={FLAGS.word_unit} is set when training (--do_train); a trained model keeps its own.")
    # Before any TensorFlow op: --cpu_devices and multi-worker strategies must come first.
    strategy = training_flags.set_up_strategy()
    tokenizer = finetuning_flags.load_tokenizer()
    from keras_bert_zoo import tasks

    spec = tasks.get("ner")
    # Every split is read and windowed before any work, so that a tag the model can't know stops the run up front.
    label_names = FLAGS.label_names
    head_kwargs = {}
    if FLAGS.do_train:
        from keras_bert_zoo.data.conll_data import ner_label_names

        sentences, tags = ner_flags.read_split("train_file")
        sentences, tags = sentences[: FLAGS.max_train_examples or None], tags[: FLAGS.max_train_examples or None]
        label_names = label_names or ner_label_names(tags)
        head_kwargs["word_unit"] = _word_unit(sentences)
        train_features = ner_flags.features(tokenizer, sentences, tags, label_names, "train_file")
        print(f"{len(sentences)} sentences became {len(train_features)} windows", flush=True)
    else:
        label_names = label_names or finetuning_flags.saved_head_config(
            spec.model_class.task, FLAGS.model_dir, FLAGS.init_checkpoint).get("label_names")
        if not label_names:
            usage_error("The model has no tag names: pass --label_names or train with --do_train.")
    splits = {}
    for name, wanted in (("eval_file", FLAGS.do_eval), ("predict_file", FLAGS.do_predict)):
        if wanted:
            sentences, tags = ner_flags.read_split(name)
            tags = tags if name == "eval_file" else None
            splits[name] = sentences, tags, ner_flags.features(tokenizer, sentences, tags, label_names, name)
    run = finetuning_flags.check_model_dir() if FLAGS.do_train else None

    from keras_bert_zoo.metrics import ner_metrics
    from keras_bert_zoo.training.finetuning import finetune, load_task_model

    training = run is not None and run.status != "finished"
    with strategy.scope():
        model = load_task_model(spec.model_class, FLAGS.init_checkpoint, FLAGS.model_dir, training,
                                num_classes=len(label_names), label_names=label_names, **head_kwargs)
    if training:
        from keras_bert_zoo.training import TokenClassificationObjective

        replica_batch_size = FLAGS.train_batch_size / strategy.num_replicas_in_sync
        objective = (TokenClassificationObjective(
            float(train_features.label_weights.sum(axis=1).mean()) * replica_batch_size)
            if FLAGS.token_loss_normalization == "dataset" else spec.objective(model))
        finetune(model, objective, train_features.model_inputs(), train_features.training_labels(),
                 finetuning_flags.finetuning_settings(), strategy, tokenizer, training_run=run)

    if FLAGS.do_eval:
        sentences, tags, features = splits["eval_file"]
        print(f"Evaluating {len(sentences)} sentences", flush=True)
        metrics = ner_metrics(tags, ner_flags.predicted_tags(model, tokenizer, features))
        finetuning_flags.write_eval_results(dict(metrics, eval_sentences=len(sentences)))
    if FLAGS.do_predict:
        sentences, _, features = splits["predict_file"]
        predicted = ner_flags.predicted_tags(model, tokenizer, features)
        from keras_bert_zoo.files import write_text_atomic

        path = os.path.join(FLAGS.model_dir, "predictions.txt")
        os.makedirs(FLAGS.model_dir, exist_ok=True)
        write_text_atomic(path, "".join(
            "".join(f"{word}\t{tag}\n" for word, tag in zip(words, sentence_tags)) + "\n"
            for words, sentence_tags in zip(sentences, predicted)))
        print(f"Wrote predictions for {len(sentences)} sentences to {path}", flush=True)


if __name__ == "__main__":
    tool_runner.run(main)
