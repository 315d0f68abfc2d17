"""Exporting task models as versioned SavedModels for TF Serving, and its models.config."""

import os
import re
import shutil
import tempfile

import keras
import tensorflow as tf

from keras_bert_zoo.config import task_registry
from keras_bert_zoo.export.batching_parameters import BatchingParameters
from keras_bert_zoo.export.warmup_requests import write_warmup_requests
from keras_bert_zoo.files import make_staging_dir, write_text_atomic


def versions(export_dir):
    """The integer version directories in `export_dir`, ascending."""
    if not os.path.isdir(export_dir):
        return []
    return sorted(int(name) for name in os.listdir(export_dir)
                  if name.isdigit() and os.path.isdir(os.path.join(export_dir, name)))


def export_saved_model(model, tokenizer, export_dir, version=None, max_seq_length=128, in_graph_batching=None,
                       **serving_kwargs):
    """Writes `<export_dir>/<version>/` (saved_model.pb, variables/, assets/ with the tokenizer's files, warmup).

    The version is written under a temporary name and renamed when complete,
    so TF Serving never sees half an export, and an existing version is never
    overwritten. The graph reads only the variables the SavedModel restores,
    so TF Serving's C++ loader runs it, and nothing in it needs this package.

    Args:
        model: A task model: an instance of a class registered in `kbz.tasks`,
            whose spec's serving module gives the signatures.
        tokenizer: Its tokenizer (tokenization runs inside the graph; its files go into assets/).
        export_dir: The model's base path in TF Serving (its last component
            names the model).
        version: Version number; default: one more than the newest.
        max_seq_length: Longest packed sequence (or window) the signatures build.
        in_graph_batching: A `BatchingParameters`: `serving_default` then batches concurrent
            calls itself with a BatchFunction op, which stock TF Serving runs without
            --enable_batching (the classifier's; other tasks ignore it). None: no batching in the graph.
        **serving_kwargs: Task options (doc_stride, max_query_length,
            max_answer_length for question answering).

    Returns:
        The version directory.

    Raises:
        RuntimeError: Keras runs on another backend than TensorFlow (nothing
            is written).
        ValueError: The model's class is no registered task, or bad options.
    """
    require_tensorflow_backend()
    spec = task_registry.spec_of_model(model)
    existing = versions(export_dir)
    version = version if version is not None else (existing[-1] + 1 if existing else 1)
    if version < 1:
        raise ValueError(f"version must be a positive integer, got {version}.")
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(f"{final} exists; versions are never overwritten. Pick another --version.")
    vocab_dir = tempfile.mkdtemp(prefix="kbz-vocab-")
    created_export_dir = not os.path.exists(export_dir)
    staging = None
    try:
        vocab_asset, other_assets = _tokenizer_assets(tokenizer, vocab_dir)
        module = spec.serving_module(model, tokenizer, max_seq_length, vocab_asset, **serving_kwargs)
        module.tokenizer_assets = other_assets
        module.in_graph_batching = in_graph_batching
        signatures = module.traced_signatures()
        _check_no_keras_variables(module)
        os.makedirs(export_dir, exist_ok=True)
        staging = make_staging_dir(export_dir, prefix=f".tmp-{version}-")
        tf.saved_model.save(module, staging, signatures=signatures)
        write_warmup_requests(staging, os.path.basename(os.path.normpath(export_dir)), module.warmup_requests())
        os.rename(staging, final)
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if created_export_dir and os.path.isdir(export_dir) and not os.listdir(export_dir):
            os.rmdir(export_dir)
        raise
    finally:
        shutil.rmtree(vocab_dir, ignore_errors=True)
    return final


def _tokenizer_assets(tokenizer, directory):
    """The tokenizer's files as SavedModel assets: (its vocab, the others), so clients can read the tokenizer back.

    The vocab is vocab.txt (WordPiece), vocab.json (BPE, merges.txt among the
    others), tokenizer.json (a BPE that states its pair layout or normalizer,
    ModernBERT's) or the SentencePiece model.
    """
    tokenizer.save_pretrained(directory)
    names = sorted(os.listdir(directory))
    vocab = next((name for name in ("vocab.txt", "vocab.json", "tokenizer.json") if name in names), None)
    vocab = vocab or next(name for name in names if name.endswith(".model"))
    return (tf.saved_model.Asset(os.path.join(directory, vocab)),
            [tf.saved_model.Asset(os.path.join(directory, name)) for name in names if name != vocab])


def require_tensorflow_backend():
    """Raises RuntimeError, saying how to export instead, unless Keras runs on TensorFlow."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"SavedModels are written from Keras's TensorFlow backend, and this process runs {backend!r}. Save the "
            "model with model.save_pretrained(DIR, tokenizer) and export DIR from a TensorFlow process: "
            "KERAS_BACKEND=tensorflow python tools/export_saved_model.py --init_checkpoint=DIR --task=TASK")


def _check_no_keras_variables(module):
    """Raises if the module's object graph reaches a `keras.Variable`.

    A tracked Keras variable is restored into a copy of its `tf.Variable`
    that the traced functions don't read (see `ServingModule`), which only
    TF Serving's loader would reveal.
    """
    for path, value in _tracked_objects(module):
        if isinstance(value, keras.Variable):
            raise TypeError(f"{type(module).__name__}.{path} tracks Keras variables, which TF Serving's loader "
                            "could not restore; keep Keras models and layers in ServingModule.model only.")


def _tracked_objects(root):
    """(attribute path, object) of everything a SavedModel of `root` would track, breadth first."""
    seen = {id(root)}
    pending = [("", root)]
    while pending:
        path, trackable = pending.pop(0)
        for name, child in trackable._trackable_children(save_type="savedmodel").items():
            if id(child) in seen:
                continue
            seen.add(id(child))
            child_path = f"{path}.{name}" if path else name
            yield child_path, child
            if isinstance(child, tf.__internal__.tracking.Trackable):
                pending.append((child_path, child))


def write_models_config(models_root, path=None, base_path_prefix=None):
    """Writes TF Serving's models.config listing every exported model under `models_root`.

    Args:
        models_root: Directory of model directories (saved_models/), each
            holding integer version directories.
        path: Output file; default `<models_root>/models.config`.
        base_path_prefix: Where `models_root` is mounted for the server (such
            as "/models" in the docker image); default its absolute path.

    Returns:
        The names of the models listed.
    """
    names = sorted(name for name in os.listdir(models_root)
                   if re.fullmatch(r"[\w.-]+", name) and versions(os.path.join(models_root, name)))
    prefix = base_path_prefix or os.path.abspath(models_root)
    entries = "".join(
        f'  config {{\n    name: "{name}"\n    base_path: "{prefix.rstrip("/")}/{name}"\n'
        f'    model_platform: "tensorflow"\n  }}\n' for name in names)
    write_text_atomic(path or os.path.join(models_root, "models.config"), f"model_config_list {{\n{entries}}}\n")
    return names


def write_batching_parameters(models_root, parameters=None, path=None):
    """Writes TF Serving's batching parameters file beside models.config.

    The server reads it with `--enable_batching --batching_parameters_file=<path>`; every model it
    serves then batches concurrent requests so.

    Args:
        models_root: Directory of model directories (saved_models/).
        parameters: A `BatchingParameters`; default its defaults, measured on 2 CPU cores.
        path: Output file; default `<models_root>/batching_parameters.txt`.

    Returns:
        The path written.
    """
    path = path or os.path.join(models_root, "batching_parameters.txt")
    write_text_atomic(path, (parameters or BatchingParameters()).text_proto())
    return path
