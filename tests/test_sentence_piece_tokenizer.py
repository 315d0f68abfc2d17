"""SentencePieceTokenizer against transformers' XLM-R / ALBERT tokenizers and the sentencepiece library."""

import os
import pathlib
import random
import re
import shutil

import numpy as np
import pytest
import sentencepiece as spm
import tensorflow as tf
from transformers import AlbertTokenizer, XLMRobertaTokenizer

from keras_bert_zoo.text import SegmentPacker, SentencePieceTokenizer
from test_tokenizer import PAIRS, TEXTS

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "keras_bert_zoo" / "data" / "samples"
TYPED_SPECIALS = "User text with <mask>, </s>, <s>, <pad>, <unk>, [CLS] [SEP] [MASK] stays text."
# Runs of one character or string, which unigram models cut into equal-scoring orderings of the same pieces.
RUNS = ["Wow!!! Really?!?! No..... way...... ok.. 5555555555 hmmmmmm zzzz", "---------- ===== ~~~~ ***",
        "Company-------------Price---Broker----------------", "ha ha hahahaha xxx xxxx xxxxx 8,333 vehicles",
        "MDCCCCLVI and 33333 or 1000000000 ... ........ !!!!!!!!!!", "「好好好」。。。。。。 哈哈哈哈哈哈"]
CHARACTERS = ("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ 0123456789 .,;:!?'\"()-–—…«»“” éèêëàâäçñöüßÉÀÇ ąęłżźćńś"
              " 東京大学中文字符测试繁體日本語のテキスト 한국어 ภาษาไทย العربية Ελληνικά Русский ＡＢＣ１２３ ｶﾀｶﾅ ﬁ ½ ²"
              " 😀🎉👍🏽 ☃ ✂ \t\n\r\x0b\x0c\x85\xa0\u2028\u3000\u200b\ufeff\x00\x07 e\u0301 ▁")


def _generated_texts(count, seed=0):
    rng = random.Random(seed)
    words = (SAMPLES / "pretraining_corpus.txt").read_text(encoding="utf-8").split()
    texts = []
    for _ in range(count):
        parts = [rng.choice(words) if rng.random() < 0.6 else "".join(rng.choices(CHARACTERS, k=rng.randint(1, 6)))
                 for _ in range(rng.randint(0, 12))]
        texts.append(" ".join(parts))
    return texts


def _sample_texts():
    lines = (SAMPLES / "pretraining_corpus.txt").read_text(encoding="utf-8").splitlines()
    lines += [line.split("\t")[0] for line in (SAMPLES / "sentiment.tsv").read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line.strip()]


def _train(directory, name, model_type, lower=False, **options):
    corpus = _sample_texts() + TEXTS + RUNS * 5 + _generated_texts(300, seed=1)
    corpus = [text.replace("\n", " ").lower() if lower else text.replace("\n", " ") for text in corpus]
    (directory / "corpus.txt").write_text("\n".join(corpus), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(directory / "corpus.txt"), model_prefix=str(directory / "m"),
                                   vocab_size=options.pop("vocab_size", 1200), model_type=model_type,
                                   character_coverage=0.9995, minloglevel=2, num_threads=1, **options)
    (directory / "m.model").rename(directory / name)
    return str(directory / name)


@pytest.fixture(scope="module")
def xlmr_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("xlmr")
    _train(directory, "sentencepiece.bpe.model", "unigram")
    return str(directory)


@pytest.fixture(scope="module")
def xlmr(xlmr_dir):
    return XLMRobertaTokenizer.from_pretrained(xlmr_dir), SentencePieceTokenizer.from_pretrained(xlmr_dir)


@pytest.fixture(scope="module")
def xlmr_library(xlmr_dir):
    return spm.SentencePieceProcessor(model_file=os.path.join(xlmr_dir, "sentencepiece.bpe.model"))


@pytest.fixture(scope="module")
def albert_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("albert")
    _train(directory, "spiece.model", "unigram", lower=True, pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
           control_symbols=["[CLS]", "[SEP]", "[MASK]"])
    return str(directory)


def _texts():
    return [t for t in TEXTS + RUNS + _sample_texts() + _generated_texts(400) if "[" not in t]


def _reference_ids(reference, texts):
    return reference(texts, add_special_tokens=False)["input_ids"]


