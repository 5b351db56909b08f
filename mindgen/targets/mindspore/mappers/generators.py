"""Operators that create tensors from attributes or sizes: Constant, ConstantOfShape, Range, EyeLike, OneHot."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype, scalar_literal
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    Raw,
    Ref,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register

# Constant attribute kinds other than `value`, with the element type ONNX gives them.
_LIST_CONSTANTS = {
    "value_float": np.float32,
    "value_floats": np.float32,
    "value_int": np.int64,
    "value_ints": np.int64,
}


@register(
    "Constant",
    since=1,
    target="a frozen Parameter (constants that are not graph outputs become initializers)",
)
def map_constant(ctx: MappingContext) -> Emission:
    names = list(ctx.node.attributes)
    if len(names) != 1:
        raise Unmappable(f"Constant with attributes {names}; exactly one value attribute is expected")
    name = names[0]
    if name == "value":
        tensor = ctx.node.attributes[name].as_tensor()
    elif name in _LIST_CONSTANTS:
        tensor = ir.tensor(np.array(ctx.attr(name), dtype=_LIST_CONSTANTS[name]))
    else:
        raise Unmappable(f"Constant {name}: MindSpore tensors cannot hold strings or sparse values")
    ms_dtype(tensor.dtype)  # refuses element types MindSpore lacks
    buffer = ir.Value(
        name=ctx.output().name,
        shape=ir.Shape(tensor.shape),
        type=ir.TensorType(tensor.dtype),
        const_value=tensor,
    )
    return expression(Ref(buffer))


def _fits_float32_literal(item: np.generic) -> bool:
    """Whether a Python literal keeps this value in GRAPH mode (floats become float32 there)."""
    if isinstance(item, (np.bool_, np.floating)) and item.dtype != np.float64:
        return True
    if isinstance(item, np.integer):
        return -(2**31) <= int(item) < 2**31
    return bool(np.float64(np.float32(item)) == item)


@register("ConstantOfShape", since=9, target="ops.zeros / ops.ones / ops.fill")
def map_constant_of_shape(ctx: MappingContext) -> Emission:
    found = ctx.node.attributes.get("value")
    array = found.as_tensor().numpy() if found is not None else np.zeros(1, np.float32)
    dtype = ir.DataType.from_numpy(array.dtype)
    target = ms_dtype(dtype)
    shape: Expr = Const(tuple(ctx.const_ints(0, "shape"))) if ctx.const(0) is not None else ctx.ref(0)
    item = array.reshape(-1)[0]
    # bfloat16 fills have no CPU kernel: fill in float32 (exact for bfloat16 values), then cast.
    fill_type = "ms.float32" if dtype == ir.DataType.BFLOAT16 else target
    if item == 0:
        expr: Expr = call("ops.zeros", shape, Raw(fill_type))
    elif item == 1:
        expr = call("ops.ones", shape, Raw(fill_type))
    elif _fits_float32_literal(item):
        expr = call("ops.fill", Raw(fill_type), shape, scalar_literal(item))
    else:
        expr = call("ops.FillV2()", shape, call("ms.Tensor", scalar_literal(item), Raw(target)))
    return expression(expr if fill_type == target else call("ops.cast", expr, Raw(target)))


@register("Range", since=11, target="ops.range")
def map_range(ctx: MappingContext) -> Emission:
    dtype = ctx.dtype(0)
    if dtype is None:
        raise Unmappable("the Range element type is unknown at conversion time")
    target = ms_dtype(dtype)
    start, limit, delta = ctx.ref(0), ctx.ref(1), ctx.ref(2)
    low_precision = dtype in (ir.DataType.FLOAT16, ir.DataType.BFLOAT16)
    stash = int(ctx.attr("stash_type", int(ir.DataType.FLOAT)))
    if dtype == ir.DataType.DOUBLE or (low_precision and stash == int(ir.DataType.DOUBLE)):
        return expression(_range_by_definition(start, limit, delta, dtype))
    if low_precision:
        # stash_type FLOAT: computed in float32, then rounded (ops.range rejects bfloat16 in PyNative).
        start, limit, delta = (call("ops.cast", v, Raw("ms.float32")) for v in (start, limit, delta))
    else:
        start, limit, delta = (ctx.operand(i, peer_rank=0) for i in range(3))  # literals when constant
    # ops.range gives int64 for any integer input and float32 for any float input.
    result: Expr = call("ops.range", start, limit, delta)
    if dtype not in (ir.DataType.INT64, ir.DataType.FLOAT):
        result = call("ops.cast", result, Raw(target))
    return expression(result)


def _range_by_definition(start: Expr, limit: Expr, delta: Expr, dtype: ir.DataType) -> Expr:
    """start + i * delta in float64, as ONNX defines Range (ops.range works in float32)."""
    if dtype != ir.DataType.DOUBLE:
        start, limit, delta = (call("ops.cast", v, Raw("ms.float64")) for v in (start, limit, delta))
    count = call(
        "ops.cast",
        call("ops.relu", call("ops.ceil", Infix("/", Infix("-", limit, start), delta))),
        Raw("ms.int64"),
    )
    steps = call("ops.cast", call("ops.range", 0, count, 1), Raw("ms.float64"))
    result: Expr = Infix("+", start, Infix("*", steps, delta))
    return result if dtype == ir.DataType.DOUBLE else call("ops.cast", result, Raw(ms_dtype(dtype)))


def _dim(ctx: MappingContext, axis: int) -> Expr:
    """An input dimension: a literal when known, else read from x.shape."""
    shape = ctx.shape(0) or ()
    size = shape[axis] if axis < len(shape) else None
    return Const(size) if isinstance(size, int) else Index(Attribute(ctx.ref(0), "shape"), str(axis))


def _plus(dim: Expr, amount: int) -> Expr:
    if isinstance(dim, Const) and isinstance(dim.value, int):
        return Const(dim.value + amount)
    return Infix("+", dim, Const(amount)) if amount else dim


@register("EyeLike", since=9, target="ops.eye, sliced for an off-diagonal k")
def map_eye_like(ctx: MappingContext) -> Emission:
    rank = ctx.require_rank(0)
    if rank not in (1, 2):
        raise Unmappable(f"EyeLike of a rank-{rank} input")
    dtype_attr = int(ctx.attr("dtype", 0))
    dtype = ir.DataType(dtype_attr) if dtype_attr else ctx.dtype(0)
    if dtype is None:
        raise Unmappable("the EyeLike element type is unknown at conversion time")
    target = ms_dtype(dtype)
    rows = _dim(ctx, 0)
    cols = _dim(ctx, 1 if rank == 2 else 0)
    k = int(ctx.attr("k", 0))
    # ops.eye has no diagonal offset: a taller (k > 0) or wider (k < 0) identity is cut instead.
    eye_type = "ms.float32" if dtype == ir.DataType.BFLOAT16 else target  # no bfloat16 Eye kernel
    if k > 0:
        expr: Expr = Index(call("ops.eye", _plus(rows, k), cols, Raw(eye_type)), f"{k}:")
    elif k < 0:
        expr = Index(call("ops.eye", rows, _plus(cols, -k), Raw(eye_type)), f":, {-k}:")
    else:
        expr = call("ops.eye", rows, cols, Raw(eye_type))
    return expression(expr if eye_type == target else call("ops.cast", expr, Raw(target)))


# Value types ops.one_hot takes for on_value/off_value.
_ONE_HOT_TYPES = {ir.DataType.FLOAT16, ir.DataType.FLOAT, ir.DataType.INT32, ir.DataType.INT64}


def _one_hot(ctx: MappingContext, wrap_negative: bool) -> Emission:
    rank = ctx.require_rank(0)
    axis = int(ctx.attr("axis", -1))
    axis = axis + rank + 1 if axis < 0 else axis
    indices: Expr = ctx.ref(0)
    if ctx.dtype(0) not in (ir.DataType.INT32, ir.DataType.INT64):
        indices = call("ops.cast", indices, Raw("ms.int64"))  # ONNX casts other index types to int64
    known = ctx.const(1)
    depth: Expr
    if known is not None:
        depth = Const(int(known.reshape(-1)[0]))
    else:
        depth = call("ops.cast", ctx.ref(1), Raw("ms.int64"))
        if ctx.rank(1) != 0:
            depth = call("ops.reshape", depth, ())
    if wrap_negative:
        # Indices in [-depth, -1] count from the end; anything further out stays all off.
        indices = call("ops.where", Infix("<", indices, Const(0)), Infix("+", indices, depth), indices)
    axis_arg = () if axis == rank else (axis,)
    values_type = ctx.dtype(2)
    on, off = Index(ctx.ref(2), "1"), Index(ctx.ref(2), "0")
    if values_type in _ONE_HOT_TYPES:
        return expression(call("ops.one_hot", indices, depth, on, off, *axis_arg))
    if values_type == ir.DataType.BFLOAT16:  # no bfloat16 OneHot or Select kernel; float32 holds the values
        wide = call("ops.cast", ctx.ref(2), Raw("ms.float32"))
        hot = call("ops.one_hot", indices, depth, Index(wide, "1"), Index(wide, "0"), *axis_arg)
        return expression(call("ops.cast", hot, Raw("ms.bfloat16")))
    if values_type is None:
        raise Unmappable("the OneHot value type is unknown at conversion time")
    ms_dtype(values_type)
    mask = Infix(">", call("ops.one_hot", indices, depth, 1, 0, *axis_arg), Const(0))
    return expression(call("ops.where", mask, on, off))


@register("OneHot", since=9, target="ops.one_hot")
def map_one_hot(ctx: MappingContext) -> Emission:
    return _one_hot(ctx, wrap_negative=False)


@register("OneHot", since=11, target="ops.one_hot, negative indices wrapped")
def map_one_hot_negative(ctx: MappingContext) -> Emission:
    return _one_hot(ctx, wrap_negative=True)
