"""Streaming writer of MindSpore ``.ckpt`` files that needs neither mindspore nor protobuf."""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import BinaryIO, Self

import ml_dtypes
import numpy as np

from mindgen.protowire import encode_varint

__all__ = [
    "DEFAULT_SPLIT_BYTES",
    "CheckpointWriter",
    "UnsupportedDtypeError",
    "checkpoint_type_name",
]

# MindSpore (serialization.SLICE_SIZE, in KiB) splits any tensor larger than this into
# several messages; matching it keeps our files identical to save_checkpoint's.
DEFAULT_SPLIT_BYTES = 512 * 1024 * 1024

# Keyed by (kind, itemsize) rather than by dtype so that byte-swapped dtypes ('>f4')
# map to the same name; ml_dtypes types all have kind 'V' and are handled separately.
_TYPE_NAMES: dict[tuple[str, int], str] = {
    ("b", 1): "Bool",
    ("i", 1): "Int8",
    ("i", 2): "Int16",
    ("i", 4): "Int32",
    ("i", 8): "Int64",
    ("u", 1): "UInt8",
    ("u", 2): "UInt16",
    ("u", 4): "UInt32",
    ("u", 8): "UInt64",
    ("f", 2): "Float16",
    ("f", 4): "Float32",
    ("f", 8): "Float64",
}

_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)

# Protobuf keys (field_number << 3 | wire_type) of the three messages in checkpoint.proto:
# Checkpoint.value = 1 (LEN); Value.tag = 1 (LEN), Value.tensor = 2 (LEN);
# TensorProto.dims = 1 (VARINT, unpacked), .tensor_type = 2 (LEN), .tensor_content = 3 (LEN).
_KEY_CHECKPOINT_VALUE = 0x0A
_KEY_VALUE_TAG = 0x0A
_KEY_VALUE_TENSOR = 0x12
_KEY_TENSOR_DIM = 0x08
_KEY_TENSOR_TYPE = 0x12
_KEY_TENSOR_CONTENT = 0x1A


class UnsupportedDtypeError(ValueError):
    """Raised for a numpy dtype that a MindSpore checkpoint cannot hold."""


def checkpoint_type_name(dtype: np.dtype) -> str:
    """Return the checkpoint ``tensor_type`` string for a numpy dtype."""
    dtype = np.dtype(dtype)
    if dtype == _BFLOAT16:
        return "BFloat16"
    # Structured and subarray dtypes can share a kind letter with plain numbers.
    if dtype.fields is None and dtype.subdtype is None:
        name = _TYPE_NAMES.get((dtype.kind, dtype.itemsize))
        if name is not None:
            return name
    raise UnsupportedDtypeError(
        f"a MindSpore checkpoint cannot hold arrays of dtype {dtype}"
    )


def _message_header(
    tag: bytes, dims: tuple[int, ...], type_name: bytes, content_size: int
) -> bytes:
    """Return one serialized Checkpoint message minus its trailing tensor_content bytes."""
    # Fields are emitted in field-number order, as protobuf's own serializer does, so
    # the output is byte-identical to mindspore.save_checkpoint's.
    tensor = bytearray()
    for dim in dims:
        tensor.append(_KEY_TENSOR_DIM)
        tensor += encode_varint(dim)
    tensor.append(_KEY_TENSOR_TYPE)
    tensor += encode_varint(len(type_name))
    tensor += type_name
    tensor.append(_KEY_TENSOR_CONTENT)
    tensor += encode_varint(content_size)
    tensor_size = len(tensor) + content_size

    value = bytearray()
    value.append(_KEY_VALUE_TAG)
    value += encode_varint(len(tag))
    value += tag
    value.append(_KEY_VALUE_TENSOR)
    value += encode_varint(tensor_size)
    value_size = len(value) + tensor_size

    header = bytearray()
    header.append(_KEY_CHECKPOINT_VALUE)
    header += encode_varint(value_size)
    header += value
    header += tensor
    return bytes(header)


