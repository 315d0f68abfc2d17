"""Loss-curve parity: our fine-tuning and pretraining steps against HF torch, and google's optimizer.

Both sides start from the real MiniLM weights (dropout 0) with the same head
weights, see the same fixed batches and take 30 updates. The torch semantics are
checked against HF's models with `torch.optim.AdamW` and
`get_linear_schedule_with_warmup`; the google semantics against a NumPy
transcription of google-research/bert's AdamWeightDecayOptimizer and schedule
driving the HF model's gradients.
"""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
import torch
import transformers

import keras_bert_zoo as kbz
from keras_bert_zoo.training import (ClassificationObjective, PretrainingObjective, SpanObjective,
                                     TokenClassificationObjective, create_optimizer)

STEPS, WARMUP, PEAK_LR, BATCH, LENGTH = 30, 3, 5e-5, 8, 20
NUM_TAGS, MAX_PREDICTIONS = 5, 4
# google's epsilon, and torch's in the probe. At torch's default 1e-8 every parameter with
# a nonzero gradient, however small, moves by about the full rate, so float32 rounding noise in
# gradients of near-zero size moves real weights and the curves part by 1e-5 within 30 steps.
EPSILON = 1e-6
# Classifier labels follow the first word (MiniLM ids of "bad worst awful poor boring" and
# "good best great fine excellent"), so 32 small steps visibly learn them.
CUE_WORDS = ([2919, 5409, 9643, 3532, 11771], [2204, 2190, 2307, 2986, 6581])
TAG_WORDS = np.arange(3000, 3000 + 4 * NUM_TAGS)  # Tag i: the i-th four of these word ids.
SPAN_WORDS = (2707, 2203)  # "start" and "end" open and close each answer span.


@pytest.fixture(scope="module")
def minilm_without_dropout(minilm_dir, tmp_path_factory):
    """MiniLM with dropout 0, so a training step is deterministic on both sides."""
    directory = tmp_path_factory.mktemp("minilm_no_dropout")
    for name in ("model.safetensors", "vocab.txt"):
        shutil.copy(f"{minilm_dir}/{name}", directory / name)
    config = json.load(open(f"{minilm_dir}/config.json"))
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    json.dump(config, open(directory / "config.json", "w"))
    return str(directory)


