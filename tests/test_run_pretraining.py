"""tools/run_pretraining.py end to end (TFRecords or raw text, mirrored, multi-worker, kill and resume), and
the flag checks of PretrainingSettings.from_flags."""

import json
import os
import re
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, write_vocab
from keras_bert_zoo.training import PretrainingSettings

WORDS = ("river stone garden lantern harbor meadow violin orchard candle thunder whisper mountain "
         "silver canyon forest pepper ribbon compass marble glacier").split()
TINY_CONFIG = {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
               "intermediate_size": 64, "max_position_embeddings": 64, "hidden_act": "gelu", "type_vocab_size": 2}
SHAPE = ["--max_seq_length=32", "--max_predictions_per_seq=5"]


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def _tool(name):
    return [sys.executable, str(REPO_ROOT / "tools" / name)]


def _run(name, *args, timeout=600, env=None):
    return subprocess.run(_tool(name) + list(args), capture_output=True, text=True, timeout=timeout,
                          env=env or _env())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, minilm_dir):
    """A small corpus, the MiniLM vocab, a tiny config, and TFRecords made from the corpus."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    with open(root / "corpus.txt", "w") as f:
        for _ in range(40):
            for _ in range(rng.integers(3, 8)):
                f.write(" ".join(rng.choice(WORDS, rng.integers(5, 12))) + ".\n")
            f.write("\n")
    (root / "bert_config.json").write_text(json.dumps(TINY_CONFIG))
    result = _run("create_pretraining_data.py", f"--input_file={root / 'corpus.txt'}",
                  f"--output_file={root / 'data.tfrecord'}", f"--vocab_file={minilm_dir}/vocab.txt",
                  "--dupe_factor=5", *SHAPE)
    assert result.returncode == 0, result.stderr
    return root


def _pretrain_args(corpus, model_dir, *extra):
    return [f"--bert_config_file={corpus / 'bert_config.json'}", f"--model_dir={model_dir}",
            "--train_batch_size=8", "--num_warmup_steps=5", "--learning_rate=5e-3", *SHAPE, *extra]


def _logged(output, name):
    return [float(v) for v in re.findall(rf"{name} ([0-9.e+-]+)", output)]


def test_text_file_training_lowers_mlm_loss(corpus, tmp_path, minilm_dir):
    result = _run("run_pretraining.py", *_pretrain_args(
        corpus, tmp_path / "model", f"--text_file={corpus / 'corpus.txt'}", f"--vocab_file={minilm_dir}/vocab.txt",
        "--num_train_steps=80", "--log_steps=10", "--save_checkpoints_steps=40", "--jit_compile"))
    assert result.returncode == 0, result.stderr
    losses = _logged(result.stdout, "mlm_loss")
    assert len(losses) == 8 and losses[-1] < 0.6 * losses[0]
    assert "mlm_accuracy" in result.stdout and "nsp_accuracy" in result.stdout
    assert list((tmp_path / "model" / "train").glob("events.out.tfevents*"))
    # The model_dir is a from_pretrained source, for the pretrainer and for a fine-tuning head alike.
    pretrainer = kbz.BertPretrainer.from_pretrained(str(tmp_path / "model"))
    classifier = kbz.BertClassifier.from_pretrained(str(tmp_path / "model"), num_classes=2)
    np.testing.assert_array_equal(classifier.encoder.pooler.dense.kernel.numpy(),
                                  pretrainer.encoder.pooler.dense.kernel.numpy())
    assert kbz.BertTokenizer.from_pretrained(str(tmp_path / "model")).vocab_size == 30522


def test_electra_replaced_token_detection_from_raw_text(corpus, tmp_path, minilm_dir):
    """An ELECTRA config trains with its own objective by default: the generator's masked LM and the
    discriminator's replaced-token loss both fall, and the model_dir fine-tunes from the discriminator."""
    config = tmp_path / "electra_config.json"
    kbz.ElectraConfig(vocab_size=30522, embedding_size=16, hidden_size=32, num_layers=2, num_heads=2,
                      intermediate_size=64, max_position_embeddings=64).to_json_file(str(config))
    result = _run("run_pretraining.py", *_pretrain_args(
        corpus, tmp_path / "model", f"--text_file={corpus / 'corpus.txt'}", f"--vocab_file={minilm_dir}/vocab.txt",
        f"--bert_config_file={config}", "--num_train_steps=120", "--log_steps=20", "--jit_compile"))
    assert result.returncode == 0, result.stderr
    assert "ElectraPretrainer" in result.stdout
    mlm, rtd = _logged(result.stdout, "mlm_loss"), _logged(result.stdout, "rtd_loss")
    assert len(mlm) == len(rtd) == 6 and mlm[-1] < 0.7 * mlm[0] and rtd[-1] < rtd[0], (mlm, rtd)
    assert min(_logged(result.stdout, "examples_per_second")) > 0
    pretrainer = kbz.Pretrainer.from_pretrained(str(tmp_path / "model"))
    assert type(pretrainer) is kbz.ElectraPretrainer
    classifier = kbz.Classifier.from_pretrained(str(tmp_path / "model"), num_classes=2)
    np.testing.assert_array_equal(classifier.encoder.embeddings.word_embeddings.embeddings.numpy(),
                                  pretrainer.encoder.embeddings.word_embeddings.embeddings.numpy())
    # BERT's encoder has no generator's objective to train.
    result = _run("run_pretraining.py", *_pretrain_args(
        corpus, tmp_path / "bert", f"--input_file={corpus / 'data.tfrecord'}", "--objective=rtd"))
    assert result.returncode == 2 and "--objective: Replaced-token detection needs ELECTRA's encoder" in result.stderr


