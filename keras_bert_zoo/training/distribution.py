"""tf.distribute strategies, numerics policies and determinism for the training tools."""

import logging

import keras
import tensorflow as tf

from keras_bert_zoo.config import PRECISIONS

logger = logging.getLogger("keras_bert_zoo")

STRATEGIES = ("one_device", "mirrored", "multi_worker_mirrored", "tpu")


def create_strategy(name, tpu=None, collective_timeout=None):
    """Builds a tf.distribute strategy.

    Args:
        name: "one_device", "mirrored" (all local GPUs, or CPU), "multi_worker_mirrored"
            (workers from TF_CONFIG), or "tpu".
        tpu: For "tpu": a TPU name or grpc address, or "local" on a TPU VM.
        collective_timeout: For "multi_worker_mirrored": seconds a collective
            waits for the other workers; past it the job fails instead of hanging
            on a dead worker.
    """
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker_mirrored":
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        if tpu != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Unknown strategy {name!r}; choose one of {STRATEGIES}.")


def configure_numerics(mixed_precision="float32", seed=None, deterministic=False):
    """Sets the global Keras dtype policy, seeds and op determinism.

    Args:
        mixed_precision: "float32", "mixed_bfloat16" or "mixed_float16".
        seed: Seeds Python, NumPy, TF and Keras RNGs when given.
        deterministic: Enables TF op determinism (same flags, same bytes).
    """
    if mixed_precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {mixed_precision!r}; choose one of {PRECISIONS}.")
    keras.mixed_precision.set_global_policy(mixed_precision)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def split_cpu_devices(count):
    """Splits the CPU into `count` logical devices (call before TF initializes them)."""
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
