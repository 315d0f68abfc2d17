"""Chinese whole-word masking (--chinese_word_segmenter=jieba): jieba's words masked whole, ids per character.

The reference groups are computed here from jieba itself and transformers' BertTokenizer: each jieba word
tokenized on its own, a word of two or more Chinese characters (none of them [UNK]) one group, every other
word grouped as WordPiece groups it (a piece and its "##" pieces).
"""

import json
import os
import subprocess
import sys
import unicodedata

import jieba
import numpy as np
import pytest
import transformers

from conftest import REPO_ROOT, write_vocab
from keras_bert_zoo.data import dynamic_pretraining_dataset
from keras_bert_zoo.data.chinese_word_segmenter import ChineseWordSegmenter
from keras_bert_zoo.data.create_pretraining_data import create_pretraining_data
from keras_bert_zoo.data.pretraining_records import read_pretraining_records
from keras_bert_zoo.text import BertTokenizer
from keras_bert_zoo.training import PretrainingSettings

# Real sentences with Latin words and digits inside; each line starts with its marker "sN" (a token of the vocab).
SENTENCES = [
    "我们在北京大学学习自然语言处理。",
    "今天的天气非常好，我们一起去公园散步吧。",
    "他用iPhone12拍了很多照片，然后上传到网络。",
    "中国人民银行宣布降低存款准备金率。",
    "2024年的经济增长速度超过了预期。",
    "研究人员发现这种新药可以有效治疗癌症。",
    "学生们在图书馆里认真地阅读历史书籍。",
    "这家公司的GPU产品在市场上很受欢迎。",
    "小明喜欢在周末和朋友一起踢足球。",
    "人工智能技术正在改变我们的生活方式。",
    "长江是中国最长的河流，全长约6300公里。",
    "她每天早上六点起床，然后跑步锻炼身体。",
    "政府计划在明年建设更多的高速铁路。",
    "这本小说讲述了一个感人的爱情故事。",
    "我们应该保护环境，减少塑料垃圾的使用。",
    "科学家们正在探索火星上是否存在生命。",
]
LINES = [f"s{k} {sentence}" for k, sentence in enumerate(SENTENCES)]
UNKNOWN_CHARACTER = "癌"  # Left out of the vocab: "癌症" is masked character by character.
LATIN_PIECES = ["iphone", "##12", "gp", "##u", "20", "##24", "63", "##00"]
NUM_DOCUMENTS = 200
SEQ_LENGTH = 128  # Documents of one or two sentences always fit: no instance is truncated.
PREDICTIONS = 20


def _is_chinese_word(word):
    return len(word) > 1 and all("\u4e00" <= char <= "\u9fff" for char in word)


def _reference_groups(line, hf_tokenizer):
    """The line's tokens, and (token indices masked together, whether a Chinese word), from jieba and transformers."""
    tokens, groups = [], []
    for word in jieba.lcut(line):
        pieces = hf_tokenizer.tokenize(word)
        indices = list(range(len(tokens), len(tokens) + len(pieces)))
        if _is_chinese_word(word) and "[UNK]" not in pieces:
            groups.append((indices, True))
        else:
            for index, piece in zip(indices, pieces):
                if piece.startswith("##"):
                    groups[-1][0].append(index)
                else:
                    groups.append(([index], False))
        tokens += pieces
    assert tokens == hf_tokenizer.tokenize(line)  # Word by word, the line's own tokens.
    return tokens, groups


@pytest.fixture(scope="module")
def chinese(tmp_path_factory):
    """Corpus, vocab, tokenizer and, per line, its reference ids and groups."""
    directory = tmp_path_factory.mktemp("chinese")
    characters = sorted({char for line in LINES for char in line if not char.isascii()} - {UNKNOWN_CHARACTER})
    vocab_file = write_vocab(directory / "vocab.txt",
                             characters + LATIN_PIECES + [f"s{k}" for k in range(len(LINES))])
    rng = np.random.default_rng(0)
    documents = ["\n".join(rng.choice(LINES, rng.integers(1, 3), replace=False)) for _ in range(NUM_DOCUMENTS)]
    corpus = directory / "corpus.txt"
    corpus.write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    hf_tokenizer = transformers.BertTokenizer(vocab_file, do_lower_case=True)
    assert len(hf_tokenizer) == len(open(vocab_file, encoding="utf-8").read().split("\n")) - 1
    reference = {}
    for line in LINES:
        tokens, groups = _reference_groups(line, hf_tokenizer)
        ids = hf_tokenizer.convert_tokens_to_ids(tokens)
        reference[ids[0]] = (np.asarray(ids), groups)  # Keyed by the line's marker id.
    tokenizer = BertTokenizer(vocab_file, lower_case=True)
    config = directory / "bert_config.json"
    config.write_text(json.dumps({"vocab_size": tokenizer.vocab_size, "hidden_size": 32, "num_hidden_layers": 1,
                                  "num_attention_heads": 2, "intermediate_size": 64,
                                  "max_position_embeddings": SEQ_LENGTH}))
    return {"directory": directory, "corpus": str(corpus), "vocab_file": vocab_file, "reference": reference,
            "tokenizer": tokenizer, "config": str(config)}