@pytest.mark.parametrize("config_class", [kbz.DistilBertConfig, kbz.RobertaConfig], ids=["distilbert", "roberta"])
def test_masked_lm_families_pretrain_with_masked_lm_alone(corpus, tmp_path, config_class):
    config = tmp_path / "config.json"
    config_class(vocab_size=30522, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                 max_position_embeddings=64).to_json_file(str(config))
    result = _run("run_pretraining.py", *_pretrain_args(
        corpus, tmp_path / "model", f"--input_file={corpus / 'data.tfrecord'}", f"--bert_config_file={config}",
        "--num_train_steps=40", "--log_steps=20"))
    assert result.returncode == 0, result.stderr
    assert "MaskedLM" in result.stdout and "nsp_loss" not in result.stdout
    losses = _logged(result.stdout, "mlm_loss")
    assert len(losses) == 2 and losses[1] < losses[0]
    pretrainer = kbz.Pretrainer.from_pretrained(str(tmp_path / "model"))
    assert type(pretrainer) is kbz.MaskedLM and type(pretrainer.encoder.config) is config_class


def test_albert_sentence_order_from_raw_text(corpus, tmp_path, minilm_dir):
    """--text_file with ALBERT's --objective=mlm_sop: sentence-order pairs made on the fly, trained and reported."""
    config = tmp_path / "config.json"
    kbz.AlbertConfig(vocab_size=30522, embedding_size=16, hidden_size=32, num_layers=2, num_heads=2,
                     intermediate_size=64, max_position_embeddings=64).to_json_file(str(config))
    result = _run("run_pretraining.py", *_pretrain_args(
        corpus, tmp_path / "model", f"--text_file={corpus / 'corpus.txt'}", f"--vocab_file={minilm_dir}/vocab.txt",
        f"--bert_config_file={config}", "--num_train_steps=20", "--log_steps=10"))
    assert result.returncode == 0, result.stderr
    assert len(_logged(result.stdout, "sop_loss")) == 2 and "nsp_loss" not in result.stdout
    assert type(kbz.Pretrainer.from_pretrained(str(tmp_path / "model"))) is kbz.AlbertPretrainer


