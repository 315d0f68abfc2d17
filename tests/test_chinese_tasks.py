"""Chinese tasks: a character tagger serves every character with the tags run_ner predicts, a classifier the labels
run_classifier predicts, and SQuAD-format Chinese
(CMRC 2018 style, no spaces) answers with exact character spans in run_squad's pipeline and the served signature,
through TF Serving's C++ loader too. Tiny random-start models over a vocabulary written here."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, write_vocab
from keras_bert_zoo.data.squad_examples import read_squad_file
from keras_bert_zoo.data.squad_features import squad_features
from keras_bert_zoo.export import export_saved_model
from keras_bert_zoo.export.cc_saved_model_session import CcSavedModelSession
from keras_bert_zoo.training.squad_decoding import decode_squad_predictions
from serving_loaders import assert_same_outputs, check_through_cc_loader, strings

# People's Daily style: (chunk, entity type or None); every character is tagged, full-width digits and Latin too.
# The third sentence is longer than one window of --max_seq_length=32.
NER_SENTENCES = [
    [("江泽民", "PER"), ("主席在", None), ("北京", "LOC"), ("会见了", None), ("IBM公司", "ORG"), ("总裁。", None)],
    [("１９９８年１月１日，", None), ("新华社", "ORG"), ("记者在", None), ("上海", "LOC"), ("报道。", None)],
    [("李鹏", "PER"), ("总理访问了", None), ("日本", "LOC"), ("东京", "LOC"), ("和", None), ("美国", "LOC"),
     ("纽约", "LOC"), ("，并与", None), ("微软公司", "ORG"), ("代表举行了长达两个小时的会谈。", None)],
    [("王小明", "PER"), ("说：“ThinkPad很好用。”", None)],
]
CONTEXTS = [
    "《哈利·波特》是英国作家Ｊ．Ｋ．罗琳于１９９７年至２００７年所著的魔幻文学系列小说，共７部。",
    "ThinkPad是IBM于1992年推出的笔记本电脑品牌，2005年联想集团收购了IBM的个人电脑业务。",
    "莫扎特（WolfgangAmadeusMozart，1756年1月27日－1791年12月5日）是欧洲最伟大的古典主义音乐作曲家之一",
]
# (context, question, answer, occurrence): at the start and end of contexts, inside words, Latin and digits in
# unspaced text, full-width digits and punctuation.
QUESTIONS = [
    (0, "哪部小说？", "《哈利·波特》", 0), (0, "作者是哪国人？", "英国", 0), (0, "作者是谁？", "罗琳", 0),
    (0, "哪年开始写？", "１９９７年", 0), (0, "共几部？", "７部。", 0), (0, "哪年？", "９７", 0),
    (1, "什么品牌？", "ThinkPad", 0), (1, "哪个词？", "Pad", 0), (1, "谁推出？", "IBM", 1),
    (1, "哪年推出？", "1992年", 0), (1, "年份尾数？", "92", 0), (1, "收购了什么？", "个人电脑业务。", 0),
    (2, "谁？", "莫扎特", 0), (2, "姓什么？", "Mozart", 0), (2, "生日？", "1756年1月27日", 0),
    (2, "是什么人？", "作曲家之一", 0),
]
SEQ, STRIDE, QUERY, ANSWER = 48, 16, 12, 12


def _tags(sentence):
    """(characters, BIO tags) of a sentence of chunks."""
    chars, tags = [], []
    for chunk, kind in sentence:
        chars += list(chunk)
        tags += [f"{'I' if i else 'B'}-{kind}" if kind else "O" for i in range(len(chunk))]
    return chars, tags


def _cmrc_json():
    """The questions in SQuAD v1.1 format, as CMRC 2018 ships (answer_start in characters)."""
    def start(context, answer, occurrence):
        position = -1
        for _ in range(occurrence + 1):
            position = context.index(answer, position + 1)
        return position

    paragraphs = [{"context": context, "qas": [
        {"id": f"q{i}", "question": question, "answers": [{"text": answer, "answer_start": start(context, answer, n)}]}
        for i, (c, question, answer, n) in enumerate(QUESTIONS) if c == index]}
        for index, context in enumerate(CONTEXTS)]
    return {"version": "v1.1", "data": [{"title": "zh", "paragraphs": paragraphs}]}


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """A Chinese-BERT-like vocabulary: every character (and "##" forms of non-CJK ones), so "１９９７" and "1992"
    are several pieces, as Google's Chinese vocab makes them, and a few Latin words cut into pieces."""
    texts = CONTEXTS + [q for _, q, _, _ in QUESTIONS] + ["".join(_tags(s)[0]) for s in NER_SENTENCES]
    chars = sorted({c for text in texts for c in text.lower()})
    pieces = ["think", "##pad", "ibm", "19", "20", "##92", "##05", "wolfgang", "##amadeus", "##mozart"]
    tokens = chars + ["##" + c for c in chars if not "\u4e00" <= c <= "\u9fff"] + pieces
    return kbz.BertTokenizer(write_vocab(tmp_path_factory.mktemp("zh") / "vocab.txt", tokens))


