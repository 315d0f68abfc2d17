"""kbz.tasks: one spec per task, users' own tasks, and what export makes of them."""

import os

import keras
import pytest
import tensorflow as tf

import keras_bert_zoo as kbz
from keras_bert_zoo.config import task_registry
from keras_bert_zoo.export import ClassifierServing, NerServing, export_saved_model
from keras_bert_zoo.training import ClassificationObjective, TokenClassificationObjective
from conftest import write_vocab


@pytest.fixture
def registry(monkeypatch):
    """The registry, restored after the test."""
    monkeypatch.setattr(task_registry, "_SPECS", dict(task_registry._SPECS))
    return kbz.tasks


@pytest.fixture
def tokenizer(tmp_path):
    """64 tokens, the tiny config's vocab_size."""
    return kbz.BertTokenizer(write_vocab(tmp_path / "vocab.txt", [*"abcdefghijklmnopqrstuvwxyz", *map(str, range(33))]))


def test_builtin_specs(tiny_config):
    assert kbz.tasks.aliases() == ["encoder", "pretrainer", "masked_lm", "classifier", "ner", "squad"]
    ner = kbz.tasks.get("ner")
    assert ner is kbz.tasks.get("token_classifier") and ner.name == "token_classifier"
    assert ner.model_class is kbz.BertTokenClassifier and ner.serving_module is NerServing
    assert ner.hf_architectures == ("BertForTokenClassification",)
    assert isinstance(ner.objective(None), TokenClassificationObjective)
    classifier = kbz.BertClassifier(kbz.BertEncoder(tiny_config), num_classes=3)
    objective = kbz.tasks.spec_of_model(classifier).objective(classifier)
    assert isinstance(objective, ClassificationObjective) and objective.num_classes == 3
    assert kbz.tasks.spec_of_architectures(["BertForMaskedLM"]).name == "masked_lm"
    assert kbz.tasks.spec_of_architectures(["BertForPreTraining"]).name == "pretrainer"
    assert kbz.tasks.spec_of_architectures(["GPT2LMHeadModel"]) is None
    with pytest.raises(ValueError, match="Unknown task 'nope'; registered: encoder, pretrainer"):
        kbz.tasks.get("nope")
    with pytest.raises(ValueError, match="no training objective"):
        kbz.tasks.get("encoder").objective(None)


def test_register_refuses_taken_names(registry):
    with pytest.raises(ValueError, match="'ner' already names task 'token_classifier'"):
        registry.register(registry.TaskSpec("tagger", kbz.BertTokenClassifier, NerServing, alias="ner"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.TaskSpec("classifier", kbz.BertClassifier, ClassifierServing))
    spec = registry.register(registry.TaskSpec("classifier", kbz.BertClassifier, ClassifierServing), replace=True)
    assert registry.get("classifier") is spec


def test_subclasses_find_their_spec_and_unregistered_models_are_refused(registry, tiny_config, tokenizer, tmp_path):
    class MyClassifier(kbz.BertClassifier):
        pass

    assert registry.spec_of_model(MyClassifier(kbz.BertEncoder(tiny_config))).name == "classifier"
    encoder = kbz.BertEncoder(tiny_config)
    inputs = {name: keras.Input((None,), dtype="int32", name=name)
              for name in ("input_word_ids", "input_mask", "input_type_ids")}
    bare = keras.Model(inputs, {"pooled": encoder(inputs)["pooled_output"]})
    with pytest.raises(ValueError, match="no registered task model"):
        export_saved_model(bare, tokenizer, str(tmp_path / "saved" / "bare"), max_seq_length=16)
    assert not (tmp_path / "saved").exists()


def test_serving_module_tracking_keras_objects_is_refused_before_writing(registry, tiny_config, tokenizer, tmp_path):
    class LeakyServing(ClassifierServing):
        """Tracks a Keras layer, whose variables TF Serving's loader could not restore."""

        def __init__(self, model, *args, **kwargs):
            super().__init__(model, *args, **kwargs)
            self.head = model.classifier_head

    class LeakyClassifier(kbz.BertClassifier):
        pass

    registry.register(registry.TaskSpec("leaky", LeakyClassifier, LeakyServing))
    model = LeakyClassifier(kbz.BertEncoder(tiny_config), num_classes=2)
    with pytest.raises(TypeError, match=r"LeakyServing\.head.* tracks Keras variables"):
        export_saved_model(model, tokenizer, str(tmp_path / "saved" / "leaky"), max_seq_length=16)
    assert not (tmp_path / "saved").exists()


def test_export_graph_holds_only_the_variables_it_reads(tiny_config, tokenizer, tmp_path):
    """The object graph has plain variables, each read by the signatures: no Keras objects at all."""
    model = kbz.BertClassifier(kbz.BertEncoder(tiny_config), num_classes=2)
    path = export_saved_model(model, tokenizer, str(tmp_path / "classifier"), max_seq_length=16)
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel.FromString(open(os.path.join(path, "saved_model.pb"), "rb").read())
    graph = saved.meta_graphs[0]
    variables = [node for node in graph.object_graph_def.nodes if node.WhichOneof("kind") == "variable"]
    # Besides the weights, the graph holds one string variable: the asset path TF feeds at load.
    handles = [node for node in graph.graph_def.node
               if node.op == "VarHandleOp" and node.attr["dtype"].type != tf.string.as_datatype_enum]
    assert len(variables) == len(handles) == len([v for v in model.weights if "seed_generator" not in v.path])
    assert not any(node.user_object.identifier.startswith("_tf_keras") for node in graph.object_graph_def.nodes
                   if node.WhichOneof("kind") == "user_object")
    assert tf.saved_model.load(path).signatures["serving_default"](text=tf.constant(["abc"]))["label"].shape == (1,)


def test_export_tool_takes_vocab_file(tmp_path, tiny_config, tokenizer):
    import subprocess
    import sys

    from conftest import REPO_ROOT

    model_dir = tmp_path / "no_vocab"
    kbz.BertClassifier(kbz.BertEncoder(tiny_config), num_classes=2).save_pretrained(str(model_dir))
    tool = [sys.executable, str(REPO_ROOT / "tools" / "export_saved_model.py"), f"--init_checkpoint={model_dir}",
            "--task=classifier", f"--export_dir={tmp_path / 'saved' / 'classifier'}", "--max_seq_length=16"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    missing = subprocess.run(tool, capture_output=True, text=True, env=env, timeout=300)
    assert missing.returncode == 2 and "Pass --vocab_file" in missing.stderr and "Traceback" not in missing.stderr
    given = subprocess.run([*tool, f"--vocab_file={tmp_path / 'vocab.txt'}"], capture_output=True, text=True, env=env,
                           timeout=300)
    assert given.returncode == 0, given.stderr
    with open(tmp_path / "saved" / "classifier" / "1" / "assets" / "vocab.txt", encoding="utf-8") as f:
        assert f.read().splitlines() == tokenizer.vocab