def test_roberta_from_raw_text_with_a_byte_pair_vocab(tmp_path):
    """RoBERTa's masked LM on full sentences from raw text with a trained BPE vocab: the loss falls, and the model_dir
    loads as kbz.MaskedLM, whose save_pretrained transformers' RobertaForMaskedLM reads with the same logits."""
    import torch
    import transformers

    from family_tools import write_tokenizer

    vocab_size = write_tokenizer("bpe", tmp_path / "bpe", minilm_dir=None)
    config = tmp_path / "config.json"
    kbz.RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                      max_position_embeddings=64).to_json_file(str(config))
    text = REPO_ROOT / "keras_bert_zoo" / "data" / "samples" / "pretraining_corpus.txt"
    model_dir = tmp_path / "model"
    result = _run("run_pretraining.py", f"--bert_config_file={config}", f"--model_dir={model_dir}",
                  f"--text_file={text}", f"--vocab_file={tmp_path / 'bpe'}", "--do_whole_word_mask",
                  "--train_batch_size=8", "--max_seq_length=48", "--max_predictions_per_seq=8",
                  "--num_train_steps=60", "--num_warmup_steps=5", "--learning_rate=5e-3", "--log_steps=10")
    assert result.returncode == 0, result.stderr
    assert "MaskedLM" in result.stdout and "nsp_loss" not in result.stdout
    losses = _logged(result.stdout, "mlm_loss")
    assert len(losses) == 6 and losses[-1] < losses[0] - 0.7, losses

    model = kbz.MaskedLM.from_pretrained(str(model_dir))
    tokenizer = kbz.Tokenizer.from_pretrained(str(model_dir))
    assert type(model.encoder) is kbz.RobertaEncoder and tokenizer.vocab_size == vocab_size
    model.save_pretrained(str(tmp_path / "hf"))
    reference = transformers.RobertaForMaskedLM.from_pretrained(str(tmp_path / "hf")).eval()
    inputs = {name: value.numpy() for name, value in
              tokenizer(["The lighthouse stands on a rocky point.", "Bread needs time."], max_length=16).items()}
    positions = np.array([[1, 3, 5], [1, 2, 4]], "int32")
    ours = model(dict(inputs, masked_lm_positions=positions))["mlm_logits"].numpy()
    with torch.no_grad():
        theirs = reference(input_ids=torch.tensor(inputs["input_word_ids"]).long(),
                           attention_mask=torch.tensor(inputs["input_mask"]).long()).logits.numpy()
    np.testing.assert_allclose(ours, np.take_along_axis(theirs, positions[:, :, None], axis=1), atol=1e-4, rtol=0)


def test_mirrored_on_two_cpu_devices(corpus, tmp_path):
    result = _run("run_pretraining.py", *_pretrain_args(
        corpus, tmp_path / "model", f"--input_file={corpus / 'data.tfrecord'}", "--strategy=mirrored",
        "--cpu_devices=2", "--num_train_steps=20", "--log_steps=10", "--steps_per_execution=5"))
    assert result.returncode == 0, result.stderr
    assert "Pretraining on 2 replica(s) with MirroredStrategy" in result.stdout
    losses = _logged(result.stdout, "mlm_loss")
    assert len(losses) == 2 and losses[1] < losses[0]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_mirrored_two_processes(corpus, tmp_path):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen(
            _tool("run_pretraining.py") + _pretrain_args(
                corpus, tmp_path / "model", f"--input_file={corpus / 'data.tfrecord'}",
                "--strategy=multi_worker_mirrored", "--num_train_steps=10", "--log_steps=5",
                "--save_checkpoints_steps=5"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    try:
        outputs = [p.communicate(timeout=300) for p in processes]
    finally:
        for p in processes:
            p.kill()
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
        assert "Pretraining on 2 replica(s) with CollectiveAllReduceStrategy" in stdout  # MultiWorkerMirrored
    assert "Saved checkpoint" in outputs[0][0]
    assert sorted(p.name for p in (tmp_path / "model").glob("ckpt-*.index")) == ["ckpt-10.index", "ckpt-5.index"]
    assert not list((tmp_path / "model").glob(".worker-*"))


def test_kill_during_training_then_resume_only_the_same_run(corpus, tmp_path, minilm_dir):
    args = _tool("run_pretraining.py") + _pretrain_args(
        corpus, tmp_path / "model", f"--input_file={corpus / 'data.tfrecord'}", "--num_train_steps=80",
        "--log_steps=10", "--save_checkpoints_steps=10")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    saved = None
    for line in process.stdout:
        if "Saved checkpoint" in line and line.rstrip().endswith("ckpt-20"):
            saved = line
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert saved and process.returncode == -signal.SIGKILL
    # Other flags or data would train another run on top of this one's checkpoints: refused before any work.
    for changed, flag in (("--num_train_steps=40", "--num_train_steps: was 80, now 40"),
                          (f"--text_file={corpus / 'corpus.txt'}", "--input_file: was")):
        replaced = ("--input_file", "--num_train_steps")[flag.startswith("--num_train_steps")]
        extra = [f"--vocab_file={minilm_dir}/vocab.txt"] if "text_file" in changed else []
        other = [a for a in args if not a.startswith(replaced)] + [changed, *extra]
        refused = subprocess.run(other, capture_output=True, text=True, timeout=300, env=_env())
        assert refused.returncode == 2 and flag in refused.stderr, refused.stderr
        assert "--overwrite_model_dir" in refused.stderr and "Resuming" not in refused.stdout
    resumed = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env())
    assert resumed.returncode == 0, resumed.stderr
    match = re.search(r"Resuming from .*ckpt-(\d+) at step (\d+)", resumed.stdout)
    assert match and match.group(1) == match.group(2) and int(match.group(2)) >= 20
    first_step = int(re.findall(r"step (\d+)/80", resumed.stdout)[0])
    assert first_step == int(match.group(2)) + 10 and "step 80/80" in resumed.stdout
    finished = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env())
    assert finished.returncode == 0, finished.stderr
    assert "already holds all 80 steps of this run" in finished.stdout and "mlm_loss" in finished.stdout