def _unmasked(features):
    ids = features["input_ids"].copy()
    rows, slots = np.nonzero(features["masked_lm_weights"])
    ids[rows, features["masked_lm_positions"][rows, slots]] = features["masked_lm_ids"][rows, slots]
    return ids


def _masked(features):
    masked = np.zeros(features["input_ids"].shape, bool)
    rows, slots = np.nonzero(features["masked_lm_weights"])
    masked[rows, features["masked_lm_positions"][rows, slots]] = True
    return masked


def _groups_of_instances(ids, chinese):
    """(row, positions, whether a Chinese word) of every reference group in the instances, each line's ids
    checked against transformers'.

    A line runs from its marker to the next marker or special token; lines are never cut here.
    """
    tokenizer, reference = chinese["tokenizer"], chinese["reference"]
    special = [tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id]
    groups = []
    for row, row_ids in enumerate(ids):
        starts = np.flatnonzero(np.isin(row_ids, list(reference)))
        assert not np.isin(row_ids[1:starts[0]], special, invert=True).any()  # Every segment starts with a line.
        for start in starts:
            line_ids, line_groups = reference[row_ids[start]]
            np.testing.assert_array_equal(row_ids[start:start + len(line_ids)], line_ids)
            assert start + len(line_ids) == len(row_ids) or row_ids[start + len(line_ids)] in [*special, *reference]
            groups += [(row, start + np.asarray(group), is_chinese) for group, is_chinese in line_groups]
    return groups


def _partly_masked(features, chinese):
    """Counts of the multi-token reference groups: all, Chinese words, partly masked, Chinese words wholly masked."""
    masked = _masked(features)
    groups = [group for group in _groups_of_instances(_unmasked(features), chinese) if len(group[1]) > 1]
    counts = np.array([masked[row, positions].sum() for row, positions, _ in groups])
    sizes = np.array([len(positions) for _, positions, _ in groups])
    is_chinese = np.array([is_chinese for _, _, is_chinese in groups])
    partly = (counts > 0) & (counts < sizes)
    return len(groups), int(is_chinese.sum()), int(partly.sum()), int(((counts == sizes) & is_chinese).sum())


def _check_whole_jieba_words(features, chinese):
    total, chinese_words, partly, whole_chinese = _partly_masked(features, chinese)
    assert chinese_words > 1000 and total > chinese_words  # Latin words with "##" pieces too.
    assert partly == 0
    assert whole_chinese > 100


def _check_budget_and_80_10_10(features, tokenizer):
    masked = _masked(features)
    length = features["input_mask"].sum(axis=1)
    budget = np.minimum(PREDICTIONS, np.maximum(1, np.rint(length * 0.15)))
    count = masked.sum(axis=1)
    assert (count == features["masked_lm_weights"].sum(axis=1)).all()
    assert (count <= budget).all() and count.mean() > 0.9 * budget.mean()
    shown = features["input_ids"][masked]
    labels = _unmasked(features)[masked]
    assert len(shown) > 10_000
    assert abs((shown == tokenizer.mask_id).mean() - 0.8) < 0.015
    assert abs((shown == labels).mean() - 0.1) < 0.015
    assert abs(((shown != labels) & (shown != tokenizer.mask_id)).mean() - 0.1) < 0.015


def test_segmenter_marks_the_later_characters_of_jieba_words(chinese):
    tokenizer = chinese["tokenizer"]
    ids = tokenizer.tokenize(LINES).flat_values.numpy()
    marks = ChineseWordSegmenter("jieba").word_continuations(LINES, ids, tokenizer)
    expected = []
    for line in LINES:
        line_ids, groups = chinese["reference"][tokenizer.token_to_id(line.split()[0])]
        continues = np.zeros(len(line_ids), bool)
        for group, is_chinese in groups:
            if is_chinese:
                continues[group[1:]] = True
        expected.append(continues)
    np.testing.assert_array_equal(marks, np.concatenate(expected))
    assert marks.sum() > 100