def _encoder(tokenizer):
    keras.utils.set_random_seed(0)
    return kbz.BertEncoder(kbz.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_layers=2,
                                          num_heads=2, intermediate_size=64, max_position_embeddings=64))


def _run(tool, *args):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / tool), *args], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result


def test_character_tagger_serves_what_run_ner_predicts(tmp_path, tokenizer):
    """run_ner on character-tagged text records a character tagger; its export tags every character of raw text,
    full-width digits and Latin letters included, with run_ner's tags and the characters' byte offsets."""
    checkpoint = tmp_path / "start"
    _encoder(tokenizer).save_pretrained(str(checkpoint), tokenizer=tokenizer)
    sentences = [_tags(sentence) for sentence in NER_SENTENCES]
    conll = "".join("".join(f"{c} {t}\n" for c, t in zip(*sentence)) + "\n" for sentence in sentences)
    train, data = tmp_path / "train.txt", tmp_path / "data.txt"
    train.write_text(conll * 8, encoding="utf-8")
    data.write_text(conll, encoding="utf-8")
    model_dir = tmp_path / "ner"
    result = _run("run_ner.py", f"--init_checkpoint={checkpoint}", f"--model_dir={model_dir}", "--do_train",
                  "--do_eval", "--do_predict", f"--train_file={train}", f"--eval_file={data}",
                  f"--predict_file={data}", "--max_seq_length=32", "--num_train_epochs=25", "--train_batch_size=8",
                  "--learning_rate=3e-3")
    assert "Tagging characters" in result.stdout
    assert json.loads((model_dir / "config.json").read_text())["keras_bert_zoo_head"]["word_unit"] == "char"
    predicted = [[line.split("\t") for line in block.splitlines()]
                 for block in (model_dir / "predictions.txt").read_text(encoding="utf-8").split("\n\n") if block]
    assert [[c for c, _ in rows] for rows in predicted] == [chars for chars, _ in sentences]
    assert sum(tag != "O" for rows in predicted for _, tag in rows) > 10  # the tagger learnt entities

    export_dir = tmp_path / "export"
    _run("export_saved_model.py", f"--model_dir={model_dir}", "--task=ner", f"--export_dir={export_dir}",
         "--max_seq_length=32")
    path = str(export_dir / "1")
    python = tf.saved_model.load(path).signatures
    # Raw text as a client sends it; spaces between characters are no words.
    texts = ["".join(chars) for chars, _ in sentences] + ["IBM 公司\u3000１９９８年"]
    expected = [[tag for _, tag in rows] for rows in predicted]
    with CcSavedModelSession(path) as session:
        served, _ = session.run("serving_default", {"text": strings(texts)})
    assert_same_outputs(served, {k: v.numpy() for k, v in python["serving_default"](text=tf.constant(texts)).items()},
                        "Chinese texts")
    for i, text in enumerate(texts):
        words = [w.decode() for w in served["words"][i] if w]
        assert words == [c for c in text if not c.isspace()]
        offsets = list(zip(served["word_start"][i][:len(words)], served["word_end"][i][:len(words)]))
        assert [text.encode()[s:e].decode() for s, e in offsets] == words
        if i < len(expected):  # the same characters in the same windows: run_ner's tags
            assert [t.decode() for t in served["tags"][i][:len(words)]] == expected[i]
    assert check_through_cc_loader(path, python) > 0  # hostile texts too


def test_cmrc_answers_are_exact_character_spans(tmp_path, tokenizer):
    """run_squad's labels and decoding on unspaced Chinese: gold logits give back every gold answer exactly."""
    path = tmp_path / "cmrc.json"
    path.write_text(json.dumps(_cmrc_json(), ensure_ascii=False), encoding="utf-8")
    examples = read_squad_file(str(path))
    features = squad_features(tokenizer, examples, max_seq_length=SEQ, doc_stride=STRIDE, max_query_length=QUERY,
                              is_training=True)
    assert features.num_answers_not_found == 0 and len(features) > len(examples)  # some contexts take two windows
    rows = np.arange(len(features))
    labelled = features.start_positions > 0
    assert set(features.example_index[labelled]) == set(range(len(examples)))
    start_logits, end_logits = np.zeros(features.input_word_ids.shape), np.zeros(features.input_word_ids.shape)
    start_logits[rows[labelled], features.start_positions[labelled]] = 10.0
    end_logits[rows[labelled], features.end_positions[labelled]] = 10.0
    predictions = decode_squad_predictions(examples, features, start_logits, end_logits, max_answer_length=ANSWER)
    for example in examples:
        start = example.answer_starts[0]
        assert predictions.answers[example.qas_id] == example.answer_texts[0]
        assert predictions.answer_spans[example.qas_id] == (start, start + len(example.answer_texts[0]))


