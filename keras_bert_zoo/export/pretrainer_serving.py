"""Serving signatures of a BertPretrainer or MaskedLM: fill in [MASK]s of raw text."""

import tensorflow as tf

from keras_bert_zoo.export.serving_module import IDS, TEXT, ServingModule


class PretrainerServing(ServingModule):
    """`serving_default` {text} -> {masked_tokens [B, M] strings, masked_token_ids [B, M]}; `serve_ids`.

    Each literal mask token ("[MASK]", RoBERTa's "<mask>") in a text marks a
    position to predict, taking the spaces before it (only here: the
    tokenizer itself treats the mask token as text); M is the most
    masks in a text of the batch, padding is "" and -1. `serve_ids` takes the
    tokenized inputs plus `masked_lm_positions` and returns `mlm_logits` (and
    a BertPretrainer's `nsp_logits`).
    """

    def __init__(self, model, tokenizer, max_seq_length, vocab_asset):
        super().__init__(model, tokenizer, max_seq_length, vocab_asset)
        self.vocab = tf.constant(tokenizer.vocab)

    def signatures(self):
        return {"serving_default": self.serve_text.get_concrete_function(),
                "serve_ids": self.serve_ids.get_concrete_function()}

    def warmup_requests(self):
        mask = self.tokenizer.id_to_token(self.tokenizer.mask_id)
        return {"serving_default": {"text": [f"The capital of France is {mask}.", "No mask here."]}}

    @tf.function(input_signature=[TEXT])
    def serve_text(self, text):
        mask_id = self.tokenizer.mask_id
        segments = tf.strings.split(text, sep=self.tokenizer.id_to_token(mask_id))
        # The mask takes the spaces before it, as RoBERTa's "<mask>" does: BPE and SentencePiece would
        # otherwise make a piece of them (WordPiece drops them anyway).
        before_mask = tf.range(tf.size(segments.flat_values, tf.int64)) < tf.gather(segments.row_limits() - 1,
                                                                                     segments.value_rowids())
        flat = tf.where(before_mask, tf.strings.regex_replace(segments.flat_values, r"\s+$", ""),
                        segments.flat_values)
        pieces = tf.cast(self.tokenizer.tokenize(flat), tf.int32)
        # Every segment but the last is followed by a mask.
        mask = tf.fill([pieces.nrows(), 1], mask_id)
        tokens = segments.with_flat_values(tf.concat([pieces, mask], axis=1)).merge_dims(1, 2)[:, :-1]
        inputs = self.tokenizer.packer.pack([tokens], self.max_seq_length)
        ids = inputs["input_word_ids"]
        columns = tf.broadcast_to(tf.range(tf.shape(ids)[1]), tf.shape(ids))
        is_mask = tf.ragged.boolean_mask(columns, tf.equal(ids, mask_id))
        positions = is_mask.to_tensor(0)
        inputs["masked_lm_positions"] = positions
        predicted = tf.argmax(self.model(inputs, training=False)["mlm_logits"], axis=-1, output_type=tf.int32)
        real = tf.sequence_mask(is_mask.row_lengths(), tf.shape(positions)[1])
        return {"masked_tokens": tf.where(real, tf.gather(self.vocab, predicted), ""),
                "masked_token_ids": tf.where(real, predicted, -1)}

    @tf.function(input_signature=[IDS, IDS, IDS, IDS])
    def serve_ids(self, input_word_ids, input_mask, input_type_ids, masked_lm_positions):
        inputs = self.checked_ids(input_word_ids=input_word_ids, input_mask=input_mask,
                                  input_type_ids=input_type_ids, masked_lm_positions=masked_lm_positions)
        outputs = self.model(inputs, training=False)
        return {name: outputs[name] for name in ("mlm_logits", "nsp_logits") if name in outputs}