def _little_endian_bytes(array: np.ndarray) -> np.ndarray:
    """Return the array's little-endian C-order bytes as a 1-D uint8 array, copying only if needed."""
    itemsize = array.dtype.itemsize
    order = array.dtype.byteorder
    if itemsize > 1 and (order == ">" or (order == "=" and sys.byteorder == "big")):
        # Swap through an unsigned view of the same width: works for every supported
        # dtype (including bfloat16, which has no newbyteorder) and copies once,
        # straight into C order.
        unsigned = np.dtype(f"u{itemsize}").newbyteorder(order)
        array = array.view(unsigned).astype(f"<u{itemsize}", order="C")
    elif not array.flags.c_contiguous:
        # np.ascontiguousarray would turn 0-d into 1-d; np.array keeps the shape.
        array = np.array(array, order="C")
    # reshape(-1) of a C-contiguous array is a view, so the common case copies nothing.
    return array.reshape(-1).view(np.uint8)


def _split_bounds(
    shape: tuple[int, ...], nbytes: int, split_bytes: int
) -> list[tuple[int, int]]:
    """Return the (start, stop) byte ranges of the messages a tensor is written as."""
    if nbytes <= split_bytes:
        return [(0, nbytes)]
    count = -(-nbytes // split_bytes)
    rows = shape[0] if shape else 0
    if count <= rows:
        # Same boundaries as np.array_split(array, count) along axis 0, which is what
        # MindSpore does for numpy data; each chunk is a contiguous run of whole rows.
        row_bytes = nbytes // rows
        base, extra = divmod(rows, count)
        bounds = []
        start = 0
        for index in range(count):
            stop = start + (base + (index < extra)) * row_bytes
            bounds.append((start, stop))
            start = stop
        return bounds
    # Too few rows to keep every chunk under the limit (e.g. shape (1, huge)): split the
    # flat bytes instead, as MindSpore does for Tensor data. The loader joins the chunks'
    # bytes before reshaping to dims, so any split point loads the same.
    return [
        (start, min(start + split_bytes, nbytes))
        for start in range(0, nbytes, split_bytes)
    ]


class CheckpointWriter:
    """Streams named arrays into a MindSpore .ckpt file, one message per parameter."""

    def __init__(
        self, path: str | os.PathLike[str], *, split_bytes: int = DEFAULT_SPLIT_BYTES
    ) -> None:
        """Create (or truncate) the checkpoint file at ``path``."""
        if split_bytes <= 0:
            raise ValueError(f"split_bytes must be positive, got {split_bytes}")
        self.path = os.fspath(path)
        self.split_bytes = split_bytes
        self.bytes_written = 0
        self._names: list[str] = []
        self._seen: set[str] = set()
        self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - closed by close()

    @property
    def names(self) -> list[str]:
        """Names of the parameters written so far, in file order."""
        return list(self._names)

    @property
    def closed(self) -> bool:
        """Whether the file has been closed."""
        return self._file is None

    def add(self, name: str, array: np.ndarray) -> None:
        """Write one named array to the file now."""
        if self._file is None:
            raise ValueError(f"checkpoint {self.path} is closed")
        if not isinstance(name, str):
            raise TypeError(f"parameter name must be a str, got {type(name).__name__}")
        if not name:
            raise ValueError("parameter name must not be empty")
        if name in self._seen:
            # load_checkpoint would silently merge or overwrite same-tag messages.
            raise ValueError(
                f"duplicate parameter name {name!r} in checkpoint {self.path}"
            )
        array = np.asarray(array)
        # Validated before anything is written so a bad array leaves the file intact.
        type_name = checkpoint_type_name(array.dtype).encode("ascii")
        tag = name.encode("utf-8")
        # MindSpore's loader reads dims == [0] as a scalar, so a shape-(0,) array loads
        # back with shape (); the format offers no other spelling, so it is left as is.
        dims = tuple(int(dim) for dim in array.shape)
        data = _little_endian_bytes(array)

        for start, stop in _split_bounds(dims, data.nbytes, self.split_bytes):
            header = _message_header(tag, dims, type_name, stop - start)
            self._file.write(header)
            # Writing the slice's buffer directly avoids joining header and data into
            # one more full-size bytes object.
            self._file.write(memoryview(data[start:stop]))
            self.bytes_written += len(header) + (stop - start)

        self._seen.add(name)
        self._names.append(name)

    def close(self) -> None:
        """Flush and close the file; calling it again does nothing."""
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def __enter__(self) -> Self:
        """Return the writer itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the file, whether or not the block raised."""
        self.close()
