"""Token-id parity of BertTokenizer with the reference (HF's Python port of tokenization.py)."""

import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

import keras_bert_zoo as kbz
from conftest import write_vocab

TEXTS = [
    "Hello, world! This is BERT.",
    "Café crème brûlée, naïve façade — déjà vu.",
    "ÀÉÎÕÜ àéîõü ÇÑ çñ Ångström Øresund Straße ẞIG İstanbul ΟΔΟΣ ΣΑΣ",
    "東京タワーは日本の首都にあります。中文字符测试，繁體字。",
    "한국어 문장입니다. ภาษาไทย. हिन्दी भाषा. العربية لغة. עברית.",
    "Emoji: 😀🎉👍🏽 👩‍👩‍👧 ❤️ and symbols ©®™ € £ ¥ § ¶ ° ± × ÷",
    "Control\x00chars\x07here\x1b[0m and zero\u200bwidth\u200d joiner\ufeffBOM \ufffd",
    "Tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em-space\u3000ideographic\u2028line\u2029para",
    "Supercalifragilisticexpialidocious " + "a" * 99 + " " + "b" * 100 + " " + "c" * 101 + " " + "é" * 101,
    "Punctuation!!! ... ?! \"quotes\" 'single' (paren) [brackets] {braces} <angle> «guillemets» „low“ ‘curly’",
    "Ellipsis… fullwidth ＡＢＣ１２３ ligature ﬁne ﬂow ﬀ ½ ² ℌ Ⅻ ㎏ ｶﾀｶﾅ",
    "Decomposed: e\u0301 a\u0300 n\u0303 o\u0308 and composed é à ñ ö; Ǆ ǅ ǆ Ǉ",
    "URLs https://example.com/path?q=1&x=y#frag emails someone@example.org #hashtag @user",
    "Numbers 3.14159, 1,000,000, -42, 2^10, 10%, $5.99, 50¢",
    "Mixed CJK and latin: BERT在2018年发布。Transformers库很受欢迎!",
    "",
    "   ",
    "\x00\x01\x02",
    "I'm can't won't they're y'all o'clock rock'n'roll",
    "Ελληνικά κείμενα, Русский текст, Українська мова, Ꙋ",
    "Tiếng Việt có dấu: Hà Nội, Thành phố Hồ Chí Minh, người Việt",
    "Dingbats ✂✈☎ arrows ←↑→↓ math ∑∫√∞≠≤ box ┌─┐ music ♪♫",
    "[CLS] and [SEP] typed by a user stay text, as [MASK] does.",
    # Piece edges: \v and \f are removed, not split on; marks and sigmas next to whitespace.
    "Edges: a\x0bb c\x0cd \u0301x ΑΣ ΣΑ ς\tΣ\nend  double  space é\x0be naïve\x0ctext \u0301 Σ",
    # Runs of ASCII words between other words, at the start, middle and end, across tabs.
    "ÉTÉ starts, mid\u00e9word and\tab\u00e9\tx, two runs here ü then  \u00a0 tail ends ß",
]
PAIRS = [
    ("How old is the universe?", "About 13.8 billion years, according to the Planck mission."),
    ("Short", "A much longer second segment that will need truncation because it goes on and on " * 3),
    ("A much longer first segment that will need truncation because it goes on and on " * 3, "Short"),
    ("Équilibré " * 20, "équilibré " * 20),
    ("中文问题？", "答案在这里。"),
]


def _vocab_for(texts, reference_basic):
    """A vocab holding each word, character and ##character of `texts`, so ids discriminate."""
    tokens = []
    for text in texts:
        for word in reference_basic.tokenize(text):
            tokens += [word, word[:3], "##" + word[3:6]] + list(word) + ["##" + c for c in word]
    return tokens


