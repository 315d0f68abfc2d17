"""HF torch peers for held-out classification, NER and SQuAD quality, set up as HF's run_glue.py, run_ner.py
and run_qa.py set them up.

What HF's example scripts do by default, written out so the benchmark needs
no `datasets` or `evaluate`: BertTokenizerFast, the first piece of each word
labelled (the rest -100), question + context windows whose `stride` is the
overlap between windows, Trainer's AdamW (epsilon 1e-8, weight decay 0.01
except biases and LayerNorm) with its linear warmup and decay, global-norm
clipping 1.0, and padding to the longest sequence of each batch.
"""

import math
import os
import time

import numpy as np


def fast_tokenizer(checkpoint, lower_case=True):
    import transformers

    # Positional: transformers 4 calls it vocab_file, 5 vocab (and ignores an unknown keyword).
    return transformers.BertTokenizerFast(os.path.join(checkpoint, "vocab.txt"), do_lower_case=lower_case)


def _tensors(rows, label_keys=(), label_pad=-100, device="cpu", length=None):
    """One batch of feature dicts as torch tensors, padded to its longest sequence (or to `length`)."""
    import torch

    longest = length or max(len(row["input_ids"]) for row in rows)

    def padded(key, value):
        return [list(row[key]) + [value] * (longest - len(row[key])) for row in rows]

    batch = {key: padded(key, 0) for key in ("input_ids", "token_type_ids", "attention_mask")}
    for key in label_keys:
        values = [row[key] for row in rows]
        batch[key] = padded(key, label_pad) if isinstance(values[0], list) else values
    return {key: torch.tensor(value, device=device) for key, value in batch.items()}


def random_batches(rng, lengths, batch_size, num_steps):
    """Trainer's batches: a new permutation each epoch, cut in order; each padded to its longest.

    Yields:
        (indices of the batch's features, padded length or None for its longest).
    """
    steps_per_epoch = math.ceil(len(lengths) / batch_size)
    for step in range(num_steps):
        if step % steps_per_epoch == 0:
            order = rng.permutation(len(lengths))
        yield order[(step % steps_per_epoch) * batch_size:][:batch_size], None


def trainer_adamw(named_parameters, learning_rate, num_steps, num_warmup_steps, weight_decay):
    """Trainer's optimizer and schedule: torch AdamW (epsilon 1e-8) and HF's linear warmup and decay."""
    import torch
    import transformers

    decay, no_decay = [], []
    for name, parameter in named_parameters:
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(parameter)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=learning_rate, eps=1e-8)
    return optimizer, transformers.get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_steps)


