"""BertTokenizer.tokenize_with_alignment: each piece's word and offsets, against transformers' fast tokenizer."""

import numpy as np
import pytest
import tensorflow as tf
from transformers import BertTokenizerFast

import keras_bert_zoo as kbz
from conftest import minilm_path

# Accents, punctuation, CJK (each ideograph a word), [UNK] words (runes, emoji, a 101-character
# word) and long words of many pieces; the characters of each keep their count under normalization.
TEXTS = [
    "Hello, world! This is BERT.",
    "Café crème brûlée, naïve façade — déjà vu.",
    "ÀÉÎÕÜ àéîõü Ångström Øresund İstanbul",
    "東京タワーは日本の首都にあります。中文字符测试，繁體字。",
    "Mixed CJK and latin: BERT在2018年发布。Transformers库很受欢迎!",
    "Unknown ᚠᛇᚻ runes and 😀🎉 emoji, ☃snowman",
    "Supercalifragilisticexpialidocious " + "a" * 99 + " " + "b" * 101 + " " + "é" * 101 + " end",
    "I'm can't won't rock'n'roll (paren) [brackets] «guillemets» „low“",
    "URLs https://example.com/path?q=1&x=y#frag someone@example.org",
    "Tabs\tand\nnewlines\u00a0nbsp ideographic\u3000space, ligature ﬁne",
    "",
]
# Normalization that changes a word's length: NFC composes "e" + U+0301, control characters
# go, and lower-casing makes a final sigma of "ΟΔΟΣ" (HF's fast tokenizer lower-cases it to σ).
NORMALIZED_TEXTS = ["Decomposed e\u0301 a\u0300, ctrl\x07char zero\u200bwidth ΟΔΟΣ ΣΑΣ", "x" * 150 + "!"]


@pytest.fixture(scope="module", params=[True, False], ids=["uncased", "cased"])
def tokenizers(request):
    vocab = str(minilm_path() / "vocab.txt")
    # The vocab path positionally: transformers 5's vocab_file keyword builds an empty vocab.
    return (kbz.BertTokenizer(vocab, lower_case=request.param),
            BertTokenizerFast(vocab, do_lower_case=request.param))


def _rows(aligned, name):
    return [row.tolist() for row in aligned[name].numpy()]


def test_pieces_words_and_offsets_match_transformers(tokenizers):
    ours, reference = tokenizers
    aligned = ours.tokenize_with_alignment(TEXTS, offsets_unit="UTF8_CHAR")
    for index, text in enumerate(TEXTS):
        encoding = reference(text, return_offsets_mapping=True, add_special_tokens=False)
        word_ids = encoding.word_ids()
        # HF's offsets are characters of the text; ours characters of the word, so both from the word's start.
        word_starts = {}
        for word, (start, _) in zip(word_ids, encoding["offset_mapping"]):
            word_starts.setdefault(word, start)
        offsets = [(start - word_starts[word], end - word_starts[word])
                   for word, (start, end) in zip(word_ids, encoding["offset_mapping"])]
        assert aligned["ids"][index].numpy().tolist() == encoding["input_ids"], text
        assert aligned["word_ids"][index].numpy().tolist() == word_ids, text
        assert list(zip(aligned["starts"][index].numpy().tolist(),
                        aligned["ends"][index].numpy().tolist())) == offsets, text


@pytest.mark.parametrize("texts", [TEXTS, NORMALIZED_TEXTS], ids=["plain", "normalized"])
def test_offsets_index_the_normalized_words(tokenizers, texts):
    ours, _ = tokenizers
    by_bytes = ours.tokenize_with_alignment(texts)
    by_chars = ours.tokenize_with_alignment(texts, offsets_unit="UTF8_CHAR")
    assert by_bytes["ids"].to_list() == ours.tokenize(texts).to_list()
    assert by_bytes["word_ids"].to_list() == by_chars["word_ids"].to_list()
    for index, words in enumerate(ours.words(texts).to_list()):
        pieces = zip(*(_rows(by_bytes, name)[index] for name in ("ids", "word_ids", "starts", "ends")),
                     _rows(by_chars, "starts")[index], _rows(by_chars, "ends")[index])
        for piece_id, word_id, byte_start, byte_end, char_start, char_end in pieces:
            word = words[word_id].decode("utf-8")
            if piece_id == ours.unk_id:
                assert (char_start, char_end, byte_start, byte_end) == (0, len(word), 0, len(word.encode()))
            else:
                assert word[char_start:char_end] == ours.vocab[piece_id].removeprefix("##")
                assert word.encode()[byte_start:byte_end].decode() == word[char_start:char_end]
        assert sorted(set(_rows(by_bytes, "word_ids")[index])) == list(range(len(words)))


def test_one_string_and_graph_mode(tokenizers):
    ours, _ = tokenizers
    text = "Ångström's façade, 東京!"
    batch = ours.tokenize_with_alignment([text])
    one = ours.tokenize_with_alignment(text)
    graph = tf.function(lambda texts: ours.tokenize_with_alignment(texts))(tf.constant([text]))
    for name in ("ids", "word_ids", "starts", "ends"):
        assert one[name].shape.rank == 1
        np.testing.assert_array_equal(one[name].numpy(), batch[name][0].numpy())
        np.testing.assert_array_equal(graph[name].flat_values.numpy(), batch[name].flat_values.numpy())


def test_continuation_pieces_are_the_non_first_pieces_of_words(tokenizers):
    ours, _ = tokenizers
    continues_word = ours.continues_word()
    assert continues_word.shape == (ours.vocab_size,)
    aligned = ours.tokenize_with_alignment(TEXTS + NORMALIZED_TEXTS)
    ids, word_ids = aligned["ids"].flat_values.numpy(), aligned["word_ids"].flat_values.numpy()
    starts_word = np.ones_like(ids, bool)
    starts_word[1:] = word_ids[1:] != word_ids[:-1]
    starts_word[aligned["ids"].row_starts().numpy()[aligned["ids"].row_lengths().numpy() > 0]] = True
    np.testing.assert_array_equal(continues_word[ids], ~starts_word)


def test_offsets_unit_is_checked(tokenizers):
    with pytest.raises(ValueError, match="offsets_unit"):
        tokenizers[0].tokenize_with_alignment(["a"], offsets_unit="CHAR")
