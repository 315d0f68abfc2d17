"""Held-out fine-tuning quality over seeds, ours against a peer run side by side.

SST-2 full sentences against keras-hub, CoNLL-2003 dev and SQuAD v1.1
questions of unseen articles against HF torch, as HF's example scripts train.
"""

import json
import os
import random

import numpy as np

from benchmarks.report import BenchmarkRow


def _phrases(words):
    """Every contiguous run of words, joined as SST-2 writes its phrases."""
    return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


def sst2_full_sentence_split(texts, labels, num_heldout, seed=0):
    """Holds out full sentences of SST-2's train split, as its dev set is.

    SST-2 train mixes about 7,000 full sentences with the 60,000 phrases of
    their parse trees, and phrases are easier. A full sentence is a row that no
    other row contains. Held out: `num_heldout` of them at random. Training
    keeps every row that is not a phrase of a held-out sentence, in file order.

    Returns:
        (train_texts, train_labels, heldout_texts, heldout_labels).
    """
    rows = [text.strip() for text in texts]
    present = set(rows)
    inside_another = set()
    for row in rows:
        words = row.split()
        inside_another.update(p for p in _phrases(words) if p in present and p != row)
    full = sorted({row for row in rows if row not in inside_another})
    if len(full) < num_heldout:
        raise ValueError(f"Only {len(full)} full sentences; cannot hold out {num_heldout}.")
    heldout = set(random.Random(seed).sample(full, num_heldout))
    leaked = set().union(*(_phrases(sentence.split()) for sentence in heldout))
    label_of = dict(zip(rows, labels))
    train = [(row, label) for row, label in zip(rows, labels) if row not in leaked]
    heldout = sorted(heldout)
    return ([t for t, _ in train], np.array([l for _, l in train]), heldout,
            np.array([label_of[s] for s in heldout]))


def compare_over_seeds(task, sides, seeds, settings, peer_name):
    """Runs every side once per seed, in turn, and summarizes each metric over the seeds.

    Running the sides alternately lets drift on the machine reach all of them alike.

    Args:
        task: What is measured, for the row names.
        sides: {name: run(seed) -> (examples/s, {metric: value})}; the last
            entry is the reference the others are compared with (the peer).
        seeds: The seeds.
        settings: Settings shown with every row.
        peer_name: How the rows describe the reference; None: by its side's name.

    Returns:
        One `BenchmarkRow` per metric and side but the reference: the mean
        over seeds against the reference's, with per-seed values, spreads and
        examples/s in the notes; a lone side is its own reference.
    """
    results = {name: [] for name in sides}
    for seed in seeds:
        for name, run in sides.items():
            results[name].append(run(seed))
        print(f"{task}, seed {seed}: " + "; ".join(
            f"{name} " + ", ".join(f"{metric} {value:.4f}" for metric, value in runs[-1][1].items())
            + f" ({runs[-1][0]:.1f} examples/s)" for name, runs in results.items()), flush=True)

    def summary(name, metric):
        values = np.array([metrics[metric] for _, metrics in results[name]])
        rate = np.mean([rate for rate, _ in results[name]])
        return values.mean(), (f"{name}: {values.mean():.2f} ± {values.std():.2f} "
                               f"({', '.join(f'{v:.2f}' for v in values)}; {rate:.1f} examples/s)")

    *ours, peer = sides
    peer_name = peer_name or peer
    rows = []
    for metric in results[peer][0][1]:
        peer_mean, peer_note = summary(peer, metric)
        for name in ours or [peer]:
            mean, note = summary(name, metric)
            rows.append(BenchmarkRow(f"{task}, {name}", metric, mean, peer_mean, peer_name, settings,
                                     note if name == peer else f"{note}; {peer_note}"))
    return rows


