"""RoBERTa's masked-LM pretraining from raw text: full sentences packed across documents with a byte-level BPE
vocab, dynamic masks, and 30 optimizer steps of ours against transformers' RobertaForMaskedLM with torch's AdamW."""

import numpy as np
import pytest
import tensorflow as tf
import torch
import transformers

import keras_bert_zoo as kbz
from conftest import REPO_ROOT
from family_tools import seeded, write_tokenizer
from keras_bert_zoo.data import dynamic_pretraining_dataset
from keras_bert_zoo.text import BytePairTokenizer
from keras_bert_zoo.training import create_optimizer
from keras_bert_zoo.training.pretraining_objective import objective_for_model, split_pretraining_features
from test_dynamic_pretraining import _unmasked
from test_optimizer_parity import _our_losses

CORPUS = REPO_ROOT / "keras_bert_zoo" / "data" / "samples" / "pretraining_corpus.txt"
SEQ_LENGTH, PREDICTIONS = 48, 10
STEPS, WARMUP, PEAK_LR, BATCH, EPSILON = 30, 3, 3e-3, 8, 1e-6


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """A byte-level BPE vocab trained (by `tokenizers`) on texts that include the sample corpus."""
    directory = tmp_path_factory.mktemp("bpe")
    size = write_tokenizer("bpe", directory, minilm_dir=None)
    tokenizer = kbz.Tokenizer.from_pretrained(str(directory))
    assert type(tokenizer) is BytePairTokenizer and tokenizer.vocab_size == size
    return tokenizer, directory


def _documents():
    """The sample corpus' documents, each a list of its sentences."""
    blocks = CORPUS.read_text(encoding="utf-8").split("\n\n")
    return [[line.strip() for line in block.splitlines() if line.strip()] for block in blocks if block.strip()]


def _sentence_tokens(tokenizer):
    """{(document, sentence): its token ids} of the sample corpus."""
    return {(d, s): tokenizer.tokenize([text]).flat_values.numpy().tolist()
            for d, document in enumerate(_documents()) for s, text in enumerate(document)}


def _take(tokenizer, count, **options):
    dataset = dynamic_pretraining_dataset(str(CORPUS), tokenizer, SEQ_LENGTH, PREDICTIONS, full_sentences=True,
                                          **options)
    return {name: value.numpy() for name, value in next(iter(dataset.batch(count))).items()}


def _parse(content, sentences, separator):
    """An instance's tokens between <s> and </s> as [(document, sentence) or "sep"], matched against the
    sentences' own tokens (None where no whole sentence matches)."""
    parts, position = [], 0
    while position < len(content):
        if content[position] == separator:
            parts.append("sep")
            position += 1
            continue
        match = next((key for key, tokens in sentences.items()
                      if content[position:position + len(tokens)] == tokens), None)
        if match is None:
            return None
        parts.append(match)
        position += len(sentences[match])
    return parts


def test_instances_are_full_sentences_packed_across_documents(tokenizer):
    tokenizer, _ = tokenizer
    documents, sentences = _documents(), _sentence_tokens(tokenizer)
    room = SEQ_LENGTH - 2
    assert max(len(tokens) for tokens in sentences.values()) < room < max(
        sum(len(sentences[d, s]) for s in range(len(document))) for d, document in enumerate(documents))
    features = _take(tokenizer, 60)
    ids, mask = _unmasked(features), features["input_mask"]
    assert (features["segment_ids"] == 0).all() and (features["next_sentence_labels"] == 0).all()
    seen, epoch_instances, crossings = [], None, 0
    for row, length in enumerate(mask.sum(axis=1)):
        assert ids[row, 0] == tokenizer.cls_id and ids[row, length - 1] == tokenizer.sep_id
        assert (ids[row, length:] == tokenizer.pad_id).all() and (mask[row, :length] == 1).all()
        parts = _parse(ids[row, 1:length - 1].tolist(), sentences, tokenizer.sep_id)
        assert parts is not None and parts[0] != "sep" and parts[-1] != "sep", parts
        for before, after in zip(parts, parts[1:]):
            if after == "sep":  # One separator, between the last sentence of a document and the first of another.
                assert before[1] == len(documents[before[0]]) - 1
                crossings += 1
            elif before == "sep":
                assert after[1] == 0
            else:  # The same document's sentences in order.
                assert after == (before[0], before[1] + 1)
        last = parts[-1]
        if last[1] + 1 < len(documents[last[0]]):  # Full: the document's next sentence doesn't fit.
            assert length - 2 + len(sentences[last[0], last[1] + 1]) > room
        seen.extend(part for part in parts if part != "sep")
        if epoch_instances is None and len(seen) >= len(sentences):
            epoch_instances = row + 1
    # An epoch lays every sentence out once; the next epoch orders the documents anew.
    assert sorted(seen[:len(sentences)]) == sorted(sentences) and epoch_instances
    assert crossings > 0
    assert seen[:len(sentences)] != seen[len(sentences):2 * len(sentences)]


