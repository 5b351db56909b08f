"""Reads an ONNX file's large weights in place instead of through protobuf (issue 8).

Parsing a model with protobuf copies every weight into its message, and reading a weight back
(`raw_data`) copies it again: twice the weights in fresh memory, which on this class of
machine costs more in page faults than writing the checkpoint. Instead, the top levels of
the protobuf wire format are scanned here and every large `raw_data` initializer of the main
graph is turned into an external-data reference to its own bytes inside the model file. The
rest of mindgen then memory-maps those bytes exactly as it does ONNX external data: the model
message protobuf parses holds no weights, and each weight is read once, from the page cache.

Only what is certainly well-formed is rewritten. Anything unexpected (a truncated varint, a
field running past its message, a tensor whose bytes do not match its dims) leaves the
tensor, or the whole file, to protobuf and the usual checks, so errors read as before.
"""

from __future__ import annotations

from collections.abc import Callable

import onnx_ir as ir

from mindgen.protowire import encode_varint, length_field

# Weights below this stay inline: copying them costs nothing worth a reference, and the
# small constants that shape inference reads (shapes, axes) must stay in the model.
INLINE_BYTES = 64 * 1024

# Field numbers from onnx.proto.
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_TENSOR_DIMS, _TENSOR_DATA_TYPE, _TENSOR_RAW_DATA = 1, 2, 9
_TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION = 13, 14
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class _Malformed(Exception):
    """The bytes are not the protobuf this scan expects; protobuf will say what is wrong."""


def externalize_weights(data: memoryview, location: str) -> bytes | None:
    """The serialized model with its large raw_data initializers pointing into the file itself
    (`location`, relative to the model's folder); None when nothing is worth rewriting or the
    bytes are not well-formed protobuf."""
    try:
        location_bytes = location.encode("utf-8")
    except UnicodeEncodeError:  # a file name ONNX cannot spell: read it the ordinary way
        return None

    def tensor(start: int, end: int) -> bytes | None:
        return _tensor(data, start, end, location_bytes)

    def graph(start: int, end: int) -> bytes | None:
        return _rewrite_fields(data, start, end, _GRAPH_INITIALIZER, tensor)

    try:
        return _rewrite_fields(data, 0, len(data), _MODEL_GRAPH, graph)
    except _Malformed:
        return None


def _rewrite_fields(
    data: memoryview, start: int, end: int, number: int, rewrite: Callable[[int, int], bytes | None]
) -> bytes | None:
    """The message in data[start:end] with each length-delimited field `number` replaced by
    rewrite(value start, value end) where that gives bytes; None when none was replaced."""
    pieces: list[bytes | memoryview] = []
    changed = False
    for field_number, wire, field_start, value_start, field_end in _fields(data, start, end):
        replaced = rewrite(value_start, field_end) if field_number == number and wire == _LENGTH else None
        if replaced is None:
            pieces.append(data[field_start:field_end])
        else:
            pieces.append(length_field(number, replaced))
            changed = True
    return b"".join(pieces) if changed else None


def _tensor(data: memoryview, start: int, end: int, location: bytes) -> bytes | None:
    """The tensor as an external reference to its raw_data's place in the file, or None to
    keep it as it is (small, typed values, already external, or bytes that do not fit)."""
    dims: list[int] = []
    data_type = 0
    raw: tuple[int, int] | None = None
    kept: list[memoryview] = []
    for number, wire, field_start, value_start, field_end in _fields(data, start, end):
        if number in (_TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION):
            return None
        if number == _TENSOR_RAW_DATA and wire == _LENGTH:
            raw = (value_start, field_end)
            continue
        if number == _TENSOR_DIMS and wire == _VARINT:
            dims.append(_varint(data, value_start)[0])
        elif number == _TENSOR_DIMS and wire == _LENGTH:  # packed
            position = value_start
            while position < field_end:
                dim, position = _varint(data, position)
                dims.append(dim)
        elif number == _TENSOR_DATA_TYPE and wire == _VARINT:
            data_type = _varint(data, value_start)[0]
        kept.append(data[field_start:field_end])
    if raw is None or raw[1] - raw[0] < INLINE_BYTES or raw[1] - raw[0] != _expected_bytes(dims, data_type):
        return None
    offset, stop = raw
    entries = b"".join(
        length_field(_TENSOR_EXTERNAL_DATA, length_field(1, key) + length_field(2, value))
        for key, value in (
            (b"location", location),
            (b"offset", b"%d" % offset),
            (b"length", b"%d" % (stop - offset)),
        )
    )
    location_field = encode_varint(_TENSOR_DATA_LOCATION << 3 | _VARINT) + encode_varint(_EXTERNAL)
    return b"".join([*kept, entries, location_field])


def _expected_bytes(dims: list[int], data_type: int) -> int:
    """The bytes the dims and type declare; -1 for types raw_data cannot hold or bad dims."""
    try:
        dtype = ir.DataType(data_type)
    except ValueError:
        return -1
    if dtype in (ir.DataType.UNDEFINED, ir.DataType.STRING):
        return -1
    count = 1
    for dim in dims:
        if dim >= 2**63:  # a negative int64 on the wire
            return -1
        count *= dim
    return (count * dtype.bitwidth + 7) // 8


def _fields(data: memoryview, start: int, end: int):
    """(number, wire type, field start, value start, field end) of each field in data[start:end]."""
    position = start
    while position < end:
        key, value_start = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            field_end = _varint(data, value_start)[1]
        elif wire == _LENGTH:
            length, value_start = _varint(data, value_start)
            field_end = value_start + length
        elif wire == _FIXED64:
            field_end = value_start + 8
        elif wire == _FIXED32:
            field_end = value_start + 4
        else:  # groups (3, 4) are not in ONNX; 6 and 7 are invalid
            raise _Malformed
        if number == 0 or field_end > end:
            raise _Malformed
        yield number, wire, position, value_start, field_end
        position = field_end


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    """The varint at position and the position after it."""
    result = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise _Malformed
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