def benchmark_finetuning_quality(run_ours, checkpoint, texts, labels, eval_texts, eval_labels, seeds=(0, 1, 2),
                                 with_peer=True, max_seq_length=64, batch_size=32, num_train_epochs=1,
                                 peer="keras-hub", task="SST-2 held-out sentences", torch_device="cpu",
                                 learning_rate=5e-5):
    """Accuracy on held-out sentences, run_classifier.py per variant of its flags against a peer.

    keras-hub's BertTextClassifier trains as its documentation does:
    `compile()`'s defaults (Adam at a constant 5e-5, no warmup, decay or
    clipping) and `fit` on raw text through its own preprocessor. HF torch's
    BertForSequenceClassification trains as HF's run_glue.py and Trainer do
    (see `benchmarks.hf_torch_finetuning`).

    Args:
        run_ours: {variant name: run(seed) -> (examples/s, eval metrics as
            run_classifier.py writes them)}.
        with_peer: Run the peer too; without it the variants are compared
            with the last one.
        peer: "keras-hub" or "HF torch".
        task: What the rows call the data.
        torch_device: Where HF torch trains ("cpu", "cuda").
        learning_rate: HF torch's peak learning rate (keras-hub keeps compile()'s).

    Returns:
        One `BenchmarkRow` per variant: mean accuracy (%) against the peer's.
    """

    def ours(run):
        def accuracy(seed):
            rate, metrics = run(seed)
            return rate, {"% accuracy": 100 * metrics["accuracy"]}
        return accuracy

    def keras_hub(seed):
        import tensorflow as tf

        from benchmarks.finetuning_benchmark import keras_hub_run

        tf.keras.utils.set_random_seed(seed)
        rate, accuracy = keras_hub_run(checkpoint, texts, labels, eval_texts, eval_labels, max_seq_length,
                                       batch_size, optimizer="auto", epochs=int(num_train_epochs))
        return rate, {"% accuracy": 100 * accuracy}

    def hf_torch(seed):
        from benchmarks.hf_torch_finetuning import hf_sequence_classification_run

        rate, predicted = hf_sequence_classification_run(
            checkpoint, texts, labels, eval_texts, int(max(np.max(labels), np.max(eval_labels))) + 1, max_seq_length,
            batch_size, learning_rate, num_train_epochs, seed, torch_device)
        return rate, {"% accuracy": 100 * float(np.mean(predicted == np.asarray(eval_labels)))}

    peers = {"keras-hub": (keras_hub, "keras-hub BertTextClassifier, compile() defaults"),
             "HF torch": (hf_torch, "HF torch BertForSequenceClassification, run_glue.py's recipe")}
    if peer not in peers:
        raise ValueError(f"peer must be one of {list(peers)}, got {peer!r}.")
    sides = {name: ours(run) for name, run in run_ours.items()}
    if with_peer:
        sides[peer] = peers[peer][0]
    settings = {"train_examples": len(texts), "eval_sentences": len(eval_texts), "seeds": len(seeds),
                "batch": batch_size, "seq": max_seq_length, "epochs": num_train_epochs}
    if peer == "HF torch":
        settings["lr"] = learning_rate
    return compare_over_seeds(task, sides, seeds, settings, peers[peer][1] if with_peer else None)


def benchmark_ner_quality(run_ours, checkpoint, train_sentences, train_tags, eval_sentences, eval_tags,
                          seeds=(0, 1, 2), max_seq_length=128, batch_size=32, learning_rate=5e-5, with_peer=True,
                          num_train_epochs=1, torch_device="cpu", task="CoNLL-2003 held-out sentences"):
    """Entity F1 on held-out sentences, run_ner.py per variant of its flags against HF torch's
    BertForTokenClassification trained as HF's run_ner.py and Trainer do.

    Args:
        run_ours: {variant name: run(seed) -> (examples/s, eval metrics as
            run_ner.py writes them)}.
        checkpoint: The HF checkpoint both start from.
        train_sentences, train_tags: What both train on (CoNLL words and tags).
        eval_sentences, eval_tags: The held-out sentences.
        with_peer: Run HF torch too; without it the variants are compared with
            the last one.
        torch_device: Where HF torch trains ("cpu", "cuda"); with no variants
            of ours, nothing imports TensorFlow (a GPU machine without it runs the peer).
        task: What the rows call the data.

    Returns:
        `BenchmarkRow`s for entity F1, precision and recall (%).
    """
    from benchmarks.hf_torch_finetuning import hf_token_classification_run
    from keras_bert_zoo.data.conll_data import ner_label_names
    from keras_bert_zoo.metrics import ner_metrics

    names = ("f1", "precision", "recall")
    label_names = ner_label_names(train_tags)

    def ours(run):
        def entity_scores(seed):
            rate, metrics = run(seed)
            return rate, {f"% entity {name}": 100 * metrics[name] for name in names}
        return entity_scores

    def hf_torch(seed):
        rate, predicted = hf_token_classification_run(checkpoint, train_sentences, train_tags, eval_sentences,
                                                      label_names, max_seq_length, batch_size, learning_rate,
                                                      num_epochs=num_train_epochs, seed=seed, device=torch_device)
        metrics = ner_metrics(eval_tags, predicted)
        return rate, {f"% entity {name}": 100 * metrics[name] for name in names}

    sides = {name: ours(run) for name, run in run_ours.items()}
    if with_peer:
        sides["HF torch"] = hf_torch
    settings = {"train_sentences": len(train_sentences), "eval_sentences": len(eval_sentences),
                "seeds": len(seeds), "batch": batch_size, "seq": max_seq_length, "lr": learning_rate,
                "epochs": num_train_epochs}
    return compare_over_seeds(f"{task}, run_ner", sides, seeds, settings,
                              "HF torch BertForTokenClassification, run_ner.py's recipe" if with_peer else None)


