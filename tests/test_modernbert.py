"""ModernBERT on the core against transformers' own models: seeded small configs written with save_pretrained, read
by ours (every output within 1e-5), ours written back and read by transformers. Inputs are longer than two sliding
windows and padded; packed rows restart their positions and keep their windows to themselves; the banded local
attention equals the dense masked one. What every family shares (real sentences, .keras files, the tools and their
exports) is in test_family_parity.py's FAMILIES."""

import json
import re
import unicodedata

import keras
import numpy as np
import pytest
import torch
import transformers

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, random_inputs
from family_tools import assert_like_transformers, outputs_as_transformers, seeded, write_modernbert_tokenizer
from keras_bert_zoo.layers.local_attention import (banded_attention, chunked_attention, dense_attention,
                                                   mapped_chunk_attention, sliding_window_mask)
from keras_bert_zoo.layers.modernbert_attention import GLOBAL_CHUNK
from keras_bert_zoo.layers.packed_sequences import additive_attention_mask

# Windows of 8 tokens (4 either way); inputs of 21 and more tokens span several.
WINDOW = 8
LENGTH = 21
HEADS = [(kbz.Classifier, "ForSequenceClassification"), (kbz.TokenClassifier, "ForTokenClassification"),
         (kbz.QuestionAnswerer, "ForQuestionAnswering"), (kbz.MaskedLM, "ForMaskedLM")]
OURS = kbz.ModernBertConfig(vocab_size=64, hidden_size=16, num_layers=3, num_heads=2, intermediate_size=24,
                            max_position_embeddings=64, local_attention=4, pad_token_id=0, cls_token_id=1,
                            sep_token_id=2)


def hf_config(**kwargs):
    """A small transformers ModernBertConfig, eager attention; 3 layers: global, local, local (the last is local)."""
    return transformers.ModernBertConfig(**{**dict(
        vocab_size=99, hidden_size=32, intermediate_size=24, num_hidden_layers=3, num_attention_heads=4,
        local_attention=WINDOW, max_position_embeddings=128, pad_token_id=0, bos_token_id=1, eos_token_id=2,
        cls_token_id=1, sep_token_id=2, attn_implementation="eager"), **kwargs})


def torch_inputs(inputs):
    return {"input_ids": torch.tensor(inputs["input_word_ids"]).long(),
            "attention_mask": torch.tensor(inputs["input_mask"]).long()}


def test_encoder_matches_on_long_padded_input(tmp_path):
    """Four layers (global, local, local, global) over 29 tokens, one row padded to 7: every layer's output."""
    reference = seeded(transformers.ModernBertModel, hf_config(num_hidden_layers=4, global_rope_theta=5_000.0,
                                                                local_rope_theta=500.0))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = kbz.Encoder.from_pretrained(str(tmp_path))
    assert type(ours) is kbz.ModernBertEncoder and type(ours.config) is kbz.ModernBertConfig
    assert ours.config.layer_types == tuple(reference.config.layer_types)
    assert (ours.config.global_rope_theta, ours.config.local_rope_theta) == (5_000.0, 500.0)
    inputs = random_inputs(seq_length=29, vocab_size=99)
    inputs["input_mask"][1, 20:] = 0
    outputs = ours(inputs)
    assert "pooled_output" not in outputs
    with torch.no_grad():
        expected = reference(**torch_inputs(inputs), output_hidden_states=True)
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(outputs["sequence_output"].numpy()[real], expected.last_hidden_state.numpy()[real],
                               atol=1e-5, rtol=0)
    for ours_layer, hf_layer in zip(outputs["encoder_outputs"], expected.hidden_states[1:], strict=True):
        np.testing.assert_allclose(ours_layer.numpy()[real], hf_layer.numpy()[real], atol=1e-5, rtol=0)
    changed = dict(inputs, input_type_ids=np.ones_like(inputs["input_type_ids"]))  # No token types.
    np.testing.assert_array_equal(ours(changed)["sequence_output"].numpy(), outputs["sequence_output"].numpy())


