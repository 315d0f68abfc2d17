"""The model code is keras.ops only: the encoder on JAX matches TF on the real MiniLM weights."""

import os
import subprocess
import sys
import textwrap

import numpy as np

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, write_vocab

_JAX_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax"
    import keras_bert_zoo as kbz
    inputs = dict(np.load(sys.argv[2]))
    outputs = {}
    encoder = kbz.BertEncoder.from_pretrained(sys.argv[1])
    result = encoder(inputs)
    outputs["sequence_output"] = np.asarray(result["sequence_output"])
    outputs["pooled_output"] = np.asarray(result["pooled_output"])
    qa = kbz.BertQuestionAnswerer(encoder)
    outputs["start_logits"] = np.asarray(qa(inputs)["start_logits"])
    pretrainer = kbz.BertPretrainer(encoder)
    positions = np.array([[1, 3], [2, 2]], "int32")
    outputs["mlm_logits"] = np.asarray(pretrainer({**inputs, "masked_lm_positions": positions})["mlm_logits"])
    outputs["mlm_logits_full"] = np.asarray(pretrainer.masked_lm_head(result["sequence_output"], positions))
    outputs["training_output"] = np.asarray(encoder(inputs, training=True)["sequence_output"])
    outputs["dropped"] = np.asarray(kbz.layers.SplitBitsDropout(0.25, seed=1)(np.ones((50, 64, 7)), training=True))
    import jax
    dense = kbz.layers.Float32BiasGradDense(3)
    dense.build((None, 4))
    x = np.arange(20, dtype="float32").reshape(5, 4) / 10
    def weighted_sum(trainable):
        return (dense.stateless_call(trainable, [], x, training=True)[0] * np.arange(3, dtype="float32")).sum()
    grads = jax.grad(weighted_sum)([v.value for v in dense.trainable_variables])
    outputs["kernel_grad"], outputs["bias_grad"] = (np.asarray(g) for g in grads)
    np.savez(sys.argv[3], **outputs)
    print("jax modules:", "tensorflow" in sys.modules)
""")


def test_encoder_on_jax_matches_tf(tmp_path, minilm_dir):
    tokenizer = kbz.BertTokenizer.from_pretrained(minilm_dir)
    inputs = {k: v.numpy() for k, v in tokenizer(
        ["The encoder runs on JAX too.", "Same weights, same numbers, another backend."],
        ["A second segment.", ""], max_length=24).items()}
    np.savez(tmp_path / "inputs.npz", **inputs)
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    subprocess.run([sys.executable, "-c", _JAX_SCRIPT, minilm_dir, str(tmp_path / "inputs.npz"),
                    str(tmp_path / "jax.npz")], env=env, check=True, timeout=300)
    jax_outputs = np.load(tmp_path / "jax.npz")
    encoder = kbz.BertEncoder.from_pretrained(minilm_dir)
    tf_outputs = encoder(inputs)
    real = inputs["input_mask"].astype(bool)
    assert np.abs(jax_outputs["sequence_output"] - tf_outputs["sequence_output"].numpy())[real].max() <= 1e-5
    assert np.abs(jax_outputs["pooled_output"] - tf_outputs["pooled_output"].numpy()).max() <= 1e-5
    # The QA head built on JAX starts from fresh random weights, so only its shape is comparable.
    assert jax_outputs["start_logits"].shape == real.shape
    # The pretrainer's last layer, run at the masked positions only, gives the full encoder's rows.
    np.testing.assert_allclose(jax_outputs["mlm_logits"], jax_outputs["mlm_logits_full"], atol=1e-4)
    # Training mode (dropout, GELU) runs on JAX too.
    assert np.isfinite(jax_outputs["training_output"]).all()
    assert np.abs(jax_outputs["training_output"] - jax_outputs["sequence_output"])[real].max() > 1e-3
    kept = jax_outputs["dropped"] != 0
    assert abs(kept.mean() - 0.75) < 0.01 and np.allclose(jax_outputs["dropped"][kept], 4 / 3)
    # The custom bias gradient differentiates on JAX too.
    x = np.arange(20, dtype="float32").reshape(5, 4) / 10
    np.testing.assert_allclose(jax_outputs["bias_grad"], 5 * np.arange(3), atol=1e-6)
    np.testing.assert_allclose(jax_outputs["kernel_grad"], np.outer(x.sum(0), np.arange(3)), atol=1e-5)


_JAX_EXPORT_SCRIPT = textwrap.dedent("""
    import os, sys
    import keras_bert_zoo as kbz
    from keras_bert_zoo.export import export_saved_model
    model_dir, export_dir = sys.argv[1:]
    model = kbz.BertClassifier.from_pretrained(model_dir)
    try:
        export_saved_model(model, kbz.BertTokenizer.from_pretrained(model_dir), export_dir, max_seq_length=16)
    except RuntimeError as e:
        print(e)
    assert not os.path.exists(export_dir)
""")


def test_export_from_jax_says_how_and_writes_nothing(tmp_path, tiny_config):
    model_dir = tmp_path / "classifier"
    tokenizer = kbz.BertTokenizer(write_vocab(tmp_path / "vocab.txt", list("abcdefghijklmnopqrstuvwxyz")))
    kbz.BertClassifier(kbz.BertEncoder(tiny_config), num_classes=2).save_pretrained(str(model_dir), tokenizer)
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2")
    saved = tmp_path / "saved_models" / "classifier"
    library = subprocess.run([sys.executable, "-c", _JAX_EXPORT_SCRIPT, str(model_dir), str(saved)], env=env,
                             capture_output=True, text=True, timeout=300)
    assert library.returncode == 0, library.stderr
    assert "this process runs 'jax'" in library.stdout and "KERAS_BACKEND=tensorflow" in library.stdout
    tool = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "export_saved_model.py"),
                           f"--init_checkpoint={model_dir}", "--task=classifier", f"--export_dir={saved}"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert tool.returncode == 2 and "save_pretrained" in tool.stderr and "Traceback" not in tool.stderr
    assert not (tmp_path / "saved_models").exists()