# A compatibility ideograph (U+F900, which NFC makes U+8C48), a combining accent after an ideograph, CJK
# extension A, an emoji, a control character, a full-width letter and whitespace between Chinese words.
UNUSUAL_LINES = ["\uf900有此理，他竟然這樣做！", "中\u0301文字处理", "\u3400\u3401研究生命", "\U0001f600测试一下",
                 "\x07控制字符的处理", "Ａ全角字母和中华人民共和国", "北京 大学  学生\t会议"]


def test_marks_stay_on_their_characters_around_unusual_characters(tmp_path):
    characters = {char for line in UNUSUAL_LINES for char in unicodedata.normalize("NFC", line)
                  if unicodedata.category(char) in ("Lo", "Po")}  # Ideographs and their punctuation.
    vocab_file = write_vocab(tmp_path / "vocab.txt", sorted(characters))
    hf_tokenizer = transformers.BertTokenizer(vocab_file, do_lower_case=True)
    tokenizer = BertTokenizer(vocab_file)
    ids = tokenizer.tokenize(UNUSUAL_LINES).flat_values.numpy()
    expected = []
    for line in UNUSUAL_LINES:
        tokens, groups = _reference_groups(line, hf_tokenizer)
        continues = np.zeros(len(tokens), bool)
        for group, is_chinese in groups:
            continues[group[1:]] = is_chinese
        expected.append(continues)
    np.testing.assert_array_equal(ids, hf_tokenizer.convert_tokens_to_ids(
        [token for line in UNUSUAL_LINES for token in hf_tokenizer.tokenize(line)]))
    np.testing.assert_array_equal(
        ChineseWordSegmenter("jieba").word_continuations(UNUSUAL_LINES, ids, tokenizer),
        np.concatenate(expected))


def _records(chinese, name, **options):
    path = chinese["directory"] / f"{name}.tfrecord"
    count = create_pretraining_data(chinese["corpus"], [str(path)], chinese["tokenizer"], max_seq_length=SEQ_LENGTH,
                                    max_predictions_per_seq=PREDICTIONS, dupe_factor=10, do_whole_word_mask=True,
                                    log=lambda line: None, **options)
    dataset = read_pretraining_records([str(path)], SEQ_LENGTH, PREDICTIONS, shuffle=False).batch(count)
    return {name: value.numpy() for name, value in next(iter(dataset)).items()}


def test_create_pretraining_data_masks_jieba_words_whole(chinese):
    features = _records(chinese, "jieba", chinese_word_segmenter="jieba")
    _check_whole_jieba_words(features, chinese)
    _check_budget_and_80_10_10(features, chinese["tokenizer"])
    # The same instances as without segmentation, ids and all; only the masks differ.
    plain = _records(chinese, "plain")
    np.testing.assert_array_equal(_unmasked(features), _unmasked(plain))
    np.testing.assert_array_equal(features["segment_ids"], plain["segment_ids"])
    _, _, partly, _ = _partly_masked(plain, chinese)
    assert partly > 500  # Without it, whole-word masking masks Chinese one character at a time.


@pytest.mark.parametrize("full_sentences", [False, True], ids=["sentence_pairs", "full_sentences"])
def test_dynamic_pretraining_masks_jieba_words_whole(chinese, full_sentences):
    dataset = dynamic_pretraining_dataset(chinese["corpus"], chinese["tokenizer"], max_seq_length=SEQ_LENGTH,
                                          max_predictions_per_seq=PREDICTIONS, do_whole_word_mask=True,
                                          full_sentences=full_sentences, chinese_word_segmenter="jieba")
    features = {name: value.numpy() for name, value in next(iter(dataset.batch(2500))).items()}
    _check_whole_jieba_words(features, chinese)
    _check_budget_and_80_10_10(features, chinese["tokenizer"])


