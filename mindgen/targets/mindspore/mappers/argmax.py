"""Positions of extreme values: ArgMax, ArgMin and Hardmax."""

from __future__ import annotations

import math

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    Raw,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register


def _axis(ctx: MappingContext, default: int) -> int:
    rank = ctx.require_rank(0)
    axis = int(ctx.attr("axis", default))
    return axis + rank if axis < 0 else axis


def _size(ctx: MappingContext, axis: int) -> Expr:
    """The input's size along an axis: a literal when known, else read from x.shape."""
    size = (ctx.shape(0) or ())[axis]
    return Const(size) if isinstance(size, int) else Index(Attribute(ctx.ref(0), "shape"), str(axis))


def _arg_extreme(ctx: MappingContext, func: str, keep_keyword: str) -> Emission:
    axis = _axis(ctx, 0)
    keep = bool(ctx.attr("keepdims", 1))

    def pick(x: Expr) -> Expr:
        found = call(func, x, axis, **{keep_keyword: keep})
        # ops.argmin gives int32; ONNX gives int64 like ops.argmax.
        return found if func == "ops.argmax" else call("ops.cast", found, Raw("ms.int64"))

    if not int(ctx.attr("select_last_index", 0)):
        return expression(pick(ctx.ref(0)))
    # MindSpore picks the first of tied values: search the reversed axis and count back.
    size = _size(ctx, axis)
    last = Const(size.value - 1) if isinstance(size, Const) else Infix("-", size, Const(1))
    return expression(Infix("-", last, pick(call("ops.flip", ctx.ref(0), (axis,)))))


@register("ArgMax", since=1, target="ops.argmax (ops.flip for select_last_index)")
def map_argmax(ctx: MappingContext) -> Emission:
    return _arg_extreme(ctx, "ops.argmax", "keepdim")


@register("ArgMin", since=1, target="ops.argmin cast to int64 (ops.flip for select_last_index)")
def map_argmin(ctx: MappingContext) -> Emission:
    return _arg_extreme(ctx, "ops.argmin", "keepdims")


def _hardmax(ctx: MappingContext, x: Expr, axis: int, depth: Expr) -> Expr:
    """One-hot of the first maximum along a non-negative axis, in the input's dtype."""
    dtype = ctx.dtype(0)
    if dtype == ir.DataType.BFLOAT16:  # no bfloat16 ArgMax on CPU; widening keeps the order
        x = call("ops.cast", x, Raw("ms.float32"))
    hot = call("ops.one_hot", call("ops.argmax", x, axis), depth, 1.0, 0.0, axis)
    if dtype in (ir.DataType.FLOAT, None):
        return hot
    # ops.one_hot has no float64 kernel; 0 and 1 are exact in every float type.
    return call("ops.cast", hot, Raw(ms_dtype(dtype)))


@register("Hardmax", since=13, target="ops.one_hot(ops.argmax(x))")
def map_hardmax(ctx: MappingContext) -> Emission:
    axis = _axis(ctx, -1)
    return expression(_hardmax(ctx, ctx.ref(0), axis, _size(ctx, axis)))


@register("Hardmax", since=1, target="ops.one_hot(ops.argmax(x)) over the flattened trailing axes")
def map_hardmax_flattened(ctx: MappingContext) -> Emission:
    axis = _axis(ctx, 1)
    if axis == ctx.require_rank(0) - 1:
        return expression(_hardmax(ctx, ctx.ref(0), axis, _size(ctx, axis)))
    shape = ctx.shape(0) or ()
    inner = shape[axis:]
    if not all(isinstance(d, int) for d in inner) or sum(not isinstance(d, int) for d in shape) > 1:
        raise Unmappable(
            "Hardmax before opset 13 flattens from `axis`; the trailing dimensions must be static"
        )
    size = math.prod(inner)  # type: ignore[arg-type]
    rows = call("ops.reshape", ctx.ref(0), (-1, size))
    restored = tuple(d if isinstance(d, int) else -1 for d in shape)
    return expression(call("ops.reshape", _hardmax(ctx, rows, 1, Const(size)), restored))