def test_served_chinese_answers_equal_run_squads_through_cc_loader(tmp_path, tokenizer):
    """Whatever span a model picks, even inside a word ("Pad", "９７"), the export answers run_squad's text and
    its byte offsets, in Python and in TF Serving's C++ loader."""
    path = tmp_path / "cmrc.json"
    path.write_text(json.dumps(_cmrc_json(), ensure_ascii=False), encoding="utf-8")
    examples = read_squad_file(str(path))
    model = kbz.BertQuestionAnswerer(_encoder(tokenizer))
    features = squad_features(tokenizer, examples, max_seq_length=SEQ, doc_stride=STRIDE, max_query_length=QUERY)
    outputs = model(features.model_inputs(), training=False)
    predictions = decode_squad_predictions(examples, features, np.asarray(outputs["start_logits"]),
                                           np.asarray(outputs["end_logits"]), max_answer_length=ANSWER)
    export = export_saved_model(model, tokenizer, str(tmp_path / "squad"), max_seq_length=SEQ, doc_stride=STRIDE,
                                max_query_length=QUERY, max_answer_length=ANSWER)
    feeds = {"question": strings([e.question_text for e in examples]),
             "context": strings([e.context_text for e in examples])}
    with CcSavedModelSession(export) as session:
        served, _ = session.run("serving_default", feeds)
    python = tf.saved_model.load(export).signatures["serving_default"]
    assert_same_outputs(served, {k: v.numpy() for k, v in python(**feeds).items()}, "Chinese questions")
    for i, example in enumerate(examples):
        start_char, end_char = predictions.answer_spans[example.qas_id]
        context = example.context_text
        expected = (len(context[:start_char].encode()), len(context[:end_char].encode()))
        assert (int(served["start"][i]), int(served["end"][i])) == expected, example.qas_id
        assert served["answer"][i].decode() == predictions.answers[example.qas_id] == context[start_char:end_char]


def test_chinese_classifier_answers_through_cc_loader(tmp_path, tokenizer):
    texts = CONTEXTS + ["这部电影真好看！", "", "ＩＢＭ　１９９８"]
    model = kbz.BertClassifier(_encoder(tokenizer), num_classes=2, label_names=["负面", "正面"])
    export = export_saved_model(model, tokenizer, str(tmp_path / "classifier"), max_seq_length=SEQ)
    with CcSavedModelSession(export) as session:
        served, _ = session.run("serving_default", {"text": strings(texts)})
    expected = model(tokenizer(texts, max_length=SEQ), training=False)["logits"]
    np.testing.assert_allclose(served["probabilities"], tf.nn.softmax(expected).numpy(), atol=1e-5)
    assert [label.decode() for label in served["label"]] == [["负面", "正面"][i] for i in np.argmax(expected, -1)]


def test_served_chinese_classifier_answers_equal_run_classifiers(tmp_path, tokenizer):
    """run_classifier on Chinese reviews, exported: TF Serving's C++ loader answers raw text with the labels and
    probabilities run_classifier predicts, and scores as its evaluation."""
    checkpoint = tmp_path / "start"
    _encoder(tokenizer).save_pretrained(str(checkpoint), tokenizer=tokenizer)
    sentences = ["".join(_tags(sentence)[0]) for sentence in NER_SENTENCES] + CONTEXTS + [q for _, q, _, _ in QUESTIONS]
    rows = [(text, "正面" if any(c in text for c in "年京") else "负面") for text in sentences]
    data = tmp_path / "reviews.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows), encoding="utf-8")
    model_dir = tmp_path / "classifier"
    _run("run_classifier.py", f"--init_checkpoint={checkpoint}", f"--model_dir={model_dir}", "--do_train",
         "--do_eval", "--do_predict", f"--train_file={data}", f"--eval_file={data}", f"--predict_file={data}",
         "--max_seq_length=32", "--num_train_epochs=10", "--train_batch_size=8", "--learning_rate=3e-3")
    lines = (model_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    predicted = [json.loads(line) for line in lines]
    assert [p["text"] for p in predicted] == sentences
    assert {p["label"] for p in predicted} == {"正面", "负面"}  # the classifier learnt something of the labels

    export_dir = tmp_path / "export"
    _run("export_saved_model.py", f"--model_dir={model_dir}", "--task=classifier", f"--export_dir={export_dir}",
         "--max_seq_length=32")
    with CcSavedModelSession(str(export_dir / "1")) as session:
        served, _ = session.run("serving_default", {"text": strings(sentences)})
    assert [label.decode() for label in served["label"]] == [p["label"] for p in predicted]
    np.testing.assert_allclose(served["probabilities"], [p["probabilities"] for p in predicted], atol=1e-5)
    accuracy = json.loads((model_dir / "eval_results.json").read_text())["accuracy"]
    assert np.mean([label.decode() == gold for label, (_, gold) in zip(served["label"], rows)]) == pytest.approx(accuracy)
