"""What a mapper may ask about the node it maps: attributes, inputs, constants, shapes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.emission import Const, Expr, Ref, Unmappable

Dim = int | str | None

# ONNX element types as MindSpore dtype names, for Cast and friends.
MS_DTYPES: dict[ir.DataType, str] = {
    ir.DataType.FLOAT: "ms.float32",
    ir.DataType.FLOAT16: "ms.float16",
    ir.DataType.DOUBLE: "ms.float64",
    ir.DataType.BFLOAT16: "ms.bfloat16",
    ir.DataType.INT8: "ms.int8",
    ir.DataType.INT16: "ms.int16",
    ir.DataType.INT32: "ms.int32",
    ir.DataType.INT64: "ms.int64",
    ir.DataType.UINT8: "ms.uint8",
    ir.DataType.UINT16: "ms.uint16",
    ir.DataType.UINT32: "ms.uint32",
    ir.DataType.UINT64: "ms.uint64",
    ir.DataType.BOOL: "ms.bool_",
}


@dataclass
class MappingContext:
    """The node being mapped and the model facts around it."""

    node: ir.Node
    opset: int

    # Attributes -----------------------------------------------------------------------
    def attr(self, name: str, default: object = None) -> object:
        """An attribute's Python value (ints, floats, strings, lists), or the default."""
        found = self.node.attributes.get(name)
        if found is None:
            return default
        value = found.value
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, (list, tuple)):
            return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
        return value

    def ints(self, name: str, default: list[int] | None = None) -> list[int] | None:
        value = self.attr(name)
        return default if value is None else [int(v) for v in value]

    # Inputs and outputs ---------------------------------------------------------------
    def input(self, index: int) -> ir.Value | None:
        """The index-th input, or None when absent or left empty."""
        inputs = self.node.inputs
        return inputs[index] if index < len(inputs) else None

    def has_input(self, index: int) -> bool:
        return self.input(index) is not None

    def output(self, index: int = 0) -> ir.Value:
        return self.node.outputs[index]

    def const(self, index: int) -> np.ndarray | None:
        """The input's value when it is known at conversion time."""
        value = self.input(index)
        if value is None or value.const_value is None:
            return None
        return value.const_value.numpy()

    def const_ints(self, index: int, what: str) -> list[int] | None:
        """A constant integer list input (axes, shapes, pads); None when the input is absent."""
        if not self.has_input(index):
            return None
        array = self.const(index)
        if array is None:
            raise Unmappable(f"{what} is computed at run time; only constant {what} can be mapped")
        return [int(v) for v in array.reshape(-1)]

    def ref(self, index: int) -> Ref:
        """The input as a reference; constants become buffers of the network."""
        value = self.input(index)
        if value is None:
            raise Unmappable(f"input {index} is required but missing")
        return Ref(value)

    def operand(self, index: int, peer_rank: int | None = None) -> Expr:
        """The input for an arithmetic operator: a Python scalar when that keeps the semantics."""
        value = self.input(index)
        array = self.const(index)
        if (
            array is not None
            and array.size == 1
            and peer_rank is not None
            and array.ndim <= peer_rank
            and array.dtype in (np.float32, np.int64, np.int32)
        ):
            return Const(scalar_literal(array.reshape(-1)[0]))
        return self.ref(index) if value is not None else Const(None)

    # Shapes and types -------------------------------------------------------------------
    def shape(self, index: int = 0, *, output: bool = False) -> tuple[Dim, ...] | None:
        """Known shape of an input (or output); symbolic dims as str, unknown as None."""
        value = self.output(index) if output else self.input(index)
        if value is None or value.shape is None:
            return None
        return tuple(_dim(d) for d in value.shape)

    def rank(self, index: int = 0, *, output: bool = False) -> int | None:
        shape = self.shape(index, output=output)
        return None if shape is None else len(shape)

    def require_rank(self, index: int = 0, *, output: bool = False) -> int:
        rank = self.rank(index, output=output)
        if rank is None:
            raise Unmappable("the input rank is unknown at conversion time")
        return rank

    def dtype(self, index: int = 0, *, output: bool = False) -> ir.DataType | None:
        value = self.output(index) if output else self.input(index)
        return None if value is None else value.dtype


def _dim(dim: object) -> Dim:
    if isinstance(dim, int):
        return dim
    text = getattr(dim, "value", None)
    return text if isinstance(text, str) else None


def scalar_literal(item: object) -> int | float | bool:
    """A numpy scalar as the shortest Python literal that round-trips at its precision."""
    if isinstance(item, (np.bool_, bool)):
        return bool(item)
    if isinstance(item, (np.integer, int)):
        return int(item)
    text = np.format_float_positional(item, unique=True, trim="0") if np.isfinite(item) else None
    if text is None:
        return float(item)
    return float(text)


def compact_ints(values: list[int]) -> int | tuple[int, ...]:
    """One int when every spatial axis agrees (as people write kernel sizes), else a tuple."""
    return values[0] if len(set(values)) == 1 else tuple(values)


def ms_dtype(dtype: ir.DataType | int) -> str:
    """The MindSpore dtype expression for an ONNX element type."""
    try:
        return MS_DTYPES[ir.DataType(dtype)]
    except (KeyError, ValueError):
        raise Unmappable(f"MindSpore has no dtype for ONNX element type {ir.DataType(dtype).name}") from None
