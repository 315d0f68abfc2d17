"""run_squad's NumPy pipeline and the exported serving signature pick the same answer span."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from family_tools import write_tokenizer
from keras_bert_zoo.training.squad_decoding import decode_squad_predictions
from keras_bert_zoo.data.squad_examples import SquadExample
from keras_bert_zoo.data.squad_features import squad_features
from keras_bert_zoo.export.squad_serving import SquadServing

SEQ, STRIDE, QUERY, ANSWER = 64, 16, 12, 10
LONG = " ".join(f"In {1900 + i}, the council of Élan-{i} met at the «Hall {i}»; 会議 {i} ended." for i in range(12))
CONTEXTS = [
    "The Denver Broncos (AFC) defeated the Carolina Panthers 24–10 in Super Bowl 50, held at Levi's Stadium.",
    "Antonín Dvořák wrote the «New World» Symphony in 1893; Müller's naïve cafe\u0301 reviews followed.",
    "東京は日本の首都です。Tokyo's population is about 14 million (2020), said the (official) report!",
    LONG,
    "Zoë met Bob in Zürich. " * 20,
    "Short.",
    "",
]
QUESTIONS = ["Who won?", "Who wrote the symphony, and when?", "What is the capital?", "When did the council meet?",
             "Where did Zoë meet Bob?", "What?", "Anything?"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_served_answers_equal_run_squads(minilm_dir, seed):
    keras.utils.set_random_seed(seed)  # a random head: arbitrary but fixed logits, all that decoding equality needs
    model = kbz.BertQuestionAnswerer.from_pretrained(minilm_dir)
    _assert_served_answers_equal_run_squads(model, kbz.BertTokenizer.from_pretrained(minilm_dir))


@pytest.mark.parametrize("kind,config_class", [("bpe", kbz.RobertaConfig), ("sentencepiece", kbz.XlmRobertaConfig)],
                         ids=["roberta", "xlm-roberta"])
def test_family_served_answers_equal_run_squads(tmp_path, kind, config_class):
    """Byte-level BPE and SentencePiece: whole-context tokens, answers cut at token (not word) edges, widened to whole
    characters where BPE splits one into byte tokens; a tiny random model of the family."""
    vocab_size = write_tokenizer(kind, tmp_path, None)
    keras.utils.set_random_seed(0)
    model = kbz.QuestionAnswerer(kbz.Encoder(config_class(
        vocab_size=vocab_size, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
        max_position_embeddings=SEQ)))
    _assert_served_answers_equal_run_squads(model, kbz.Tokenizer.from_pretrained(str(tmp_path)))


def _assert_served_answers_equal_run_squads(model, tokenizer):
    examples = [SquadExample(f"q{i}", q, c, [], []) for i, (q, c) in enumerate(zip(QUESTIONS, CONTEXTS))]
    features = squad_features(tokenizer, examples, max_seq_length=SEQ, doc_stride=STRIDE, max_query_length=QUERY)
    outputs = model(features.model_inputs(), training=False)
    # run_squad's default n_best_size (20): its top-20 starts and ends hold the best span the server finds.
    predictions = decode_squad_predictions(examples, features, np.asarray(outputs["start_logits"]),
                                           np.asarray(outputs["end_logits"]), max_answer_length=ANSWER)
    serving = SquadServing(model, tokenizer, SEQ, None, doc_stride=STRIDE, max_query_length=QUERY,
                           max_answer_length=ANSWER)
    served = serving.serve_text(tf.constant(QUESTIONS), tf.constant(CONTEXTS))
    later_windows = 0
    for i, (example, start, end) in enumerate(zip(examples, served["start"].numpy(), served["end"].numpy())):
        context = example.context_text.encode()
        start_char, end_char = predictions.answer_spans[example.qas_id]
        expected = (len(example.context_text[:start_char].encode()), len(example.context_text[:end_char].encode()))
        assert (int(start), int(end)) == (expected if start_char >= 0 else (-1, -1)), example.qas_id
        assert served["answer"].numpy()[i].decode() == predictions.answers[example.qas_id], example.qas_id
        if start >= 0:
            assert context[start:end].decode() == predictions.answers[example.qas_id]
        assert predictions.answers[example.qas_id].strip() == predictions.answers[example.qas_id], example.qas_id
        first_window_end = features.token_char_ends[np.flatnonzero(features.example_index == i)[0]].max()
        later_windows += start_char >= first_window_end
    assert later_windows >= 1  # some best span lies past the first window