def test_a_sentence_longer_than_an_instance_is_cut_into_instances(tokenizer, tmp_path):
    tokenizer, _ = tokenizer
    text = " ".join(sentence for document in _documents() for sentence in document)
    path = tmp_path / "one_line.txt"
    path.write_text(text + "\n", encoding="utf-8")
    tokens = tokenizer.tokenize([text]).flat_values.numpy()
    pieces = -(-len(tokens) // (SEQ_LENGTH - 2))
    dataset = dynamic_pretraining_dataset(str(path), tokenizer, SEQ_LENGTH, PREDICTIONS, full_sentences=True)
    features = {name: value.numpy() for name, value in next(iter(dataset.batch(pieces))).items()}
    ids, lengths = _unmasked(features), features["input_mask"].sum(axis=1)
    contents = sorted((ids[row, 1:length - 1] for row, length in enumerate(lengths)), key=len, reverse=True)
    starts = [tokens.tobytes().find(content.tobytes()) // 4 for content in contents]
    assert sorted(starts) == list(range(0, len(tokens), SEQ_LENGTH - 2))
    assert sum(len(content) for content in contents) == len(tokens)


def test_masks_are_dynamic_spare_special_tokens_and_keep_whole_words(tokenizer):
    tokenizer, _ = tokenizer
    features = _take(tokenizer, 400, do_whole_word_mask=True, seed=5)
    original, corrupted = _unmasked(features), features["input_ids"]
    special = np.isin(original, [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id])
    masked = np.zeros(original.shape, bool)
    rows, slots = np.nonzero(features["masked_lm_weights"])
    masked[rows, features["masked_lm_positions"][rows, slots]] = True
    assert not (masked & special).any()
    lengths = features["input_mask"].sum(axis=1)
    assert (masked.sum(axis=1) <= np.minimum(PREDICTIONS, np.rint(lengths * 0.15))).all()
    assert masked.sum(axis=1).mean() > 0.9 * np.minimum(PREDICTIONS, np.rint(lengths * 0.15)).mean()
    # 80% <mask>, 10% random (never a special id), 10% kept; everything else unchanged.
    replaced = corrupted[masked]
    assert 0.75 < (replaced == tokenizer.mask_id).mean() < 0.85
    randoms = replaced[(replaced != tokenizer.mask_id) & (replaced != original[masked])]
    assert 0.06 < randoms.size / replaced.size < 0.14
    assert not np.isin(randoms, [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, tokenizer.unk_id]).any()
    np.testing.assert_array_equal(corrupted[~masked], original[~masked])

    # Whole words: a word is a "Ġ" piece, or a sentence's first piece (BPE gives it no space), and the pieces
    # after it; each is masked whole or not at all.
    sentences = _sentence_tokens(tokenizer)
    continues = tokenizer.continues_word()
    sentence_firsts_masked_alone = 0
    for row, length in enumerate(lengths):
        sentence_starts, column = set(), 1
        for part in _parse(original[row, 1:length - 1].tolist(), sentences, tokenizer.sep_id):
            sentence_starts.add(column)
            column += 1 if part == "sep" else len(sentences[part])
        for column in range(2, length - 1):
            if column in sentence_starts:
                sentence_firsts_masked_alone += bool(masked[row, column] and not masked[row, column - 1])
            elif continues[original[row, column]]:
                assert masked[row, column] == masked[row, column - 1], (row, column)
    assert sentence_firsts_masked_alone > 0

    # Dynamic: an instance that comes round again (the same text) gets new masks.
    text_rows = {}
    for row in range(len(original)):
        text_rows.setdefault(original[row, :lengths[row]].tobytes(), []).append(row)
    repeats = [(first, second) for rows in text_rows.values() for first, second in zip(rows, rows[1:])]
    same_masks = sum(np.array_equal(masked[first], masked[second]) for first, second in repeats)
    assert len(repeats) > 50 and same_masks <= len(repeats) // 10, (len(repeats), same_masks)


def _hf_trainer_adamw(model):
    """torch's AdamW and linear schedule as HF's Trainer sets them up: no decay on LayerNorms and biases."""
    decay = set(transformers.trainer_pt_utils.get_parameter_names(model, [torch.nn.LayerNorm]))
    decay = {name for name in decay if not name.endswith("bias")}
    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if n in decay], "weight_decay": 0.01},
         {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0}],
        lr=PEAK_LR, betas=(0.9, 0.999), eps=EPSILON)
    return optimizer, transformers.get_linear_schedule_with_warmup(optimizer, WARMUP, STEPS)


