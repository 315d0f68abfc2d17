"""Serving signatures of a BertEncoder: embeddings of raw text."""

import tensorflow as tf

from keras_bert_zoo.export.serving_module import TEXT, ServingModule


class EncoderServing(ServingModule):
    """`serving_default` {text} -> {pooled_output [B, H], sequence_output [B, T, H]}, and `serve_ids`.

    T is the longest packed text of the batch ([CLS] text [SEP], at most
    max_seq_length); positions beyond a text's own length are padding.
    """

    def signatures(self):
        return {"serving_default": self.serve_text.get_concrete_function(),
                "serve_ids": self.serve_ids.get_concrete_function()}

    def warmup_requests(self):
        return {"serving_default": {"text": ["An encoder turns text into vectors.", "Short."]}}

    @tf.function(input_signature=[TEXT])
    def serve_text(self, text):
        outputs = self.model(self.encode(text), training=False)
        return {"pooled_output": outputs["pooled_output"], "sequence_output": outputs["sequence_output"]}
