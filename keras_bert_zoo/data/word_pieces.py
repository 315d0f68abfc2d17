"""Tokenization of many texts per tokenizer call."""

import numpy as np

# Strings per tokenizer call: large batches are fast; the bound caps one call's memory.
_TOKENIZE_BATCH = 16384


def tokenize_batched(tokenizer, texts, words=False):
    """Token ids of many texts, a few large tokenizer calls in all.

    Args:
        tokenizer: A tokenizer of `keras_bert_zoo.text`.
        texts: A list of strings.
        words: The texts are words of running text (`tokenizer.tokenize_words`).

    Returns:
        (ids, splits): int32 [P] ids of all texts in order, and int64
        [len(texts) + 1] offsets; text i has ids[splits[i]:splits[i + 1]].
    """
    tokenize = tokenizer.tokenize_words if words else tokenizer.tokenize
    values, splits = in_batches(lambda batch: {"ids": tokenize(batch)}, texts)
    return values["ids"].astype(np.int32), splits


def in_batches(tokenize, texts):
    """Runs `tokenize` on batches of texts and concatenates its outputs.

    Args:
        tokenize: Takes a list of strings to a dict of RaggedTensors [B, (N)]
            with the same row lengths.
        texts: A list of strings.

    Returns:
        (values, splits): {name: NumPy [N] flat values of all texts in
        order}, and int64 [len(texts) + 1] offsets of each text's values.
    """
    values, lengths = {}, [np.zeros([0], np.int64)]
    # At least one call, so that no texts still give every output, empty.
    for start in range(0, max(len(texts), 1), _TOKENIZE_BATCH):
        outputs = tokenize(list(texts[start:start + _TOKENIZE_BATCH]))
        for name, ragged in outputs.items():
            values.setdefault(name, []).append(ragged.flat_values.numpy())
        lengths.append(ragged.row_lengths().numpy())
    return ({name: np.concatenate(parts) for name, parts in values.items()},
            np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64))