def test_encoder_matches_past_the_global_chunk(tmp_path):
    """Rows longer than GLOBAL_CHUNK take the chunked global attention: still transformers' outputs."""
    reference = seeded(transformers.ModernBertModel, hf_config(max_position_embeddings=2048))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = kbz.Encoder.from_pretrained(str(tmp_path))
    inputs = random_inputs(seq_length=GLOBAL_CHUNK + 77, vocab_size=99)
    inputs["input_mask"][1, GLOBAL_CHUNK - 5:] = 0
    with torch.no_grad():
        expected = reference(**torch_inputs(inputs)).last_hidden_state.numpy()
    real = inputs["input_mask"].astype(bool)
    np.testing.assert_allclose(ours(inputs)["sequence_output"].numpy()[real], expected[real], atol=1e-5, rtol=0)


@pytest.mark.parametrize("half_window", [None, 4])
def test_long_rows_train_with_the_same_gradients_rematerialized(monkeypatch, half_window):
    """Past REMATERIALIZED_LENGTH tokens a training block recomputes its attention core and gated product in the
    backward pass: its outputs and gradients are those of the block that keeps them."""
    import tensorflow as tf

    from keras_bert_zoo.layers import modernbert_attention, modernbert_block

    length = modernbert_attention.REMATERIALIZED_LENGTH + 7
    block = modernbert_block.ModernBertBlock(16, 2, 24, half_window=half_window)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(2, length, 16)).astype("float32"))
    input_mask = np.ones((2, length), "int32")
    input_mask[1, length - 100:] = 0
    positions = np.arange(length, dtype="int32")[None].repeat(2, 0)
    weights = tf.constant(rng.normal(size=(2, length, 16)).astype("float32"))

    def outputs_and_gradients():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = block(x, input_mask, positions, training=True)
            loss = tf.reduce_sum(y * weights)
        return [y, *tape.gradient(loss, [x, *block.trainable_variables])]

    rematerialized = outputs_and_gradients()
    for module in (modernbert_attention, modernbert_block):
        monkeypatch.setattr(module, "REMATERIALIZED_LENGTH", 10 * length)
    for ours, kept in zip(rematerialized, outputs_and_gradients(), strict=True):
        np.testing.assert_allclose(ours.numpy(), kept.numpy(), atol=2e-5, rtol=1e-5)


def test_pretrains_from_raw_text_with_its_tokenizer_and_resumes(tmp_path):
    """run_pretraining.py trains a fresh ModernBERT (its config.json and tokenizer.json) with MLM from raw text and
    the loss falls; run again as it was, it finds the run finished; its checkpoint loads as a ModernBERT MaskedLM."""
    import subprocess
    import sys

    from keras_bert_zoo.data.samples import PRETRAINING_CORPUS

    with open(PRETRAINING_CORPUS, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    checkpoint = tmp_path / "fresh"
    vocab_size = write_modernbert_tokenizer(lines, checkpoint, vocab_size=400)
    hf_config(vocab_size=vocab_size, max_position_embeddings=128, pad_token_id=5, bos_token_id=3, eos_token_id=4,
              cls_token_id=3, sep_token_id=4).save_pretrained(checkpoint)

    def pretrain(steps):
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "tools" / "run_pretraining.py"), f"--bert_config_file={checkpoint}/config.json",
             f"--vocab_file={checkpoint}", f"--text_file={PRETRAINING_CORPUS}", "--objective=mlm",
             f"--model_dir={tmp_path / 'model'}", f"--num_train_steps={steps}", "--num_warmup_steps=2",
             "--train_batch_size=8", "--max_seq_length=64", "--learning_rate=2e-3", "--log_steps=5", "--seed=0"],
            capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return [float(x) for x in re.findall(r"^step \d+/\d+\s+mlm_loss ([0-9.]+)", result.stdout, re.M)], result

    losses, _ = pretrain(30)
    assert len(losses) == 6 and losses[-1] < losses[0] - 0.3
    again, result = pretrain(30)
    assert again == [] and "already holds all 30 steps" in result.stdout
    assert type(kbz.MaskedLM.from_pretrained(str(tmp_path / "model")).encoder) is kbz.ModernBertEncoder


