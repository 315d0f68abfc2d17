"""Batching many small concurrent requests into one Session::Run: TF Serving's, or in the graph."""

import dataclasses

import tensorflow as tf

# TF Serving's --batching_parameters_file holds a BatchingParameters text proto; these are its
# google.protobuf.Int64Value fields.
_FIELDS = ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads")


@dataclasses.dataclass(frozen=True)
class BatchingParameters:
    """How requests are gathered into batches, in TF Serving's terms.

    The same four numbers configure TF Serving's server-side batching (`--enable_batching
    --batching_parameters_file=batching_parameters.txt`, see `text_proto`) and TensorFlow's
    BatchFunction op (`batched`), which a SavedModel can hold in its graph so that stock TF Serving
    batches it without flags. The defaults are what 16 concurrent single-text clients measured
    best on 2 CPU cores (BENCHMARKS.md, "Many single-text requests at once").

    Attributes:
        max_batch_size: Most requests' texts in one batch.
        batch_timeout_micros: Longest a request waits for others to join its batch.
        max_enqueued_batches: Batches queued before new requests are refused (UNAVAILABLE).
        num_batch_threads: Batches run at once.
    """

    max_batch_size: int = 16
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 100
    num_batch_threads: int = 1

    def __post_init__(self):
        for field in _FIELDS:
            value = getattr(self, field)
            if not isinstance(value, int) or value < (0 if field == "batch_timeout_micros" else 1):
                raise ValueError(f"BatchingParameters.{field}={value!r}: must be a "
                                 f"{'non-negative' if field == 'batch_timeout_micros' else 'positive'} integer.")

    def text_proto(self):
        """TF Serving's BatchingParameters in protobuf text format, for --batching_parameters_file."""
        return "".join(f"{field} {{ value: {getattr(self, field)} }}\n" for field in _FIELDS)

    def batched(self, fn):
        """`fn` (tensors [B, ...] -> a dict of tensors [B, ...]) run by a BatchFunction op.

        Concurrent Session::Run calls of the graph then meet in one call of `fn` on their
        concatenated inputs, and each gets its own rows of the outputs back.
        """
        return tf.nondifferentiable_batch_function(
            num_batch_threads=self.num_batch_threads, max_batch_size=self.max_batch_size,
            batch_timeout_micros=self.batch_timeout_micros, max_enqueued_batches=self.max_enqueued_batches)(fn)
