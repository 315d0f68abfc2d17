"""Another family's checkpoints as transformers makes them, and the tools as a user runs them on one: train,
export, serve, distil."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np

from conftest import REPO_ROOT

_NER_SENTENCES = [[("Alice", "B-PER"), ("visited", "O"), ("Paris", "B-LOC"), (".", "O")],
                  [("Bob", "B-PER"), ("Smith", "I-PER"), ("works", "O"), ("for", "O"), ("Acme", "B-ORG")]]
_REVIEWS = [("a delightful film", "pos"), ("wonderful and moving", "pos"), ("a dull mess", "neg"),
            ("boring and far too long", "neg")]
_CONTEXT = "The Eiffel Tower was completed in 1889 in Paris. It is about 330 metres tall."
_QUESTIONS = [("When was the tower completed?", "1889"), ("Where is the tower?", "Paris"),
              ("How tall is it?", "about 330 metres")]


def seeded(model_class, config):
    """transformers' `model_class(config)` initialized with seed 0, in eval mode.

    The added noise gives biases and LayerNorms values that show a missed or swapped tensor.
    """
    import torch

    torch.manual_seed(0)
    model = model_class(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


def masked_positions(inputs):
    """The positions a masked LM predicts in a `conftest.random_inputs` batch (0: an unused slot)."""
    return np.tile(np.array([[1, 2, 0]], "int32"), (len(inputs["input_word_ids"]), 1))


def outputs_as_transformers(model, inputs):
    """`model`'s outputs on `inputs` under transformers' names (a masked LM's at `masked_positions`)."""
    if "masked_lm_positions" in model.input:
        return {"logits": model(dict(inputs, masked_lm_positions=masked_positions(inputs)))["mlm_logits"].numpy()}
    outputs = {name: value.numpy() for name, value in model(inputs).items() if name != "encoder_outputs"}
    if "sequence_output" in outputs:
        renamed = {"last_hidden_state": outputs["sequence_output"]}
        if "pooled_output" in outputs:
            renamed["pooler_output"] = outputs["pooled_output"]
        return renamed
    return outputs


def assert_like_transformers(got, expected, inputs):
    """Each output in `got` (`outputs_as_transformers`) within 1e-5 of transformers' `expected` on the same
    inputs: per-token outputs on real tokens, a masked LM's at the masked positions."""
    real = inputs["input_mask"].astype(bool)
    for name, value in got.items():
        want = getattr(expected, name).numpy()
        if value.shape != want.shape:  # A masked LM predicts at its positions only.
            want = np.take_along_axis(want, masked_positions(inputs)[:, :, None], axis=1)
        rows = real if value.shape[:2] == real.shape else slice(None)
        np.testing.assert_allclose(value[rows], want[rows], atol=1e-5, rtol=0)


def user_checkpoint(directory, model, tokenizer_dir):
    """`model` saved by transformers (safetensors) with the tokenizer files of `tokenizer_dir` beside (MiniLM's
    uncased vocab.txt, or a `write_tokenizer` directory), as a user's would be."""
    model.save_pretrained(directory, safe_serialization=True)
    for name in os.listdir(tokenizer_dir):
        if name in ("vocab.txt", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json") or \
                name.endswith(".model"):
            shutil.copy(os.path.join(tokenizer_dir, name), directory / name)
    return directory


def _tokenizer_corpus():
    """The texts the tools tests train and ask about, with the package's sample corpus: a small vocab covers them."""
    samples = REPO_ROOT / "keras_bert_zoo" / "data" / "samples" / "pretraining_corpus.txt"
    texts = [line for line in samples.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += [" ".join(word for word, _ in sentence) for sentence in _NER_SENTENCES] + [t for t, _ in _REVIEWS]
    return texts + [_CONTEXT] + [q for q, _ in _QUESTIONS]


def write_tokenizer(kind, directory, minilm_dir, layout="xlm-roberta"):
    """Writes a tokenizer of `kind` into `directory` and returns its vocab size, per transformers' tokenizer.

    "wordpiece" is MiniLM's uncased vocab; "bpe" a byte-level BPE (RoBERTa's ids) and "sentencepiece" a unigram
    model (the file name and ids of `layout`: XLM-RoBERTa's or ALBERT's), each trained by the library's wrapper of
    its reference trainer (build_vocab.py's) on `_tokenizer_corpus()`; "modernbert" a tokenizer.json in
    ModernBERT's layout (`write_modernbert_tokenizer`).
    """
    import transformers

    if kind == "wordpiece":
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copy(f"{minilm_dir}/vocab.txt", directory / "vocab.txt")
        return transformers.BertTokenizerFast(str(directory / "vocab.txt")).vocab_size  # Positional (a trap).
    corpus = directory.parent / f"{directory.name}_corpus.txt"
    corpus.write_text("\n".join(_tokenizer_corpus()), encoding="utf-8")
    if kind == "modernbert":
        return write_modernbert_tokenizer(_tokenizer_corpus(), directory)
    if kind == "bpe":
        from keras_bert_zoo.text.byte_pair_trainer import train_byte_pair_vocab

        train_byte_pair_vocab([str(corpus)], directory, vocab_size=601, min_frequency=1)
        return len(transformers.RobertaTokenizer.from_pretrained(str(directory)))
    from keras_bert_zoo.text.sentence_piece_trainer import train_sentence_piece_vocab

    train_sentence_piece_vocab([str(corpus)], directory, vocab_size=302, hard_vocab_limit=False, num_threads=1,
                               layout=layout)
    reference = transformers.AlbertTokenizer if layout == "albert" else transformers.XLMRobertaTokenizer
    return len(reference.from_pretrained(str(directory)))


# ModernBERT's special tokens, first in its vocab: [UNK] is id 2, [CLS] 3, [SEP] 4, [PAD] 5, [MASK] 6.
MODERNBERT_SPECIAL_TOKENS = ["|||IP_ADDRESS|||", "<|padding|>", "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def write_modernbert_tokenizer(texts, directory, vocab_size=500):
    """Trains with `tokenizers` a byte-level BPE in ModernBERT's layout on `texts` and saves it with transformers
    (tokenizer.json alone, as transformers 5 saves ModernBERT's): NFC normalizer, `MODERNBERT_SPECIAL_TOKENS`,
    `[CLS] a [SEP] b [SEP]` by a TemplateProcessing. Returns its vocab size."""
    import tokenizers
    import transformers
    from tokenizers import normalizers, pre_tokenizers, processors, trainers

    trained = tokenizers.Tokenizer(tokenizers.models.BPE())
    trained.normalizer = normalizers.NFC()
    trained.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trained.decoder = tokenizers.decoders.ByteLevel()
    trained.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=MODERNBERT_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    trained.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:0 [SEP]:0",
        special_tokens=[(token, trained.token_to_id(token)) for token in ("[CLS]", "[SEP]")])
    reference = transformers.PreTrainedTokenizerFast(
        tokenizer_object=trained, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]",
        mask_token="[MASK]")
    reference.save_pretrained(directory)
    return len(reference)


def fine_tune_export_serve_and_distil(tmp_path, checkpoint, task, quantize, hf_class_prefix, encoder_class):
    """`train_export_and_serve`, then for the classifier `distil` too."""
    model_dir, data = train_export_and_serve(tmp_path, checkpoint, task, quantize, hf_class_prefix)
    if task == "classifier":
        distil(tmp_path, model_dir, task, data, encoder_class)


def _run(tool, *args):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / tool), *args], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result