def test_packed_sequences_encode_as_alone(tmp_path):
    """Three texts packed in a row (input_mask 1, 2, 3, then padding): each one's outputs are transformers' on the
    text alone, so rotary positions restart and no sliding window reaches into a neighbour."""
    reference = seeded(transformers.ModernBertModel, hf_config())
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = kbz.Encoder.from_pretrained(str(tmp_path))
    lengths = [11, 3, 13]
    ids = np.random.default_rng(1).integers(3, 99, sum(lengths) + 4).astype("int32")
    numbers = np.concatenate([np.full(n, i + 1) for i, n in enumerate(lengths)] + [np.zeros(4)]).astype("int32")
    packed = ours({"input_word_ids": ids[None], "input_mask": numbers[None], "input_type_ids": 0 * ids[None]})
    for number, length in enumerate(lengths, start=1):
        alone = ids[numbers == number][None]
        with torch.no_grad():
            expected = reference(input_ids=torch.tensor(alone).long()).last_hidden_state.numpy()[0]
        np.testing.assert_allclose(packed["sequence_output"].numpy()[0][numbers == number], expected, atol=1e-5,
                                   rtol=0)


def _padded_and_packed_mask(length):
    """input_mask [3, length]: one full row, one padded from the middle, one of two packed texts and padding."""
    input_mask = np.ones((3, length), "int32")
    input_mask[1, length // 2:] = 0
    input_mask[2, length // 3:] = 2
    input_mask[2, length - 1:] = 0
    return input_mask


def _softmax(scores, additive_mask):
    return keras.ops.softmax(scores + additive_mask, axis=-1)


@pytest.mark.parametrize("length,half_window", [(LENGTH, 4), (16, 4), (3, 4), (LENGTH, 1), (LENGTH, 32)])
def test_banded_attention_equals_dense_masked_attention(length, half_window):
    """Blocks of w queries over their 3w neighbouring keys give the dense result under the sliding-window mask, for
    padded, packed and short rows; every query that sees a key (real tokens, padding near real ones) agrees, and so
    do the gradients of a loss on those queries' outputs."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    query, key, value = (tf.constant(rng.normal(size=(3, 2, length, 8)).astype("float32")) for _ in range(3))
    input_mask = _padded_and_packed_mask(length)
    mask = np.asarray(sliding_window_mask(input_mask, half_window))
    sees_a_key = (mask == 0).any(axis=-1)[:, 0]  # [B, T]
    weights = rng.normal(size=(3, 2, length, 8)).astype("float32") * sees_a_key[:, None, :, None]
    results = {}
    for name, attend in (("banded", lambda q, k, v: banded_attention(q, k, v, input_mask, half_window, _softmax)),
                         ("dense", lambda q, k, v: dense_attention(q, k, v, mask, _softmax))):
        with tf.GradientTape() as tape:
            tape.watch([query, key, value])
            output = attend(query, key, value)
            loss = tf.reduce_sum(output * weights)
        results[name] = (output.numpy(), [g.numpy() for g in tape.gradient(loss, [query, key, value])])
    banded, dense = results["banded"][0], results["dense"][0]
    assert banded.shape == dense.shape and sees_a_key[input_mask > 0].all()
    np.testing.assert_allclose(banded.transpose(0, 2, 1, 3)[sees_a_key], dense.transpose(0, 2, 1, 3)[sees_a_key],
                               atol=1e-6, rtol=0)
    for banded_gradient, dense_gradient in zip(results["banded"][1], results["dense"][1]):
        np.testing.assert_allclose(banded_gradient, dense_gradient, atol=1e-5, rtol=0)


@pytest.mark.parametrize("chunk", [4, 7, LENGTH, 64])
def test_chunked_attention_equals_dense_attention_and_its_gradients(chunk):
    """Global attention a block of queries at a time, rematerialized, gives dense attention's outputs and gradients
    on padded and packed rows, for blocks that divide the row, don't, or cover it; mapped over the blocks of a row
    whose length is unknown when traced, the outputs."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    query, key, value = (tf.constant(rng.normal(size=(3, 2, LENGTH, 8)).astype("float32")) for _ in range(3))
    weights = tf.constant(rng.normal(size=(3, 2, LENGTH, 8)).astype("float32"))
    input_mask = _padded_and_packed_mask(LENGTH)

    def outputs_and_gradients(attend):
        with tf.GradientTape() as tape:
            tape.watch([query, key, value])
            context = attend()
            loss = tf.reduce_sum(context * weights)
        return [context, *tape.gradient(loss, [query, key, value])]

    chunked = outputs_and_gradients(lambda: chunked_attention(query, key, value, input_mask, _softmax, chunk))
    dense = outputs_and_gradients(lambda: dense_attention(query, key, value, additive_attention_mask(input_mask),
                                                          _softmax))
    for ours, expected in zip(chunked, dense, strict=True):
        np.testing.assert_allclose(ours.numpy(), expected.numpy(), atol=1e-5, rtol=0)
    # The serving graph's form, the row's length unknown when traced.
    dynamic = tf.TensorSpec([None, 2, None, 8], tf.float32)
    mapped = tf.function(lambda query, key, value, input_mask: mapped_chunk_attention(
        query, key, value, input_mask, _softmax, chunk), input_signature=[dynamic] * 3 + [
            tf.TensorSpec([None, None], tf.int32)])(query, key, value, input_mask)
    np.testing.assert_allclose(mapped.numpy(), dense[0].numpy(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("ours_class,suffix,extra", [
    *[(ours, suffix, {}) for ours, suffix in HEADS],
    # Mean pooling, and the optional biases of the heads' dense layer and of every LayerNorm.
    (kbz.Classifier, "ForSequenceClassification", dict(classifier_pooling="mean", classifier_bias=True,
                                                        norm_bias=True, attention_bias=True, mlp_bias=True)),
], ids=[suffix for _, suffix in HEADS] + ["ForSequenceClassification-mean-biases"])
def test_task_heads_match(tmp_path, ours_class, suffix, extra):
    num_labels = 2 if ours_class is kbz.QuestionAnswerer else 5
    reference = seeded(getattr(transformers, "ModernBert" + suffix), hf_config(num_labels=num_labels, **extra))
    reference.save_pretrained(tmp_path, safe_serialization=True)
    ours = ours_class.from_pretrained(str(tmp_path), require_head=True)
    assert type(ours.encoder) is kbz.ModernBertEncoder
    inputs = random_inputs(seq_length=LENGTH, vocab_size=99)
    with torch.no_grad():
        expected = reference(**torch_inputs(inputs))
    assert_like_transformers(outputs_as_transformers(ours, inputs), expected, inputs)


def test_packed_classifier_pools_each_text(tmp_path):
    """Packed rows with `sequence_starts` classify each text as alone, with [CLS] and with mean pooling."""
    rng = np.random.default_rng(2)
    lengths = [9, 5]
    ids = rng.integers(3, 99, sum(lengths) + 2).astype("int32")
    numbers = np.concatenate([np.full(n, i + 1) for i, n in enumerate(lengths)] + [np.zeros(2)]).astype("int32")
    for pooling in ("cls", "mean"):
        reference = seeded(transformers.ModernBertForSequenceClassification,
                           hf_config(num_labels=3, classifier_pooling=pooling))
        reference.save_pretrained(tmp_path / pooling, safe_serialization=True)
        ours = kbz.Classifier.from_pretrained(str(tmp_path / pooling), require_head=True)
        logits = ours({"input_word_ids": ids[None], "input_mask": numbers[None], "input_type_ids": 0 * ids[None],
                       "sequence_starts": np.array([[0, lengths[0]]], "int32")})["logits"].numpy()[0]
        for slot, number in enumerate((1, 2)):
            with torch.no_grad():
                expected = reference(input_ids=torch.tensor(ids[numbers == number][None]).long()).logits.numpy()
            np.testing.assert_allclose(logits[slot], expected[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("ours_class,suffix", [(kbz.Encoder, "Model"), *HEADS],
                         ids=["Model", *[suffix for _, suffix in HEADS]])
def test_save_pretrained_loads_in_transformers(tmp_path, ours_class, suffix):
    kwargs = {"num_classes": 3} if ours_class in (kbz.Classifier, kbz.TokenClassifier) else {}
    ours = ours_class(OURS) if ours_class is kbz.Encoder else ours_class(kbz.Encoder(OURS), **kwargs)
    ours.save_pretrained(str(tmp_path / "saved"))
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert saved["model_type"] == "modernbert" and saved["architectures"] == ["ModernBert" + suffix]
    reference, loading = getattr(transformers, "ModernBert" + suffix).from_pretrained(
        str(tmp_path / "saved"), attn_implementation="eager", output_loading_info=True)
    assert not any(loading[key] for key in ("missing_keys", "unexpected_keys", "mismatched_keys")), loading
    inputs = random_inputs(seq_length=LENGTH, vocab_size=64)
    with torch.no_grad():
        expected = reference.eval()(**torch_inputs(inputs))
    got = outputs_as_transformers(ours, inputs)
    assert_like_transformers(got, expected, inputs)
    again = outputs_as_transformers(type(ours).from_pretrained(str(tmp_path / "saved")), inputs)
    for key, value in again.items():
        np.testing.assert_array_equal(value, got[key])


@pytest.mark.parametrize("change,message", [
    ({"layer_types": ["sliding_attention", "full_attention", "full_attention"]}, "layer_types"),
    ({"rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4}}},
     "rope_type 'linear'"),
    ({"decoder_bias": False}, "decoder_bias"),
    ({"hidden_size": 36}, "even head size"),
])
def test_unsupported_config_names_the_file(tmp_path, change, message):
    values = json.loads(hf_config().to_json_string())
    values.update(change)
    (tmp_path / "config.json").write_text(json.dumps(values))
    with pytest.raises(ValueError, match=message) as raised:
        kbz.ModernBertConfig.from_json_file(str(tmp_path / "config.json"))
    assert str(tmp_path / "config.json") in str(raised.value)


def test_tokenizer_json_gives_transformers_ids(tmp_path):
    """A byte-level BPE in ModernBERT's layout (NFC normalizer, its special tokens, `[CLS] a [SEP] b [SEP]` by a
    TemplateProcessing), trained by `tokenizers` and saved by transformers as tokenizer.json alone: kbz.Tokenizer's
    ids, single and pair, truncated, equal AutoTokenizer's, decomposed accents included; ours saved back is read by
    AutoTokenizer alike. Offsets point into the text as given, not its NFC form."""
    texts = [line for line in (REPO_ROOT / "keras_bert_zoo" / "data" / "samples" / "pretraining_corpus.txt").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    # Decomposed (NFD) accents: NFC makes "e\u0301" the one character "\u00e9", which has other byte tokens.
    decomposed = ["cafe\u0301 de\u0301ja\u0300 vu, A\u030angstro\u0308m", "nai\u0308ve \u00e9t\u00e9 e\u0301te\u0301"]
    texts = decomposed + texts
    write_modernbert_tokenizer(texts, tmp_path / "hf")
    assert sorted(path.name for path in (tmp_path / "hf").iterdir()) == ["tokenizer.json", "tokenizer_config.json"]
    ours = kbz.Tokenizer.from_pretrained(str(tmp_path / "hf"))
    ours.save_pretrained(str(tmp_path / "ours"))
    firsts, seconds = texts[:-1], texts[1:]
    for directory in ("hf", "ours"):
        reference = transformers.AutoTokenizer.from_pretrained(str(tmp_path / directory))
        for args in ((texts,), (firsts, seconds)):
            expected = reference(*args, max_length=32, truncation=True, padding="max_length")["input_ids"]
            assert ours(*args, max_length=32)["input_word_ids"].numpy().tolist() == expected
    assert ours.tokenize(decomposed[0]).numpy().tolist() == ours.tokenize(
        unicodedata.normalize("NFC", decomposed[0])).numpy().tolist()
    ids, starts, ends = (t.numpy().tolist() for t in ours.tokenize_with_offsets(decomposed[0]))
    raw = decomposed[0].encode("utf-8")
    assert starts[0] == 0 and ends[-1] == len(raw) and starts[1:] == ends[:-1]  # The spans tile the text as given.
    assert raw[starts[ids.index(ours.tokenize(" vu").numpy()[0])]:].startswith(b" vu")
    # Texts without tokens, and no texts: tf-text's offset mapping refuses the one and crashes on the other.
    batch = [t.to_list() for t in ours.tokenize_with_offsets(["", decomposed[0], ""])]
    assert batch == [[[], ids, []], [[], starts, []], [[], ends, []]]
    assert [t.shape[0] for t in ours.tokenize_with_offsets(np.array([], dtype=object))] == [0, 0, 0]


def test_export_reads_8000_tokens_through_the_cc_loader(tmp_path):
    """Exported at the model's own length (8,192 tokens, past BERT's 512), a classifier reads a text of 8,000 tokens
    whole: through TF Serving's C++ loader as in Python, and as the Keras model on all its ids."""
    import subprocess
    import sys

    import tensorflow as tf

    from keras_bert_zoo.export.cc_saved_model_session import CcSavedModelSession
    from serving_loaders import assert_same_outputs, strings

    checkpoint = tmp_path / "checkpoint"
    vocab_size = write_modernbert_tokenizer(["a delightful film", "a dull mess"] * 20, checkpoint, vocab_size=300)
    seeded(transformers.ModernBertForSequenceClassification, hf_config(
        vocab_size=vocab_size, max_position_embeddings=8192, pad_token_id=5, bos_token_id=3, eos_token_id=4,
        cls_token_id=3, sep_token_id=4, num_attention_heads=2, num_labels=2)).save_pretrained(
            checkpoint, safe_serialization=True)
    export_dir = tmp_path / "export"
    subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "export_saved_model.py"),
                    f"--init_checkpoint={checkpoint}", "--task=classifier", f"--export_dir={export_dir}",
                    "--max_seq_length=8192"], check=True, capture_output=True, timeout=600)
    tokenizer = kbz.Tokenizer.from_pretrained(str(checkpoint))
    # A delightful first half, a dull second one past token 4,000: a window of 512 would see only the first.
    halves = [" a delightful film", " a dull mess"]
    text = "".join(half * (4_000 // len(tokenizer.tokenize(half).numpy())) for half in halves).strip()
    ids = tokenizer([text], max_length=8192)
    assert 7_990 <= int(ids["input_mask"].numpy().sum()) < 8192
    texts = strings([text])  # One row: the global layer's scores at 8,192 tokens are 512 MiB a head.
    python = tf.saved_model.load(str(export_dir / "1")).signatures["serving_default"]
    expected = {key: value.numpy() for key, value in python(text=tf.constant(texts)).items()}
    with CcSavedModelSession(str(export_dir / "1")) as session:
        served, _ = session.run("serving_default", {"text": texts})
    assert_same_outputs(served, expected, "8,000-token text")
    model = kbz.Classifier.from_pretrained(str(checkpoint), require_head=True)
    logits = model(ids)["logits"]
    np.testing.assert_allclose(expected["probabilities"][0], tf.nn.softmax(logits).numpy()[0], atol=1e-5, rtol=0)
    cut = model(tokenizer([text], max_length=512))["logits"]
    assert np.abs(logits.numpy() - cut.numpy()).max() > 1e-3  # The answer reads past token 512.
