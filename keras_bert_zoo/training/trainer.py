"""A resumable custom training loop over any tf.distribute strategy."""

import math
import os
import shutil
import time

import keras
import tensorflow as tf

from keras_bert_zoo.layers.packed_sequences import sequence_count


def write_model_dir_files(model, model_dir, tokenizer=None):
    """Writes config.json (and the vocab) so `from_pretrained(model_dir)` and the exporter work."""
    model.write_config(model_dir)
    if tokenizer is not None:
        tokenizer.save_pretrained(model_dir)


NAN_POLICIES = ("stop", "skip_step")


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or Inf loss; no checkpoint was written for it."""


class UnreadableCheckpointsError(RuntimeError):
    """Checkpoints exist in the model_dir, but none of them reads back."""


class Trainer:
    """Trains a Keras model with an objective, checkpointing model, optimizer, step and data position.

    The loop runs `steps_per_execution` steps per tf.function call, optionally
    compiles forward and backward passes with XLA, prints a progress line,
    writes TensorBoard scalars under `model_dir/train`, and keeps checkpoints
    (`ckpt-<step>`) that a rerun with the same `model_dir` resumes from. On
    resume the input skips the batches already trained on, so a deterministic
    input pipeline continues exactly where the interrupted run stopped
    (tf.distribute iterators themselves can't be checkpointed).

    Args:
        model: The Keras model, created under `strategy.scope()`.
        optimizer: Its Keras optimizer, created under `strategy.scope()`.
        objective: Callable (outputs, labels) -> (loss, dict of additive
            statistics, "examples" among them; the loop counts them itself
            from `input_mask` where the inputs have one, as a packed row holds
            several), with `stat_names` (the
            statistics' keys) and a `metrics(stats)` method turning summed
            statistics into metrics.
        strategy: The tf.distribute strategy.
        model_dir: Where checkpoints and summaries go.
        steps_per_execution: Training steps per tf.function call.
        jit_compile: Compile the forward/backward pass with XLA.
        save_checkpoints_steps: Steps between checkpoints.
        log_every_steps: Steps between progress lines and summaries.
        max_checkpoints_to_keep: Older checkpoints are deleted.
        micro_batches_per_update: Batches per optimizer update (gradient
            accumulation; the optimizer must accumulate as many). Every step
            count, printed step and checkpoint number counts updates.
        nan_policy: "stop": a NaN or Inf loss stops training with
            `NonFiniteLossError`, and no checkpoint is written for it.
            "skip_step": a step whose loss or gradients aren't finite leaves
            weights and optimizer untouched, and is counted as skipped.
        training_run: Optional `TrainingRun` of this model_dir: recorded when
            training starts and ends (on the chief), and the source of a
            finished run's metrics.
    """

    def __init__(self, model, optimizer, objective, strategy, model_dir, steps_per_execution=1,
                 jit_compile=False, save_checkpoints_steps=1000, log_every_steps=100,
                 max_checkpoints_to_keep=5, micro_batches_per_update=1, nan_policy="stop", training_run=None):
        if nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}.")
        self.model = model
        self.optimizer = optimizer
        self.objective = objective
        self.strategy = strategy
        self.model_dir = model_dir
        self.steps_per_execution = max(1, steps_per_execution)
        self.jit_compile = jit_compile
        self.save_checkpoints_steps = max(1, save_checkpoints_steps)
        self.log_every_steps = max(1, log_every_steps)
        self.max_checkpoints_to_keep = max_checkpoints_to_keep
        self.micro_batches_per_update = max(1, micro_batches_per_update)
        self.nan_policy = nan_policy
        self.training_run = training_run
        with strategy.scope():
            # Counts micro-batches: what the input skips on resume.
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            # Building inside the step function would create variables under a cond.
            optimizer.build(model.trainable_variables)
        self._is_chief = strategy.extended.should_checkpoint

    def train(self, dataset_fn, num_train_steps):
        """Runs until `num_train_steps` steps are done, resuming from the newest checkpoint.

        Args:
            dataset_fn: Function of a tf.distribute.InputContext returning the
                per-replica batched dataset of (inputs, labels).
            num_train_steps: Total steps, counting those of earlier runs.

        Returns:
            The metrics of the last logged window, plus "step". A run that had
            already finished returns the metrics its `training_run` recorded.
        """
        if self._is_chief and self.training_run is not None:
            self.training_run.begin()
        encoder = getattr(self.model, "encoder", self.model)
        # Dropout seed states are Keras variables outside model.weights; keep them so
        # a resumed run draws the same dropout masks as an uninterrupted one.
        weight_ids = {id(w) for w in self.model.weights}
        rng_states = [v for v in self.model.variables if id(v) not in weight_ids]
        checkpoint = tf.train.Checkpoint(model=self.model, encoder=encoder, optimizer=self.optimizer,
                                         step=self.step, rng_states=rng_states)
        manager = tf.train.CheckpointManager(
            checkpoint, self._checkpoint_dir(), max_to_keep=self.max_checkpoints_to_keep,
            checkpoint_name="ckpt")
        per_update = self.micro_batches_per_update
        restored = self._restore_newest_readable(checkpoint, manager)
        resumed_batches = int(self.step.numpy())
        if resumed_batches >= num_train_steps * per_update:
            return self._finished_earlier(restored, num_train_steps)
        if restored:
            print(f"Resuming from {restored} at step {resumed_batches // per_update}", flush=True)

        def resumed_dataset_fn(context):
            # Each input pipeline feeds one batch per local replica per micro-step.
            batches_per_step = context.num_replicas_in_sync // context.num_input_pipelines
            return dataset_fn(context).skip(resumed_batches * batches_per_step)

        iterator = iter(self.strategy.distribute_datasets_from_function(resumed_dataset_fn))
        preemption = self._preemption_handler(manager)
        train_steps = tf.function(self._train_steps)
        writer = (tf.summary.create_file_writer(os.path.join(self.model_dir, "train")) if self._is_chief
                  else tf.summary.create_noop_writer())
        window, window_start, last_metrics = {}, time.perf_counter(), {}
        run_start = time.perf_counter()
        total, log_every, save_every = (num_train_steps * per_update, self.log_every_steps * per_update,
                                        self.save_checkpoints_steps * per_update)
        micro = resumed_batches
        while micro < total:
            count = min(self.steps_per_execution, total - micro, self._until_multiple(micro, log_every),
                        self._until_multiple(micro, save_every))
            stats = {k: float(v) for k, v in train_steps(iterator, tf.constant(count, tf.int64)).items()}
            micro += count
            step = -(-micro // per_update)
            if not math.isfinite(stats["loss_sum"]):
                raise NonFiniteLossError(
                    f"Loss became {stats['loss_sum']} at or before step {step}; stopped without "
                    f"writing a checkpoint (the newest good one is {manager.latest_checkpoint}).")
            for name, value in stats.items():
                window[name] = window.get(name, 0.0) + value
            if micro % log_every == 0 or micro == total:
                elapsed = time.perf_counter() - window_start
                seconds_per_step = (time.perf_counter() - run_start) / max(step - resumed_batches // per_update, 1)
                last_metrics = self._log(writer, step, num_train_steps, window, elapsed, seconds_per_step)
                window, window_start = {}, time.perf_counter()
            if micro % save_every == 0 or micro == total:
                self._save(manager, step)
            elif preemption is not None and micro % per_update == 0:
                # Saves (on every worker) and exits when the platform announced a preemption.
                preemption.save_checkpoint_if_preempted(checkpoint_number=step, check_interval=False)
        writer.flush()
        step = int(self.step.numpy()) // per_update
        if self._is_chief and self.training_run is not None:
            self.training_run.finish(step, last_metrics)
        return dict(last_metrics, step=step)

    def _finished_earlier(self, restored, num_train_steps):
        """The metrics of a run whose newest checkpoint, `restored`, already holds every step."""
        finished = self.training_run.finished_metrics if self.training_run is not None else None
        metrics = dict(finished["metrics"]) if finished else {}
        shown = "".join(f"  {name} {value:.4g}" for name, value in metrics.items()
                        if name not in ("examples_per_second", "learning_rate"))
        print(f"Nothing to train: {restored} already holds all {num_train_steps} steps of this run{shown}",
              flush=True)
        return dict(metrics, step=int(self.step.numpy()) // self.micro_batches_per_update)

    def _preemption_handler(self, manager):
        """tf.distribute's PreemptionCheckpointHandler, on the platforms that offer it (multi-worker, TPU)."""
        if not isinstance(self.strategy, (tf.distribute.MultiWorkerMirroredStrategy, tf.distribute.TPUStrategy)):
            return None
        try:
            return tf.distribute.experimental.PreemptionCheckpointHandler(self.strategy.cluster_resolver, manager)
        except (ValueError, NotImplementedError, tf.errors.OpError) as e:
            print(f"WARNING: no preemption checkpoints on this platform ({e})", flush=True)
            return None

    @staticmethod
    def _restore_newest_readable(checkpoint, manager):
        """Restores the newest checkpoint that reads back whole; skips truncated or corrupt ones."""
        for path in reversed(manager.checkpoints):
            try:
                checkpoint.restore(path).assert_existing_objects_matched()
                return path
            # TF reports damaged files with several exception types.
            except (tf.errors.OpError, AssertionError, ValueError, IndexError, KeyError) as e:
                print(f"WARNING: checkpoint {path} is unreadable ({type(e).__name__}: {str(e)[:200]}); "
                      "falling back to the one before it.", flush=True)
        if manager.checkpoints:
            raise UnreadableCheckpointsError(
                f"No checkpoint in {manager.directory} could be read; move them away to start over.")
        return None

    def _checkpoint_dir(self):
        if self._is_chief:
            return self.model_dir
        # Other workers must save too (collective reads) but into a throwaway place.
        resolver = self.strategy.cluster_resolver
        return os.path.join(self.model_dir, f".worker-{resolver.task_type}-{resolver.task_id}")

    def _save(self, manager, step):
        path = manager.save(checkpoint_number=step)
        if self._is_chief:
            print(f"Saved checkpoint {path}", flush=True)
        else:
            shutil.rmtree(self._checkpoint_dir(), ignore_errors=True)

    @staticmethod
    def _until_multiple(step, every):
        return every - step % every

    def _replica_step(self, inputs, labels):
        def forward_backward(inputs, labels):
            with tf.GradientTape() as tape:
                outputs = self.model(inputs, training=True)
                loss, stats = self.objective(outputs, labels)
                if "input_mask" in inputs:
                    # Rows of packed batches hold several examples each.
                    stats = dict(stats, examples=sequence_count(inputs["input_mask"]))
                scaled_loss = loss / self.strategy.num_replicas_in_sync
                if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
                    scaled_loss = self.optimizer.scale_loss(scaled_loss)
            grads = tape.gradient(scaled_loss, self.model.trainable_variables)
            return loss, stats, grads

        if self.jit_compile:
            forward_backward = tf.function(forward_backward, jit_compile=True)
        loss, stats, grads = forward_backward(inputs, labels)
        # Variables outside the objective's graph (the pooler for span heads) have no gradient.
        pairs = [(g, v) for g, v in zip(grads, self.model.trainable_variables) if g is not None]
        if self.nan_policy == "stop":
            self.optimizer.apply_gradients(pairs)
            return dict(stats, loss_sum=loss, skipped_steps=tf.constant(0.0))
        finite = tf.reduce_all([tf.math.is_finite(loss)] + [tf.reduce_all(tf.math.is_finite(g)) for g, _ in pairs])
        # Every replica must take the same branch: skip if any replica saw a non-finite value.
        bad = tf.distribute.get_replica_context().all_reduce(
            tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))

        def apply():
            self.optimizer.apply_gradients(pairs)
            return tf.constant(0.0)

        skipped = tf.cond(bad > 0, lambda: tf.constant(1.0), apply)
        # A skipped step contributes no loss to the NaN check or the metrics.
        stats = {name: tf.where(bad > 0, tf.zeros_like(value), value) for name, value in stats.items()}
        return dict(stats, loss_sum=tf.where(bad > 0, 0.0, loss),
                    skipped_steps=skipped / self.strategy.num_replicas_in_sync)

    def _train_steps(self, iterator, count):
        totals = {name: tf.constant(0.0) for name in (*self.objective.stat_names, "loss_sum", "skipped_steps")}
        for _ in tf.range(count):
            inputs, labels = next(iterator)
            per_replica = self.strategy.run(self._replica_step, args=(inputs, labels))
            totals = {name: total + self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica[name], axis=None)
                      for name, total in totals.items()}
            self.step.assign_add(1)
        return totals

    def _log(self, writer, step, total, window, elapsed, seconds_per_step):
        metrics = self.objective.metrics(window)
        if window.get("skipped_steps"):
            metrics["skipped_steps"] = window["skipped_steps"]
        metrics["examples_per_second"] = window.get("examples", 0.0) / max(elapsed, 1e-9)
        metrics["learning_rate"] = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
        with writer.as_default(step=step):
            for name, value in metrics.items():
                tf.summary.scalar(name, value)
        eta = seconds_per_step * (total - step)
        shown = "  ".join(f"{name} {value:.4g}" for name, value in metrics.items())
        print(f"step {step}/{total}  {shown}  eta {eta:.0f}s", flush=True)
        return metrics
