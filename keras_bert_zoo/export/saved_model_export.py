"""Exporting task models as versioned SavedModels for TF Serving, and its models.config."""

import os
import re
import shutil
import tempfile

import tensorflow as tf

from keras_bert_zoo.config.atomic_files import write_text_atomic
from keras_bert_zoo.export.classifier_serving import ClassifierServing
from keras_bert_zoo.export.encoder_serving import EncoderServing
from keras_bert_zoo.export.ner_serving import NerServing
from keras_bert_zoo.export.pretrainer_serving import PretrainerServing
from keras_bert_zoo.export.squad_serving import SquadServing
from keras_bert_zoo.export.warmup_requests import write_warmup_requests

SERVING_MODULES = {
    "encoder": EncoderServing,
    "pretrainer": PretrainerServing,
    "classifier": ClassifierServing,
    "token_classifier": NerServing,
    "question_answerer": SquadServing,
}


def versions(export_dir):
    """The integer version directories in `export_dir`, ascending."""
    if not os.path.isdir(export_dir):
        return []
    return sorted(int(name) for name in os.listdir(export_dir)
                  if name.isdigit() and os.path.isdir(os.path.join(export_dir, name)))


def export_saved_model(model, tokenizer, export_dir, version=None, max_seq_length=128, **serving_kwargs):
    """Writes `<export_dir>/<version>/` (saved_model.pb, variables/, assets/vocab.txt, warmup requests).

    The version is written under a temporary name and renamed when complete,
    so TF Serving never sees half an export, and an existing version is never
    overwritten.

    Args:
        model: A task model (its `task` picks the serving signatures).
        tokenizer: Its `BertTokenizer` (tokenization runs inside the graph).
        export_dir: The model's base path in TF Serving (its last component
            names the model).
        version: Version number; default: one more than the newest.
        max_seq_length: Longest packed sequence (or window) the signatures build.
        **serving_kwargs: Task options (doc_stride, max_query_length,
            max_answer_length for question answering).

    Returns:
        The version directory.
    """
    existing = versions(export_dir)
    version = version if version is not None else (existing[-1] + 1 if existing else 1)
    if version < 1:
        raise ValueError(f"version must be a positive integer, got {version}.")
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(f"{final} exists; versions are never overwritten. Pick another --version.")
    os.makedirs(export_dir, exist_ok=True)
    staging = tempfile.mkdtemp(dir=export_dir, prefix=f".tmp-{version}-")
    vocab_dir = tempfile.mkdtemp(prefix="kbz-vocab-")
    try:
        vocab_file = os.path.join(vocab_dir, "vocab.txt")
        write_text_atomic(vocab_file, "".join(token + "\n" for token in tokenizer.vocab))
        module = SERVING_MODULES[model.task](
            model, tokenizer, max_seq_length, tf.saved_model.Asset(vocab_file), **serving_kwargs)
        tf.saved_model.save(module, staging, signatures=module.signatures())
        write_warmup_requests(staging, os.path.basename(os.path.normpath(export_dir)), module.warmup_requests())
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(vocab_dir, ignore_errors=True)
    return final


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