def test_the_segmenter_needs_whole_word_masking(chinese, tmp_path):
    with pytest.raises(ValueError, match="chinese_word_segmenter=jieba: .* needs do_whole_word_mask"):
        create_pretraining_data(chinese["corpus"], [str(tmp_path / "x.tfrecord")], chinese["tokenizer"],
                                chinese_word_segmenter="jieba")
    with pytest.raises(ValueError, match="chinese_word_segmenter=jieba: .* needs do_whole_word_mask"):
        dynamic_pretraining_dataset(chinese["corpus"], chinese["tokenizer"], chinese_word_segmenter="jieba")
    with pytest.raises(ValueError, match="--chinese_word_segmenter=jieba groups .* needs --do_whole_word_mask"):
        PretrainingSettings(model_dir="m", text_files=[chinese["corpus"]], chinese_word_segmenter="jieba")
    with pytest.raises(ValueError, match="--chinese_word_segmenter=jieba works on --text_file"):
        PretrainingSettings(model_dir="m", input_files=["x.tfrecord"], do_whole_word_mask=True,
                            chinese_word_segmenter="jieba")
    assert not os.listdir(tmp_path)


def test_without_jieba_the_segmenter_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "jieba", None)  # `import jieba` raises ImportError.
    with pytest.raises(ImportError, match=r"pip install jieba"):
        ChineseWordSegmenter("jieba")
    with pytest.raises(ValueError, match=r"--chinese_word_segmenter=jieba needs jieba.*pip install jieba"):
        PretrainingSettings(model_dir="m", text_files=["x.txt"], do_whole_word_mask=True,
                            chinese_word_segmenter="jieba")


def _tool(name, *args, hide_jieba=False):
    """Runs tools/<name> in a subprocess; with hide_jieba, `import jieba` fails in it."""
    code = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); sys.argv = sys.argv[2:]; "
            + ("sys.modules['jieba'] = None; " if hide_jieba else "")
            + "runpy.run_path(sys.argv[0], run_name='__main__')")
    return subprocess.Popen([sys.executable, "-c", code, str(REPO_ROOT / "tools"), str(REPO_ROOT / "tools" / name),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def test_tools_without_jieba_exit_2_before_any_work(chinese, tmp_path):
    processes = [
        _tool("create_pretraining_data.py", f"--input_file={chinese['corpus']}", f"--output_dir={tmp_path / 'out'}",
              f"--vocab_file={chinese['vocab_file']}", "--do_whole_word_mask", "--chinese_word_segmenter=jieba",
              hide_jieba=True),
        _tool("run_pretraining.py", f"--bert_config_file={chinese['config']}", f"--model_dir={tmp_path / 'model'}",
              f"--text_file={chinese['corpus']}", f"--vocab_file={chinese['vocab_file']}", "--do_whole_word_mask",
              "--chinese_word_segmenter=jieba", hide_jieba=True),
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 2, stderr
        assert "--chinese_word_segmenter=jieba needs jieba" in stderr and "pip install jieba" in stderr, stderr
        assert "Traceback" not in stderr
    assert not os.listdir(tmp_path)


def test_tools_end_to_end(chinese, tmp_path):
    records = tmp_path / "records.tfrecord"
    create = _tool("create_pretraining_data.py", f"--input_file={chinese['corpus']}", f"--output_file={records}",
                   f"--vocab_file={chinese['vocab_file']}", "--do_whole_word_mask", "--chinese_word_segmenter=jieba",
                   f"--max_seq_length={SEQ_LENGTH}", f"--max_predictions_per_seq={PREDICTIONS}", "--dupe_factor=10")
    stdout, stderr = create.communicate(timeout=300)
    assert create.returncode == 0, stderr
    assert "segmented into words by jieba" in stdout
    dataset = read_pretraining_records([str(records)], SEQ_LENGTH, PREDICTIONS, shuffle=False).batch(100_000)
    _check_whole_jieba_words({name: value.numpy() for name, value in next(iter(dataset)).items()}, chinese)

    pretrain = _tool("run_pretraining.py", f"--bert_config_file={chinese['config']}", f"--model_dir={tmp_path / 'model'}",
                     f"--text_file={chinese['corpus']}", f"--vocab_file={chinese['vocab_file']}",
                     "--do_whole_word_mask", "--chinese_word_segmenter=jieba", f"--max_seq_length={SEQ_LENGTH}",
                     f"--max_predictions_per_seq={PREDICTIONS}", "--train_batch_size=8", "--num_train_steps=2",
                     "--num_warmup_steps=1", "--log_steps=1")
    stdout, stderr = pretrain.communicate(timeout=300)
    assert pretrain.returncode == 0, stderr
    assert "Final: " in stdout