def _hf_losses(model, batches):
    """RobertaForMaskedLM trained on `batches`: labels at the masked positions, -100 elsewhere."""
    model.train()  # Dropout is 0.
    optimizer, schedule = _hf_trainer_adamw(model)
    losses = []
    for inputs, labels in batches:
        ids = inputs["input_word_ids"]
        mlm_labels = np.full(ids.shape, -100)
        rows, slots = np.nonzero(labels["masked_lm_weights"])
        mlm_labels[rows, inputs["masked_lm_positions"][rows, slots]] = labels["masked_lm_ids"][rows, slots]
        loss = model(input_ids=torch.tensor(ids).long(), attention_mask=torch.tensor(inputs["input_mask"]).long(),
                     token_type_ids=torch.tensor(inputs["input_type_ids"]).long(),
                     labels=torch.tensor(mlm_labels).long()).loss
        model.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    return losses


def test_thirty_steps_equal_transformers_roberta_for_masked_lm(tokenizer, tmp_path):
    """Our input pipeline's batches (whole-word masks), fed to ours and to RobertaForMaskedLM: per-step losses
    within 1e-5 under torch's AdamW semantics."""
    tokenizer, _ = tokenizer
    config = transformers.RobertaConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37, max_position_embeddings=SEQ_LENGTH + 2, type_vocab_size=1, layer_norm_eps=1e-5,
        pad_token_id=tokenizer.pad_id, bos_token_id=tokenizer.cls_id, eos_token_id=tokenizer.sep_id,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    seeded(transformers.RobertaForMaskedLM, config).save_pretrained(tmp_path, safe_serialization=True)
    reference = transformers.RobertaForMaskedLM.from_pretrained(str(tmp_path), attn_implementation="eager")
    ours = kbz.Pretrainer.from_pretrained(str(tmp_path))
    assert type(ours) is kbz.MaskedLM and type(ours.encoder) is kbz.RobertaEncoder

    examples = dynamic_pretraining_dataset(str(CORPUS), tokenizer, SEQ_LENGTH, PREDICTIONS, full_sentences=True,
                                           do_whole_word_mask=True, seed=7)
    batches = [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in
               examples.batch(BATCH, drop_remainder=True).map(split_pretraining_features).take(STEPS)]
    optimizer = create_optimizer("adamw", PEAK_LR, STEPS, WARMUP, semantics="torch", epsilon=EPSILON)
    losses = _our_losses(ours, objective_for_model(ours), optimizer, batches)
    theirs = _hf_losses(reference, batches)
    np.testing.assert_allclose(losses, theirs, atol=1e-5, rtol=0)
    assert np.mean(theirs[-5:]) < np.mean(theirs[:5]) - 0.4, theirs  # It learns: parity is not of a flat curve.
