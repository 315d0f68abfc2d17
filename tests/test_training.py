"""Optimizers, the pretraining objective and the resumable training loop (in-process)."""

import json

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.config import BertConfig
from keras_bert_zoo.training.optimization import create_optimizer
from keras_bert_zoo.training.pretraining_objective import PretrainingObjective, split_pretraining_features
from keras_bert_zoo.training.trainer import NonFiniteLossError, Trainer
from keras_bert_zoo.training.training_run import ModelDirConflictError, TrainingRun
from keras_bert_zoo.training.warmup_polynomial_decay import WarmupPolynomialDecay

SEQ, PRED = 16, 4
CONFIG = BertConfig(vocab_size=40, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                    max_position_embeddings=SEQ)


# Word frequencies fall off steeply with rank, so a model can learn them quickly.
_ZIPF_LOGITS = -2.0 * tf.math.log(tf.range(1, 36, dtype=tf.float32))[None]


def _features(index):
    """A synthetic pretraining example whose masked words follow a learnable Zipf law."""
    ids = tf.cast(tf.random.stateless_categorical(_ZIPF_LOGITS, SEQ, [index, 7])[0], tf.int32) + 5
    positions = tf.constant([2, 5, 9, 12])
    return {
        "input_ids": tf.tensor_scatter_nd_update(ids, positions[:, None], tf.fill([PRED], 4)),
        "input_mask": tf.ones([SEQ], tf.int32),
        "segment_ids": tf.concat([tf.zeros([SEQ // 2], tf.int32), tf.ones([SEQ // 2], tf.int32)], 0),
        "masked_lm_positions": positions,
        "masked_lm_ids": tf.gather(ids, positions),
        "masked_lm_weights": tf.constant([1.0, 1.0, 1.0, 0.0]),
        "next_sentence_labels": tf.cast(index % 2, tf.int32),
    }


def _dataset_fn(context):
    examples = tf.data.Dataset.range(10 ** 6).map(_features)
    return examples.batch(context.get_per_replica_batch_size(8), drop_remainder=True).map(
        split_pretraining_features)


def _trainer(model_dir, steps=60, **kwargs):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = kbz.BertPretrainer(kbz.BertEncoder(CONFIG))
        optimizer = create_optimizer("adamw", 2e-3, steps, 5)
    return Trainer(model, optimizer, PretrainingObjective(), strategy, str(model_dir), **kwargs)


def test_schedule_warms_up_then_decays():
    schedule = WarmupPolynomialDecay(1.0, decay_steps=100, warmup_steps=10)
    values = [float(schedule(step)) for step in (0, 5, 10, 55, 100, 150)]
    np.testing.assert_allclose(values, [0.0, 0.5, 0.9, 0.45, 0.0, 0.0], atol=1e-6)


def test_hf_schedule_decays_from_the_end_of_warmup():
    import transformers

    schedule = WarmupPolynomialDecay(1.0, decay_steps=100, warmup_steps=10, decay_from_warmup_end=True)
    steps = (0, 5, 10, 55, 99, 100, 150)
    reference = transformers.get_linear_schedule_with_warmup(_torch_sgd(), 10, 100).lr_lambdas[0]
    np.testing.assert_allclose([float(schedule(s)) for s in steps], [reference(s) for s in steps], atol=1e-6)
    restored = WarmupPolynomialDecay.from_config(schedule.get_config())
    assert restored.decay_from_warmup_end and float(restored(55)) == float(schedule(55))


@pytest.mark.parametrize("decay_from_warmup_end", [True, False])
def test_schedule_without_decay_keeps_the_peak_after_warmup(decay_from_warmup_end):
    import transformers

    # What finetune builds for learning_rate_decay="none": the decay ends where it starts.
    schedule = WarmupPolynomialDecay(1.0, decay_steps=100, warmup_steps=10, end_learning_rate=1.0,
                                     decay_from_warmup_end=decay_from_warmup_end)
    steps = (0, 5, 10, 55, 99, 100, 150)
    reference = transformers.get_constant_schedule_with_warmup(_torch_sgd(), 10).lr_lambdas[0]
    np.testing.assert_allclose([float(schedule(s)) for s in steps], [reference(s) for s in steps], atol=1e-6)


def _torch_sgd():
    import torch

    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)


def _numpy_adamw(semantics, initial, gradients, learning_rate=1e-2, weight_decay=0.1, epsilon=1e-6):
    """Each reference's update rule, written out in float64: the kernel, decayed; the bias, not."""
    values = {name: value.astype(np.float64) for name, value in initial.items()}
    moments = {name: (np.zeros_like(v), np.zeros_like(v)) for name, v in values.items()}
    for t, step_gradients in enumerate(gradients, 1):
        dense = {name: np.asarray(tf.convert_to_tensor(g), np.float64) for name, g in zip(values, step_gradients)}
        norm = np.sqrt(sum(np.sum(g * g) for g in dense.values()))
        for name, grad in dense.items():
            grad = grad / max(norm, 1.0)
            m, v = moments[name]
            m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad * grad
            moments[name] = m, v
            decay = weight_decay * values[name] if name == "kernel" else 0.0
            if semantics == "google":
                values[name] = values[name] - learning_rate * (m / (np.sqrt(v) + epsilon) + decay)
                continue
            values[name] = values[name] - learning_rate * decay
            if semantics == "torch":
                step = (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + epsilon)
            else:
                step = np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + epsilon)
            values[name] = values[name] - learning_rate * step
    return values


@pytest.mark.parametrize("name", ["adamw", "lamb"])
def test_weight_decay_spares_layer_norm_and_bias(name):
    model = kbz.BertEncoder(CONFIG)
    optimizer = create_optimizer(name, 1e-2, 10, 0, weight_decay=0.5)
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    optimizer.apply_gradients([(tf.zeros_like(v), v) for v in model.trainable_variables])
    for variable in model.trainable_variables:
        changed = not np.array_equal(variable.numpy(), before[variable.path])
        spared = any(part in variable.path.split("/")[-1] for part in ("gamma", "beta", "bias"))
        assert changed != spared, variable.path


def _adamw_run(optimizer_class, variables, gradients, jit_compile, dtype="float32", **kwargs):
    """Final variable values after applying `gradients` (one list per step) with an AdamW."""
    import keras

    variables = [keras.Variable(v.astype(dtype), name=name) for name, v in variables.items()]
    optimizer = optimizer_class(learning_rate=1e-2, weight_decay=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-6,
                                global_clipnorm=1.0, **kwargs)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    step = tf.function(lambda grads: optimizer.apply_gradients(zip(grads, variables)), jit_compile=jit_compile)
    for grads in gradients:
        step([tf.cast(g, dtype) if isinstance(g, tf.Tensor) else
              tf.IndexedSlices(tf.cast(g.values, dtype), g.indices, g.dense_shape) for g in grads])
    return [v.numpy() for v in variables]


def _adamw_case(repeated_rows=False):
    rng = np.random.default_rng(4)
    variables = {"kernel": rng.normal(size=(6, 5)).astype("float32"), "bias": rng.normal(size=5).astype("float32")}
    gradients = [[tf.constant(rng.normal(size=v.shape) * scale, tf.float32) for v in variables.values()]
                 for scale in (0.1, 3.0, 0.01, 1.0)]  # The 3.0 step is clipped to the global norm.
    # An embedding-style sparse gradient in the last step; an embedding looks a repeated token up twice.
    indices = [1, 1, 4] if repeated_rows else [1, 4]
    gradients[-1][0] = tf.IndexedSlices(tf.constant(rng.normal(size=(len(indices), 5)) * 3.0, tf.float32),
                                        tf.constant(indices), tf.constant([6, 5]))
    return variables, gradients


@pytest.mark.parametrize("semantics", ["google", "torch", "keras"])
@pytest.mark.parametrize("jit_compile,dtype", [(False, "float32"), (True, "float32"), (False, "float64")])
def test_adamw_semantics_follow_their_references(semantics, jit_compile, dtype):
    """The fused TF kernel (float32) and the keras.ops form (float64) against each update rule in NumPy,
    with the global norm clipping taken over the summed rows of a repeated-token gradient."""
    variables, gradients = _adamw_case(repeated_rows=True)
    ours = _adamw_run(kbz.training.FusedAdamW, variables, gradients, jit_compile, dtype, semantics=semantics)
    expected = _numpy_adamw(semantics, variables, gradients)
    tolerance = 1e-6  # Each rule is 1e-4 or more away from the other two.
    for got, name in zip(ours, variables):
        np.testing.assert_allclose(got, expected[name], rtol=tolerance, atol=tolerance)
    others = [_numpy_adamw(other, variables, gradients)["kernel"] for other in ("google", "torch", "keras")
              if other != semantics]
    assert all(np.abs(other - expected["kernel"]).max() > 1e-4 for other in others)


def test_adamw_semantics_round_trip_and_reject_unknown_names():
    optimizer = create_optimizer("adamw", 1e-3, 10, 1, semantics="torch")
    assert optimizer.semantics == "torch" and optimizer.epsilon == 1e-8
    assert kbz.training.FusedAdamW.from_config(optimizer.get_config()).semantics == "torch"
    assert create_optimizer("adamw", 1e-3, 10, 1).semantics == "torch"
    with pytest.raises(ValueError, match="semantics 'hf'"):
        create_optimizer("adamw", 1e-3, 10, 1, semantics="hf")


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fused_adamw_matches_keras_adamw(jit_compile):
    import keras

    variables, gradients = _adamw_case()
    fused = _adamw_run(kbz.training.FusedAdamW, variables, gradients, jit_compile)
    reference = _adamw_run(keras.optimizers.AdamW, variables, gradients, jit_compile)
    for ours, theirs in zip(fused, reference):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fused[0], variables["kernel"])
    assert isinstance(create_optimizer("adamw", 1e-3, 10, 1), kbz.training.FusedAdamW)


def test_objective_weighs_masked_positions():
    logits = np.zeros((2, 3, 5), np.float32)
    logits[0, 0, 1] = 10.0  # right
    logits[0, 1, 2] = 10.0  # wrong (label 3)
    labels = {"masked_lm_ids": np.array([[1, 3, 0], [4, 0, 0]]),
              "masked_lm_weights": np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float32),
              "next_sentence_labels": np.array([0, 1])}
    outputs = {"mlm_logits": logits, "nsp_logits": np.array([[5.0, 0.0], [5.0, 0.0]], np.float32)}
    loss, stats = PretrainingObjective()(outputs, labels)
    metrics = PretrainingObjective().metrics({k: float(v) for k, v in stats.items()})
    assert metrics["mlm_accuracy"] == pytest.approx(1 / 3)
    assert metrics["nsp_accuracy"] == pytest.approx(0.5)
    expected_mlm = (0.0 + 10.0 + np.log(5.0)) / 3  # the padded third slot counts for nothing
    assert metrics["mlm_loss"] == pytest.approx(expected_mlm, abs=1e-3)
    assert float(loss) == pytest.approx(metrics["loss"], abs=1e-3)