@pytest.fixture(scope="module", params=[True, False], ids=["uncased", "cased"])
def tokenizers(request, tmp_path_factory):
    lower = request.param
    from transformers.models.bert.tokenization_bert_legacy import BasicTokenizer

    basic = BasicTokenizer(do_lower_case=lower)
    vocab = write_vocab(tmp_path_factory.mktemp("vocab") / "vocab.txt",
                        _vocab_for(TEXTS + [t for pair in PAIRS for t in pair], basic))
    reference = BertTokenizerLegacy(vocab, do_lower_case=lower, split_special_tokens=True)
    return reference, kbz.BertTokenizer(vocab, lower_case=lower)


def _reference_ids(reference, text):
    # transformers 5's tokenize() ignores split_special_tokens for this class; _tokenize honours it.
    return reference.convert_tokens_to_ids(reference._tokenize(text, split_special_tokens=True))


def test_ids_match_reference(tokenizers):
    reference, ours = tokenizers
    got = ours.tokenize(TEXTS).to_list()
    for text, ids in zip(TEXTS, got):
        assert ids == _reference_ids(reference, text), repr(text)
    assert sum(len(ids) for ids in got) > 300
    assert len({i for ids in got for i in ids}) > 100  # The vocab really discriminates.


def test_each_text_alone_matches_batch(tokenizers):
    _, ours = tokenizers
    batch = ours.tokenize(TEXTS).to_list()
    for text, ids in zip(TEXTS, batch):
        assert ours.tokenize(text).numpy().tolist() == ids


def test_pairs_match_reference_with_longest_first_truncation(tokenizers):
    reference, ours = tokenizers
    for max_length in (16, 33, 64):
        firsts, seconds = zip(*PAIRS)
        packed = ours(list(firsts), list(seconds), max_length=max_length)
        expected = reference(list(firsts), list(seconds), max_length=max_length, truncation="longest_first",
                             padding="max_length", return_token_type_ids=True)
        np.testing.assert_array_equal(packed["input_word_ids"].numpy(), np.array(expected["input_ids"]))
        np.testing.assert_array_equal(packed["input_type_ids"].numpy(), np.array(expected["token_type_ids"]))
        np.testing.assert_array_equal(packed["input_mask"].numpy(), np.array(expected["attention_mask"]))
        assert packed["input_word_ids"].dtype == tf.int32


def test_single_segment_packing(tokenizers):
    reference, ours = tokenizers
    texts = [t for t in TEXTS if "[SEP]" not in t]  # HF's __call__ would read these as special tokens.
    packed = ours(texts, max_length=24)
    expected = reference(texts, max_length=24, truncation=True, padding="max_length", return_token_type_ids=True)
    np.testing.assert_array_equal(packed["input_word_ids"].numpy(), np.array(expected["input_ids"]))
    assert packed["input_word_ids"].shape == (len(texts), 24)
    assert not packed["input_type_ids"].numpy().any()


def test_minilm_vocab_on_varied_text(minilm_dir):
    reference = BertTokenizerLegacy(os.path.join(minilm_dir, "vocab.txt"), do_lower_case=True,
                                    split_special_tokens=True)
    ours = kbz.BertTokenizer.from_pretrained(minilm_dir)
    assert ours.lower_case and ours.vocab_size == 30522
    for text, ids in zip(TEXTS, ours.tokenize(TEXTS).to_list()):
        assert ids == _reference_ids(reference, text), repr(text)


def _code_point_texts(code_points):
    # Each code point inside a word, alone, repeated, and before a combining mark and final sigma.
    return ["a%sb %s %s xy%s\u0301\u03a3 ." % (chr(c), chr(c), chr(c) * 3, chr(c)) for c in code_points]