def train_export_and_serve(tmp_path, checkpoint, task, quantize, hf_class_prefix):
    """Fine-tunes `checkpoint` with run_ner, run_classifier or run_squad, exports each of `quantize`, and checks that
    the exports answer through TF Serving's C++ loader as they do in Python.

    Args:
        tmp_path: Scratch directory.
        checkpoint: An HF directory of the family, with a vocab.txt.
        task: "ner", "classifier" or "squad".
        quantize: --quantize values to export ("none", "int8").
        hf_class_prefix: The family's transformers class prefix ("DistilBert"), for config.json's architecture.

    Returns:
        (the model_dir, the training data file).
    """
    import tensorflow as tf

    import keras_bert_zoo as kbz
    from serving_loaders import check_through_cc_loader

    if task == "ner":
        data = tmp_path / "train.txt"
        data.write_text("".join("".join(f"{w} NN O {t}\n" for w, t in s) + "\n" for s in _NER_SENTENCES * 8))
        tool, architecture, metric, epochs = "run_ner.py", "ForTokenClassification", "f1", 30
    elif task == "squad":
        data = tmp_path / "train.json"
        qas = [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": _CONTEXT.index(a)}]}
               for i, (q, a) in enumerate(_QUESTIONS * 8)]
        data.write_text(json.dumps({"version": "1.1", "data": [
            {"title": "Eiffel", "paragraphs": [{"context": _CONTEXT, "qas": qas}]}]}))
        tool, architecture, metric, epochs = "run_squad.py", "ForQuestionAnswering", "f1", 30
    else:
        data = tmp_path / "train.tsv"
        data.write_text("sentence\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in _REVIEWS * 8))
        tool, architecture, metric, epochs = "run_classifier.py", "ForSequenceClassification", "accuracy", 12
    model_dir = tmp_path / task
    # SQuAD's windows hold a question of up to 12 pieces and the context.
    # NER's serving keeps at most a quarter of a window's room per word: BPE cuts rare names into 4 pieces.
    shape = {"squad": ["--max_seq_length=48", "--max_query_length=12", "--doc_stride=16"],
             "ner": ["--max_seq_length=32"]}.get(task, ["--max_seq_length=16"])
    predict = ["--do_predict", f"--predict_file={data}"] if task == "squad" else []
    _run(tool, f"--init_checkpoint={checkpoint}", f"--model_dir={model_dir}", "--do_train", "--do_eval",
         f"--train_file={data}", f"--eval_file={data}", f"--num_train_epochs={epochs}", *shape,
         "--train_batch_size=8", "--learning_rate=1e-3", *predict)
    assert json.loads((model_dir / "config.json").read_text())["architectures"] == [hf_class_prefix + architecture]
    results = json.loads((model_dir / "eval_results.json").read_text())
    assert results[metric] > (50 if task == "squad" else 0.5), results
    if task == "squad":  # Answers are cut from the context, and --do_predict answers as --do_eval does.
        answers = json.loads((model_dir / "predictions.json").read_text())
        assert all(answer in _CONTEXT for answer in answers.values()), answers
        assert json.loads((model_dir / "predict_predictions.json").read_text()) == answers
    for kind in quantize:
        export_dir = tmp_path / f"export_{kind}"
        _run("export_saved_model.py", f"--model_dir={model_dir}", f"--task={task}", f"--export_dir={export_dir}",
             *shape, f"--quantize={kind}")
        python = tf.saved_model.load(str(export_dir / "1")).signatures
        if task == "ner" and kind == "none":  # int8 may round a close call either way.
            tags = python["serving_default"](text=tf.constant(["Alice visited Paris ."]))["tags"].numpy()[0]
            assert [t.decode() for t in tags[:4]] == ["B-PER", "O", "B-LOC", "O"]
            # Special tokens typed by a user stay text: split at punctuation into words as any text is.
            typed = "Alice <mask> </s> <s> [SEP] visited"
            words = [w.decode() for w in python["serving_default"](text=tf.constant([typed]))["words"].numpy()[0]]
            assert "".join(words) == typed.replace(" ", "") and words[1:4] == ["<", "mask", ">"]
        if "serve_ids" in python:  # Its id checks fit the family: DistilBERT has no type ids, RoBERTa one.
            ids = kbz.Tokenizer.from_pretrained(str(model_dir))(["Alice visited Paris ."], max_length=16)
            outputs = python["serve_ids"](**ids)
            assert outputs and all(value.shape[0] == 1 for value in outputs.values())
        assert check_through_cc_loader(str(export_dir / "1"), python) > 0
    return model_dir, data


def distil(tmp_path, teacher_dir, task, data, encoder_class):
    """distill.py keeps one of the teacher's layers; the student is of the teacher's family and learns."""
    import keras_bert_zoo as kbz

    student_dir = tmp_path / "student"
    _run("distill.py", f"--task={task}", f"--teacher_model_dir={teacher_dir}", "--student_num_layers=1",
         "--do_train", "--do_eval", f"--train_file={data}", f"--eval_file={data}", f"--model_dir={student_dir}",
         "--max_seq_length=16", "--train_batch_size=8", "--num_train_epochs=3", "--learning_rate=1e-3")
    student = kbz.tasks.get(task).model_class.from_pretrained(str(student_dir), require_head=True)
    assert type(student.encoder) is encoder_class and student.encoder.config.num_layers == 1
    results = json.loads((student_dir / "eval_results.json").read_text())
    assert min(results["accuracy" if task == "classifier" else "f1"], results.get("teacher_accuracy", 1)) > 0.5