def test_training_lowers_mlm_loss_with_xla_and_resumes(tmp_path, capsys):
    trainer = _trainer(tmp_path, steps=60, jit_compile=True, steps_per_execution=5, save_checkpoints_steps=20,
                       log_every_steps=10)
    first = trainer.train(_dataset_fn, 20)
    final = trainer.train(_dataset_fn, 60)
    assert final["step"] == 60 and final["mlm_loss"] < 0.7 * first["mlm_loss"]
    output = capsys.readouterr().out
    assert "step 10/20" in output and "step 60/60" in output and "examples_per_second" in output
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-60")
    finished = _trainer(tmp_path, steps=60)
    assert finished.train(_dataset_fn, 60)["step"] == 60
    assert "ckpt-60 already holds all 60 steps of this run" in capsys.readouterr().out
    events = list((tmp_path / "train").glob("events.out.tfevents.*"))
    assert events


def test_a_model_dir_resumes_only_its_own_run(tmp_path):
    model_dir, data = tmp_path / "model", tmp_path / "data.txt"
    data.write_text("the first data")

    def checked(learning_rate, overwrite=False):
        run = TrainingRun(str(model_dir), {"train_file": [str(data)]}, {"learning_rate": learning_rate})
        return run, run.check(overwrite)

    run, status = checked(1e-3)
    assert status == "new"
    trainer = _trainer(model_dir, steps=8, save_checkpoints_steps=2, log_every_steps=2, training_run=run)
    trainer.model.write_config(str(model_dir))
    metrics = trainer.train(_dataset_fn, 4)
    again, status = checked(1e-3)
    assert status == "finished" and again.finished_metrics["step"] == 4
    assert again.finished_metrics["metrics"]["mlm_loss"] == pytest.approx(metrics["mlm_loss"])
    # A setting added after the record was written: at its default the run is the same, else another.
    newer = {"learning_rate": 1e-3, "length_buckets": True}
    assert TrainingRun(str(model_dir), {"train_file": [str(data)]}, newer, {"length_buckets": True}).check() == (
        "finished")
    with pytest.raises(ModelDirConflictError, match="--length_buckets: was True, now False"):
        TrainingRun(str(model_dir), {"train_file": [str(data)]}, dict(newer, length_buckets=False),
                    {"length_buckets": True}).check()
    data.write_text("other data")
    with pytest.raises(ModelDirConflictError, match=r"--train_file: was .*data.txt \(sha256 "):
        checked(1e-3)
    with pytest.raises(ModelDirConflictError, match="--learning_rate: was 0.001, now 0.002"):
        checked(2e-3)
    (model_dir / "eval_results.json").write_text("{}")
    restart, status = checked(2e-3, overwrite=True)
    assert status == "overwrite"
    restart.begin()
    assert not list(model_dir.glob("ckpt-*")) and not (model_dir / "eval_results.json").exists()
    assert (model_dir / "config.json").exists()
    assert json.loads((model_dir / "training_run.json").read_text())["settings"] == {"learning_rate": 2e-3}


