"""tools/build_vocab.py: each kind's vocab, learned from a corpus, tokenizes as its family's reference tokenizer."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import transformers
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

import keras_bert_zoo as kbz
from keras_bert_zoo.data.samples import PRETRAINING_CORPUS, SENTIMENT_TSV
from keras_bert_zoo.text import BertTextNormalizer
from keras_bert_zoo.text.bert_char_classes import CJK_RANGES
from keras_bert_zoo.text.vocab_builder import build_wordpiece_vocab
from conftest import REPO_ROOT, assert_readable_by_all

CORPUS = [
    "The river bends twice before it reaches the old mill, where children fish for trout.",
    "Naïve readers skim; careful readers re-read the footnotes (all 42 of them).",
    "Über-fast trains connect Zürich, Genève and Lugano every hour.",
    "東京と大阪を結ぶ新幹線は速い。",
    "Fishermen, fishing, fished: the fisher's fish fishes fish!",
]
# Chinese text as Google's Chinese BERT reads it: ideographs, with Latin words and numbers among them. 㐀 lies in
# CJK Extension A, outside the basic block; 豈 (U+F900) is a compatibility ideograph, which NFC makes U+8C48.
CHINESE = [
    "中央路红星开启“爱木”狂购，三伏天已到。",
    "7月18日18:00-21:00，中央路红星爱木联盟的“仲夏夜party”将闪亮登场。",
    "知名板式品牌红苹果联合红星推出“双红惠”活动，回报顾客1234567890次。",
    "儿童家具品牌酷漫居进入中央路红星，儿童t台秀、芭蕾舞表演精彩纷呈。",
    "BERT模型在2018年发布，Google的研究者用Transformer编码器训练它。",
    "iPhone和Android手机的销量在2019年增长了35.7%，共9876543210部。",
    "古文字㐀与豈都是汉字。",
    "the quick brown fox jumps over the lazy dog 0987654321",
]
# Texts in both scripts that the learned vocabs must tokenize as the reference tokenizers do.
TEXTS = CORPUS + CHINESE + ["Hello, world! This is RoBERTa.", "Café crème brûlée, naïve façade — déjà vu.",
                            "Emoji 😀🎉 and numbers 3.14159, 1,000,000; URLs https://example.com/x?q=1"]


def _run(*args, env=None):
    """Runs build_vocab.py under umask 022, as a service or a login shell would."""
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "build_vocab.py"), *args],
                          capture_output=True, text=True, timeout=600, preexec_fn=lambda: os.umask(0o022),
                          env=dict(os.environ if env is None else env, TF_CPP_MIN_LOG_LEVEL="2"))


def _corpus_file(directory):
    """The package's sample texts and `TEXTS`, one a line: a few hundred lines of English and some of Chinese."""
    lines = open(PRETRAINING_CORPUS, encoding="utf-8").read().splitlines()
    lines += [line.split("\t")[0] for line in open(SENTIMENT_TSV, encoding="utf-8").read().splitlines()[1:]]
    path = directory / "corpus.txt"
    path.write_text("\n".join(lines + TEXTS * 3) + "\n", encoding="utf-8")
    return path


def _is_cjk(token):
    return len(token) == 1 and any(first <= ord(token) <= last for first, last in CJK_RANGES)


def test_vocab_round_trips_through_tokenizer(tmp_path):
    rng = np.random.default_rng(0)
    lines = [CORPUS[i] for i in rng.integers(0, len(CORPUS), 400)]
    (tmp_path / "a.txt").write_text("\n".join(lines[:200]), encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(lines[200:]), encoding="utf-8")
    vocab_file = tmp_path / "vocab.txt"
    result = _run(f"--input_files={tmp_path}/a.txt,{tmp_path}/b*.txt", f"--output_vocab={vocab_file}",
                  "--vocab_size=300", "--num_unused_tokens=2")
    assert result.returncode == 0, result.stderr
    tokens = vocab_file.read_text(encoding="utf-8").splitlines()
    assert tokens[:7] == ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(tokens) == len(set(tokens)) <= 300
    tokenizer = kbz.BertTokenizer(str(vocab_file), lower_case=True)
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.mask_id) == (0, 3, 6)
    words = BertTextNormalizer(lower_case=True).words(CORPUS).to_list()
    for text, expected_words, ids in zip(CORPUS, words, tokenizer.tokenize(CORPUS).to_list()):
        assert tokenizer.unk_id not in ids, text
        pieces = [tokenizer.id_to_token(i) for i in ids]
        rebuilt = " ".join(pieces).replace(" ##", "").split()
        assert rebuilt == [w.decode() for w in expected_words]
    assert len(tokenizer.tokenize("fishermen fishing")) < len("fishermen fishing")  # real subwords