def _same_normalization(reference, library, text):
    """Whether transformers normalizes `text` as SentencePiece does (whitespace aside).

    transformers' port of the model's character map looks up a grapheme of
    under 6 bytes by its shortest known prefix and replaces all of it, so
    "…" or "Ａ" followed by a combining mark loses the mark; SentencePiece
    keeps it.
    """
    def spaceless(normalized):
        return "".join(normalized.replace("\u2581", " ").split())

    return spaceless(reference.backend_tokenizer.normalizer.normalize_str(text)) == spaceless(library.normalize(text))


def _mismatches(reference, library, texts, got):
    """Texts whose ids differ from transformers', less those where its normalizer differs from SentencePiece's.

    Those are checked to be few and to hold a combining mark.
    """
    mismatched = [text for text, ids, expected in zip(texts, got, _reference_ids(reference, texts)) if ids != expected]
    unexplained = [text for text in mismatched if _same_normalization(reference, library, text)]
    assert len(mismatched) - len(unexplained) <= max(3, len(texts) // 100)
    assert all(re.search(r"[\u0300-\u036f]", text) for text in mismatched if text not in unexplained)
    return unexplained


def test_ids_equal_transformers_xlm_roberta(xlmr, xlmr_library):
    reference, ours = xlmr
    texts = _texts()
    got = ours.tokenize(texts).to_list()
    assert _mismatches(reference, xlmr_library, texts, got) == []
    assert len({i for ids in got for i in ids}) > 600  # The vocab really discriminates.
    assert ours.vocab == reference.convert_ids_to_tokens(list(range(len(reference))))
    assert (ours.pad_id, ours.unk_id, ours.cls_id, ours.sep_id, ours.mask_id) == (
        reference.pad_token_id, reference.unk_token_id, reference.cls_token_id, reference.sep_token_id,
        reference.mask_token_id)
    assert not ours.lower_case and ours.vocab_size == len(reference)


def test_runs_of_a_repeated_string_are_ordered_as_transformers_does(xlmr):
    reference, ours = xlmr
    texts = [run * n for run in ("!", ".", "x", "5", "-", "ha", "好", "。") for n in range(2, 30)]
    assert ours.tokenize(texts).to_list() == _reference_ids(reference, texts)


def test_every_code_point(xlmr, xlmr_library):
    reference, ours = xlmr
    code_points = [c for c in range(1, 0x3400) if not 0xD800 <= c < 0xE000] + list(range(0x1F300, 0x1F700))
    texts = ["a%sb %s %s x%s ." % (chr(c), chr(c), chr(c) * 3, chr(c)) for c in code_points]
    assert _mismatches(reference, xlmr_library, texts, ours.tokenize(texts).to_list()) == []


def test_bpe_and_unigram_models_equal_the_sentencepiece_library(tmp_path, xlmr_dir):
    # U+0085 splits words in transformers, which this tokenizer follows, but not in SentencePiece.
    texts = [text for text in _texts() if "\x85" not in text]
    for model_type, model_file in (("bpe", _train(tmp_path, "bpe.model", "bpe")),
                                   ("unigram", os.path.join(xlmr_dir, "sentencepiece.bpe.model"))):
        library = spm.SentencePieceProcessor(model_file=model_file)
        ours = SentencePieceTokenizer(model_file)
        assert ours.model_type == model_type
        # fairseq's ids: <unk> 0 -> 3, any other piece one up.
        expected = [[3 if i == 0 else i + 1 for i in ids] for ids in library.encode(texts)]
        agree = np.mean([a == b for a, b in zip(ours.tokenize(texts).to_list(), expected)])
        # Unigram ties of equal scores are broken as transformers does, SentencePiece's by float32 rounding.
        assert agree == 1.0 if model_type == "bpe" else agree > 0.97


def test_typed_special_tokens_stay_text(xlmr_dir, xlmr):
    _, ours = xlmr
    library = spm.SentencePieceProcessor(model_file=os.path.join(xlmr_dir, "sentencepiece.bpe.model"))
    ids = ours.tokenize(TYPED_SPECIALS).numpy().tolist()
    assert ids == [3 if i == 0 else i + 1 for i in library.encode(TYPED_SPECIALS)]
    assert not set(ids) & {ours.cls_id, ours.sep_id, ours.pad_id, ours.mask_id}


def _truncated_pairs_equal_transformers(reference, ours, max_lengths, truncation):
    """Asserts that pairs of every mix of lengths pack as `reference` packs them, for each max_length.

    The pairs are both short, one side much longer, both long, equal or off
    by one; the max_lengths leave odd and even budgets for the segments.
    Where both segments are cut to an odd budget, transformers (Rust
    `tokenizers`) gives the extra token to the longer one, google-research's
    `_truncate_seq_pair` to the first: some rows must tell them apart.
    """
    words = " ".join(_sample_texts()).split()
    counts = (1, 2, 3, 6, 7, 20, 60)
    pairs = [(" ".join(words[:a]), " ".join(words[100:100 + b])) for a in counts for b in counts] + PAIRS
    firsts, seconds = (list(side) for side in zip(*pairs))
    segments = [ours.tokenize(firsts), ours.tokenize(seconds)]
    packer = ours.packer
    seq_pair = SegmentPacker(packer.start_ids, packer.between_ids, packer.end_ids, packer.pad_id,
                             packer.second_type_id, truncation="seq_pair")
    told_apart = 0
    for max_length in max_lengths:
        # The first through `__call__`, the others through its packer alone: each max_length is one more trace.
        packed = (ours(firsts, seconds, max_length=max_length) if max_length == max_lengths[0]
                  else packer.pack(segments, max_length))
        expected = reference(firsts, seconds, max_length=max_length, truncation=truncation, padding="max_length",
                             return_token_type_ids=True)
        for name, key in (("input_word_ids", "input_ids"), ("input_type_ids", "token_type_ids"),
                          ("input_mask", "attention_mask")):
            np.testing.assert_array_equal(packed[name].numpy(), expected[key], err_msg=f"{name} at {max_length}")
        told_apart += int((seq_pair.pack(segments, max_length)["input_word_ids"].numpy()
                           != expected["input_ids"]).any(1).sum())
    assert told_apart > 10
    one = ours(firsts[10], seconds[10], max_length=max_lengths[0])
    assert {name: values.numpy().tolist() for name, values in one.items()} == {
        name: values[10].numpy().tolist() for name, values in ours(firsts, seconds, max_length=max_lengths[0]).items()}


def test_pairs_and_truncation_equal_transformers(xlmr):
    reference, ours = xlmr
    # Budgets (max_length less 4 special ids) 5, 4, 9, 8, 23 and 36.
    _truncated_pairs_equal_transformers(reference, ours, (9, 8, 13, 12, 27, 40), truncation=True)
    texts = _texts()[:50]
    packed = ours(texts, max_length=20)
    expected = reference(texts, max_length=20, truncation=True, padding="max_length")
    np.testing.assert_array_equal(packed["input_word_ids"].numpy(), expected["input_ids"])
    assert ours.packer.pack_row([[10, 11], [12]], 8)["input_word_ids"].tolist() == [0, 10, 11, 2, 2, 12, 2, 1]


def test_one_string_batches_tf_function_and_tf_data_agree(xlmr):
    _, ours = xlmr
    texts = _texts()[:40]
    batch = ours.tokenize(texts).to_list()
    packed = {name: values.numpy() for name, values in ours(texts, max_length=24).items()}
    for row, text in enumerate(texts[:10]):
        one = ours.tokenize(text)
        assert one.shape.rank == 1 and one.dtype == tf.int32 and one.numpy().tolist() == batch[row]
        one_packed = ours(text, max_length=24)
        assert {name: values.numpy().tolist() for name, values in one_packed.items()} == {
            name: values[row].tolist() for name, values in packed.items()}
    traced = tf.function(ours.tokenize)
    assert traced(tf.constant(texts)).to_list() == batch
    assert tf.function(lambda t: ours(t, max_length=24))(tf.constant(texts))["input_word_ids"].numpy().tolist() == (
        packed["input_word_ids"].tolist())
    before = tf.data.Dataset.from_tensor_slices(texts).map(lambda t: ours(t, max_length=24)).batch(8)
    after = tf.data.Dataset.from_tensor_slices(texts).batch(8).map(lambda t: ours(t, max_length=24))
    for dataset in (before, after):
        rows = np.concatenate([batch_["input_word_ids"].numpy() for batch_ in dataset])
        np.testing.assert_array_equal(rows, packed["input_word_ids"])
    ragged = tf.data.Dataset.from_tensor_slices(texts).batch(8).map(ours.tokenize)
    assert [ids for part in ragged for ids in part.to_list()] == batch
    padded = ours.pack(texts[:3], texts[3:6], max_length=512)
    assert padded["input_word_ids"].shape[1] == max(
        len(a) + len(b) + 4 for a, b in zip(batch[:3], batch[3:6]))
    # Any number of parallel slices gives the same rows as one.
    assert ours._tokenize(tf.constant(texts), 3).to_list() == batch


def test_a_tokenizer_built_before_seeding_still_runs(xlmr_dir):
    import keras

    ours = SentencePieceTokenizer.from_pretrained(xlmr_dir)
    texts = _texts()[:4]
    before = ours.tokenize(texts).to_list()
    # Seeding clears TF's eager kernel cache, where tf-text keeps its own model resource.
    keras.utils.set_random_seed(3)
    assert ours.tokenize(texts).to_list() == before
    assert tf.function(ours.tokenize)(tf.constant(texts)).to_list() == before


def _check_offsets(texts, tokens, starts, ends, normalize):
    """Asserts that each token's span is its piece's text before normalization; returns the spans checked.

    Spans are in order and never overlap. Where one character normalizes to
    several pieces, the last spans it and those before are empty.
    """
    checked = 0
    for text, row_tokens, row_starts, row_ends in zip(texts, tokens, starts, ends):
        data = text.encode("utf-8")
        assert all(0 <= s <= e <= len(data) for s, e in zip(row_starts, row_ends))
        assert all(e <= s for e, s in zip(row_ends, row_starts[1:])), repr(text)
        pending = ""  # The pieces of an expansion before its last.
        for token, start, end in zip(row_tokens, row_starts, row_ends):
            piece, covered = token.lstrip("\u2581"), data[start:end].decode("utf-8")
            assert covered == covered.strip(), (text, token, covered)
            if token == "<unk>":
                assert covered
            elif not covered and piece:
                pending += piece
            else:
                assert normalize(covered).replace(" ", "") == pending + piece, (text, token, covered)
                pending = ""
            checked += 1
        assert not pending
    return checked


def test_offsets_slice_back_to_the_pieces(xlmr, xlmr_library):
    reference, ours = xlmr
    texts = _texts() + ["Ｈｅｌｌｏ　ｗｏｒｌｄ ﬁne café naïve 東京タワー。½ ⅓ ™", "  lead  and\ttrail  ", "e\u0301t\u00e9 "]
    ids, starts, ends = ours.tokenize_with_offsets(texts)
    assert ids.to_list() == ours.tokenize(texts).to_list()
    assert starts.dtype == tf.int64 and ends.dtype == tf.int64
    tokens = [reference.convert_ids_to_tokens(row) for row in ids.to_list()]
    normalize = lambda text: xlmr_library.normalize(text).replace("\u2581", "")  # noqa: E731
    assert _check_offsets(texts, tokens, starts.to_list(), ends.to_list(), normalize) > 3000
    one = ours.tokenize_with_offsets("Ｈｅｌｌｏ　ｗｏｒｌｄ")
    assert [x.shape.rank for x in one] == [1, 1, 1]
    text = "Ｈｅｌｌｏ　ｗｏｒｌｄ".encode("utf-8")
    assert "".join(text[s:e].decode() for s, e in zip(one[1].numpy(), one[2].numpy())) == "Ｈｅｌｌｏｗｏｒｌｄ"


def test_offsets_equal_transformers_where_both_cover_text(xlmr, xlmr_library):
    reference, ours = xlmr
    texts = [t for t in _texts() if _same_normalization(reference, xlmr_library, t)]
    ids, starts, ends = (x.to_list() for x in ours.tokenize_with_offsets(texts))
    expected = reference(texts, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    compared = 0
    for text, row_ids, row_starts, row_ends, row_expected in zip(texts, ids, starts, ends, expected):
        data = text.encode("utf-8")
        for token_id, start, end, (char_start, char_end) in zip(row_ids, row_starts, row_ends, row_expected):
            # Where both cover the piece's text unchanged (transformers gives a lone "▁" the next
            # character's span, maps "e\u0301" normalized to "é" to the "e" alone, and a piece after a
            # removed control character to that character).
            piece = ours.id_to_token(token_id).lstrip("\u2581")
            if start < end and data[start:end].decode("utf-8") == piece == text[char_start:char_end]:
                assert (start, end) == (len(text[:char_start].encode()), len(text[:char_end].encode())), (
                    text, ours.id_to_token(token_id), data[start:end])
                compared += 1
    assert compared > 3000


def test_tokenize_words_equals_transformers_split_into_words(xlmr):
    reference, ours = xlmr
    words = [w for t in _texts()[:60] for w in t.split()] + ["", "東京", "naïve", "...", "x"]
    got = ours.tokenize_words(words).to_list()
    encoding = reference(words, is_split_into_words=True, add_special_tokens=False)
    expected = [[] for _ in words]
    for token_id, word in zip(encoding["input_ids"], encoding.word_ids()):
        expected[word].append(token_id)
    assert got == expected
    assert ours.tokenize_words(tf.constant(words)).to_list() == got


def test_continues_word_and_detokenize(xlmr):
    reference, ours = xlmr
    continues = ours.continues_word()
    assert continues.dtype == bool and continues.shape == (ours.vocab_size,)
    special = set(reference.all_special_ids)
    assert continues.tolist() == [not token.startswith("\u2581") and i not in special
                                  for i, token in enumerate(ours.vocab)]
    texts = _texts()[:80]
    all_ids = ours.tokenize(texts)
    ids = tf.ragged.boolean_mask(all_ids, all_ids != ours.unk_id)  # <unk> stays, transformers would skip it.
    decoded = [text.decode("utf-8") for text in ours.detokenize(ids).numpy().tolist()]
    assert decoded == [reference.decode(row, skip_special_tokens=True) for row in ids.to_list()]
    packed = ours(texts[:4], max_length=128)["input_word_ids"]
    assert ours.detokenize(packed).numpy().tolist() == ours.detokenize(all_ids[:4]).numpy().tolist()
    assert ours.detokenize(packed[0]).numpy() == ours.detokenize(all_ids[:1]).numpy()[0]
    assert ours.id_to_token(5) == reference.convert_ids_to_tokens(5)
    assert ours.id_to_token(tf.constant([[5, 6]])).numpy().tolist() == [[t.encode() for t in
                                                                          reference.convert_ids_to_tokens([5, 6])]]
    assert ours.token_to_id("<mask>") == ours.mask_id == ours.vocab_size - 1


def test_albert_layout_equals_transformers(albert_dir):
    reference = AlbertTokenizer.from_pretrained(albert_dir)
    ours = SentencePieceTokenizer.from_pretrained(albert_dir)
    assert ours.lower_case and ours.strip_accents and ours.vocab == reference.convert_ids_to_tokens(
        list(range(len(reference))))
    texts = _texts() + ["``Quoted'' and ```triple''' ΟΔΟΣ ΣΑΣ İstanbul Ǆ Straße Ångström"]
    got = ours.tokenize(texts).to_list()
    normalize = reference.backend_tokenizer.normalizer.normalize_str
    mismatched = [t for t, ids, expected in zip(texts, got, _reference_ids(reference, texts)) if ids != expected]
    # transformers decomposes Hangul syllables (NFKD) and never composes them again, as its port of the
    # model's character map looks up graphemes of 6 bytes or more character by character; SentencePiece
    # composes them back.
    assert [t for t in mismatched if not re.search("[\u1100-\u11ff]", normalize(t))] == []
    # Budgets (max_length less 3 special ids) 5, 6, 11, 22 and 37.
    _truncated_pairs_equal_transformers(reference, ours, (8, 9, 14, 25, 40), truncation="longest_first")
    # Offsets index the original text even where lower-casing and accent stripping change its bytes.
    texts = [t for t in texts if t not in mismatched]
    ids, starts, ends = ours.tokenize_with_offsets(texts)
    tokens = [reference.convert_ids_to_tokens(row) for row in ids.to_list()]
    assert _check_offsets(texts, tokens, starts.to_list(), ends.to_list(), normalize) > 3000


def test_albert_offsets_of_empty_texts(albert_dir):
    """A batch of empty texts alone (a serving request) has no characters whose `` and '' pairs to find."""
    ours = SentencePieceTokenizer.from_pretrained(albert_dir)
    for texts in ([""], ["", ""]):
        assert [part.to_list() for part in ours.tokenize_with_offsets(texts)] == [[[]] * len(texts)] * 3
    assert [part.numpy().tolist() for part in ours.tokenize_with_offsets("")] == [[], [], []]


def test_from_pretrained_save_pretrained_and_bad_files(tmp_path, xlmr_dir, xlmr):
    reference, ours = xlmr
    ours.save_pretrained(tmp_path / "saved")
    assert sorted(os.listdir(tmp_path / "saved")) == ["sentencepiece.bpe.model", "tokenizer_config.json"]
    reloaded = XLMRobertaTokenizer.from_pretrained(str(tmp_path / "saved"))
    texts = _texts()[:30]
    assert _reference_ids(reloaded, texts) == ours.tokenize(texts).to_list()
    again = SentencePieceTokenizer.from_pretrained(tmp_path / "saved")
    assert again.vocab == ours.vocab and not again.lower_case
    # Any one *.model, or the file itself.
    shutil.copy(os.path.join(xlmr_dir, "sentencepiece.bpe.model"), tmp_path / "other.model")
    assert SentencePieceTokenizer.from_pretrained(tmp_path / "other.model").vocab == ours.vocab
    (tmp_path / "two").mkdir()
    for name in ("a.model", "b.model"):
        shutil.copy(tmp_path / "other.model", tmp_path / "two" / name)
    with pytest.raises(ValueError, match="two.*a.model, b.model"):
        SentencePieceTokenizer.from_pretrained(tmp_path / "two")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty.*found none"):
        SentencePieceTokenizer.from_pretrained(tmp_path / "empty")
    (tmp_path / "bad.model").write_bytes(b"\xff\xfenot a model")
    with pytest.raises(ValueError, match="bad.model"):
        SentencePieceTokenizer(tmp_path / "bad.model")
    with pytest.raises(ValueError, match="missing.model"):
        SentencePieceTokenizer(tmp_path / "missing.model")
    with pytest.raises(ValueError, match="layout"):
        SentencePieceTokenizer(tmp_path / "other.model", layout="bert")


def test_saved_model_works_with_the_model_file_deleted(tmp_path, xlmr_dir):
    shutil.copy(os.path.join(xlmr_dir, "sentencepiece.bpe.model"), tmp_path / "sentencepiece.bpe.model")
    ours = SentencePieceTokenizer.from_pretrained(tmp_path)
    texts = _texts()[:20]
    expected = ours(texts, max_length=32)["input_word_ids"].numpy()

    module = tf.Module()
    module.tokenizer = ours
    module.serve = tf.function(lambda t: ours(t, max_length=32), input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "exported"))
    os.remove(tmp_path / "sentencepiece.bpe.model")
    loaded = tf.saved_model.load(str(tmp_path / "exported"))
    np.testing.assert_array_equal(loaded.serve(tf.constant(texts))["input_word_ids"].numpy(), expected)


def test_odd_inputs_get_an_answer(xlmr):
    _, ours = xlmr
    texts = [b"", b"   ", b"ab\xff\xfecd \xc3", b"\x00\x00", b"caf\xc3\xa9", ("word " * 20000).encode()]
    ids = ours.tokenize(tf.constant(texts)).to_list()
    assert ids[0] == ids[1] == []
    assert ours.unk_id in ids[2] and len(ids[5]) >= 20000
    _, starts, ends = ours.tokenize_with_offsets(tf.constant(texts))
    assert all(0 <= s <= e <= len(t) for t, row_s, row_e in zip(texts, starts.to_list(), ends.to_list())
               for s, e in zip(row_s, row_e))
    packed = ours(tf.constant(texts), max_length=8)["input_word_ids"].numpy()
    assert packed.shape == (6, 8) and (packed[:, 0] == ours.cls_id).all()
    assert ours.tokenize([]).shape.as_list() == [0, None]
    with pytest.raises(ValueError, match="1-D"):
        ours.tokenize([["a"]])