def _batches(vocab_size, task):
    """Fixed batches of word ids, with padding and labels the model can learn."""
    rng = np.random.default_rng(7)
    batches = []
    for _ in range(STEPS):
        lengths = rng.integers(6, LENGTH + 1, BATCH)
        mask = (np.arange(LENGTH) < lengths[:, None]).astype("int32")
        ids = rng.integers(1996, vocab_size, (BATCH, LENGTH)).astype("int32")
        ids[:, 0] = 101
        ids[np.arange(BATCH), lengths - 1] = 102
        ids *= mask
        types = ((np.arange(LENGTH) >= lengths[:, None] // 2) * mask).astype("int32")
        inputs = {"input_word_ids": ids, "input_mask": mask, "input_type_ids": types}
        if task == "classifier":
            classes = rng.integers(0, 2, BATCH)
            ids[:, 1] = np.where(classes, rng.choice(CUE_WORDS[1], BATCH), rng.choice(CUE_WORDS[0], BATCH))
            labels = {"labels": classes.astype("int32")}
        elif task == "tagger":
            words = ids > 102
            ids = np.where(words, rng.choice(TAG_WORDS.size, ids.shape), ids)  # Pool indices for now.
            tags = ids // (TAG_WORDS.size // NUM_TAGS)
            ids = np.where(words, TAG_WORDS[np.minimum(ids, TAG_WORDS.size - 1)], ids).astype("int32")
            tagged = words & (rng.random((BATCH, LENGTH)) < 0.8)  # The rest stand for continuation pieces.
            inputs["input_word_ids"] = ids
            labels = {"labels": np.where(tagged, tags, -100).astype("int32"), "label_weights": tagged.astype("float32")}
        elif task == "squad":
            starts = rng.integers(1, lengths - 3)
            ends = starts + rng.integers(1, 3, BATCH)
            ids[np.arange(BATCH), starts], ids[np.arange(BATCH), ends] = SPAN_WORDS
            labels = {"start_positions": starts.astype("int32"), "end_positions": ends.astype("int32")}
        else:
            positions = np.stack([rng.choice(np.arange(1, n - 1), MAX_PREDICTIONS, replace=False) for n in lengths])
            weights = np.ones((BATCH, MAX_PREDICTIONS), "float32")
            weights[::3, -1] = 0.0  # Unused prediction slots, as create_pretraining_data pads them.
            positions = np.where(weights > 0, positions, 0).astype("int32")
            inputs["masked_lm_positions"] = positions
            labels = {"masked_lm_ids": np.where(weights > 0, np.take_along_axis(ids, positions, 1), 0),
                      "masked_lm_weights": weights,
                      "next_sentence_labels": rng.integers(0, 2, BATCH).astype("int32")}
            rows, slots = np.nonzero(weights)
            ids[rows, positions[rows, slots]] = 103  # [MASK]
        batches.append((inputs, labels))
    return batches


def _our_losses(model, objective, optimizer, batches):
    """Per-step losses of the Trainer's forward/backward/update."""

    @tf.function
    def step(inputs, labels):
        with tf.GradientTape() as tape:
            loss, _ = objective(model(inputs, training=True), labels)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients([(g, v) for g, v in zip(grads, model.trainable_variables) if g is not None])
        return loss

    return [float(step(inputs, labels)) for inputs, labels in batches]


def _hf_loss(task, model, inputs, labels):
    tensors = {"input_ids": torch.tensor(inputs["input_word_ids"]).long(),
               "attention_mask": torch.tensor(inputs["input_mask"]).long(),
               "token_type_ids": torch.tensor(inputs["input_type_ids"]).long()}
    if task in ("classifier", "tagger"):
        return model(**tensors, labels=torch.tensor(labels["labels"]).long()).loss
    if task == "squad":
        return model(**tensors, start_positions=torch.tensor(labels["start_positions"]).long(),
                     end_positions=torch.tensor(labels["end_positions"]).long()).loss
    mlm_labels = np.full(inputs["input_word_ids"].shape, -100)
    rows, slots = np.nonzero(labels["masked_lm_weights"])
    mlm_labels[rows, inputs["masked_lm_positions"][rows, slots]] = labels["masked_lm_ids"][rows, slots]
    return model(**tensors, labels=torch.tensor(mlm_labels).long(),
                 next_sentence_label=torch.tensor(labels["next_sentence_labels"]).long()).loss


def _no_decay(name):
    return name.endswith("bias") or "LayerNorm" in name


def _torch_adamw_step(model):
    """torch.optim.AdamW with HF's linear schedule, as HF's Trainer sets them up."""
    parameters = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in parameters if not _no_decay(n)], "weight_decay": 0.01},
         {"params": [p for n, p in parameters if _no_decay(n)], "weight_decay": 0.0}],
        lr=PEAK_LR, betas=(0.9, 0.999), eps=EPSILON)
    schedule = transformers.get_linear_schedule_with_warmup(optimizer, WARMUP, STEPS)

    def step():
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()

    return step


def _google_numpy_step(model):
    """google-research/bert's optimization.py transcribed to NumPy.

    create_optimizer: polynomial (linear) decay of the rate from step 0 to
    num_train_steps, overridden by linear warmup while global_step <
    num_warmup_steps, gradients clipped to global norm 1.0. Then
    AdamWeightDecayOptimizer: m and v without bias correction,
    update = m / (sqrt(v) + epsilon) + 0.01 * param (not for LayerNorm or bias),
    param -= rate * update.
    """
    moments = {}
    global_step = [0]

    def step():
        named = [(n, p) for n, p in model.named_parameters() if p.grad is not None]
        grads = [p.grad.numpy().astype(np.float64) for _, p in named]
        global_norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        grads = [g * 1.0 / max(global_norm, 1.0) for g in grads]
        rate = PEAK_LR * (1.0 - min(global_step[0], STEPS) / STEPS)
        if global_step[0] < WARMUP:
            rate = PEAK_LR * global_step[0] / WARMUP
        for (name, parameter), grad in zip(named, grads):
            m, v = moments.get(name, (np.zeros_like(grad), np.zeros_like(grad)))
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad * grad
            moments[name] = m, v
            value = parameter.detach().numpy().astype(np.float64)
            update = m / (np.sqrt(v) + EPSILON)
            if not _no_decay(name):
                update = update + 0.01 * value
            with torch.no_grad():
                parameter.copy_(torch.from_numpy((value - rate * update).astype(np.float32)))
        global_step[0] += 1

    return step


