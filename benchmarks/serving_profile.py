"""Where a served classifier's Session::Run time goes: per op type and per part of the model.

The export runs in TensorFlow's C++ loader (`CcSavedModelSession`, as TF Serving loads it) with
RunOptions FULL_TRACE; each traced call's StepStats give every executed node's op time, summed here
over calls and divided by their number. Op times of nodes that run in parallel add up, so the
total can exceed the wall time of a call on more than one thread.
"""

import collections
import tempfile

import numpy as np

from keras_bert_zoo.export.cc_saved_model_session import CcSavedModelSession

# (part, name scopes a node's name must contain), first match wins. Scopes are the Keras layers'
# names in the traced graph (each gets a "_1" suffix there); nodes outside the encoder and the head
# are the tokenizer's, the packer's and the signature's outputs.
_PARTS = (
    ("attention: qkv dense", ("/qkv_1/",)),
    ("attention: output dense", ("/attention_1/output_1/",)),
    ("attention: products, softmax, layout", ("/attention_1/",)),
    ("feed-forward dense", ("/intermediate_1/", "/output_1/")),
    ("gelu", ("/Gelu",)),
    ("layer norms", ("layer_norm_1/",)),
    ("residuals, padding layout", ("transformer_layer_",)),
    ("embeddings", ("/embeddings_1/",)),
    ("encoder: mask, positions", ("_encoder_1/",)),
    ("classifier head", ("bert_classifier_1/",)),
)
OTHER_PART = "tokenization, packing, outputs"


def part_of(node_name, op_type=""):
    """The part of the served classifier a node of its graph belongs to (see `_PARTS`).

    Grappler names a fused node after the last node it replaces: a MatMul fused with its bias and
    GELU, or with its bias and the residual add (the attention's output projection), is named after
    those, outside the dense layer's scope; such a MatMul counts as "dense, fused".
    """
    if "MatMul" in op_type and "transformer_layer_" in node_name and "/attention_1/" not in node_name:
        return "dense, fused (feed-forward; attention output with its residual)"
    for part, scopes in _PARTS:
        if any(scope in node_name for scope in scopes):
            return part
    return OTHER_PART


def op_type_of(node):
    """A NodeExecStats' op type, read off its timeline label "name = Op(inputs)"."""
    label = node.timeline_label
    return label.split(" = ", 1)[1].split("(", 1)[0] if " = " in label else "(unlabelled)"


def summarize_step_stats(step_stats_list):
    """Mean op milliseconds per call, by part and by op type, over traced calls.

    Args:
        step_stats_list: StepStats protos, one per call.

    Returns:
        (by_part, by_op_type): Counters of milliseconds per call.
    """
    by_part, by_op_type = collections.Counter(), collections.Counter()
    for step_stats in step_stats_list:
        for device in step_stats.dev_stats:
            for node in device.node_stats:
                milliseconds = (node.op_end_rel_micros - node.op_start_rel_micros) / 1000.0 / len(step_stats_list)
                op_type = op_type_of(node)
                by_part[part_of(node.node_name, op_type)] += milliseconds
                by_op_type[op_type] += milliseconds
    return by_part, by_op_type


def profile_served_graph(path, texts, batch_sizes=(1, 32), calls=40, intra_op_threads=0, inter_op_threads=0,
                         env=None):
    """Traces serving_default of the export at `path` on consecutive batches of `texts`.

    Args:
        path: An exported classifier's version directory.
        texts: Raw sentences.
        batch_sizes: Texts per call, each profiled on its own.
        calls: Traced calls per batch size (after 5 untraced warm-up calls).
        intra_op_threads, inter_op_threads: The session's thread settings (0: TensorFlow's).
        env: Environment variables for the C++ process (TF_ENABLE_ONEDNN_OPTS, ...).

    Returns:
        {batch size: (mean traced Session::Run ms, by_part, by_op_type)}, see `summarize_step_stats`.
    """
    profiles = {}
    with CcSavedModelSession(path, intra_op_threads, inter_op_threads, env=env) as session:
        for batch_size in batch_sizes:
            batches = [np.array(texts[(i * batch_size) % len(texts):][:batch_size], dtype=object)
                       for i in range(calls + 5)]
            for batch in batches[:5]:
                session.run("serving_default", {"text": batch})
            traced = [session.trace("serving_default", {"text": batch}) for batch in batches[5:]]
            milliseconds = 1000.0 * float(np.mean([seconds for _, seconds, _ in traced]))
            profiles[batch_size] = (milliseconds, *summarize_step_stats([stats for _, _, stats in traced]))
    return profiles


def profile_markdown(profiles, top_op_types=12):
    """Markdown tables of `profile_served_graph`'s result: parts, then the costliest op types."""
    sizes = sorted(profiles)
    header = "| {} | " + " | ".join(f"batch {size} ms (share)" for size in sizes) + " |"
    rule = "|---|" + "---|" * len(sizes)

    def rows(key):
        names = sorted({name for size in sizes for name in profiles[size][key]},
                       key=lambda name: -profiles[sizes[-1]][key][name])
        lines = []
        for name in names[:top_op_types] if key == 2 else names:
            cells = []
            for size in sizes:
                counter = profiles[size][key]
                cells.append(f"{counter[name]:.2f} ({100.0 * counter[name] / sum(counter.values()):.0f}%)")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return lines

    traced = " | ".join(f"{profiles[size][0]:.2f}" for size in sizes)
    return "\n".join([header.format("part"), rule, *rows(1), f"| (traced Session::Run) | {traced} |", "",
                      header.format("op type"), rule, *rows(2)]) + "\n"


def profile_benchmark_classifier(checkpoint, texts, max_seq_length=128, **profile_options):
    """`profile_markdown` of the serving benchmark's classifier export (`export_benchmark_classifier`).

    Args:
        checkpoint: A BERT checkpoint directory.
        texts: Raw sentences.
        max_seq_length: The export's longest packed sequence.
        **profile_options: Passed to `profile_served_graph`.
    """
    from benchmarks.serving_benchmark import export_benchmark_classifier

    with tempfile.TemporaryDirectory() as scratch:
        _, path = export_benchmark_classifier(checkpoint, scratch, max_seq_length)
        return profile_markdown(profile_served_graph(path, texts, **profile_options))