def test_non_finite_loss_stops_without_checkpoint(tmp_path):
    trainer = _trainer(tmp_path, save_checkpoints_steps=5, log_every_steps=5)
    trainer.train(_dataset_fn, 5)

    def poisoned(context):
        return _dataset_fn(context).map(lambda x, y: (x, dict(y, masked_lm_weights=y["masked_lm_weights"] * np.nan)))

    with pytest.raises(NonFiniteLossError, match="at or before step 6.*ckpt-5"):
        trainer.train(poisoned, 20)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-5")


@pytest.mark.parametrize("semantics", ["google", "torch"])
def test_gradient_accumulation_matches_large_batch(semantics):
    def updated_embeddings(accumulation):
        tf.keras.utils.set_random_seed(3)
        model = kbz.BertClassifier(kbz.BertEncoder(BertConfig(**dict(CONFIG.to_dict(), dropout=0.0,
                                                                     attention_dropout=0.0))), 2)
        optimizer = create_optimizer("adamw", 1e-2, 10, 0, gradient_accumulation_steps=accumulation,
                                     semantics=semantics)
        batch = {k: v.numpy() for k, v in split_pretraining_features(
            tf.data.Dataset.range(8).map(_features).batch(8).get_single_element())[0].items()
            if k != "masked_lm_positions"}
        labels = np.arange(8) % 2
        for part in np.split(np.arange(8), accumulation) * 3:  # Three updates: bias correction counts them.
            with tf.GradientTape() as tape:
                logits = model({k: v[part] for k, v in batch.items()}, training=True)["logits"]
                loss = model.default_loss()(labels[part], logits)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                          model.trainable_variables))
        return model.encoder.embeddings.word_embeddings.embeddings.numpy()

    np.testing.assert_allclose(updated_embeddings(2), updated_embeddings(1), atol=1e-6)