def train_with_trainer_recipe(model, features, label_keys, batch_size, learning_rate, num_epochs=1, seed=0,
                              warmup_ratio=0.1, weight_decay=0.01, device="cpu", make_optimizer=trainer_adamw,
                              batches=random_batches, loss_fn=None):
    """Trains an HF model as `transformers.Trainer` does with its default optimizer and schedule.

    The last three arguments swap one part of the recipe at a time, for
    ablations; their defaults are Trainer's.

    Args:
        model: A `transformers` model whose forward returns `.loss`.
        features: List of dicts with input_ids, token_type_ids, attention_mask
            and the `label_keys`.
        label_keys: Names of the label entries (lists are padded with -100).
        batch_size, learning_rate, num_epochs, seed: The recipe.
        warmup_ratio: Share of the steps in linear warmup (rounded up, as Trainer).
        weight_decay: AdamW's decoupled decay on all but biases and LayerNorm.
        device: Where the model and batches live ("cpu", "cuda").
        make_optimizer: make_optimizer(named_parameters, learning_rate,
            num_steps, num_warmup_steps, weight_decay) -> (optimizer, schedule).
        batches: batches(rng, lengths, batch_size, num_steps) yields
            (feature indices, padded length or None) per step.
        loss_fn: loss_fn(outputs, batch) -> loss; None: the model's own.

    Returns:
        Training examples per second.
    """
    import torch

    torch.manual_seed(seed)
    num_steps = math.ceil(math.ceil(len(features) / batch_size) * num_epochs)
    optimizer, schedule = make_optimizer(list(model.named_parameters()), learning_rate, num_steps,
                                         math.ceil(num_steps * warmup_ratio), weight_decay)
    lengths = [len(feature["input_ids"]) for feature in features]
    model.to(device).train()
    start = time.perf_counter()
    for rows, length in batches(np.random.default_rng(seed), lengths, batch_size, num_steps):
        batch = _tensors([features[i] for i in rows], label_keys, device=device, length=length)
        outputs = model(**batch)
        loss = outputs.loss if loss_fn is None else loss_fn(outputs, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    return num_steps * batch_size / (time.perf_counter() - start)


def predict_logits(model, features, batch_size=64, device="cpu"):
    """Inference logits of an HF model per feature, per-token ones cut to the feature's length.

    Returns:
        A list per output name (logits, or start_logits and end_logits) of
        float32 arrays, one per feature.
    """
    import torch

    model.eval()
    outputs = {}
    with torch.no_grad():
        for first in range(0, len(features), batch_size):
            rows = features[first:first + batch_size]
            result = model(**_tensors(rows, device=device))
            for name in ("logits", "start_logits", "end_logits"):
                if getattr(result, name, None) is not None:
                    values = getattr(result, name).float().cpu().numpy()
                    # A sequence classifier's logits [B, C] have no token axis to cut.
                    per_token = name != "logits" or values.ndim == 3
                    outputs.setdefault(name, []).extend(v[:len(row["input_ids"])] if per_token else v
                                                        for v, row in zip(values, rows))
    return outputs


def token_classification_features(tokenizer, sentences, tags, label_names, max_seq_length):
    """HF run_ner.py's features: words split as given, first piece labelled, truncated at max_seq_length."""
    encoded = tokenizer(sentences, is_split_into_words=True, truncation=True, max_length=max_seq_length)
    label_id = {name: i for i, name in enumerate(label_names)}
    features = []
    for row, sentence in enumerate(sentences):
        word_ids = encoded.word_ids(row)
        first_piece = [i for i, w in enumerate(word_ids) if w is not None and (i == 0 or word_ids[i - 1] != w)]
        feature = {key: encoded[key][row] for key in ("input_ids", "token_type_ids", "attention_mask")}
        feature["first_piece"] = {word_ids[i]: i for i in first_piece}
        if tags is not None:
            labels = [-100] * len(word_ids)
            for i in first_piece:
                labels[i] = label_id[tags[row][word_ids[i]]]
            feature["labels"] = labels
        features.append(feature)
    return features


def hf_token_classification_run(checkpoint, train_sentences, train_tags, eval_sentences, label_names,
                                max_seq_length=128, batch_size=32, learning_rate=5e-5, num_epochs=1, seed=0,
                                device="cpu"):
    """Fine-tunes HF's BertForTokenClassification as run_ner.py would and tags the eval sentences.

    Returns:
        (training examples/s, predicted tags: a list per eval sentence; words
        cut off by truncation get "O", as run_ner.py leaves them unscored).
    """
    import transformers

    tokenizer = fast_tokenizer(checkpoint)
    transformers.set_seed(seed)
    model = transformers.BertForTokenClassification.from_pretrained(checkpoint, num_labels=len(label_names),
                                                                    dtype="float32")
    train = token_classification_features(tokenizer, train_sentences, train_tags, label_names, max_seq_length)
    rate = train_with_trainer_recipe(model, train, ("labels",), batch_size, learning_rate, num_epochs, seed,
                                     device=device)
    features = token_classification_features(tokenizer, eval_sentences, None, label_names, max_seq_length)
    logits = predict_logits(model, features, device=device)["logits"]
    predicted = []
    for sentence, feature, values in zip(eval_sentences, features, logits):
        best = values.argmax(-1)
        predicted.append([label_names[best[feature["first_piece"][w]]] if w in feature["first_piece"] else "O"
                          for w in range(len(sentence))])
    return rate, predicted


def sequence_classification_features(tokenizer, texts, labels, max_seq_length):
    """HF run_glue.py's features: each text truncated at max_seq_length, its label id under "labels"."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_seq_length)
    features = [{key: encoded[key][row] for key in ("input_ids", "token_type_ids", "attention_mask")}
                for row in range(len(texts))]
    for feature, label in zip(features, labels if labels is not None else ()):
        feature["labels"] = int(label)
    return features


def hf_sequence_classification_run(checkpoint, train_texts, train_labels, eval_texts, num_labels,
                                   max_seq_length=128, batch_size=32, learning_rate=5e-5, num_epochs=1, seed=0,
                                   device="cpu"):
    """Fine-tunes HF's BertForSequenceClassification as run_glue.py would and labels the eval texts.

    Returns:
        (training examples/s, predicted label ids: an int array per eval text).
    """
    import transformers

    tokenizer = fast_tokenizer(checkpoint)
    transformers.set_seed(seed)
    model = transformers.BertForSequenceClassification.from_pretrained(checkpoint, num_labels=num_labels,
                                                                       dtype="float32")
    train = sequence_classification_features(tokenizer, train_texts, train_labels, max_seq_length)
    rate = train_with_trainer_recipe(model, train, ("labels",), batch_size, learning_rate, num_epochs, seed,
                                     device=device)
    features = sequence_classification_features(tokenizer, eval_texts, None, max_seq_length)
    logits = predict_logits(model, features, device=device)["logits"]
    return rate, np.array([values.argmax(-1) for values in logits])


def question_answering_features(tokenizer, examples, max_seq_length=384, doc_stride=128, is_training=False):
    """HF run_qa.py's windows: question then context, `doc_stride` pieces of overlap between windows.

    Training windows that don't hold the whole (first) answer point at [CLS].
    Evaluation windows keep each context piece's character offsets (None
    elsewhere) and their example's index.
    """
    encoded = tokenizer([e.question_text.lstrip() for e in examples], [e.context_text for e in examples],
                        truncation="only_second", max_length=max_seq_length, stride=doc_stride,
                        return_overflowing_tokens=True, return_offsets_mapping=True)
    features = []
    for window, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
        example = examples[example_index]
        sequence_ids = encoded.sequence_ids(window)
        offsets = encoded["offset_mapping"][window]
        feature = {key: encoded[key][window] for key in ("input_ids", "token_type_ids", "attention_mask")}
        feature["example_index"] = example_index
        context = [i for i, s in enumerate(sequence_ids) if s == 1]
        if is_training:
            answer_start = example.answer_starts[0]
            answer_end = answer_start + len(example.answer_texts[0])
            start = end = 0
            if offsets[context[0]][0] <= answer_start and offsets[context[-1]][1] >= answer_end:
                start = next(i for i in context if offsets[i][1] > answer_start)
                end = max(i for i in context if offsets[i][0] < answer_end)
            feature["start_positions"], feature["end_positions"] = start, end
        else:
            feature["offsets"] = [offsets[i] if sequence_ids[i] == 1 else None for i in range(len(offsets))]
        features.append(feature)
    return features


def decode_question_answering(examples, features, start_logits, end_logits, n_best_size=20, max_answer_length=30):
    """HF's postprocess_qa_predictions for SQuAD v1.1: the best-scoring valid span over an example's windows.

    Returns:
        {question id: answer text}.
    """
    best = {}
    for feature, starts, ends in zip(features, start_logits, end_logits):
        offsets = feature["offsets"]
        for start in np.argsort(starts)[::-1][:n_best_size]:
            for end in np.argsort(ends)[::-1][:n_best_size]:
                if (offsets[start] is None or offsets[end] is None or end < start
                        or end - start + 1 > max_answer_length):
                    continue
                score = starts[start] + ends[end]
                index = feature["example_index"]
                if index not in best or score > best[index][0]:
                    best[index] = (score, offsets[start][0], offsets[end][1])
    return {example.qas_id: example.context_text[best[i][1]:best[i][2]] if i in best else ""
            for i, example in enumerate(examples)}


def hf_question_answering_run(checkpoint, train_examples, eval_examples, max_seq_length=384, doc_stride=128,
                              batch_size=16, learning_rate=5e-5, num_epochs=1, seed=0, device="cpu", **recipe):
    """Fine-tunes HF's BertForQuestionAnswering as run_qa.py would and answers the eval questions.

    Args:
        device: Where to train and predict ("cpu", "cuda").
        **recipe: Parts of the recipe swapped for ablations (`make_optimizer`,
            `batches`, `loss_fn` of `train_with_trainer_recipe`).

    Returns:
        (training windows/s, {question id: answer text}, the trained model).
    """
    import transformers

    tokenizer = fast_tokenizer(checkpoint)
    transformers.set_seed(seed)
    # float32 whatever the checkpoint stores (transformers 5 keeps a float16 file's dtype).
    model = transformers.BertForQuestionAnswering.from_pretrained(checkpoint, dtype="float32")
    train = question_answering_features(tokenizer, train_examples, max_seq_length, doc_stride, is_training=True)
    rate = train_with_trainer_recipe(model, train, ("start_positions", "end_positions"), batch_size, learning_rate,
                                     num_epochs, seed, device=device, **recipe)
    features = question_answering_features(tokenizer, eval_examples, max_seq_length, doc_stride)
    logits = predict_logits(model, features, device=device)
    return rate, decode_question_answering(eval_examples, features, logits["start_logits"],
                                           logits["end_logits"]), model