def _assert_same_ids(ours, reference, **reference_options):
    """`ours` tokenizes and packs `TEXTS` (and pairs of them) as transformers' `reference` does."""
    expected = reference(TEXTS, add_special_tokens=False, **reference_options)["input_ids"]
    assert ours.tokenize(TEXTS).to_list() == expected
    packed = ours(TEXTS, TEXTS[::-1], max_length=40)["input_word_ids"].numpy()
    expected = reference(TEXTS, TEXTS[::-1], max_length=40, padding="max_length", truncation=True)["input_ids"]
    np.testing.assert_array_equal(packed, np.array(expected))
    assert sum(map(len, ours.tokenize(CORPUS).to_list())) < 0.75 * sum(map(len, CORPUS))  # real subwords


def test_bpe_directory_is_robertas_and_replaces_an_earlier_one(tmp_path):
    out = tmp_path / "roberta_tokenizer"
    out.mkdir()
    (out / "sentencepiece.bpe.model").write_bytes(b"an earlier run's")  # would make the directory ambiguous
    result = _run("--kind=bpe", f"--input_files={_corpus_file(tmp_path)}", f"--output_vocab={out}", "--vocab_size=700")
    assert result.returncode == 0, result.stderr
    assert "Wrote 700 tokens" in result.stdout
    assert sorted(os.listdir(out)) == ["merges.txt", "tokenizer_config.json", "vocab.json"]
    assert sorted(os.listdir(tmp_path)) == ["corpus.txt", "roberta_tokenizer"]  # no staging directory left
    assert_readable_by_all(out)
    vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    assert [vocab[t] for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")] == [0, 1, 2, 3, 699]
    ours = kbz.Tokenizer.from_pretrained(str(out))
    assert type(ours) is kbz.text.BytePairTokenizer
    reference = transformers.RobertaTokenizer.from_pretrained(str(out))
    assert len(reference) == reference.vocab_size == ours.vocab_size == 700
    _assert_same_ids(ours, reference, split_special_tokens=True)


@pytest.mark.parametrize("model_type,lower", [("unigram", False), ("bpe", True)])
def test_sentencepiece_directory_is_xlm_robertas(tmp_path, model_type, lower):
    import sentencepiece

    out = tmp_path / "xlmr_tokenizer"
    flags = [f"--sentencepiece_model_type={model_type}", "--do_lower_case"] if lower else []
    result = _run("--kind=sentencepiece", f"--input_files={_corpus_file(tmp_path)}", f"--output_vocab={out}",
                  "--vocab_size=600", *flags)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == ["sentencepiece.bpe.model", "tokenizer_config.json"]
    assert_readable_by_all(out)
    ours = kbz.Tokenizer.from_pretrained(str(out))
    assert type(ours) is kbz.text.SentencePieceTokenizer and ours.model_type == model_type
    reference = transformers.XLMRobertaTokenizer.from_pretrained(str(out))
    assert len(reference) == ours.vocab_size == 600
    assert [ours.token_to_id(t) for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")] == [0, 1, 2, 3, 599]
    # The model's own library, in fairseq's ids: its <unk> (0) is 3, every other piece one up.
    library = sentencepiece.SentencePieceProcessor(model_file=str(out / "sentencepiece.bpe.model"))
    assert ours.tokenize(TEXTS).to_list() == [[i + 1 if i else 3 for i in ids] for ids in library.encode(TEXTS)]
    if model_type == "unigram":  # transformers reads every SentencePiece model as a unigram one.
        _assert_same_ids(ours, reference)
    else:
        assert "its ids differ from SentencePiece's" in result.stdout
    assert (library.encode("HELLO, Fishermen of ZÜRICH") == library.encode("hello, fishermen of zürich")) == lower


def test_chinese_vocab_has_every_character_and_latin_and_digit_pieces(tmp_path):
    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n".join(CHINESE * 20) + "\n", encoding="utf-8")
    vocab_file = tmp_path / "vocab.txt"
    result = _run(f"--input_files={corpus}", f"--output_vocab={vocab_file}", "--vocab_size=21300",
                  "--chinese_characters=all")
    assert result.returncode == 0, result.stderr
    tokens = vocab_file.read_text(encoding="utf-8").splitlines()
    assert len(tokens) == len(set(tokens)) <= 21300
    ideographs = {t for t in tokens if _is_cjk(t)}
    assert ideographs == {chr(c) for c in range(0x4E00, 0xA000)} | {"㐀"}  # the block, and the corpus's others
    assert not any(t.startswith("##") and _is_cjk(t[2:]) for t in tokens)  # never used: each is a word
    words = BertTextNormalizer(lower_case=True).words(CHINESE).flat_values.numpy()
    continued = {c for w in words for c in w.decode()[1:] if c.isascii() and c.isalnum()}
    assert set("0123456789") <= continued and len(continued) > 25
    assert {"##" + c for c in continued} <= set(tokens)  # every digit and letter continues a piece
    # Ids as the reference BERT tokenizer's, also on characters and words the corpus lacks.
    texts = CHINESE + ["龘龍鱻，中文BERT在2024年的bertology研究中很常见。", "Transformers 3000 xyz豈"]
    reference = BertTokenizerLegacy(str(vocab_file), do_lower_case=True)
    ours = kbz.BertTokenizer(str(vocab_file), lower_case=True)
    got = ours.tokenize(texts).to_list()
    assert got == [reference.convert_tokens_to_ids(reference.tokenize(t)) for t in texts]
    for text, ids in zip(texts, got):
        assert ours.unk_id not in ids, text
        pieces = [ours.id_to_token(i) for i in ids]
        assert [p for p in pieces if _is_cjk(p)] == [c for c in text.replace("豈", "\u8c48") if _is_cjk(c)]
    pieces = [ours.id_to_token(i) for i in ours.tokenize("bertology 20240").numpy()]
    assert len(pieces) > 2 and any(p.startswith("##") for p in pieces)


def test_chinese_characters_of_the_corpus_only(tmp_path):
    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n".join(CHINESE * 5), encoding="utf-8")
    tokens = build_wordpiece_vocab([str(corpus)], 400, chinese_characters="corpus")
    in_corpus = {c for c in "".join(CHINESE).replace("豈", "\u8c48") if _is_cjk(c)}
    assert {t for t in tokens if _is_cjk(t)} == in_corpus
    assert tokens[5:5 + len(in_corpus)] == sorted(in_corpus)  # ideographs right after the special tokens
    assert len(tokens) <= 400 and {"##9", "2018", "party"} <= set(tokens)  # pieces of the other words
    with pytest.raises(ValueError, match=f"{len(in_corpus)} CJK ideographs"):
        build_wordpiece_vocab([str(corpus)], 100, chinese_characters="corpus")


@pytest.mark.parametrize("args,message", [
    (["--kind=bpe", "--do_lower_case"], "--do_lower_case: RoBERTa's byte-level BPE is cased"),
    (["--kind=sentencepiece", "--chinese_characters=corpus"], "--chinese_characters: only for --kind=wordpiece"),
    (["--chinese_characters=all", "--vocab_size=20000"], "--vocab_size=20000 is too small for the special tokens "
                                                         "and the 20,992 ideographs"),
    (["--kind=bpe", "--output_vocab={root}"], "--output_vocab={root} holds other files (text.txt, ...)"),
    (["--kind=sentencepiece", "--vocab_size=5000"], "SentencePiece could not train on {root}/text.txt"),
])
def test_bad_flags_exit_2_and_leave_nothing(tmp_path, args, message):
    root = tmp_path / "in"
    root.mkdir()
    (root / "text.txt").write_text("one sentence.\nanother one.\n")
    args = [arg.format(root=root) for arg in args]
    output = [a for a in args if a.startswith("--output_vocab")] or [f"--output_vocab={tmp_path}/out"]
    result = _run(f"--input_files={root}/text.txt", *output, *[a for a in args if a not in output])
    assert result.returncode == 2 and message.format(root=root) in result.stderr, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["in"] and os.listdir(root) == ["text.txt"]


def test_missing_files_paths_and_trainers_exit_2(tmp_path):
    result = _run(f"--input_files={tmp_path}/missing*.txt", f"--output_vocab={tmp_path}/v.txt")
    assert result.returncode == 2 and "--input_files: no file matches" in result.stderr
    (tmp_path / "c.txt").write_text("hello\n")
    result = _run(f"--input_files={tmp_path}/c.txt", f"--output_vocab={tmp_path}/nodir/v.txt")
    assert result.returncode == 2 and "--output_vocab" in result.stderr
    # An environment without the optional trainer: a `tokenizers` that can't be imported comes first on the path.
    (tmp_path / "shadow" / "tokenizers").mkdir(parents=True)
    (tmp_path / "shadow" / "tokenizers" / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "shadow"), os.environ.get("PYTHONPATH", "")]))
    result = _run("--kind=bpe", f"--input_files={tmp_path}/c.txt", f"--output_vocab={tmp_path}/bpe", env=env)
    assert result.returncode == 2 and "the tokenizers package, which is not installed: pip install tokenizers" \
        in result.stderr, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["c.txt", "shadow"]
