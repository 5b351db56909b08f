"""Shape vectors computed in the graph, followed entry by entry (ints, dim symbols, unknowns).

Frozen Keras graphs build shapes at run time (Shape -> StridedSlice -> Pack -> Reshape) even
when all but the batch dimension are fixed; following the entries lets Reshape keep constant
targets (0 copies a dimension, -1 infers one) and keeps every later shape known.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import onnx

Entry = int | str | None
Entries = list[Entry]
Lookup = Callable[[str], "Entries | None"]
ShapeOf = Callable[[str], "tuple | None"]

# Shape vectors are short; longer integer tensors are data, not shapes.
_MAX_ENTRIES = 16


def const_entries(array: np.ndarray) -> Entries | None:
    if array.dtype.kind not in "iu" or array.ndim > 1 or array.size > _MAX_ENTRIES:
        return None
    return [int(v) for v in array.reshape(-1)]


def propagate(node: onnx.NodeProto, entries_of: Lookup, shape_of: ShapeOf) -> Entries | None:
    """The entries of the node's first output, from its inputs' entries (None: not a shape)."""
    op = node.op_type
    inputs = [entries_of(name) if name else None for name in node.input]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if op == "Shape":
        shape = shape_of(node.input[0])
        if shape is None:
            return None
        return list(shape)[attrs.get("start", 0) : attrs.get("end", len(shape))]
    if op in ("Cast", "Identity", "Squeeze", "Unsqueeze", "Reshape", "Flatten"):
        return inputs[0]
    if op == "Gather" and attrs.get("axis", 0) == 0 and inputs[0] is not None and inputs[1] is not None:
        data, picked = inputs[0], inputs[1]
        if all(isinstance(i, int) and -len(data) <= i < len(data) for i in picked):
            return [data[i] for i in picked]  # type: ignore[index]
        return None
    if op == "Slice" and inputs[0] is not None and all(v is not None for v in inputs[1:]):
        return _slice(inputs[0], inputs[1:])  # type: ignore[arg-type]
    if op == "Concat" and all(v is not None for v in inputs):
        return [e for part in inputs for e in part]  # type: ignore[union-attr]
    if op in ("Mul", "Add", "Sub", "Div") and all(v is not None for v in inputs) and len(inputs) == 2:
        return _arithmetic(op, inputs[0], inputs[1])  # type: ignore[arg-type]
    return None


def _slice(data: Entries, params: Sequence[Entries]) -> Entries | None:
    starts, ends = params[0], params[1]
    axes = params[2] if len(params) > 2 else [0]
    steps = params[3] if len(params) > 3 else [1]
    if (
        len(starts) != 1
        or axes not in ([0], [-1])
        or not all(isinstance(v, int) for v in (*starts, *ends, *steps))
    ):
        return None
    return data[slice(starts[0], ends[0], steps[0])]  # type: ignore[misc]


def _arithmetic(op: str, a: Entries, b: Entries) -> Entries | None:
    if len(a) != len(b):
        if len(a) == 1:
            a = a * len(b)
        elif len(b) == 1:
            b = b * len(a)
        else:
            return None
    result: Entries = []
    for x, y in zip(a, b, strict=True):
        if isinstance(x, int) and isinstance(y, int):
            result.append({"Mul": x * y, "Add": x + y, "Sub": x - y}.get(op, x // y if y else None))
        elif (op == "Mul" and y == 1) or (op in ("Add", "Sub") and y == 0) or (op == "Div" and y == 1):
            result.append(x)
        elif op == "Mul" and x == 1:
            result.append(y)
        else:
            result.append(None)
    return result


def constant_shape(entries: Sequence, in_shape: Sequence | None) -> tuple[list[int], bool] | None:
    """Reshape's constant target: a run-time dimension at its own position is 0 (copy), one
    other run-time entry is -1 (inferred). None when that cannot express the target."""
    shape: list[int] = []
    for position, entry in enumerate(entries):
        if isinstance(entry, int):
            shape.append(entry)
        elif (
            isinstance(entry, str)
            and in_shape is not None
            and position < len(in_shape)
            and in_shape[position] == entry
        ):
            shape.append(0)
        else:
            shape.append(-1)
    copies = any(isinstance(e, str) and v == 0 for e, v in zip(entries, shape, strict=True))
    literal_zero = any(isinstance(e, int) and e == 0 for e in entries)
    if shape.count(-1) > 1 or (copies and literal_zero):
        return None
    return shape, literal_zero