def _hf_losses(task, model, batches, semantics):
    model.train()  # Dropout is 0: training mode only switches on what a training step does.
    step = _torch_adamw_step(model) if semantics == "torch" else _google_numpy_step(model)
    losses = []
    for inputs, labels in batches:
        loss = _hf_loss(task, model, inputs, labels)
        model.zero_grad()
        loss.backward()
        step()
        losses.append(float(loss.detach()))
    return losses


TASKS = {
    "classifier": (kbz.BertClassifier, {"num_classes": 2}, transformers.BertForSequenceClassification,
                   lambda model: ClassificationObjective(2)),
    "tagger": (kbz.BertTokenClassifier, {"num_classes": NUM_TAGS}, transformers.BertForTokenClassification,
               lambda model: TokenClassificationObjective()),
    "squad": (kbz.BertQuestionAnswerer, {}, transformers.BertForQuestionAnswering, lambda model: SpanObjective()),
    "pretrainer": (kbz.BertPretrainer, {}, transformers.BertForPreTraining, lambda model: PretrainingObjective()),
}


# The default run keeps torch's semantics (run_pretraining's default) and google's (the fine-tuning
# tools') on one task each; the other heads' curves (about a minute each) are slow.
@pytest.mark.parametrize("task,semantics", [
    ("classifier", "torch"), pytest.param("tagger", "torch", marks=pytest.mark.slow),
    pytest.param("squad", "torch", marks=pytest.mark.slow), ("pretrainer", "torch"), ("classifier", "google"),
    pytest.param("pretrainer", "google", marks=pytest.mark.slow),
])
def test_loss_curve_matches_reference(minilm_without_dropout, tmp_path, task, semantics):
    ours_class, head_kwargs, hf_class, objective = TASKS[task]
    tf.keras.utils.set_random_seed(3)
    model = ours_class.from_pretrained(minilm_without_dropout, **head_kwargs)
    model.save_pretrained(str(tmp_path))  # The fresh head goes to HF too, so both start equal.
    reference = hf_class.from_pretrained(str(tmp_path), attn_implementation="eager")
    # HF's embedding has padding_idx, so torch never updates [PAD]'s row; BERT (and ours) does.
    # It shows only where padded positions reach the loss: the span softmax runs over them.
    reference.bert.embeddings.word_embeddings.padding_idx = None
    batches = _batches(model.encoder.config.vocab_size, task)
    optimizer = create_optimizer("adamw", PEAK_LR, STEPS, WARMUP, semantics=semantics, epsilon=EPSILON)
    ours = _our_losses(model, objective(model), optimizer, batches)
    theirs = _hf_losses(task, reference, batches, semantics)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert theirs[-1] < theirs[0] - 0.05, theirs  # The run really learns: parity is not of a flat curve.


@pytest.mark.slow  # Two more MiniLM curves; the default run keeps the parity curves themselves.
def test_keras_semantics_part_from_torch_curve(minilm_without_dropout):
    """The 1e-5 tolerance above tells the rules apart: Keras's epsilon placement alone moves the curve."""
    batches = _batches(30522, "classifier")[:8]
    curves = []
    for semantics in ("torch", "keras"):
        tf.keras.utils.set_random_seed(3)
        model = kbz.BertClassifier.from_pretrained(minilm_without_dropout, num_classes=2)
        optimizer = create_optimizer("adamw", PEAK_LR, STEPS, WARMUP, semantics=semantics, epsilon=EPSILON)
        curves.append(np.array(_our_losses(model, ClassificationObjective(2), optimizer, batches)))
    assert np.abs(curves[0] - curves[1]).max() > 1e-4
