"""Protobuf wire-format encoding shared by the writers that emit protobuf bytes by hand
(the checkpoint writer, the in-place weight rewrite of ONNX files)."""

from __future__ import annotations

LENGTH_DELIMITED = 2  # wire type of bytes, strings and sub-messages


def encode_varint(value: int) -> bytes:
    """A non-negative integer as a protobuf base-128 varint."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_field(number: int, payload: bytes) -> bytes:
    """Field `number` holding payload (bytes, a string or a sub-message), tag and length first."""
    return encode_varint(number << 3 | LENGTH_DELIMITED) + encode_varint(len(payload)) + payload
