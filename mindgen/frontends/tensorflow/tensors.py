"""TensorFlow dtypes and TensorProto values as numpy arrays and ONNX element types."""

from __future__ import annotations

import ml_dtypes
import numpy as np
from onnx import TensorProto as OnnxType

from mindgen.errors import InputError
from mindgen.frontends.limits import check_fits_in_memory, element_count
from mindgen.frontends.tensorflow.schema import DataType

# dtype -> (numpy dtype, ONNX element type, TensorProto list holding the values)
_TYPES: dict[DataType, tuple[np.dtype, int, str]] = {
    DataType.DT_FLOAT: (np.dtype(np.float32), OnnxType.FLOAT, "float_val"),
    DataType.DT_DOUBLE: (np.dtype(np.float64), OnnxType.DOUBLE, "double_val"),
    DataType.DT_HALF: (np.dtype(np.float16), OnnxType.FLOAT16, "half_val"),
    DataType.DT_BFLOAT16: (np.dtype(ml_dtypes.bfloat16), OnnxType.BFLOAT16, "half_val"),
    DataType.DT_INT8: (np.dtype(np.int8), OnnxType.INT8, "int_val"),
    DataType.DT_INT16: (np.dtype(np.int16), OnnxType.INT16, "int_val"),
    DataType.DT_INT32: (np.dtype(np.int32), OnnxType.INT32, "int_val"),
    DataType.DT_INT64: (np.dtype(np.int64), OnnxType.INT64, "int64_val"),
    DataType.DT_UINT8: (np.dtype(np.uint8), OnnxType.UINT8, "int_val"),
    DataType.DT_UINT16: (np.dtype(np.uint16), OnnxType.UINT16, "int_val"),
    DataType.DT_UINT32: (np.dtype(np.uint32), OnnxType.UINT32, "uint32_val"),
    DataType.DT_UINT64: (np.dtype(np.uint64), OnnxType.UINT64, "uint64_val"),
    DataType.DT_BOOL: (np.dtype(np.bool_), OnnxType.BOOL, "bool_val"),
    DataType.DT_COMPLEX64: (np.dtype(np.complex64), OnnxType.COMPLEX64, "scomplex_val"),
    DataType.DT_COMPLEX128: (np.dtype(np.complex128), OnnxType.COMPLEX128, "dcomplex_val"),
}


def base_type(dtype: int) -> DataType | None:
    """The value type of a dtype code, with reference types (DT_FLOAT_REF = 101) folded in."""
    code = dtype - 100 if dtype > 100 else dtype
    try:
        return DataType(code)
    except ValueError:
        return None


def type_name(dtype: int) -> str:
    """'DT_FLOAT', or the raw code for a type this schema does not list."""
    known = base_type(dtype)
    return known.name if known is not None else f"DT_{dtype}"


def numpy_dtype(dtype: int) -> np.dtype | None:
    known = base_type(dtype)
    return _TYPES[known][0] if known in _TYPES else None


def onnx_type(dtype: int) -> int:
    """The ONNX element type of a TF dtype, UNDEFINED (0) for strings, resources and the like."""
    known = base_type(dtype)
    return _TYPES[known][1] if known in _TYPES else OnnxType.UNDEFINED


def shape_dims(shape) -> list[int] | None:
    """A TensorShapeProto as a list of sizes (-1 unknown), None for an unknown rank."""
    if shape.unknown_rank:
        return None
    return [int(d.size) for d in shape.dim]


def to_numpy(tensor, where: str) -> np.ndarray:
    """Decodes a TensorProto from tensor_content or from its typed value list."""
    known = base_type(tensor.dtype)
    if known not in _TYPES:
        raise InputError(f"{where}: constant of type {type_name(tensor.dtype)} cannot be converted")
    dtype, _, field = _TYPES[known]
    shape = shape_dims(tensor.tensor_shape) or []
    if any(d < 0 for d in shape):
        raise InputError(f"{where}: constant has an unknown dimension {shape}")
    count = element_count(shape, f"{where}: constant")
    if tensor.tensor_content:
        content = tensor.tensor_content
        if len(content) != count * dtype.itemsize:
            raise InputError(f"{where}: tensor_content holds {len(content)} bytes for {dtype} shape {shape}")
        return np.frombuffer(content, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    values = list(getattr(tensor, field))
    if dtype.kind == "c":
        if len(values) % 2:
            raise InputError(f"{where}: complex constant holds an odd number of parts ({len(values)})")
        values = [complex(r, i) for r, i in zip(values[::2], values[1::2], strict=True)]
    array = _value_array(values, dtype, field, where)
    if array.size == count:
        return array.reshape(shape)
    if array.size > count:
        raise InputError(f"{where}: constant holds {array.size} values for shape {shape}")
    # TensorFlow stores a constant that repeats its last value once (zeros when empty): the
    # declared size is what gets allocated, so a forged shape must not exhaust memory.
    check_fits_in_memory(count * dtype.itemsize, f"{where}: constant of shape {shape}")
    fill = array[-1] if array.size else np.zeros((), dtype)
    return np.concatenate([array, np.full(count - array.size, fill, dtype)]).reshape(shape)


def _value_array(values: list, dtype: np.dtype, field: str, where: str) -> np.ndarray:
    """A typed value list as an array; values its dtype cannot hold are an InputError."""
    # Half and bfloat16 values are stored as their 16-bit patterns.
    stored = np.dtype(np.uint16) if field == "half_val" else dtype
    # numpy 1.x wraps out-of-range Python ints (with a warning): check the range first.
    if stored.kind in "iu" and values:
        info = np.iinfo(stored)
        if min(values) < info.min or max(values) > info.max:
            raise InputError(f"{where}: constant holds values out of range for {dtype}")
    array = np.asarray(values, dtype=stored)
    return array.view(dtype) if field == "half_val" else array
