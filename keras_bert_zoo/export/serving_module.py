"""Base of the SavedModel modules that TF Serving answers from raw text."""

import tensorflow as tf

from keras_bert_zoo.models import find_encoder

TEXT = tf.TensorSpec([None], tf.string)
IDS = tf.TensorSpec([None, None], tf.int32)


class ServingModule(tf.Module):
    """A task model plus its in-graph tokenizer, exported with tf.saved_model.save.

    The base class of every task's serving signatures, built-in or a user's
    own: subclass it, add `tf.function`s with input signatures, list them in
    `signatures()` and give example inputs in `warmup_requests()`, then
    register it in the task's `kbz.tasks.TaskSpec`. `serve_ids` (already
    tokenized inputs) is shared. Every signature takes [B] strings or [B, T]
    int32 ids and works for any B, including 0. Call `self.model` and
    `self.encode` inside the functions.

    The Keras model is deliberately not tracked by this module: its variables
    are `keras.Variable` wrappers, and a SavedModel that tracks them restores
    their values into stand-in copies that the traced graph never reads, so
    TF Serving's C++ loader (and TF1's) fails with "Could not find variable".
    Instead `traced_signatures()` tracks exactly the `tf.Variable`s that the
    traced signatures read.

    Args:
        model: The Keras task model (any model over a `kbz.BertEncoder`).
        tokenizer: Its `BertTokenizer`.
        max_seq_length: Longest packed sequence per example or window.
        vocab_asset: A `tf.saved_model.Asset` of vocab.txt, so the export
            carries the vocabulary in assets/.
    """

    # Set by export_saved_model before tracing: a `BatchingParameters`, or None.
    in_graph_batching = None

    def __init__(self, model, tokenizer, max_seq_length, vocab_asset):
        super().__init__()
        self._keep_untracked(model)
        self.encoder_config = find_encoder(model).config
        position_limit = self.encoder_config.max_position_embeddings
        if not 8 <= max_seq_length <= position_limit:
            raise ValueError(f"max_seq_length={max_seq_length} must be in [8, max_position_embeddings="
                             f"{position_limit}].")
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.vocab_asset = vocab_asset

    @tf.__internal__.tracking.no_automatic_dependency_tracking
    def _keep_untracked(self, model):
        self._model = model

    @property
    def model(self):
        """The Keras task model (not part of the SavedModel's object graph)."""
        return self._model

    def traced_signatures(self):
        """`signatures()` traced, with the variables they read tracked, ready for `tf.saved_model.save`.

        They are traced with the encoder skipping the padding (`BertEncoder.skipping_padding`):
        texts of a batch have many lengths, and the dense layers then run on the real tokens alone.
        """
        with find_encoder(self.model).skipping_padding():
            signatures = self.signatures()
        read = {id(variable): variable for function in signatures.values() for variable in function.variables}
        self.variables_read = list(read.values())
        return signatures

    def signatures(self):
        """Signature name -> concrete function, "serving_default" first."""
        raise NotImplementedError

    def warmup_requests(self):
        """Signature name -> dict of example inputs, for TF Serving's warmup file."""
        raise NotImplementedError

    def batched(self, fn):
        """`fn` as `serving_default` should run it: batched across concurrent calls by a BatchFunction
        op when the export asks for in-graph batching (`in_graph_batching`), else as it is.

        Args:
            fn: Tensors [B, ...] -> a dict of tensors [B, ...], row i answering input row i.
        """
        return fn if self.in_graph_batching is None else self.in_graph_batching.batched(fn)

    def encode(self, texts, text_pairs=None):
        """Model inputs [B, T] for texts (and pairs), padded only to the longest in the batch."""
        return self.tokenizer.pack(texts, text_pairs, max_length=self.max_seq_length)

    def checked_ids(self, **inputs):
        """`inputs` (input_word_ids, input_type_ids, ... [B, T]) once their ids are in range.

        Keras' embedding lookups read a negative id as counting from the end of
        the table, so a client's bad id would silently give an answer; instead
        it is an InvalidArgument error that names the input.
        """
        config = self.encoder_config
        # A family without token types (DistilBERT, RoBERTa) ignores input_type_ids: any non-negative id goes.
        limits = {"input_word_ids": config.vocab_size,
                  "input_type_ids": config.type_vocab_size if config.reads_token_types else None, "input_mask": 2}
        if "input_word_ids" in inputs:
            limits["masked_lm_positions"] = tf.shape(inputs["input_word_ids"])[1]
        checks = []
        for name, values in inputs.items():
            checks.append(tf.debugging.assert_greater_equal(values, 0, message=f"{name} must not be negative"))
            if limits[name] is not None:
                checks.append(tf.debugging.assert_less(values, tf.cast(limits[name], values.dtype),
                                                       message=f"{name} must be less than {limits[name]}"))
        with tf.control_dependencies(checks):
            return {name: tf.identity(values) for name, values in inputs.items()}

    @tf.function(input_signature=[IDS, IDS, IDS])
    def serve_ids(self, input_word_ids, input_mask, input_type_ids):
        inputs = self.checked_ids(input_word_ids=input_word_ids, input_mask=input_mask,
                                  input_type_ids=input_type_ids)
        outputs = self.model(inputs, training=False)
        return {name: value for name, value in outputs.items() if name != "encoder_outputs"}
