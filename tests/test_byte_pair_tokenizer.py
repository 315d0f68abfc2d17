"""BytePairTokenizer against transformers' RobertaTokenizer and the tokenizers library, on a vocab trained here."""

import json
import os
import random

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tokenizers import ByteLevelBPETokenizer, Tokenizer, models, pre_tokenizers
from transformers import AutoTokenizer, RobertaTokenizer

from keras_bert_zoo.data.samples import PRETRAINING_CORPUS, SENTIMENT_TSV
from keras_bert_zoo.text import BytePairTokenizer
from keras_bert_zoo.text.byte_pair_files import byte_to_unicode, token_bytes

TEXTS = [
    "Hello, world! This is RoBERTa.",
    "Café crème brûlée, naïve façade — déjà vu. Straße İstanbul ΟΔΟΣ",
    "東京タワーは日本の首都にあります。中文字符测试，繁體字。한국어 ภาษาไทย हिन्दी العربية",
    "Emoji: 😀🎉👍🏽 👩‍👩‍👧 ❤️ ©®™ € £ ¥ ½ ² ＡＢＣ１２３ ﬁ",
    "Control\x00chars\x07here\x1b[0m zero\u200bwidth\ufeffBOM \ufffd \x1c\x1d\x1e\x1f \x7f\x85",
    "Tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em\u3000ideographic\u2028line\u2029para\x0bvt\x0cff",
    "I'm can't won't they're y'all o'clock 's 'S 'LL 'll'd ''s !'s rock'n'roll",
    "Spaces:  two,   three,\t\ttabs, \t mixed,\n\n\nlines \n x\u3000\u3000y \u00a0z",
    "   leading and trailing   ",
    " ",
    "",
    "\n",
    "a",
    "Numbers 3.14159, 1,000,000, -42, 2^10, 10%, $5.99, ٣٤٥ ൧൨ Ⅻ 𝟙𝟚",
    "Typed <s> and </s> and <mask> stay text, as <pad> and <unk> do.",
    "Runs: aaaaaaaaaaaaaaaa ================ ---- .... !!!!!!!! 0000000 ĠĠ",
    "Unicode 16 letters \u1c89\u1c8a\ua7cb and digits \U00010d40\U00010d41 next to a\u1c89 1\U00010d40",
    "URLs https://example.com/path?q=1&x=y#frag someone@example.org #tag @user",
]


def _alphabet_texts(count, seed=0):
    """Random texts over characters that stress the pre-tokenizer's rules."""
    alphabet = list("ab zZ1 9'strvmld.,!?-") + [" ", " ", "  ", "\t", "\n", "\u3000", "\u00a0", "\x0b", "é", "東",
                                                 "😀", "'s", "'ll", "\x00", "\x1c", "٣"]
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(count)]


