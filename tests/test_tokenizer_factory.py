"""kbz.Tokenizer.from_pretrained picks the tokenizer from a directory's files."""

import numpy as np
import pytest
import transformers

import keras_bert_zoo as kbz
from family_tools import write_tokenizer

SENTENCES = ["Hello, World!", "Tokenizers pick themselves from the files they find."]


def test_wordpiece_from_vocab_txt_and_from_a_transformers_5_tokenizer_json(tmp_path, minilm_dir):
    reference = transformers.BertTokenizerFast(f"{minilm_dir}/vocab.txt")  # Positional: see the README's traps.
    reference.save_pretrained(str(tmp_path))  # transformers 5 writes tokenizer.json, no vocab.txt.
    assert not (tmp_path / "vocab.txt").exists()
    for source in (minilm_dir, str(tmp_path)):
        tokenizer = kbz.Tokenizer.from_pretrained(source)
        assert type(tokenizer) is kbz.BertTokenizer
        ids = tokenizer(SENTENCES, max_length=16)["input_word_ids"].numpy()
        expected = reference(SENTENCES, max_length=16, padding="max_length", truncation=True)["input_ids"]
        np.testing.assert_array_equal(ids, np.array(expected))


@pytest.mark.parametrize("kind,reference_class,ours_class", [
    ("bpe", transformers.RobertaTokenizer, kbz.text.BytePairTokenizer),
    ("sentencepiece", transformers.XLMRobertaTokenizer, kbz.text.SentencePieceTokenizer),
])
def test_bpe_and_sentencepiece_directories_and_their_tokenizer_json(tmp_path, minilm_dir, kind, reference_class,
                                                                      ours_class):
    """vocab.json + merges.txt, a SentencePiece model, and what transformers 5 saves of either, packed as the
    family packs pairs."""
    write_tokenizer(kind, tmp_path / "files", minilm_dir)
    reference = reference_class.from_pretrained(str(tmp_path / "files"))
    sources = [tmp_path / "files"]
    if kind == "bpe":  # transformers 5 writes tokenizer.json beside; ours reads it alone too.
        reference.save_pretrained(str(tmp_path / "saved"))
        for name in ("vocab.json", "merges.txt"):
            (tmp_path / "saved" / name).unlink(missing_ok=True)
        sources.append(tmp_path / "saved")
    for source in sources:
        tokenizer = kbz.Tokenizer.from_pretrained(str(source))
        assert type(tokenizer) is ours_class
        ids = tokenizer(SENTENCES, SENTENCES[::-1], max_length=24)["input_word_ids"].numpy()
        expected = reference(SENTENCES, SENTENCES[::-1], max_length=24, padding="max_length", truncation=True)
        np.testing.assert_array_equal(ids, np.array(expected["input_ids"]))


def test_lower_casing_a_bpe_tokenizer_and_unknown_kinds_are_refused_by_name(tmp_path, minilm_dir):
    write_tokenizer("bpe", tmp_path / "bpe", minilm_dir)
    with pytest.raises(ValueError, match="byte-level BPE tokenizer, which is cased"):
        kbz.Tokenizer.from_pretrained(str(tmp_path / "bpe"), lower_case=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "tokenizer.json").write_text('{"model": {"type": "WordLevel", "vocab": {}}}')
    with pytest.raises(ValueError, match="holds a WordLevel tokenizer"):
        kbz.Tokenizer.from_pretrained(str(tmp_path / "other"))


def test_a_directory_without_tokenizer_files_says_what_it_looked_for(tmp_path):
    with pytest.raises(ValueError, match="No vocab.txt or tokenizer.json"):
        kbz.Tokenizer.from_pretrained(str(tmp_path))