@pytest.mark.parametrize("lower", [True, False])
def test_every_code_point_below_u3400(minilm_dir, lower):
    reference = BertTokenizerLegacy(os.path.join(minilm_dir, "vocab.txt"), do_lower_case=lower,
                                    split_special_tokens=True)
    ours = kbz.BertTokenizer(os.path.join(minilm_dir, "vocab.txt"), lower_case=lower)
    code_points = [c for c in range(1, 0x3400)] + list(range(0x1F300, 0x1F700)) + [0x4E00, 0x9FFF, 0x20000]
    texts = _code_point_texts(code_points)
    mismatched = [hex(c) for c, text, ids in zip(code_points, texts, ours.tokenize(texts).to_list())
                  if ids != _reference_ids(reference, text)]
    # ICU's lower-casing predates these Unicode 14 marks, so a final sigma after them differs.
    unicode14_marks = {hex(c) for c in list(range(0x898, 0x8A0)) + list(range(0x8CA, 0x8D3)) + [0xC3C, 0x180F]
                       + list(range(0x1AC1, 0x1ACF)) + [0x1DFA]}
    assert set(mismatched) <= (unicode14_marks if lower else set())


@pytest.mark.parametrize("lower", [True, False])
def test_fast_path_characters_equal_the_reference(minilm_dir, lower):
    """The non-ASCII characters that the fast path takes (its punctuation, every 61st CJK ideograph) stay exact."""
    from keras_bert_zoo.text.bert_char_classes import fast_path_patterns

    reference = BertTokenizerLegacy(os.path.join(minilm_dir, "vocab.txt"), do_lower_case=lower,
                                    split_special_tokens=True)
    ours = kbz.BertTokenizer(os.path.join(minilm_dir, "vocab.txt"), lower_case=lower)
    every = np.array([c for c in range(0x80, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF])
    is_fast = tf.strings.regex_full_match([chr(c) for c in every], fast_path_patterns()[0]).numpy()
    fast = every[is_fast].tolist()
    assert 0x4E2D in fast and 0xFF0C in fast and 0x3002 in fast and 0xF900 not in fast
    code_points = [c for c in fast if not 0x3400 <= c <= 0x2FA1F or c % 61 == 0]
    # Whole texts of them alone take the fast path; the mixed texts of `_code_point_texts` take it by pieces.
    texts = [f"Ab{chr(c)}cd {chr(c) * 2}" for c in code_points] + _code_point_texts(code_points)
    mismatched = [text for text, ids in zip(texts, ours.tokenize(texts).to_list())
                  if ids != _reference_ids(reference, text)]
    assert not mismatched, mismatched[:5]


@pytest.mark.slow
@pytest.mark.parametrize("lower", [True, False])
def test_every_code_point(minilm_dir, lower):
    reference = BertTokenizerLegacy(os.path.join(minilm_dir, "vocab.txt"), do_lower_case=lower,
                                    split_special_tokens=True)
    ours = kbz.BertTokenizer(os.path.join(minilm_dir, "vocab.txt"), lower_case=lower)
    code_points = [c for c in range(1, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts = _code_point_texts(code_points)
    mismatched = [c for c, text, ids in zip(code_points, texts, ours.tokenize(texts).to_list())
                  if ids != _reference_ids(reference, text)]
    import unicodedata

    # Only marks newer than ICU's tables, and only through the final-sigma rule.
    assert all(unicodedata.category(chr(c)) == "Mn" for c in mismatched) and len(mismatched) < 150


def test_non_ascii_texts_are_cut_into_ascii_runs_and_other_words():
    """Only the words with other characters take the slow exact ops; ASCII runs keep the fast path."""
    from keras_bert_zoo.text.bert_tokenizer import _pieces

    pieces = _pieces(tf.constant(["hello café world and\tnaïve", "x\x00y é", "ascii only"])).to_list()
    assert pieces == [[b"hello ", "café".encode(), b" world ", "and\tnaïve".encode()],
                      [b"x\x01y", b" ", "é".encode()], [b"ascii only"]]


def test_invalid_utf8_and_odd_inputs(minilm_dir):
    ours = kbz.BertTokenizer.from_pretrained(minilm_dir)
    texts = tf.constant([b"ok \xff\xfe broken \xc3", b"", b"x" * 100000, "\u0000".encode()])
    ids = ours.tokenize(texts)
    assert ids.shape[0] == 4
    reference = BertTokenizerLegacy(os.path.join(minilm_dir, "vocab.txt"), split_special_tokens=True)
    # Invalid bytes read as U+FFFD, which the reference drops.
    assert ids[0].numpy().tolist() == _reference_ids(reference, "ok \ufffd\ufffd broken \ufffd")
    assert ids[1].numpy().tolist() == [] and ids[3].numpy().tolist() == []
    assert ids[2].numpy().tolist() == [ours.unk_id]
    assert ours.tokenize(tf.constant([], tf.string)).shape[0] == 0


def _as_lists(packed):
    return {name: values.numpy().tolist() for name, values in packed.items()}


@pytest.fixture(scope="module")
def minilm_tokenizer(minilm_dir):
    return kbz.BertTokenizer.from_pretrained(minilm_dir)


def test_one_string_and_batches_agree_eagerly_and_traced(minilm_tokenizer):
    """Every call form gives the batch path's values: one string unbatched, eager or in tf.function."""
    ours = minilm_tokenizer
    batch_ids = ours.tokenize(TEXTS).to_list()
    batch_packed = _as_lists(ours(TEXTS, max_length=16))
    pair_packed = _as_lists(ours([a for a, _ in PAIRS], [b for _, b in PAIRS], max_length=24))
    traced_tokenize = tf.function(ours.tokenize)
    traced_call = tf.function(lambda texts, pairs=None: ours(texts, pairs, max_length=16 if pairs is None else 24))
    for row, text in enumerate(TEXTS):
        for tokenize in (ours.tokenize, traced_tokenize):
            ids = tokenize(text)
            assert ids.shape.rank == 1 and ids.numpy().tolist() == batch_ids[row], repr(text)
        for call in (lambda t: ours(t, max_length=16), traced_call):
            one = call(text)
            assert one["input_word_ids"].shape == (16,)
            assert _as_lists(one) == {name: values[row] for name, values in batch_packed.items()}
    for row, (first, second) in enumerate(PAIRS):
        for call in (lambda a, b: ours(a, b, max_length=24), traced_call):
            assert _as_lists(call(first, second)) == {name: values[row] for name, values in pair_packed.items()}
    assert traced_tokenize(tf.constant(TEXTS)).to_list() == batch_ids
    assert _as_lists(traced_call(tf.constant(TEXTS))) == batch_packed
    # Batches of every size reuse one trace per call form.
    for size in (1, 3, 7):
        assert ours.tokenize(TEXTS[:size]).to_list() == batch_ids[:size]
    # One string eagerly takes plain Python (`PythonWordPieces`), which traces nothing.
    assert [key[:2] for key in ours._untracked.compiled.functions if key[0] == "tokenize"] == [("tokenize", ("tensor", "string", 1))]


@pytest.mark.parametrize("lower", [True, False])
def test_one_string_eagerly_matches_reference_on_code_points(minilm_dir, lower):
    """The Python path of one eager string follows the reference on every code point below U+3400 and more."""
    reference = BertTokenizerLegacy(os.path.join(minilm_dir, "vocab.txt"), do_lower_case=lower,
                                    split_special_tokens=True)
    ours = kbz.BertTokenizer(os.path.join(minilm_dir, "vocab.txt"), lower_case=lower)
    code_points = list(range(1, 0x3400)) + list(range(0x1F300, 0x1F700)) + [0x4E00, 0x9FFF, 0x20000, 0xFFFD]
    texts = _code_point_texts(code_points) + TEXTS
    mismatched = [text for text in texts if ours.tokenize(text).numpy().tolist() != _reference_ids(reference, text)]
    assert not mismatched
    # Scalar string tensors and UTF-8 bytes, invalid ones included, take the same path.
    assert ours.tokenize(tf.constant(TEXTS[1])).numpy().tolist() == _reference_ids(reference, TEXTS[1])
    assert ours.tokenize(b"ok \xff\xfe broken \xc3").numpy().tolist() == _reference_ids(
        reference, "ok \ufffd\ufffd broken \ufffd")
    assert ours.tokenize("").dtype == tf.int32 and ours.tokenize("").shape == (0,)


def test_batches_in_parallel_slices_equal_one_slice(minilm_tokenizer):
    ours = minilm_tokenizer
    for texts in (TEXTS, TEXTS[:1], []):
        texts = tf.constant(texts, tf.string)
        whole = ours._tokenize(texts).to_list()
        for slices in (2, 3):
            assert ours._tokenize(texts, slices).to_list() == whole
            assert _as_lists(ours._call(texts, texts, 32, slices)) == _as_lists(ours._call(texts, texts, 32))


def test_tf_data_map_before_and_after_batch(minilm_tokenizer):
    ours = minilm_tokenizer
    labels = list(range(len(TEXTS)))
    expected = _as_lists(ours(TEXTS, max_length=16))
    before = tf.data.Dataset.from_tensor_slices((TEXTS, labels)).map(lambda t, y: (ours(t, max_length=16), y))
    after = tf.data.Dataset.from_tensor_slices((TEXTS, labels)).batch(4).map(lambda t, y: (ours(t, max_length=16), y))
    for dataset in (before.batch(4), after):
        batches = list(dataset)
        assert len(batches) == (len(TEXTS) + 3) // 4 and batches[0][0]["input_word_ids"].shape == (4, 16)
        got = {name: [row for inputs, _ in batches for row in inputs[name].numpy().tolist()] for name in expected}
        assert got == expected
        assert [y for _, ys in batches for y in ys.numpy().tolist()] == labels
    pairs = tf.data.Dataset.from_tensor_slices(([a for a, _ in PAIRS], [b for _, b in PAIRS]))
    mapped = list(pairs.map(lambda a, b: ours.tokenize(b)))
    assert [ids.numpy().tolist() for ids in mapped] == ours.tokenize([b for _, b in PAIRS]).to_list()


def test_detokenize_and_tensor_id_to_token(minilm_tokenizer):
    ours = minilm_tokenizer
    texts = ["unaffable hello, world", "the cat sat", ""]
    ids = ours.tokenize(texts)
    assert ours.detokenize(ids).numpy().tolist() == [b"unaffable hello , world", b"the cat sat", b""]
    packed = ours(texts, max_length=12)["input_word_ids"]
    assert ours.detokenize(packed).numpy().tolist() == [b"unaffable hello , world", b"the cat sat", b""]
    assert ours.detokenize(packed[1], skip_special_tokens=False).numpy().startswith(b"[CLS] the cat sat [SEP] [PAD]")
    assert ours.detokenize(ours.tokenize("a naïve café")).numpy() == b"a naive cafe"
    assert tf.function(ours.detokenize)(ids).numpy().tolist() == ours.detokenize(ids).numpy().tolist()
    tokens = ours.id_to_token(ids)
    assert tokens.to_list()[0] == [ours.id_to_token(i).encode() for i in ids[0].numpy().tolist()]
    assert ours.id_to_token(np.array([101, 102])).numpy().tolist() == [b"[CLS]", b"[SEP]"]
    assert ours.id_to_token(101) == "[CLS]"
    assert ours.token_to_id("[CLS]") == 101
    with pytest.raises(ValueError, match="'no-such-token' is not in the vocab"):
        ours.token_to_id("no-such-token")
    with pytest.raises(ValueError, match="texts is one string, so text_pairs must be one string too"):
        ours("one text", ["a batch", "of pairs"])


def test_from_pretrained_sources_and_save(tmp_path, minilm_dir):
    ours = kbz.BertTokenizer.from_pretrained(minilm_dir)
    ours.save_pretrained(str(tmp_path / "saved"))
    reloaded = kbz.BertTokenizer.from_pretrained(str(tmp_path / "saved"))
    assert reloaded.vocab == ours.vocab and reloaded.lower_case
    with open(tmp_path / "saved" / "tokenizer_config.json") as f:
        assert json.load(f)["do_lower_case"] is True
    cased_vocab = write_vocab(tmp_path / "vocab.txt", ["Hello", "world", "hello"])
    assert kbz.BertTokenizer.from_pretrained(cased_vocab).lower_case is False
    assert kbz.BertTokenizer.from_pretrained(cased_vocab, lower_case=True).lower_case is True
    google_dir = tmp_path / "uncased_L-2_H-128_A-2"
    google_dir.mkdir()
    write_vocab(google_dir / "vocab.txt", ["Hello"])
    assert kbz.BertTokenizer.from_pretrained(str(google_dir / "bert_model.ckpt")).lower_case is True


@pytest.mark.parametrize("lower", [True, False])
def test_a_directory_that_transformers_5_wrote_loads_from_its_tokenizer_json(tmp_path, minilm_dir, lower):
    """transformers 5's save_pretrained writes tokenizer.json and no vocab.txt; the ids stay the reference's."""
    from transformers import BertTokenizerFast

    reference = BertTokenizerFast(os.path.join(minilm_dir, "vocab.txt"), do_lower_case=lower)
    saved = tmp_path / "hf"
    reference.save_pretrained(str(saved))
    assert not (saved / "vocab.txt").exists() and (saved / "tokenizer.json").exists()
    ours = kbz.BertTokenizer.from_pretrained(str(saved))
    assert ours.lower_case is lower and ours.vocab_size == reference.vocab_size
    texts = ["Héllo, World! Naïve café 東京 costs $3.50.", "Unbelievably well-written: a MASTERPIECE."]
    expected = reference(texts, ["And a second text.", ""], padding="max_length", max_length=24, truncation=True)
    got = ours(texts, ["And a second text.", ""], max_length=24)
    np.testing.assert_array_equal(got["input_word_ids"], expected["input_ids"])
    np.testing.assert_array_equal(got["input_type_ids"], expected["token_type_ids"])
    # Such a directory with the model's weights is a from_pretrained source whose task models take raw text.
    for name in ("config.json", "model.safetensors"):
        os.symlink(os.path.join(minilm_dir, name), saved / name)
    classifier = kbz.BertClassifier.from_pretrained(str(saved), num_classes=2)
    assert classifier.predict(["a fine film"], verbose=0)["logits"].shape == (1, 2)
    ours.save_pretrained(str(tmp_path / "ours"))
    assert kbz.BertTokenizer.from_pretrained(str(tmp_path / "ours")).vocab == ours.vocab


def test_bad_vocab_files(tmp_path):
    with pytest.raises(ValueError, match="lacks the special token"):
        (tmp_path / "v1.txt").write_text("[PAD]\n[UNK]\nhello\n")
        kbz.BertTokenizer(str(tmp_path / "v1.txt"))
    with pytest.raises(ValueError, match=r"v2.txt:7: token 'a' repeats line 6"):
        (tmp_path / "v2.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\na\n")
        kbz.BertTokenizer(str(tmp_path / "v2.txt"))
    with pytest.raises(ValueError, match="Cannot read vocab file"):
        kbz.BertTokenizer(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="No vocab.txt or tokenizer.json"):
        kbz.BertTokenizer.from_pretrained(str(tmp_path))
    (tmp_path / "bpe").mkdir()
    (tmp_path / "bpe" / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": {}}}))
    with pytest.raises(ValueError, match="holds a BPE tokenizer; BertTokenizer reads WordPiece vocabs"):
        kbz.BertTokenizer.from_pretrained(str(tmp_path / "bpe"))
