"""Masked-LM masking of whole batches of instances at once, with numpy."""

import numpy as np


class MaskedLmMasker:
    """Chooses and corrupts masked-LM positions as google-research/bert's create_pretraining_data.

    Each instance gets `min(max_predictions_per_seq, max(1, round(length *
    masked_lm_prob)))` predictions (length counts [CLS] and [SEP]), drawn
    uniformly among its tokens other than [CLS], [SEP] and padding. With
    whole-word masking, a word and the continuation pieces right after it
    (those the tokenizer's `continues_word` marks, WordPiece's "##" pieces)
    are chosen together, and a word that would overshoot the count is
    skipped, as the original (whose words can also reach back across a
    [SEP]; here a continuation piece right after [SEP] starts a word of its
    own, and so does any piece the caller marks, such as a sentence's first:
    byte-level BPE gives it no leading "Ġ"). The caller may also mark pieces
    that continue the word before them whatever their id: the characters of a
    segmented Chinese word after its first (see `ChineseWordSegmenter`), as
    Chinese-BERT-wwm. Each chosen token becomes [MASK] 80% of the time, a
    uniformly random id 10%, and stays unchanged 10%.

    Args:
        tokenizer: A `keras_bert_zoo.text.BertTokenizer` (or any tokenizer
            with its ids and `continues_word`): the vocab size, special ids
            and continuation pieces.
        max_predictions_per_seq: P, the most predictions per instance.
        masked_lm_prob: Fraction of tokens to predict.
        do_whole_word_mask: Mask whole words rather than single pieces.
        random_special_ids: Whether a random replacement may be a special id
            ([PAD], [CLS], [SEP], [MASK], [UNK]): google-research/bert draws
            from the whole vocab; fairseq's RoBERTa never picks a special one.
    """

    def __init__(self, tokenizer, max_predictions_per_seq=20, masked_lm_prob=0.15, do_whole_word_mask=False,
                 random_special_ids=True):
        self.mask_id = tokenizer.mask_id
        self.max_predictions_per_seq = max_predictions_per_seq
        self.masked_lm_prob = masked_lm_prob
        self.do_whole_word_mask = do_whole_word_mask
        self.is_continuation = tokenizer.continues_word()
        self.replacement_ids = np.arange(tokenizer.vocab_size, dtype=np.int32)
        if not random_special_ids:
            special_ids = [tokenizer.pad_id, tokenizer.unk_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.mask_id]
            self.replacement_ids = np.setdiff1d(self.replacement_ids, special_ids)

    def __call__(self, input_ids, lengths, candidates, rng, word_starts=None, word_continues=None):
        """Masks a batch.

        Args:
            input_ids: int32 [N, T] token ids.
            lengths: [N] tokens per instance, [CLS] and [SEP] included.
            candidates: bool [N, T], the positions that may be masked.
            rng: A `np.random.Generator`.
            word_starts: Optional bool [N, T]: positions that start a word
                whatever their piece (for whole-word masking).
            word_continues: Optional bool [N, T]: positions that continue the
                word before them whatever their piece (for whole-word
                masking; `word_starts` wins where both are marked).

        Returns:
            Dict of `input_ids` (the corrupted copy, int32 [N, T]), and int32
            `masked_lm_positions`, `masked_lm_ids` and float32 `masked_lm_weights`
            [N, P]: predictions in position order, then zero padding.
        """
        chosen = self._choose(input_ids, lengths, candidates, rng, word_starts, word_continues)
        rows, columns = np.nonzero(chosen)  # Row-major: each row's positions ascending.
        slots = (np.cumsum(chosen, axis=1, dtype=np.int16) - 1)[rows, columns]
        original = input_ids[rows, columns]
        choice = rng.random(len(rows))
        # With every id allowed this indexes the identity: the draws are those of the whole vocab.
        random_ids = self.replacement_ids[rng.integers(0, len(self.replacement_ids), len(rows), dtype=np.int32)]
        corrupted = np.where(choice < 0.8, self.mask_id, np.where(choice < 0.9, original, random_ids))
        masked_ids = input_ids.copy()
        masked_ids[rows, columns] = corrupted

        shape = (len(input_ids), self.max_predictions_per_seq)
        positions = np.zeros(shape, np.int32)
        label_ids = np.zeros(shape, np.int32)
        weights = np.zeros(shape, np.float32)
        positions[rows, slots] = columns
        label_ids[rows, slots] = original
        weights[rows, slots] = 1.0
        return {"input_ids": masked_ids, "masked_lm_positions": positions, "masked_lm_ids": label_ids,
                "masked_lm_weights": weights}

    def _choose(self, input_ids, lengths, candidates, rng, forced_starts, forced_continues):
        """bool [N, T]: the positions to predict."""
        budget = np.minimum(self.max_predictions_per_seq,
                            np.maximum(1, np.rint(lengths * self.masked_lm_prob))).astype(np.int64)
        if not self.do_whole_word_mask:
            # The first `budget` candidates in a random order.
            ranked = np.argsort(np.where(candidates, rng.random(candidates.shape), 2.0), axis=1)
            ranked = ranked[:, :self.max_predictions_per_seq]
            taken = np.arange(ranked.shape[1]) < np.minimum(budget, candidates.sum(axis=1))[:, None]
            chosen = np.zeros_like(candidates)
            np.put_along_axis(chosen, ranked, taken, axis=1)
            return chosen
        word_starts, word_of_token, word_lengths = self._words(input_ids, candidates, forced_starts,
                                                               forced_continues)
        # Visit words in random order; take each one that still fits in the budget.
        word_order = np.argsort(np.where(word_starts, rng.random(word_starts.shape), 2.0), axis=1)
        ordered_lengths = np.take_along_axis(word_lengths, word_order, axis=1)
        num_words = word_starts.sum(axis=1)
        taken = np.zeros(len(input_ids), np.int64)
        chosen_starts = np.zeros_like(candidates)
        row_index = np.arange(len(input_ids))
        for rank in range(input_ids.shape[1]):
            open_rows = (taken < budget) & (rank < num_words)
            if not open_rows.any():
                break
            fits = open_rows & (taken + ordered_lengths[:, rank] <= budget)
            chosen_starts[row_index[fits], word_order[fits, rank]] = True
            taken += np.where(fits, ordered_lengths[:, rank], 0)
        return candidates & np.take_along_axis(chosen_starts, word_of_token, axis=1)

    def _words(self, input_ids, candidates, forced_starts, forced_continues):
        """Whole words among the candidates: a word is a piece and the continuation pieces right after it.

        A piece of `forced_continues` (None: none) is a continuation piece
        whatever its id; one of `forced_starts` (None: none) starts a word even
        if it is a continuation piece.

        Returns:
            (word_starts, word_of_token, word_lengths): bool [N, T] whether a
            position starts a word; int [N, T] the start of each candidate's
            word; int [N, T] each word's piece count, at its start.
        """
        num_rows, seq_length = input_ids.shape
        follows_candidate = np.zeros_like(candidates)
        follows_candidate[:, 1:] = candidates[:, :-1]
        continues = self.is_continuation[input_ids]
        if forced_continues is not None:
            continues = continues | forced_continues
        continues &= follows_candidate
        if forced_starts is not None:
            continues &= ~forced_starts
        word_starts = candidates & ~continues
        positions = np.arange(seq_length)
        word_of_token = np.maximum.accumulate(np.where(word_starts, positions, 0), axis=1)
        row_base = np.arange(num_rows)[:, None] * seq_length
        word_lengths = np.bincount((row_base + word_of_token)[candidates],
                                   minlength=num_rows * seq_length).reshape(num_rows, seq_length)
        return word_starts, word_of_token, word_lengths
