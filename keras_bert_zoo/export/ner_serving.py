"""Serving signature of a BertTokenClassifier: tagged words with byte offsets, from raw text."""

import tensorflow as tf

from keras_bert_zoo.data.ner_features import window_layout
from keras_bert_zoo.data.word_offsets import split_characters_with_offsets, split_words_with_offsets
from keras_bert_zoo.export.serving_inputs import word_pieces
from keras_bert_zoo.export.serving_module import TEXT, ServingModule

# Keys combine (text index, window index); texts hold far fewer windows than this.
_WINDOWS_PER_TEXT = 1 << 31


class NerServing(ServingModule):
    """`serving_default` {text} -> {words, tags [B, W] strings, word_start, word_end [B, W] byte offsets}.

    Words are what the model was trained to tag (its `word_unit`): "word",
    split as the reference basic tokenizer splits them (whitespace, and each
    punctuation character or CJK ideograph alone); "char", every non-space
    character, as character-tagged (Chinese) data has them. Each gets the
    tag predicted at its first piece. Texts longer than one window are cut
    into windows at word boundaries as run_ner cuts its sentences
    (`keras_bert_zoo.data.ner_features.window_layout`), so every word is
    tagged in the same context. Padding is "" for strings and -1 for
    offsets. Also `serve_ids`.
    """

    def __init__(self, model, tokenizer, max_seq_length, vocab_asset):
        super().__init__(model, tokenizer, max_seq_length, vocab_asset)
        if not model.label_names:
            raise ValueError("The token classifier has no label_names, so its tags can't be named.")
        self.tag_names = tf.constant(model.label_names)
        self.split_words = (split_characters_with_offsets if getattr(model, "word_unit", "word") == "char"
                            else split_words_with_offsets)
        self.max_pieces_per_word, self.stride = window_layout(
            max_seq_length - tokenizer.packer.num_special_tokens(1))

    def signatures(self):
        return {"serving_default": self.serve_text.get_concrete_function(),
                "serve_ids": self.serve_ids.get_concrete_function()}

    def warmup_requests(self):
        texts = ["Angela Merkel met Emmanuel Macron in Paris.", "新华社北京１月１日电", ""]
        return {"serving_default": {"text": texts}}

    @tf.function(input_signature=[TEXT])
    def serve_text(self, text):
        words, starts, ends = self.split_words(text)
        pieces = word_pieces(self.tokenizer, words, self.max_pieces_per_word).values  # [words, (pieces)]
        word_text = words.value_rowids()
        first_piece = tf.cumsum(pieces.row_lengths(), exclusive=True)
        text_first_piece = tf.math.unsorted_segment_min(first_piece, word_text, words.nrows())
        start_in_text = first_piece - tf.gather(text_first_piece, word_text)
        # A window holds the words whose first piece is in its `stride` pieces of the text.
        _, window = tf.unique(word_text * _WINDOWS_PER_TEXT + start_in_text // self.stride, out_idx=tf.int64)
        num_windows = tf.reduce_max(tf.concat([window, [-1]], 0)) + 1
        window_ids = tf.RaggedTensor.from_value_rowids(pieces, window, nrows=num_windows).merge_dims(1, 2)
        packer = self.tokenizer.packer
        inputs = packer.pack([window_ids], self.max_seq_length)
        logits = self.model(inputs, training=False)["logits"]
        window_first_piece = tf.math.unsorted_segment_min(start_in_text, window, num_windows)
        start_in_window = start_in_text - tf.gather(window_first_piece, window)
        position = packer.segment_starts([window_ids.row_lengths()])[0] + start_in_window
        tag_ids = tf.argmax(tf.gather_nd(logits, tf.stack([window, position], axis=1)), axis=-1)
        tags = words.with_flat_values(tf.gather(self.tag_names, tag_ids))
        return {"words": words.to_tensor(""), "tags": tags.to_tensor(""),
                "word_start": starts.to_tensor(-1), "word_end": ends.to_tensor(-1)}
