"""tf.train.Example serialization of whole batches of fixed-length features, vectorized with numpy.

Building one Example proto per instance in Python costs tens of microseconds; here
each protobuf field of all rows is a block of byte columns, with a mask of which
bytes are used since varints vary in length ("padded rows"): a row's serialized
bytes are its used columns in order.
"""

import numpy as np

# Protobuf tags (field number << 3 | wire type 2, length-delimited) of the Example schema.
_FIRST_FIELD = 0x0A  # Example.features, Features.feature entries, entry key, Int64List/FloatList values.
_ENTRY_VALUE = 0x12  # Features.FeatureEntry.value.
_FLOAT_LIST = 0x12  # Feature.float_list.
_INT64_LIST = 0x1A  # Feature.int64_list.


def serialize_examples(features):
    """Serializes rows of arrays into tf.train.Example protos, as padded rows.

    The bytes equal `tf.train.Example(...).SerializeToString(deterministic=True)`
    for the same values: features in name order, lists packed.

    Args:
        features: Dict of feature name to a [N] or [N, L] array (L >= 1).
            Integer arrays become int64 lists, floating ones float (32-bit) lists.

    Returns:
        (data, used): uint8 and bool [N, W]; Example i is `data[i][used[i]]`.
    """
    num_rows = len(next(iter(features.values())))
    blocks = []
    features_length = np.zeros(num_rows, np.int64)
    for name in sorted(features):
        values = np.asarray(features[name]).reshape(num_rows, -1)
        if values.shape[1] == 0:
            raise ValueError(f"Feature {name!r} has no values; empty lists are not supported.")
        if np.issubdtype(values.dtype, np.floating):
            list_tag = _FLOAT_LIST
            payload = _constant_width(values.astype("<f4").view(np.uint8).reshape(num_rows, -1))
        else:
            list_tag = _INT64_LIST
            payload = _varints(values)
        payload_length = payload[1].sum(axis=1)
        list_length = _nested_length(payload_length)
        feature_length = _nested_length(list_length)
        key = name.encode("utf-8")
        key_field = bytes([_FIRST_FIELD]) + _varint(len(key)) + key + bytes([_ENTRY_VALUE])
        entry_length = len(key_field) - 1 + _nested_length(feature_length)
        features_length += _nested_length(entry_length)
        blocks += [
            _constant(bytes([_FIRST_FIELD]), num_rows), _varints(entry_length[:, None]),
            _constant(key_field, num_rows), _varints(feature_length[:, None]),
            _constant(bytes([list_tag]), num_rows), _varints(list_length[:, None]),
            _constant(bytes([_FIRST_FIELD]), num_rows), _varints(payload_length[:, None]),
            payload,
        ]
    blocks = [_constant(bytes([_FIRST_FIELD]), num_rows), _varints(features_length[:, None])] + blocks
    data = np.concatenate([b for b, _ in blocks], axis=1)
    used = np.concatenate([u for _, u in blocks], axis=1)
    return data, used


def _nested_length(length):
    """Bytes of a length-delimited field (tag, length varint, contents) of `length` content bytes."""
    _, used = _varints(length[:, None])
    return 1 + used.sum(axis=1) + length


def _varints(values):
    """(bytes, used): uint8 and bool [N, L * W], the varints of integer [N, L] values, W bytes each at most.

    Negative values take 10 bytes, as protobuf's int64 (two's complement).
    """
    values = np.asarray(values)
    if values.min(initial=0) < 0:
        values = values.astype(np.int64).astype(np.uint64)
    largest = int(values.max(initial=0))
    width = max(1, -(-largest.bit_length() // 7))
    if width == 1:
        return _constant_width(values.astype(np.uint8))
    unsigned = np.uint32 if largest < 2**32 else np.uint64
    values = values.astype(unsigned, copy=False)
    sizes = np.ones(values.shape, np.uint8)
    for byte in range(1, width):
        sizes += values >= unsigned(1 << (7 * byte))
    data = np.empty(values.shape + (width,), np.uint8)
    for byte in range(width):
        digits = ((values >> unsigned(7 * byte)) & unsigned(0x7F)).astype(np.uint8)
        data[..., byte] = digits | ((sizes > byte + 1).view(np.uint8) << 7)
    used = sizes[..., None] > np.arange(width, dtype=np.uint8)
    return data.reshape(len(values), -1), used.reshape(len(values), -1)


def _varint(value):
    """The varint bytes of one non-negative int."""
    data, used = _varints(np.array([[value]], np.uint64))
    return data[used].tobytes()


def _constant(data, num_rows):
    """A block of the same bytes in every row."""
    row = np.frombuffer(data, np.uint8)
    return _constant_width(np.broadcast_to(row, (num_rows, len(row))))


def _constant_width(data):
    """A block whose bytes are all used."""
    return data, np.ones(data.shape, bool)
