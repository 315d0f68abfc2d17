"""Reading and writing SentencePiece model files (serialized `ModelProto`s) without the sentencepiece package.

Only the fields the tokenizer needs are read; a model written here holds the
pieces, the model type, the unknown piece's id and the normalizer spec, which
is what SentencePiece needs to encode.
"""

import struct
import types

# sentencepiece_model.proto's field numbers and enums.
_PIECES, _TRAINER_SPEC, _NORMALIZER_SPEC = 1, 2, 3
_PIECE, _SCORE, _TYPE = 1, 2, 3
_MODEL_TYPE, _UNK_ID = 3, 40
_NAME, _CHARSMAP, _ADD_DUMMY_PREFIX, _REMOVE_EXTRA_WHITESPACES, _ESCAPE_WHITESPACES = 1, 2, 3, 4, 5
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def read_model(proto, name):
    """The pieces and settings of a serialized ModelProto.

    Args:
        proto: The model file's bytes.
        name: What to call the model in errors (its path).

    Returns:
        A namespace of `pieces` (str), `scores` (float), `types` (ints, see
        NORMAL...), `model_type` ("unigram", "bpe", ...), `unk_id` and
        `add_dummy_prefix`.

    Raises:
        ValueError: `proto` is not a SentencePiece model; the message names it.
    """
    try:
        fields = _fields(proto)
        pieces = [_fields(value) for number, value in fields if number == _PIECES]
        trainer = _fields(_value(fields, _TRAINER_SPEC, b""))
        normalizer = _fields(_value(fields, _NORMALIZER_SPEC, b""))
        model = types.SimpleNamespace(
            pieces=[_value(piece, _PIECE, b"").decode("utf-8") for piece in pieces],
            scores=[struct.unpack("<f", _value(piece, _SCORE, b"\0\0\0\0"))[0] for piece in pieces],
            types=[_value(piece, _TYPE, NORMAL) for piece in pieces],
            model_type=MODEL_TYPES.get(_value(trainer, _MODEL_TYPE, 1)),
            unk_id=_value(trainer, _UNK_ID, 0),
            add_dummy_prefix=bool(_value(normalizer, _ADD_DUMMY_PREFIX, 1)))
    except (ValueError, IndexError, UnicodeDecodeError, struct.error) as e:
        raise ValueError(f"{name} is not a SentencePiece model file: {e}") from e
    if not model.pieces or model.model_type is None or not 0 <= model.unk_id < len(model.pieces):
        raise ValueError(f"{name} is not a SentencePiece model file: {len(model.pieces)} pieces, model type "
                         f"{model.model_type}, unknown piece {model.unk_id}.")
    return model


def write_model(pieces, scores, piece_types, unk_id, precompiled_charsmap=b"", normalizer_name="identity",
                add_dummy_prefix=True, remove_extra_whitespaces=True):
    """A serialized unigram ModelProto of these pieces and normalizer, escaping whitespace as "▁".

    Args:
        pieces, scores, piece_types: One entry per piece, in id order.
        unk_id: Index of the unknown piece.
        precompiled_charsmap: The normalizer's compiled character map (b"": none).
        normalizer_name: The normalizer spec's name.
        add_dummy_prefix, remove_extra_whitespaces: The normalizer spec's flags.
    """
    proto = b"".join(_message(_PIECES, _string(_PIECE, piece.encode("utf-8")) + _tag(_SCORE, _FIXED32)
                              + struct.pack("<f", score) + _varint_field(_TYPE, piece_type))
                     for piece, score, piece_type in zip(pieces, scores, piece_types))
    proto += _message(_TRAINER_SPEC, _varint_field(_MODEL_TYPE, 1) + _varint_field(_UNK_ID, unk_id))
    normalizer = (_string(_NAME, normalizer_name.encode("utf-8"))
                  + (_string(_CHARSMAP, precompiled_charsmap) if precompiled_charsmap else b"")
                  + _varint_field(_ADD_DUMMY_PREFIX, int(add_dummy_prefix))
                  + _varint_field(_REMOVE_EXTRA_WHITESPACES, int(remove_extra_whitespaces))
                  + _varint_field(_ESCAPE_WHITESPACES, 1))
    return proto + _message(_NORMALIZER_SPEC, normalizer)


def _fields(data):
    """(field number, value) pairs of a serialized message: ints for varints, bytes otherwise."""
    fields, position = [], 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, position = _read_varint(data, position)
        elif wire_type in (_FIXED64, _FIXED32):
            size = 8 if wire_type == _FIXED64 else 4
            value, position = data[position:position + size], position + size
        elif wire_type == _BYTES:
            size, position = _read_varint(data, position)
            value, position = data[position:position + size], position + size
        else:
            raise ValueError(f"unsupported wire type {wire_type} at byte {position}")
        if position > len(data):
            raise ValueError("truncated message")
        fields.append((number, value))
    return fields


def _read_varint(data, position):
    value = shift = 0
    while True:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if byte < 0x80:
            return value, position
        shift += 7


def _value(fields, number, default):
    """The last value of field `number` (protobuf keeps the last of a repeated singular field), else `default`."""
    values = [value for field, value in fields if field == number]
    return values[-1] if values else default


def _varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _tag(number, wire_type):
    return _varint(number << 3 | wire_type)


def _varint_field(number, value):
    return _tag(number, _VARINT) + _varint(value)


def _string(number, value):
    return _tag(number, _BYTES) + _varint(len(value)) + value


_message = _string
