"""Tests for the protobuf-free MindSpore checkpoint writer."""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from mindgen.weights.checkpoint import (
    CheckpointWriter,
    UnsupportedDtypeError,
    checkpoint_type_name,
)

SUPPORTED = {
    "Bool": np.bool_,
    "Int8": np.int8,
    "Int16": np.int16,
    "Int32": np.int32,
    "Int64": np.int64,
    "UInt8": np.uint8,
    "UInt16": np.uint16,
    "UInt32": np.uint32,
    "UInt64": np.uint64,
    "Float16": np.float16,
    "Float32": np.float32,
    "Float64": np.float64,
    "BFloat16": ml_dtypes.bfloat16,
}


@pytest.fixture(scope="module")
def ms():
    """The mindspore package, for checking files against the real implementation."""
    return pytest.importorskip("mindspore")


def _sample(dtype: type, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Return a deterministic array whose values are exact in ``dtype``."""
    rng = np.random.default_rng(seed)
    if dtype is np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        # Include the extremes so sign handling and full width are exercised.
        values = rng.integers(
            info.min, info.max, size=shape, dtype=dtype, endpoint=True
        )
        flat = values.reshape(-1)
        if flat.size >= 2:
            flat[0], flat[1] = info.min, info.max
        return values
    # Multiples of 1/8 in a small range are exact in every float type, bfloat16 included.
    return (rng.integers(-64, 64, size=shape) / 8).astype(dtype)


def _write(path: Path, items: dict[str, np.ndarray], **kwargs) -> CheckpointWriter:
    """Write ``items`` with CheckpointWriter and return the (closed) writer."""
    with CheckpointWriter(path, **kwargs) as writer:
        for name, array in items.items():
            writer.add(name, array)
    return writer


def _messages(ms, path: Path) -> list:
    """Parse a checkpoint file with MindSpore's own protobuf classes."""
    from mindspore.train.checkpoint_pb2 import Checkpoint

    checkpoint = Checkpoint()
    checkpoint.ParseFromString(path.read_bytes())
    return list(checkpoint.value)


def test_bytes_identical_to_save_checkpoint(ms, tmp_path):
    items = {
        "backbone.conv1.weight": _sample(np.float32, (4, 3, 5, 5)),
        # Long enough that both a dim and the content length need multi-byte varints.
        "backbone.steps": _sample(np.int64, (300,), seed=1),
        "scale": np.array(2.5, dtype=np.float32),
        "mask": _sample(np.bool_, (3, 4), seed=2),
        "head.bias": _sample(np.float16, (7,), seed=3),
        "lut": _sample(np.uint8, (2, 2, 3), seed=4),
    }
    ours = tmp_path / "ours.ckpt"
    theirs = tmp_path / "theirs.ckpt"
    writer = _write(ours, items)
    ms.save_checkpoint(
        [{"name": n, "data": ms.Tensor(a)} for n, a in items.items()], str(theirs)
    )

    assert ours.read_bytes() == theirs.read_bytes()
    assert writer.names == list(items)
    assert writer.bytes_written == ours.stat().st_size
    assert writer.closed


def test_zero_size_array_is_kept(ms, tmp_path):
    # save_checkpoint silently drops zero-size Tensors (it writes one message per
    # 512 MiB chunk of bytes, i.e. none); the writer keeps them so they load back.
    path = tmp_path / "empty.ckpt"
    _write(
        path, {"empty_rows": np.zeros((0, 3), np.float32), "w": np.ones(2, np.float32)}
    )

    loaded = ms.load_checkpoint(str(path))

    assert list(loaded) == ["empty_rows", "w"]
    assert tuple(loaded["empty_rows"].shape) == (0, 3)
    assert str(loaded["empty_rows"].dtype) == "Float32"


def test_round_trip_every_supported_dtype(ms, tmp_path):
    items = {
        f"p.{name}": _sample(dtype, (3, 5), seed=i)
        for i, (name, dtype) in enumerate(SUPPORTED.items())
    }
    items["p.scalar_bf16"] = np.array(-1.5, dtype=ml_dtypes.bfloat16)
    path = tmp_path / "all.ckpt"
    _write(path, items)

    loaded = ms.load_checkpoint(str(path))

    assert list(loaded) == list(items)
    for name, expected in items.items():
        param = loaded[name]
        assert str(param.dtype) == checkpoint_type_name(expected.dtype), name
        assert tuple(param.shape) == expected.shape, name
        if expected.dtype == ml_dtypes.bfloat16:
            # MindSpore's numpy bfloat16 is not ml_dtypes', so compare as float32.
            got = param.astype(ms.float32).asnumpy()
            np.testing.assert_array_equal(
                got, expected.astype(np.float32), err_msg=name
            )
        else:
            got = param.asnumpy()
            assert got.dtype == expected.dtype, name
            np.testing.assert_array_equal(got, expected, err_msg=name)


def test_load_param_into_net(ms, tmp_path):
    class Net(ms.nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.fc = ms.nn.Dense(3, 4)

        def construct(self, x):
            return self.fc(x)

    weight = _sample(np.float32, (4, 3), seed=5)
    bias = _sample(np.float32, (4,), seed=6)
    path = tmp_path / "net.ckpt"
    _write(path, {"fc.weight": weight, "fc.bias": bias})

    net = Net()
    result = ms.load_param_into_net(
        net, ms.load_checkpoint(str(path)), strict_load=True
    )

    assert tuple(result) == ([], [])
    np.testing.assert_array_equal(net.fc.weight.asnumpy(), weight)
    np.testing.assert_array_equal(net.fc.bias.asnumpy(), bias)


@pytest.mark.parametrize(
    ("shape", "chunk_sizes"),
    [
        # 280 bytes / 64 -> 5 chunks of 2 rows.
        ((10, 7), [56] * 5),
        # 308 bytes / 64 -> 5 chunks; np.array_split gives rows 3, 2, 2, 2, 2.
        ((11, 7), [84, 56, 56, 56, 56]),
        # One 160-byte row cannot be split by rows, so the flat bytes are split.
        ((1, 40), [64, 64, 32]),
    ],
)
def test_split_into_several_messages(ms, tmp_path, shape, chunk_sizes):
    array = _sample(np.float32, shape, seed=7)
    path = tmp_path / "split.ckpt"
    writer = _write(
        path, {"small": np.arange(3, dtype=np.int32), "big": array}, split_bytes=64
    )

    messages = _messages(ms, path)
    assert [m.tag for m in messages] == ["small"] + ["big"] * len(chunk_sizes)
    big = messages[1:]
    assert [len(m.tensor.tensor_content) for m in big] == chunk_sizes
    assert all(list(m.tensor.dims) == list(shape) for m in big)
    assert all(m.tensor.tensor_type == "Float32" for m in big)
    assert b"".join(m.tensor.tensor_content for m in big) == array.tobytes()
    assert writer.names == ["small", "big"]

    loaded = ms.load_checkpoint(str(path))
    np.testing.assert_array_equal(loaded["big"].asnumpy(), array)
    np.testing.assert_array_equal(
        loaded["small"].asnumpy(), np.arange(3, dtype=np.int32)
    )


def test_split_matches_mindspore_numpy_path(ms, tmp_path, monkeypatch):
    # MindSpore splits numpy data with np.array_split once it exceeds SLICE_SIZE KiB;
    # shrinking that limit lets the real code produce a split file to compare with.
    serialization = pytest.importorskip("mindspore.train.serialization")
    if not hasattr(serialization, "SLICE_SIZE") or not hasattr(
        serialization, "_exec_save"
    ):
        pytest.skip("MindSpore internals changed")
    monkeypatch.setattr(serialization, "SLICE_SIZE", 64 / 1024)
    array = _sample(np.float32, (11, 7), seed=8)
    theirs = tmp_path / "theirs.ckpt"
    serialization._exec_save(
        str(theirs), OrderedDict(w=[list(array.shape), "Float32", array])
    )

    ours = tmp_path / "ours.ckpt"
    _write(ours, {"w": array}, split_bytes=64)

    assert ours.read_bytes() == theirs.read_bytes()


def test_non_contiguous_and_big_endian_inputs(ms, tmp_path):
    base = _sample(np.float64, (3, 5), seed=9)
    bf16 = _sample(ml_dtypes.bfloat16, (4, 6), seed=10)
    items = {
        "transposed": base.T,
        "strided": base[:, ::2],
        "big_endian": base.astype(">f8"),
        "big_endian_transposed": _sample(np.int32, (4, 2), seed=11).astype(">i4").T,
        "bf16_strided": bf16[::2, 1::2],
    }
    assert not items["transposed"].flags.c_contiguous
    path = tmp_path / "views.ckpt"
    _write(path, items)

    # The file must equal one written from clean native C-contiguous copies.
    native = {
        n: np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("="))
        for n, a in items.items()
    }
    reference = tmp_path / "native.ckpt"
    _write(reference, native)
    assert path.read_bytes() == reference.read_bytes()

    loaded = ms.load_checkpoint(str(path))
    for name, expected in native.items():
        got = loaded[name]
        if expected.dtype == ml_dtypes.bfloat16:
            np.testing.assert_array_equal(
                got.astype(ms.float32).asnumpy(), expected.astype(np.float32)
            )
        else:
            np.testing.assert_array_equal(got.asnumpy(), expected, err_msg=name)


class _SpyFile:
    """Wraps a binary file and records the memoryviews written to it."""

    def __init__(self, file) -> None:
        self.file = file
        self.views: list[memoryview] = []

    def write(self, data) -> int:
        if isinstance(data, memoryview):
            self.views.append(data)
        return self.file.write(data)

    def close(self) -> None:
        self.file.close()


def test_contiguous_input_is_not_copied(tmp_path):
    array = np.arange(64, dtype=np.float32).reshape(8, 8)
    with CheckpointWriter(tmp_path / "nocopy.ckpt", split_bytes=128) as writer:
        spy = writer._file = _SpyFile(writer._file)
        writer.add("a", array)

    # 256 bytes in 128-byte chunks: each chunk is a view straight into the caller's array.
    assert len(spy.views) == 2
    assert all(np.shares_memory(np.asarray(view), array) for view in spy.views)
    assert b"".join(bytes(view) for view in spy.views) == array.tobytes()


def test_duplicate_name_raises(tmp_path):
    path = tmp_path / "dup.ckpt"
    with CheckpointWriter(path) as writer:
        writer.add("w", np.zeros(2, np.float32))
        size = writer.bytes_written
        with pytest.raises(ValueError, match="duplicate"):
            writer.add("w", np.ones(2, np.float32))
        assert writer.names == ["w"]
        assert writer.bytes_written == size
    assert path.stat().st_size == size


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(2, np.complex64),
        np.array(["a", "b"]),
        np.array([object(), None], dtype=object),
        np.zeros(2, ml_dtypes.float8_e4m3fn),
        np.zeros(2, np.dtype("datetime64[s]")),
        np.zeros(2, np.dtype("V4")),
        np.zeros(2, np.dtype([("x", np.float32)])),
    ],
    ids=[
        "complex64",
        "str",
        "object",
        "float8",
        "datetime",
        "void",
        "structured",
    ],
)
def test_unsupported_dtype_raises_and_writes_nothing(tmp_path, array):
    path = tmp_path / "bad.ckpt"
    with CheckpointWriter(path) as writer:
        with pytest.raises(UnsupportedDtypeError):
            writer.add("bad", array)
        assert writer.names == []
    assert path.read_bytes() == b""
    assert issubclass(UnsupportedDtypeError, ValueError)


def test_checkpoint_type_name():
    for name, dtype in SUPPORTED.items():
        assert checkpoint_type_name(np.dtype(dtype)) == name
    assert checkpoint_type_name(np.dtype(">f4")) == "Float32"
    with pytest.raises(UnsupportedDtypeError, match="complex128"):
        checkpoint_type_name(np.dtype(np.complex128))


def test_closed_writer_rejects_add(tmp_path):
    writer = CheckpointWriter(tmp_path / "closed.ckpt")
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add("w", np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="split_bytes"):
        CheckpointWriter(tmp_path / "zero.ckpt", split_bytes=0)


def test_module_imports_neither_mindspore_nor_protobuf():
    code = (
        "import sys, mindgen.weights.checkpoint; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'mindspore', 'google'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "[]"
