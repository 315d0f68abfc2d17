"""BatchingParameters: TF Serving's batching file, and batching inside the exported graph."""

import concurrent.futures
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2

import keras_bert_zoo as kbz
from conftest import REPO_ROOT, write_vocab
from keras_bert_zoo.export import BatchingParameters, export_saved_model, write_batching_parameters
from keras_bert_zoo.export.cc_saved_model_session import CcSavedModelSession

# TF Serving's BatchingParameters (tensorflow_serving/servables/tensorflow/session_bundle_config.proto),
# which no pip package ships: its fields that the file sets, Int64Value-wrapped as there.
_TF_SERVING_FIELDS = {"max_batch_size": 1, "batch_timeout_micros": 2, "num_batch_threads": 3,
                      "max_enqueued_batches": 4}


def _tf_serving_batching_parameters_class():
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(descriptor_pb2.FileDescriptorProto.FromString(
        wrappers_pb2.DESCRIPTOR.serialized_pb).SerializeToString())
    proto_file = descriptor_pb2.FileDescriptorProto(
        name="session_bundle_config.proto", package="tensorflow.serving", syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"])
    message = proto_file.message_type.add(name="BatchingParameters")
    for name, number in _TF_SERVING_FIELDS.items():
        message.field.add(name=name, number=number, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                          type_name=".google.protobuf.Int64Value", label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool.Add(proto_file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


def test_file_parses_as_tf_servings_batching_parameters(tmp_path):
    parameters = BatchingParameters(max_batch_size=16, batch_timeout_micros=500, max_enqueued_batches=7,
                                    num_batch_threads=2)
    path = write_batching_parameters(str(tmp_path), parameters)
    assert path == str(tmp_path / "batching_parameters.txt")
    parsed = text_format.Parse((tmp_path / "batching_parameters.txt").read_text(),
                               _tf_serving_batching_parameters_class()())
    assert {name: getattr(parsed, name).value for name in _TF_SERVING_FIELDS} == {
        "max_batch_size": 16, "batch_timeout_micros": 500, "num_batch_threads": 2, "max_enqueued_batches": 7}
    default = text_format.Parse(BatchingParameters().text_proto(), _tf_serving_batching_parameters_class()())
    assert default.max_batch_size.value == BatchingParameters().max_batch_size


@pytest.mark.parametrize("field, value", [("max_batch_size", 0), ("num_batch_threads", -1),
                                          ("batch_timeout_micros", -5), ("max_enqueued_batches", 2.5)])
def test_bad_values_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        BatchingParameters(**{field: value})


@pytest.fixture(scope="module")
def batched_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("batching")
    tokenizer = kbz.BertTokenizer(write_vocab(root / "vocab.txt", ["good", "bad", "film", "a", ",", "dull"]))
    keras.utils.set_random_seed(0)
    model = kbz.BertClassifier(kbz.BertEncoder(kbz.BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
        max_position_embeddings=32, hidden_act="gelu")), num_classes=2, label_names=["neg", "pos"])
    return export_saved_model(model, tokenizer, str(root / "batched"), max_seq_length=16,
                              in_graph_batching=BatchingParameters(max_batch_size=8, batch_timeout_micros=20000))


TEXTS = ["good film", "a bad , dull film", "", "good good good bad good", "film", "bad"] * 4


def test_in_graph_batching_answers_each_concurrent_caller_its_own_rows(batched_export):
    batched = tf.saved_model.load(batched_export).signatures["serving_default"]
    graph_ops = {node.op for node in batched.graph.as_graph_def().node}
    graph_ops |= {node.op for function in batched.graph.as_graph_def().library.function for node in function.node_def}
    assert "BatchFunction" in graph_ops
    # One caller at a time: each call is a batch of its own text.
    expected = [batched(text=tf.constant([text]))["probabilities"].numpy() for text in TEXTS]
    # Concurrent single-text calls meet in shared batches (the timeout gives them 20 ms to).
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda text: batched(text=tf.constant([text]))["probabilities"].numpy(), TEXTS))
    for text, want, answer in zip(TEXTS, expected, got):
        np.testing.assert_allclose(answer, want, atol=1e-5, err_msg=text)


def test_in_graph_batching_runs_in_the_cc_loader(batched_export):
    texts = np.array(TEXTS[:5], dtype=object)
    want = tf.saved_model.load(batched_export).signatures["serving_default"](text=tf.constant(texts))
    with CcSavedModelSession(batched_export) as batched_session:
        got, _ = batched_session.run("serving_default", {"text": texts})
        np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=1e-5)
        assert got["label"].tolist() == want["label"].numpy().tolist()
        requests = [{"text": np.array([text], dtype=object)} for text in TEXTS]
        wall, latencies = batched_session.load("serving_default", requests, clients=8, max_seconds=60)
    assert len(latencies) == len(TEXTS) and wall < 60


def test_export_tool_refuses_in_graph_batching_for_other_tasks(tmp_path):
    export_dir = tmp_path / "saved_models" / "tags"
    refused = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "export_saved_model.py"), "--task=ner",
                              "--in_graph_batching", "--init_checkpoint=/nonexistent", f"--export_dir={export_dir}"],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2, refused.stderr
    assert "--in_graph_batching applies to --task=classifier only" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "saved_models").exists()
