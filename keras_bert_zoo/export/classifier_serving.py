"""Serving signatures of a BertClassifier: probabilities and label names from raw text."""

import tensorflow as tf

from keras_bert_zoo.export.serving_module import TEXT, ServingModule


class ClassifierServing(ServingModule):
    """`serving_default` {text}, `serve_pair` {text_a, text_b}, `serve_ids` {ids}.

    Text signatures return `probabilities` [B, C] (softmax, or [1-p, p] for a
    single sigmoid logit), `label_id` [B] and `label` [B] (names). A
    regression head returns `score` [B] instead.
    """

    def __init__(self, model, tokenizer, max_seq_length, vocab_asset):
        super().__init__(model, tokenizer, max_seq_length, vocab_asset)
        width = max(model.num_classes, 2)
        self.label_names = tf.constant(model.label_names or [str(i) for i in range(width)])

    def signatures(self):
        return {
            "serving_default": self.serve_text.get_concrete_function(),
            "serve_pair": self.serve_pair.get_concrete_function(),
            "serve_ids": self.serve_ids.get_concrete_function(),
        }

    def warmup_requests(self):
        return {
            "serving_default": {"text": ["This movie was wonderful.", "A dull, lifeless film."]},
            "serve_pair": {"text_a": ["Is it raining?"], "text_b": ["The streets are wet."]},
        }

    @tf.function(input_signature=[TEXT])
    def serve_text(self, text):
        return self.batched(lambda batch: self._classify(self.encode(batch)))(text)

    @tf.function(input_signature=[TEXT, TEXT])
    def serve_pair(self, text_a, text_b):
        return self._classify(self.encode(text_a, text_b))

    def _classify(self, inputs):
        logits = self.model(inputs, training=False)["logits"]
        if self.model.regression:
            return {"score": logits[:, 0]}
        if self.model.num_classes == 1:
            positive = tf.sigmoid(logits)
            probabilities = tf.concat([1.0 - positive, positive], axis=1)
        else:
            probabilities = tf.nn.softmax(logits)
        label_id = tf.argmax(probabilities, axis=1, output_type=tf.int32)
        return {"probabilities": probabilities, "label_id": label_id, "label": tf.gather(self.label_names, label_id)}
