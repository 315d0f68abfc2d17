"""Raw text to encoder inputs as a Keras layer, so task models take strings in fit, evaluate and predict."""

import base64
import os
import sys
import tempfile

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="keras_bert_zoo")
class BertPreprocessor(keras.layers.Layer):
    """Packs texts, or (texts, text_pairs), into the encoder's three int32 inputs [B, T].

    What a task model built by `from_pretrained` carries as `.preprocessor`,
    as keras-hub's tasks do: its `fit`, `evaluate` and `predict` run it in
    tf.data over raw strings.

    Args:
        tokenizer: The checkpoint's tokenizer (`kbz.Tokenizer.from_pretrained`'s).
        sequence_length: Padded length T (default 128).
        max_length: The tokenizer's name for `sequence_length`; give either.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, tokenizer, sequence_length=None, max_length=None, **kwargs):
        if None not in (sequence_length, max_length) and sequence_length != max_length:
            raise ValueError(f"BertPreprocessor got sequence_length={sequence_length} and max_length={max_length}, "
                             "two names for its padded length; give one.")
        if sequence_length is None:
            sequence_length = 128 if max_length is None else max_length
        super().__init__(**{"trainable": False, **kwargs})
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length

    def call(self, x):
        """x: strings [B] (or one string), or a (texts, text_pairs) tuple of them."""
        texts, text_pairs = x if isinstance(x, tuple) else (x, None)
        return self.tokenizer(texts, text_pairs, max_length=self.sequence_length)

    def get_config(self):
        from keras_bert_zoo.text import BertTokenizer

        config = {**super().get_config(), "sequence_length": self.sequence_length}
        if type(self.tokenizer) is BertTokenizer:  # The keys .keras files have always had.
            return {**config, "vocabulary": self.tokenizer.vocab, "lower_case": self.tokenizer.lower_case}
        return {**config, "tokenizer_files": _tokenizer_files(self.tokenizer)}

    @classmethod
    def from_config(cls, config):
        from keras_bert_zoo.text import BertTokenizer

        config = dict(config)
        if "tokenizer_files" in config:
            tokenizer = _tokenizer_of_files(config.pop("tokenizer_files"))
        else:
            tokenizer = BertTokenizer(config.pop("vocabulary"), lower_case=config.pop("lower_case"))
        return cls(tokenizer, **config)


def _tokenizer_files(tokenizer):
    """{file name: base64 contents} of what the tokenizer's `save_pretrained` writes, for a JSON config."""
    with tempfile.TemporaryDirectory(prefix="kbz-tokenizer-") as directory:
        tokenizer.save_pretrained(directory)
        files = {}
        for name in sorted(os.listdir(directory)):
            with open(os.path.join(directory, name), "rb") as f:
                files[name] = base64.b64encode(f.read()).decode("ascii")
    return files


def _tokenizer_of_files(files):
    """The tokenizer that `_tokenizer_files` described."""
    from keras_bert_zoo.text import Tokenizer

    with tempfile.TemporaryDirectory(prefix="kbz-tokenizer-") as directory:
        for name, contents in files.items():
            with open(os.path.join(directory, os.path.basename(name)), "wb") as f:
                f.write(base64.b64decode(contents))
        return Tokenizer.from_pretrained(directory)


def _tensorflow():
    """TensorFlow if it is loaded: where it isn't (Keras on JAX), no input is a TF tensor or dataset."""
    return sys.modules.get("tensorflow")


def _is_text_batch(x):
    tf = _tensorflow()
    if tf is not None and isinstance(x, (tf.Tensor, tf.RaggedTensor)):
        return x.dtype == tf.string
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "US" or (x.dtype == object and x.size > 0 and isinstance(x.flat[0], (str, bytes)))
    return isinstance(x, list) and bool(x) and isinstance(x[0], (str, bytes))


def is_raw_text(x):
    """Whether `x` is a batch of strings, or a (texts, text_pairs) tuple of two batches."""
    if isinstance(x, tuple) and len(x) == 2:
        return all(_is_text_batch(part) for part in x)
    return _is_text_batch(x)


def _is_text_spec(spec):
    tf = _tensorflow()
    if isinstance(spec, tuple) and len(spec) == 2:
        return all(_is_text_spec(part) for part in spec)
    return isinstance(spec, tf.TensorSpec) and spec.dtype == tf.string


def is_text_dataset(dataset):
    """Whether a tf.data dataset's elements are texts, text pairs, or (those, labels, ...)."""
    tf = _tensorflow()
    if tf is None or not isinstance(dataset, tf.data.Dataset):
        return False
    spec = dataset.element_spec
    return _is_text_spec(spec) or (isinstance(spec, tuple) and _is_text_spec(spec[0]))


def preprocessed_dataset(preprocessor, x, y=None, sample_weight=None, batch_size=None, shuffle=False, seed=None):
    """A tf.data dataset of preprocessed batches from raw text, as Keras' fit/evaluate/predict take them.

    Args:
        preprocessor: The `BertPreprocessor`.
        x: Texts or (texts, text_pairs) (see `is_raw_text`), or a tf.data
            dataset of them, alone or with labels (see `is_text_dataset`);
            a dataset keeps its own batching.
        y: Labels of array-like `x` (None to predict).
        sample_weight: Per-example weights of array-like `x`.
        batch_size: Examples per batch (Keras' default, 32, when None).
        shuffle: Shuffle array-like `x` (and its labels) each epoch.
        seed: Shuffle seed.
    """
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        dataset = x
    else:
        def strings(texts):
            return texts if isinstance(texts, tf.Tensor) else tf.constant(np.asarray(texts))

        x = tuple(strings(part) for part in x) if isinstance(x, tuple) else strings(x)
        parts = (x,) + tuple(part for part in (y, sample_weight) if part is not None)
        dataset = tf.data.Dataset.from_tensor_slices(parts if len(parts) > 1 else x)
        count = int((x[0] if isinstance(x, tuple) else x).shape[0])
        if shuffle:
            dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size or 32)

    def preprocess(*element):
        import tensorflow as tf

        # A bare (texts, text_pairs) pair arrives as two arguments, as (inputs, labels) would; labels
        # are never strings.
        if len(element) == 2 and all(isinstance(e, tf.Tensor) and e.dtype == tf.string for e in element):
            return preprocessor(tuple(element))
        if len(element) == 1:
            return preprocessor(element[0])
        return (preprocessor(element[0]), *element[1:])

    return dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