def _first_questions(articles, count):
    """The articles cut after their first `count` questions, in file order."""
    kept = []
    for article in articles:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            if count <= 0:
                break
            paragraphs.append(dict(paragraph, qas=paragraph["qas"][:count]))
            count -= len(paragraphs[-1]["qas"])
        if paragraphs:
            kept.append(dict(article, paragraphs=paragraphs))
    return kept


def split_squad_by_article(path, directory, eval_questions=None):
    """Writes the first half of a SQuAD file's articles to train.json, the rest to eval.json.

    Questions of one article share its paragraphs' topics, so whole articles
    are held out.

    Args:
        path: The SQuAD JSON file.
        directory: Where to write the halves.
        eval_questions: Keep only the first this many held-out questions (None: all).

    Returns:
        (train path, eval path).
    """
    with open(path, encoding="utf-8") as f:
        squad = json.load(f)
    articles = squad["data"]
    if len(articles) < 2:
        raise ValueError(f"{path}: {len(articles)} article(s); need 2 or more to split.")
    held_out = articles[len(articles) // 2:]
    if eval_questions:
        held_out = _first_questions(held_out, eval_questions)
    paths = []
    for name, part in (("train", articles[:len(articles) // 2]), ("eval", held_out)):
        paths.append(os.path.join(directory, f"{name}.json"))
        with open(paths[-1], "w", encoding="utf-8") as f:
            json.dump(dict(squad, data=part), f)
    return tuple(paths)


def squad_pipelines_crossed(our_model, hf_model, checkpoint, examples, max_seq_length=384, doc_stride=128,
                            max_query_length=64):
    """Each trained model answered through both SQuAD pipelines: windows, max context and span decoding.

    Ours: google-research's windows (`doc_stride` pieces between starts,
    question cut at `max_query_length`), answers starting only where the
    window gives the piece its most context. HF's run_qa.py: `doc_stride`
    pieces of overlap, any context piece. Scoring one model's logits both
    ways separates the pipelines from the training.

    Returns:
        {"<model> model, <pipeline> pipeline": {"exact_match", "f1"}}.
    """
    from benchmarks import hf_torch_finetuning as hf
    from keras_bert_zoo.training.squad_decoding import decode_squad_predictions
    from keras_bert_zoo.data.squad_examples import squad_gold_answers
    from keras_bert_zoo.data.squad_features import squad_features
    from keras_bert_zoo.metrics import squad_v1_metrics
    from keras_bert_zoo.text import BertTokenizer
    from keras_bert_zoo.training.finetuning import predict

    ours = squad_features(BertTokenizer.from_pretrained(checkpoint), examples, max_seq_length, doc_stride,
                          max_query_length)
    ours_as_rows = [{"input_ids": ids[:length], "token_type_ids": types[:length], "attention_mask": [1] * length}
                    for ids, types, length in zip(ours.input_word_ids.tolist(), ours.input_type_ids.tolist(),
                                                  ours.input_mask.sum(-1))]
    theirs = hf.question_answering_features(hf.fast_tokenizer(checkpoint), examples, max_seq_length, doc_stride)

    def padded(rows, key):
        return np.array([row[key] + [0] * (max_seq_length - len(row[key])) for row in rows], "int32")

    def our_logits(rows):
        inputs = {"input_word_ids": padded(rows, "input_ids"), "input_mask": padded(rows, "attention_mask"),
                  "input_type_ids": padded(rows, "token_type_ids")}
        logits = predict(our_model, inputs, 64, max_seq_length, sequence_outputs=("start_logits", "end_logits"))
        return [[values[:len(row["input_ids"])] for values, row in zip(logits[name], rows)]
                for name in ("start_logits", "end_logits")]

    def hf_logits(rows):
        logits = hf.predict_logits(hf_model, rows)
        return logits["start_logits"], logits["end_logits"]

    def our_pipeline(starts, ends):
        def full(values):
            return np.array([np.pad(v, (0, max_seq_length - len(v)), constant_values=-1e4) for v in values])
        return decode_squad_predictions(examples, ours, full(starts), full(ends)).answers

    gold = squad_gold_answers(examples)
    scores = {}
    for model_name, logits in (("our", our_logits), ("HF", hf_logits)):
        scores[f"{model_name} model, our pipeline"] = squad_v1_metrics(gold, our_pipeline(*logits(ours_as_rows)))
        scores[f"{model_name} model, HF pipeline"] = squad_v1_metrics(
            gold, hf.decode_question_answering(examples, theirs, *logits(theirs)))
    return scores


def benchmark_squad_quality(run_ours, checkpoint, train_examples, eval_examples, seeds=(0, 1, 2),
                            max_seq_length=384, doc_stride=128, batch_size=16, learning_rate=5e-5):
    """SQuAD v1.1 F1 and exact match on questions of unseen articles, ours against HF torch.

    Args:
        run_ours: run_ours(seed) -> (examples/s, eval metrics as run_squad.py
            writes them, the trained model); the tool with its default optimizer.
        checkpoint: The HF checkpoint both start from.
        train_examples, eval_examples: `SquadExample`s of the two halves.

    Returns:
        `BenchmarkRow`s for F1 and exact match, and the pipelines crossed on
        the first seed's two models (see `squad_pipelines_crossed`) in the
        F1 row's notes.
    """
    from benchmarks.hf_torch_finetuning import hf_question_answering_run
    from keras_bert_zoo.data.squad_examples import squad_gold_answers
    from keras_bert_zoo.metrics import squad_v1_metrics

    gold = squad_gold_answers(eval_examples)
    first_models = {}

    def ours(seed):
        rate, metrics, model = run_ours(seed)
        first_models.setdefault("ours", model)
        return rate, {"f1": metrics["f1"], "exact_match": metrics["exact_match"]}

    def hf_torch(seed):
        rate, answers, model = hf_question_answering_run(checkpoint, train_examples, eval_examples, max_seq_length,
                                                         doc_stride, batch_size, learning_rate, seed=seed)
        first_models.setdefault("HF", model)
        metrics = squad_v1_metrics(gold, answers)
        return rate, {"f1": metrics["f1"], "exact_match": metrics["exact_match"]}

    settings = {"train_questions": len(train_examples), "eval_questions": len(eval_examples), "seeds": len(seeds),
                "batch": batch_size, "seq": max_seq_length, "doc_stride": doc_stride, "lr": learning_rate,
                "epochs": 1}
    rows = compare_over_seeds("SQuAD v1.1 questions of held-out articles, run_squad",
                              {"ours": ours, "HF torch": hf_torch}, seeds, settings,
                              "HF torch BertForQuestionAnswering, run_qa.py's recipe")
    crossed = squad_pipelines_crossed(first_models["ours"], first_models["HF"], checkpoint, eval_examples,
                                      max_seq_length, doc_stride)
    print("SQuAD pipelines crossed (seed " + str(seeds[0]) + "): " + "; ".join(
        f"{name} F1 {m['f1']:.2f} EM {m['exact_match']:.2f}" for name, m in crossed.items()), flush=True)
    rows[0].notes += "; pipelines crossed on seed {}: {}".format(seeds[0], "; ".join(
        f"{name} F1 {m['f1']:.2f}" for name, m in crossed.items()))
    return rows
