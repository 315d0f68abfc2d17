"""kbz.Tokenizer.from_pretrained picks the tokenizer from a directory's files."""

import numpy as np
import pytest
import transformers

import keras_bert_zoo as kbz

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


@pytest.mark.parametrize("files,kind", [
    ({"vocab.json": "{}", "merges.txt": "#version: 0.2\n"}, "byte-level BPE"),
    ({"sentencepiece.bpe.model": ""}, "SentencePiece"),
    ({"tokenizer.json": '{"model": {"type": "Unigram", "vocab": []}}'}, "Unigram"),
])
def test_other_kinds_are_refused_by_name(tmp_path, files, kind):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=f"holds a {kind}"):
        kbz.Tokenizer.from_pretrained(str(tmp_path))


def test_a_directory_without_tokenizer_files_says_what_it_looked_for(tmp_path):
    with pytest.raises(ValueError, match="No vocab.txt or tokenizer.json"):
        kbz.Tokenizer.from_pretrained(str(tmp_path))
