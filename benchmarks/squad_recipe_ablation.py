"""Which parts of the SQuAD fine-tuning recipe move held-out F1: one part swapped at a time, over seeds.

The model is HF torch's BertForQuestionAnswering, whose per-step losses equal
ours under the same optimizer semantics on the same batches
(tests/test_optimizer_parity.py), so it stands in for our math on a GPU with
no TensorFlow. Each variant swaps in one of our recipe's choices:
- "google": google-research's AdamWeightDecayOptimizer (no bias correction,
  epsilon 1e-6) and its schedule (decay counted from step 0);
- "length_buckets": batches filled per length bucket and padded to it, as
  `training_batches` draws them;
- "answer_mask": the span loss over [CLS] and the context's pieces only;
and "hf" keeps HF Trainer's whole recipe.
"""

import numpy as np

from benchmarks import hf_torch_finetuning as hf

# `training_batches`'s padded lengths at max_seq_length 384.
BUCKET_LENGTHS = (16, 32, 64, 128, 256, 384)


def google_adam_weight_decay(named_parameters, learning_rate, num_steps, num_warmup_steps, weight_decay):
    """google-research/bert's optimizer and schedule, as `make_optimizer` of `train_with_trainer_recipe`."""
    import torch

    class AdamWeightDecay(torch.optim.Optimizer):
        """m and v without bias correction; update = m / (sqrt(v) + 1e-6) + decay * w."""

        def __init__(self, groups):
            super().__init__(groups, {"lr": learning_rate, "weight_decay": 0.0})

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                for parameter in group["params"]:
                    if parameter.grad is None:
                        continue
                    state = self.state[parameter]
                    if not state:
                        state["m"], state["v"] = torch.zeros_like(parameter), torch.zeros_like(parameter)
                    state["m"].mul_(0.9).add_(parameter.grad, alpha=0.1)
                    state["v"].mul_(0.999).addcmul_(parameter.grad, parameter.grad, value=0.001)
                    update = state["m"] / (state["v"].sqrt() + 1e-6) + group["weight_decay"] * parameter
                    parameter.sub_(group["lr"] * update)

    decay, no_decay = [], []
    for name, parameter in named_parameters:
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(parameter)
    optimizer = AdamWeightDecay([{"params": decay, "weight_decay": weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}])

    def rate(step):  # Warmup from 0, then linear decay counted from step 0 (below the peak after warmup).
        return step / num_warmup_steps if step < num_warmup_steps else max(0.0, 1.0 - step / num_steps)

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, rate)


def length_bucket_batches(rng, lengths, batch_size, num_steps, bucket_lengths=BUCKET_LENGTHS):
    """Batches as `training_batches` draws them: a shuffled stream, each bucket emitted when full.

    Yields:
        (feature indices, the bucket's padded length).
    """
    buckets = {length: [] for length in bucket_lengths}
    emitted = 0
    while True:
        for index in rng.permutation(len(lengths)):
            bucket = next(length for length in bucket_lengths if lengths[index] <= length)
            buckets[bucket].append(index)
            if len(buckets[bucket]) == batch_size:
                yield buckets[bucket], bucket
                buckets[bucket] = []
                emitted += 1
                if emitted == num_steps:
                    return


def answer_mask_loss(outputs, batch):
    """The span cross-entropy over [CLS] and the context's pieces (segment 1), the only possible labels."""
    import torch

    allowed = (batch["token_type_ids"] == 1) & (batch["attention_mask"] == 1)
    allowed[:, 0] = True

    def cross_entropy(logits, positions):
        return torch.nn.functional.cross_entropy(logits.float().masked_fill(~allowed, -1e4), positions)

    return (cross_entropy(outputs.start_logits, batch["start_positions"])
            + cross_entropy(outputs.end_logits, batch["end_positions"])) / 2


VARIANTS = {
    "hf": {},
    "google": {"make_optimizer": google_adam_weight_decay},
    "length_buckets": {"batches": length_bucket_batches},
    "answer_mask": {"loss_fn": answer_mask_loss},
}


def recipes_of(variants):
    """{variant: the `train_with_trainer_recipe` arguments it swaps}; raises ValueError on unknown parts."""
    recipes = {}
    for variant in variants:
        parts = variant.split("+")
        unknown = [part for part in parts if part not in VARIANTS]
        if unknown:
            raise ValueError(f"Unknown recipe variant(s) {unknown}; choose from {list(VARIANTS)}.")
        recipes[variant] = {key: value for part in parts for key, value in VARIANTS[part].items()}
    return recipes


def ablate_squad_recipe(checkpoint, train_examples, eval_examples, variants, seeds, device="cpu", **settings):
    """Held-out F1 and exact match of each recipe variant (combined with "+") over seeds, in turn.

    Args:
        checkpoint: The HF checkpoint every run starts from.
        train_examples, eval_examples: `SquadExample`s (questions of other articles).
        variants: Names from `VARIANTS`, or several joined by "+".
        seeds: Each variant runs once per seed.
        device: torch device.
        **settings: max_seq_length, doc_stride, batch_size, learning_rate,
            num_epochs of `hf_question_answering_run`.

    Returns:
        {variant: {"f1": [per seed], "exact_match": [per seed], "windows_per_s": [per seed]}}.
    """
    from keras_bert_zoo.data.squad_examples import squad_gold_answers
    from keras_bert_zoo.metrics import squad_v1_metrics

    recipes = recipes_of(variants)
    gold = squad_gold_answers(eval_examples)
    results = {variant: {"f1": [], "exact_match": [], "windows_per_s": []} for variant in variants}
    for seed in seeds:
        for variant, recipe in recipes.items():
            rate, answers, _ = hf.hf_question_answering_run(checkpoint, train_examples, eval_examples, seed=seed,
                                                            device=device, **settings, **recipe)
            metrics = squad_v1_metrics(gold, answers)
            for key, value in (("f1", metrics["f1"]), ("exact_match", metrics["exact_match"]),
                               ("windows_per_s", rate)):
                results[variant][key].append(float(value))
            print(f"seed {seed} {variant}: F1 {metrics['f1']:.2f} EM {metrics['exact_match']:.2f} "
                  f"({rate:.0f} windows/s)", flush=True)
    return results


def summarize(results):
    """Markdown table rows: each variant's mean ± std F1 and EM over seeds, and per-seed F1."""
    lines = ["| variant | F1 mean ± std | EM mean ± std | F1 per seed |", "|---|---|---|---|"]
    for variant, values in results.items():
        f1, em = np.array(values["f1"]), np.array(values["exact_match"])
        lines.append(f"| {variant} | {f1.mean():.2f} ± {f1.std():.2f} | {em.mean():.2f} ± {em.std():.2f} | "
                     + ", ".join(f"{v:.2f}" for v in f1) + " |")
    return "\n".join(lines)