def test_skip_step_policy_leaves_weights_untouched(tmp_path, capsys):
    trainer = _trainer(tmp_path, nan_policy="skip_step", save_checkpoints_steps=5, log_every_steps=5)

    def poisoned_every_other(context):
        clean = _dataset_fn(context)
        poisoned = clean.map(lambda x, y: (x, dict(y, masked_lm_weights=y["masked_lm_weights"] * np.nan)))
        return tf.data.Dataset.choose_from_datasets([clean, poisoned], tf.data.Dataset.range(2).repeat())

    metrics = trainer.train(poisoned_every_other, 10)
    # Batches 2, 4, ..., 10 are poisoned: 2 skipped in the first logged window, 3 in the second.
    assert metrics["step"] == 10 and metrics["skipped_steps"] == 3 and np.isfinite(metrics["mlm_loss"])
    assert "skipped_steps 2" in capsys.readouterr().out
    assert all(np.isfinite(v.numpy()).all() for v in trainer.model.trainable_variables)


def test_corrupt_newest_checkpoint_is_skipped(tmp_path, capsys):
    _trainer(tmp_path, save_checkpoints_steps=5, log_every_steps=5).train(_dataset_fn, 10)
    data = next(tmp_path.glob("ckpt-10.data-*"))
    data.write_bytes(data.read_bytes()[:100])  # truncated, as by a crash mid-write
    resumed = _trainer(tmp_path, save_checkpoints_steps=5, log_every_steps=5)
    assert resumed.train(_dataset_fn, 15)["step"] == 15
    output = capsys.readouterr().out
    assert "ckpt-10 is unreadable" in output and "Resuming from" in output and "ckpt-5 at step 5" in output
