"""Finds out what a checkpoint path is and reads it."""

import glob
import os

from keras_bert_zoo.config import is_preset, preset_directory, unknown_preset_hint
from keras_bert_zoo.convert.google_format import find_checkpoint_prefix, read_google_checkpoint
from keras_bert_zoo.convert.hf_format import is_hf_directory, read_hf_directory
from keras_bert_zoo.convert.keras_hub_format import is_keras_hub_directory, read_keras_hub_directory

# Pickle-based weight files, which we never load: unpickling runs arbitrary code.
_PICKLE_PATTERNS = ("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt")


def checkpoint_exists(path_or_preset):
    """Whether `path_or_preset` is an existing path, a checkpoint prefix or a preset name (not whether it reads)."""
    path = os.fspath(path_or_preset)
    return os.path.exists(path) or os.path.exists(path + ".index") or is_preset(path)


def read_checkpoint(path_or_preset):
    """Reads any supported BERT checkpoint.

    Args:
        path_or_preset: A Hugging Face directory (config.json +
            model.safetensors), a directory written by `save_pretrained`, a
            google-research/bert directory or checkpoint prefix, a keras-hub
            BertBackbone preset directory, or a preset name (Google's are
            downloaded and cached on first use; bundled ones read from their
            pip package).

    Returns:
        A `PretrainedCheckpoint`.
    """
    path = os.fspath(path_or_preset)
    if os.path.isdir(path):
        if is_hf_directory(path):
            return read_hf_directory(path)
        if is_keras_hub_directory(path):
            return read_keras_hub_directory(path)
        if find_checkpoint_prefix(path):
            return read_google_checkpoint(path)
        pickles = sorted(
            os.path.basename(p) for pattern in _PICKLE_PATTERNS for p in glob.glob(os.path.join(path, pattern)))
        if pickles:
            raise ValueError(
                f"{path} holds only pickle-based weights ({', '.join(pickles)}). keras_bert_zoo never "
                "unpickles, since that can run arbitrary code. Convert them to safetensors (for example "
                "with transformers: model.save_pretrained(dir, safe_serialization=True)).")
        raise ValueError(
            f"{path} is not a BERT checkpoint directory: expected config.json + model.safetensors "
            "(Hugging Face), bert_config.json + bert_model.ckpt.* (Google), or config.json + "
            "model.weights.h5 (keras-hub).")
    if find_checkpoint_prefix(path):
        return read_google_checkpoint(path)
    if is_preset(path):
        return read_checkpoint(preset_directory(path))
    if os.path.exists(path):
        raise ValueError(f"{path} is a file, not a checkpoint directory, prefix or preset name.")
    raise ValueError(f"Checkpoint {path!r} not found: it is neither an existing path nor a preset name; "
                     f"{unknown_preset_hint(path)}")

