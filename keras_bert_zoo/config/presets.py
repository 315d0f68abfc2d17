"""Named BERT presets: Google's released shapes, vocab casing and download locations."""

import glob
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
}


def list_presets():
    """Names of the built-in presets, in size order."""
    return list(PRESETS)


def get_preset(name):
    """The preset record for `name`; unknown names list the valid ones."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Available presets: {', '.join(PRESETS)}.")
    return PRESETS[name]


def download_preset(name):
    """Downloads (once) and unpacks a preset's Google release; returns its directory.

    The archive is cached under $KERAS_HOME (read at each call), else ~/.keras.
    """
    import keras  # Deferred: configs are read in processes that never need Keras.

    url = get_preset(name)["url"]
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