def _corpus():
    with open(PRETRAINING_CORPUS, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    with open(SENTIMENT_TSV, encoding="utf-8") as f:
        sentences = [line.split("\t")[0] for line in f][1:]
    return lines + sentences


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory):
    """A byte-level BPE trained by the reference trainer, RoBERTa's special tokens first and <mask> last."""
    directory = tmp_path_factory.mktemp("bpe")
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(_corpus() + TEXTS * 3, vocab_size=900, min_frequency=2,
                                special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    trainer.save_model(str(directory))
    with open(directory / "vocab.json", encoding="utf-8") as f:
        vocab = json.load(f)
    vocab["<mask>"] = len(vocab)
    with open(directory / "vocab.json", "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    return str(directory)


@pytest.fixture(scope="module")
def ours(vocab_dir):
    return BytePairTokenizer.from_pretrained(vocab_dir)


@pytest.fixture(scope="module")
def reference(vocab_dir):
    tokenizer = RobertaTokenizer.from_pretrained(vocab_dir)
    assert tokenizer.vocab_size == len(json.load(open(os.path.join(vocab_dir, "vocab.json"), encoding="utf-8")))
    return tokenizer


def _reference_ids(reference, texts):
    return reference(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def test_ids_equal_roberta_tokenizer_and_tokenizers_bpe(ours, reference, vocab_dir):
    texts = TEXTS + _corpus() + _alphabet_texts(400)
    ids = ours.tokenize(texts).to_list()
    assert ids == _reference_ids(reference, texts)
    # The tokenizers library's GPT-2 byte-level BPE, which reads "<s>" as text too (no special tokens added).
    gpt2 = ByteLevelBPETokenizer(os.path.join(vocab_dir, "vocab.json"), os.path.join(vocab_dir, "merges.txt"))
    assert ids == [encoding.ids for encoding in gpt2.encode_batch(texts)]
    assert ours.special_tokens == {"cls": "<s>", "sep": "</s>", "pad": "<pad>", "unk": "<unk>", "mask": "<mask>"}
    assert (ours.cls_id, ours.pad_id, ours.sep_id, ours.unk_id, ours.mask_id) == (0, 1, 2, 3, ours.vocab_size - 1)
    assert ours.lower_case is False and ours.vocab[ours.mask_id] == "<mask>"


def test_pre_tokenizer_character_classes(ours, reference):
    """Letters, numbers and whitespace as the reference's regex engine classes them, incl. RE2's gaps."""
    rng = random.Random(1)
    codes = ([0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200C),
              0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0x1C89, 0xA7CB, 0x105C0, 0x10D40, 0x10D4A, 0x116D0, 0x1E5F1,
              0x1E5F0, 0x2EBF0, 0x13460]
             + rng.sample([c for c in range(0x30000) if not 0xD800 <= c <= 0xDFFF], 3000))
    bytelevel = pre_tokenizers.ByteLevel(add_prefix_space=False)
    texts = [f"a{c}1{c}!{c} {c}\t{c}x{c}{c}" for c in map(chr, codes)]
    words = [[word for word, _ in bytelevel.pre_tokenize_str(text)] for text in texts]
    assert ours.tokenize(texts).to_list() == _reference_ids(reference, texts)
    # The words themselves, through the tokenizer's own splitting.
    ours_words = ours._words(tf.constant(texts))[0].to_list()
    table = byte_to_unicode()
    assert [["".join(table[b] for b in word) for word in row if word] for row in ours_words] == words


def test_pre_tokenizer_rules_on_random_strings(ours):
    """Word boundaries of mixed classes, whitespace runs and contractions equal the reference's regex."""
    rng = random.Random(2)
    pieces = ["a", "Z", "'", "s", "t", "re", "ve", "ll", "d", "m", "1", "\u0663", " ", "  ", "\t", "\n", "\r\n",
              "\x85", "\xa0", "\u3000", "!", ".", "\u4e2d", "\u0301", "\U0001F600", "'S", "\u2019", "\x1c"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    bytelevel = pre_tokenizers.ByteLevel(add_prefix_space=False)
    words = [[word for word, _ in bytelevel.pre_tokenize_str(text)] for text in texts]
    table = byte_to_unicode()
    ours_words, ours_starts = ours._words(tf.constant(texts))
    assert [["".join(table[b] for b in word) for word in row] for row in ours_words.to_list()] == words
    # Offsets: each word starts where the words before it in its text end.
    for row, starts in zip(ours_words.to_list(), ours_starts.to_list()):
        assert starts == list(np.cumsum([0] + [len(word) for word in row])[:-1])


def test_one_string_graph_and_tf_data(ours, reference):
    texts = TEXTS[:6]
    expected = _reference_ids(reference, texts)
    assert ours.tokenize(texts[0]).numpy().tolist() == expected[0]
    assert ours.tokenize(tf.constant(texts[0])).shape.rank == 1
    traced = tf.function(lambda t: ours.tokenize(t))
    assert traced(tf.constant(texts)).to_list() == expected
    assert traced(tf.constant(texts[1])).numpy().tolist() == expected[1]
    dataset = tf.data.Dataset.from_tensor_slices(texts)
    before = [row.numpy().tolist() for row in dataset.map(ours.tokenize)]
    after = [row for batch in dataset.batch(4).map(ours.tokenize) for row in batch.to_list()]
    assert before == after == expected
    assert ours.tokenize([]).shape[0] == 0


def test_offsets_slice_back(ours):
    texts = TEXTS + _alphabet_texts(200, seed=2)
    ids, starts, ends = ours.tokenize_with_offsets(texts)
    assert ids.to_list() == ours.tokenize(texts).to_list()
    for text, row_ids, row_starts, row_ends in zip(texts, ids.to_list(), starts.to_list(), ends.to_list()):
        data = text.encode("utf-8")
        # Each token covers its own bytes ("Ġword" its space too), and the tokens tile the text.
        assert [data[s:e] for s, e in zip(row_starts, row_ends)] == [token_bytes(ours.vocab[i]) for i in row_ids]
        assert row_starts == ([0] + row_ends)[:len(row_starts)] and (row_ends or [0])[-1] == len(data)
    one = ours.tokenize_with_offsets(texts[0])
    assert [values.numpy().tolist() for values in one] == [ids[0].numpy().tolist(), starts[0].numpy().tolist(),
                                                           ends[0].numpy().tolist()]


def test_pairs_pack_as_roberta_tokenizer(ours, reference):
    firsts = ["Hello world, this is a long first segment of text.", "short", "東京 and more words here", "",
              "same size one", "a b c d e f g h i j k"]
    seconds = ["A second segment.", "another rather long second segment that needs cutting", "x", "y z",
               "same size two", "k j i h g f e d c b a z"]
    # Odd and even budgets, each segment longer or shorter than half of them, and equal ones; the
    # packer's own sweep, then the whole call (each max_length is a graph of its own).
    segments = [ours.tokenize(firsts), ours.tokenize(seconds)]
    for max_length in range(6, 21):
        expected = reference(firsts, seconds, max_length=max_length, truncation=True, padding="max_length",
                             split_special_tokens=True)
        packed = ours.packer.pack(segments, max_length, max_length)
        assert packed["input_word_ids"].numpy().tolist() == expected["input_ids"]
        assert packed["input_mask"].numpy().tolist() == expected["attention_mask"]
    for max_length in (9, 64):
        expected = reference(firsts, seconds, max_length=max_length, truncation=True, padding="max_length",
                             split_special_tokens=True)
        packed = ours(firsts, seconds, max_length=max_length)
        assert packed["input_word_ids"].numpy().tolist() == expected["input_ids"]
        assert packed["input_mask"].numpy().tolist() == expected["attention_mask"]
        assert not packed["input_type_ids"].numpy().any()
    single = reference(firsts, max_length=8, truncation=True, padding="max_length", split_special_tokens=True)
    assert ours(firsts, max_length=8)["input_word_ids"].numpy().tolist() == single["input_ids"]
    one = ours(firsts[0], seconds[0], max_length=12)
    assert one["input_word_ids"].numpy().tolist() == reference(firsts[0], seconds[0], max_length=12, truncation=True,
                                                               padding="max_length")["input_ids"]
    padded = ours.pack(firsts, seconds, max_length=64)["input_word_ids"]
    assert padded.shape[1] == max(len(row) for row in reference(firsts, seconds)["input_ids"])


def test_tokenize_words_as_split_into_words(ours, vocab_dir):
    prefixed = RobertaTokenizer.from_pretrained(vocab_dir, add_prefix_space=True)
    words = ["EU", "rejects", "German", "call", "don't", "U.S.", "東京", " spaced", "a\tb", "", "😀!"]
    encoding = prefixed(words, is_split_into_words=True, add_special_tokens=False, split_special_tokens=True)
    expected = [[] for _ in words]
    for token_id, word in zip(encoding["input_ids"], encoding.word_ids()):
        expected[word].append(token_id)
    assert ours.tokenize_words(words).to_list() == expected
    nested = ours.tokenize_words(tf.ragged.constant([words[:3], words[3:]]))
    assert nested.to_list() == [expected[:3], expected[3:]]


def test_continues_word_and_token_lookups(ours):
    continues = ours.continues_word()
    assert continues.shape == (ours.vocab_size,) and continues.dtype == bool
    for token, value in zip(ours.vocab, continues):
        assert value == (not token.startswith("Ġ") and token not in ours.special_tokens.values())
    assert ours.token_to_id("<mask>") == ours.mask_id and ours.id_to_token(ours.sep_id) == "</s>"
    with pytest.raises(ValueError, match="not in the vocab"):
        ours.token_to_id("[MASK]")
    assert ours.id_to_token(tf.constant([[0, 2]])).numpy().tolist() == [[b"<s>", b"</s>"]]


def test_detokenize_gives_the_bytes_back(ours):
    texts = [text.encode("utf-8") for text in TEXTS] + [b"bad \xff\xfe utf-8 \xe4\xb8 end\xc3", b"\x00nul\x00"]
    ids = ours.tokenize(tf.constant(texts))
    assert ours.detokenize(ids).numpy().tolist() == texts
    assert ours.detokenize(ids[1]).numpy() == texts[1]
    packed = ours(tf.constant(texts[:3]), max_length=256)["input_word_ids"]
    assert ours.detokenize(packed).numpy().tolist() == texts[:3]
    assert ours.detokenize(packed, skip_special_tokens=False).numpy()[0].startswith(b"<s>" + texts[0] + b"</s>")


def test_invalid_empty_and_long_inputs(ours, reference, vocab_dir):
    # Invalid UTF-8 bytes split as U+0001 (a symbol character) would, and keep their own byte tokens.
    texts = [b"ab\xffcd \xfe\xfe x\xe4\xb8 y\x00\x01z", b"\xc3", b" \xf0\x9f\x98", b""]
    stand_ins = ["".join("\x01" if "\udc80" <= char <= "\udcff" else char
                         for char in text.decode("utf-8", errors="surrogateescape")) for text in texts]
    assert [len(text.encode()) for text in stand_ins] == [len(text) for text in texts]
    bpe = Tokenizer(models.BPE.from_file(os.path.join(vocab_dir, "vocab.json"), os.path.join(vocab_dir, "merges.txt")))
    table = byte_to_unicode()
    expected = []
    for text, stand_in in zip(texts, stand_ins):
        words = pre_tokenizers.ByteLevel(add_prefix_space=False).pre_tokenize_str(stand_in)
        byte_ends = [len(stand_in[:end].encode()) for _, (_, end) in words]
        pieces = [text[start:end] for start, end in zip([0] + byte_ends[:-1], byte_ends)]
        expected.append([i for piece in pieces for i in bpe.encode("".join(table[b] for b in piece)).ids])
    assert ours.tokenize(tf.constant(texts)).to_list() == expected
    long_texts = ["word " * 5000, "a" * 3000, "東京" * 500, "x" + " " * 2000 + "y"]
    assert ours.tokenize(long_texts).to_list() == _reference_ids(reference, long_texts)


def test_saved_model_round_trip(ours, tmp_path):
    module = tf.Module()
    module.tokenizer = ours
    module.encode = tf.function(lambda texts: ours(texts, max_length=32),
                                input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "model"))
    loaded = tf.saved_model.load(str(tmp_path / "model"))
    texts = tf.constant(TEXTS[:8])
    expected = ours(texts, max_length=32)
    restored = loaded.encode(texts)
    for name in expected:
        np.testing.assert_array_equal(restored[name].numpy(), expected[name].numpy())
    # The words eager calls remember stay out of exports (keras-hub's cache is what breaks its exports).
    saved = saved_model_pb2.SavedModel.FromString((tmp_path / "model" / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node} | {node.op for f in graph.library.function for node in f.node_def}
    assert "LookupTableFindV2" in ops and not any(op.startswith("MutableHashTable") for op in ops)


def test_eager_calls_remember_merged_words(ours, reference):
    """Words merged by an eager call are looked up by the next; a fingerprint's wrong entry is never used."""
    texts = ["Remembering unremarkable words, again: remembering!", "\u4f60\u597d\uff0c\u4e16\u754c\u3002" * 3,
             "x" * 5000]
    table = ours._untracked.remembered
    # A stale entry under the fingerprint of a word the texts hold, for another word of the same length.
    key = tf.bitcast(tf.fingerprint(tf.constant([" unremarkable"])), tf.int64)
    wrong = tf.strings.join([tf.strings.unicode_encode([[13]], "UTF-32-BE"), " unremarkabel",
                             tf.strings.unicode_encode([[5, 6]], "UTF-32-BE")])
    table.insert(key, wrong)
    before = int(table.size())
    first = ours.tokenize(texts).to_list()
    after = int(table.size())
    assert first == _reference_ids(reference, texts) and after > before
    # The word was merged, and its own entry replaced the wrong one.
    assert tf.strings.substr(table.lookup(key), 4, 13).numpy()[0] == b" unremarkable"
    assert ours.tokenize(texts).to_list() == first and int(table.size()) == after
    # Traced graphs neither use nor fill the table; words over _REMEMBERED_WORD_BYTES never enter it.
    assert tf.function(ours.tokenize)(tf.constant(texts + ["never seen before"])).to_list()[:3] == first
    assert int(table.size()) == after
    assert table.lookup(tf.bitcast(tf.fingerprint(tf.constant(["x" * 5000])), tf.int64)).numpy() == b""


def test_files_round_trip_and_errors(ours, vocab_dir, tmp_path):
    # transformers 5 saves a tokenizer.json alone.
    saved = tmp_path / "hf"
    RobertaTokenizer.from_pretrained(vocab_dir).save_pretrained(str(saved))
    assert not (saved / "vocab.json").exists()
    from_json = BytePairTokenizer.from_pretrained(str(saved))
    assert from_json.vocab == ours.vocab and from_json.merges == ours.merges
    assert BytePairTokenizer.from_pretrained(str(saved / "tokenizer.json")).vocab == ours.vocab
    # Ours saves what transformers' AutoTokenizer loads back, to the same ids.
    ours.save_pretrained(str(tmp_path / "ours"))
    auto = AutoTokenizer.from_pretrained(str(tmp_path / "ours"))
    assert type(auto).__name__ == "RobertaTokenizer" and auto.vocab_size == ours.vocab_size
    assert _reference_ids(auto, TEXTS) == ours.tokenize(TEXTS).to_list()
    with pytest.raises(ValueError, match="holds no byte-level BPE"):
        BytePairTokenizer.from_pretrained(str(tmp_path))
    wordpiece = tmp_path / "wordpiece.json"
    wordpiece.write_text(json.dumps({"model": {"type": "WordPiece", "vocab": {}}}))
    with pytest.raises(ValueError, match="wordpiece.json is not a BPE"):
        BytePairTokenizer.from_pretrained(str(wordpiece))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "vocab.json").write_text("{not json")
    (broken / "merges.txt").write_text("#version: 0.2\n")
    with pytest.raises(ValueError, match="vocab.json is not a JSON file"):
        BytePairTokenizer.from_pretrained(str(broken))


def _merge_vocab(merges, alphabet="abcd"):
    """Vocab of the alphabet, the merges' tokens and the special tokens, for a merges list."""
    made = [token for left, right in merges for token in (left, right, left + right)]
    return list(dict.fromkeys(["<s>", "<pad>", "</s>", "<unk>", *alphabet, *made, "<mask>"]))


def _random_merges(rng, count, shuffle, alphabet="abcd", longest=6):
    """Merges of random pairs of the tokens so far; shuffled, tokens are used before (by rank) they're made."""
    tokens, merges = list(alphabet), []
    while len(merges) < count:
        pair = (rng.choice(tokens), rng.choice(tokens))
        if pair not in merges and len(pair[0] + pair[1]) <= longest:
            merges.append(pair)
            tokens.append(pair[0] + pair[1])
    if shuffle:
        rng.shuffle(merges)
    return merges


@pytest.mark.parametrize("case", ["runs", "created_lower_rank", "random", "random_shuffled"])
def test_merges_as_the_reference_applies_them_one_at_a_time(case):
    """Each step merges many pairs of a word; the ids are still those of the Rust BPE, which merges one at a time."""
    rng = random.Random(case)
    words = ["".join(rng.choice("abcd") for _ in range(rng.randint(1, 40))) for _ in range(300)]
    if case == "runs":  # "a a a" of pair "a a": the 1st, 3rd... merge, also next to other pending pairs.
        merges = [("a", "a"), ("b", "a"), ("aa", "a"), ("a", "b"), ("aa", "aa"), ("c", "a"), ("aaa", "b")]
        words = ["a" * n for n in range(1, 12)] + ["b" + "a" * n + "b" for n in range(1, 12)] + words
    elif case == "created_lower_rank":
        # Merge 3 makes "abc" next to "a", whose merge (1) ranks below merge 3's second "a bc": the Rust BPE
        # merges "abc a" before it, as a pair made by a merge can rank below the pairs still to merge.
        merges = [("b", "c"), ("abc", "a"), ("c", "d"), ("a", "bc"), ("b", "cd"), ("a", "b"), ("abca", "d")]
        words = ["abcabc", "abcabcabc", "abcd", "abcdabcd", "ababcd", "aabcabca"] + words
    else:
        merges = _random_merges(rng, 40, shuffle=case == "random_shuffled")
    vocab = _merge_vocab(merges)
    ours = BytePairTokenizer(vocab, merges)
    reference = Tokenizer(models.BPE({token: i for i, token in enumerate(vocab)}, merges))
    assert ours.tokenize(words).to_list() == [encoding.ids for encoding in reference.encode_batch(words)]
    if case == "created_lower_rank":  # Not "abc abc", merging both "a bc" at once.
        assert [ours.vocab[i] for i in ours.tokenize("abcabc").numpy()] == ["abca", "bc"]


def test_characters_that_start_as_their_token_keep_the_reference_ids():
    """Multi-byte characters whose bytes merge into one token start words as that token where the merge table
    allows it (`_character_table_of`); random tables, in and out of training order, against the Rust BPE."""
    to_unicode = byte_to_unicode()
    characters = "中国é"
    alphabet = "".join(to_unicode[byte] for byte in sorted(set("".join(characters).encode("utf-8")))) + "ab"
    started, kept_as_bytes = 0, 0
    for seed in range(30):
        rng = random.Random(seed)
        merges = _random_merges(rng, 60, shuffle=seed % 2 == 1, alphabet=alphabet, longest=9)
        # Every character made by merges of its own bytes, so that the table has candidates.
        for character in characters:
            symbols = [to_unicode[byte] for byte in character.encode("utf-8")]
            while len(symbols) > 1:
                at = rng.randrange(len(symbols) - 1)
                if (symbols[at], symbols[at + 1]) not in merges:
                    merges.insert(rng.randrange(len(merges) + 1), (symbols[at], symbols[at + 1]))
                symbols[at:at + 2] = [symbols[at] + symbols[at + 1]]
        vocab = _merge_vocab(merges, alphabet)
        ours = BytePairTokenizer(vocab, merges)
        reference = Tokenizer(models.BPE({token: i for i, token in enumerate(vocab)}, merges))
        reference.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        words = ["".join(rng.choice(characters + "ab") for _ in range(rng.randint(1, 30))) for _ in range(200)]
        assert ours.tokenize(words).to_list() == [encoding.ids for encoding in reference.encode_batch(words)]
        size = int(ours._character_table.size()) if ours._character_table is not None else 0
        started, kept_as_bytes = started + size, kept_as_bytes + len(characters) - size
    assert started > 10 and kept_as_bytes > 10
    # "é" is "Ã" + "©" at rank 3. Taking "é" at rank 1, or "Ã" after "b" at rank 1, keeps it as bytes.
    for merges, expected in (([("b", "Ã©"), ("a", "b"), ("Ã", "©")], ["ab", "Ã©"]),
                             ([("b", "Ã"), ("a", "b"), ("Ã", "©")], ["a", "bÃ", "©"]),
                             ([("a", "b"), ("b", "Ã©"), ("Ã", "©")], ["ab", "Ã©"])):
        ours = BytePairTokenizer(_merge_vocab(merges, "abÃ©"), merges)
        assert [ours.vocab[i] for i in ours.tokenize("abé").numpy()] == expected
        assert ours._character_table is None
    ours = BytePairTokenizer(_merge_vocab([("a", "b"), ("Ã", "©"), ("b", "Ã©")], "abÃ©"),
                             [("a", "b"), ("Ã", "©"), ("b", "Ã©")])
    assert [ours.vocab[i] for i in ours.tokenize(["abé", "bé"]).flat_values.numpy()] == ["ab", "Ã©", "bÃ©"]
    assert int(ours._character_table.size()) == 1