def test_records_of_the_original_script_train_unchanged(corpus, tmp_path, minilm_dir):
    original = tmp_path / "original.tfrecord"
    made = subprocess.run([sys.executable, "-m", "bert.create_pretraining_data",
                           f"--input_file={corpus / 'corpus.txt'}", f"--output_file={original}",
                           f"--vocab_file={minilm_dir}/vocab.txt", "--dupe_factor=2", "--max_seq_length=32",
                           "--max_predictions_per_seq=5"], capture_output=True, text=True, timeout=300, env=_env())
    assert made.returncode == 0, made.stderr
    result = _run("run_pretraining.py", *_pretrain_args(
        corpus, tmp_path / "model", f"--input_file={original}", "--num_train_steps=10", "--log_steps=5",
        "--optimizer=lamb", "--gradient_accumulation_steps=2", "--mixed_precision=mixed_bfloat16"))
    assert result.returncode == 0, result.stderr
    # Steps count updates (each of 2 accumulated micro-batches).
    assert "step 10/10" in result.stdout and "step 5/10" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["--input_file=x"], "--model_dir is required"),
    (["--model_dir=/tmp/m", "--input_file=x"], "exactly one of --preset, --bert_config_file or --init_checkpoint"),
    (["--model_dir=/tmp/m", "--preset=bert_tiny_uncased"], "exactly one of --input_file"),
    (["--model_dir=/tmp/m", "--preset=bert_huge", "--input_file=x"], "--preset=bert_huge is unknown"),
    (["--model_dir=/tmp/m", "--preset=bert_tiny_uncased", "--input_file=/nonexistent*.tfrecord"],
     "--input_file: no file matches"),
    (["--model_dir=/tmp/m", "--preset=bert_tiny_uncased", "--input_file=x", "--max_seq_length=1024"],
     "--max_seq_length=1024 exceeds the model's max_position_embeddings=512"),
    (["--model_dir=/tmp/m", "--preset=bert_tiny_uncased", "--input_file=x", "--train_batch_size=10",
      "--gradient_accumulation_steps=3"], "not divisible"),
    (["--model_dir=/tmp/m", "--preset=bert_tiny_uncased", "--input_file=x", "--strategy=tpu"], "--tpu is required"),
])
def test_bad_flags_exit_2(args, message):
    result = _run("run_pretraining.py", *args, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def flag_files(tmp_path):
    """A tiny config, a 6-token vocab and two TFRecord-named files, for the checks that read files only."""
    (tmp_path / "bert_config.json").write_text(json.dumps(TINY_CONFIG))
    write_vocab(tmp_path / "small_vocab.txt", ["hello"])
    for name in ("b.tfrecord", "a.tfrecord", "text.txt"):
        (tmp_path / name).write_text("")
    return tmp_path


def _from_flags(root, **changes):
    """PretrainingSettings.from_flags on valid flags, with `changes` ("{root}" in strings is the folder)."""
    flag_values = dict(model_dir=f"{root}/model", bert_config_file=f"{root}/bert_config.json",
                       input_file=f"{root}/*.tfrecord", max_seq_length=32, max_predictions_per_seq=5)
    flag_values.update({name: value.format(root=root) if isinstance(value, str) else value
                        for name, value in changes.items()})
    return PretrainingSettings.from_flags(**flag_values)


def test_from_flags_reads_the_config_and_matches_the_files(flag_files, minilm_dir):
    settings = _from_flags(flag_files, train_batch_size=8, gradient_accumulation_steps=2, seed=3)
    assert settings.bert_config.max_position_embeddings == 64 and settings.init_checkpoint is None
    assert settings.input_files == [f"{flag_files}/a.tfrecord", f"{flag_files}/b.tfrecord"]
    assert (settings.text_files, settings.train_batch_size, settings.seed) == ((), 8, 3)

    # Raw text from a checkpoint: its vocab and its casing, whatever --do_lower_case says.
    settings = _from_flags(flag_files, bert_config_file=None, init_checkpoint=minilm_dir, input_file=None,
                           text_file="{root}/text.txt", do_lower_case=False)
    assert settings.bert_config is None and settings.text_files == [f"{flag_files}/text.txt"]
    assert (settings.vocab_file, settings.lower_case) == (os.path.join(minilm_dir, "vocab.txt"), True)


@pytest.mark.parametrize("changes, message", [
    ({"model_dir": None}, "--model_dir is required."),
    ({"preset": "bert_tiny_uncased"},
     "Give exactly one of --preset, --bert_config_file or --init_checkpoint (got --preset, --bert_config_file)."),
    ({"bert_config_file": None}, "Give exactly one of --preset, --bert_config_file or --init_checkpoint (got none)."),
    ({"text_file": "{root}/text.txt"}, "Give exactly one of --input_file (TFRecords) or --text_file (raw text)."),
    ({"bert_config_file": None, "preset": "bert_huge"},
     "--preset=bert_huge is unknown; known presets: bert_tiny_uncased"),
    ({"bert_config_file": "{root}/missing.json"}, "--bert_config_file={root}/missing.json does not exist."),
    ({"bert_config_file": "{root}/small_vocab.txt"}, "--bert_config_file: Cannot read BERT config"),
    ({"bert_config_file": None, "init_checkpoint": "{root}/nothing"},
     "--init_checkpoint={root}/nothing does not exist and is not a preset name."),
    ({"vocab_file": "{root}/missing.txt"}, "--vocab_file={root}/missing.txt does not exist."),
    ({"vocab_file": "{root}/small_vocab.txt"}, "--vocab_file: 6 tokens, but the model's vocab_size is 30522."),
    ({"input_file": None, "text_file": "{root}/text.txt"},
     "--vocab_file is required with --text_file and --bert_config_file."),
    ({"max_seq_length": 128}, "--max_seq_length=128 exceeds the model's max_position_embeddings=64."),
    ({"max_predictions_per_seq": 33}, "--max_predictions_per_seq=33 must be in [1, --max_seq_length=32]."),
    ({"log_steps": 0}, "--log_steps=0: must be at least 1."),
    ({"train_batch_size": 10, "gradient_accumulation_steps": 3},
     "--train_batch_size=10 is not divisible by --gradient_accumulation_steps=3."),
    ({"input_file": "{root}/a.tfrecord,{root}/none*.tfrecord"}, "--input_file: no file matches {root}/none*.tfrecord."),
    # Files are matched after every other check.
    ({"text_file": "{root}/none.txt", "input_file": None, "vocab_file": "{root}/small_vocab.txt"},
     "--vocab_file: 6 tokens"),
])
def test_from_flags_names_the_bad_flag(flag_files, changes, message):
    with pytest.raises(ValueError) as raised:
        _from_flags(flag_files, **changes)
    assert str(raised.value).startswith(message.format(root=flag_files))


def test_settings_check_their_sizes_when_made_directly():
    with pytest.raises(ValueError, match="--train_batch_size=10 is not divisible by --gradient_accumulation_steps=3"):
        PretrainingSettings(model_dir="m", train_batch_size=10, gradient_accumulation_steps=3)
