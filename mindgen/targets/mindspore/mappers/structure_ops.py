"""Operators on a tensor's layout and extent: Size, Tile, Trilu and CenterCropPad."""

from __future__ import annotations

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    Raw,
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register


@register("Size", since=1, target="ops.size (static sizes are folded)")
def map_size(ctx: MappingContext) -> Emission:
    return expression(call("ops.scalar_to_tensor", call("ops.size", ctx.ref(0)), Raw("ms.int64")))


@register("Tile", since=6, target="ops.tile, or ops.Tile() for repeats computed at run time")
def map_tile(ctx: MappingContext) -> Emission:
    if ctx.const(1) is None:
        return expression(call("ops.Tile()", ctx.ref(0), ctx.ref(1)))
    return expression(call("ops.tile", ctx.ref(0), tuple(ctx.const_ints(1, "repeats") or ())))


@register("Trilu", since=14, target="ops.triu / ops.tril")
def map_trilu(ctx: MappingContext) -> Emission:
    upper = bool(int(ctx.attr("upper", 1)))
    func = "ops.triu" if upper else "ops.tril"
    shape = ctx.shape(0)
    if shape is not None and 0 in shape:
        return expression(ctx.ref(0))  # nothing to mask, and the CPU kernels reject empty matrices
    if not ctx.has_input(1):
        return expression(call(func, ctx.ref(0)))
    known = ctx.const(1)
    if known is not None:
        return expression(call(func, ctx.ref(0), int(known.reshape(-1)[0])))
    # Only ops.triu takes a diagonal computed at run time: tril keeps what triu(k + 1) would not.
    if upper:
        return expression(call(func, ctx.ref(0), ctx.ref(1)))
    above = call(
        "ops.triu", call("ops.ones_like", ctx.ref(0), dtype=Raw("ms.bool_")), Infix("+", ctx.ref(1), Const(1))
    )
    return expression(call("ops.where", above, call("ops.zeros_like", ctx.ref(0)), ctx.ref(0)))


def _crop_pad_axes(ctx: MappingContext) -> tuple[list[int], list[int]]:
    """The input's static shape and the (non-negative) axes CenterCropPad acts on."""
    shape = ctx.shape(0)
    if shape is None or not all(isinstance(d, int) for d in shape):
        raise Unmappable("CenterCropPad of an input whose shape is not fully known at conversion time")
    rank = len(shape)
    axes = ctx.ints("axes") or list(range(rank))
    return list(shape), [a + rank if a < 0 else a for a in axes]  # type: ignore[misc]


@register("CenterCropPad", since=18, target="slicing and ops.pad (ops.PadV3 for sizes computed at run time)")
def map_center_crop_pad(ctx: MappingContext) -> Emission:
    dims, axes = _crop_pad_axes(ctx)
    known = ctx.const(1)
    if known is None:
        return expression(_center_crop_pad_at_run_time(ctx, dims, axes))
    sizes = dict(zip(axes, (int(v) for v in known.reshape(-1)), strict=True))
    keys, pads = [":"] * len(dims), [0] * (2 * len(dims))
    for axis, size in sizes.items():
        dim = dims[axis]
        if size < dim:
            start = (dim - size) // 2
            keys[axis] = f"{start}:{start + size}"
        elif size > dim:
            # ops.pad takes (before, after) pairs from the last axis backwards.
            before = (size - dim) // 2
            slot = 2 * (len(dims) - 1 - axis)
            pads[slot : slot + 2] = [before, size - dim - before]
    expr: Expr = ctx.ref(0)
    if any(k != ":" for k in keys):
        expr = Index(expr, ", ".join(keys[: max(i for i, k in enumerate(keys) if k != ":") + 1]))
    if any(pads):
        last = max(i for i, p in enumerate(pads) if p)
        expr = call("ops.pad", expr, tuple(pads[: last + 2 - last % 2]))
    return expression(expr)


def _center_crop_pad_at_run_time(ctx: MappingContext, dims: list[int], axes: list[int]) -> Expr:
    """One ops.PadV3 whose negative pads crop: each axis changes by d, d // 2 of it before (to zero)."""
    change = _size_change(ctx, dims, axes)
    before = call("ops.truncate_div", change, 2)
    # (before, after) rows per axis, last axis first, flattened: the order ops.PadV3 wants.
    rows = call("ops.stack", TupleExpr((before, Infix("-", change, before))), -1)
    pads = call("ops.reshape", call("ops.flip", rows, (0,)), (-1,))
    return call("ops.PadV3()", ctx.ref(0), pads, call("ops.zeros", (), Attribute(ctx.ref(0), "dtype")))


def _int64s(values: list[int]) -> Expr:
    return call("ms.Tensor", tuple(values), Raw("ms.int64"))


def _size_change(ctx: MappingContext, dims: list[int], axes: list[int]) -> Expr:
    """Target minus input size from the first axis in `axes` on, as an int64 vector (0 off `axes`)."""
    position = {axis: i for i, axis in enumerate(axes)}
    pieces: list[Expr] = []
    # ops.PadV3 pads as many trailing axes as it is given pairs for: leading axes need none.
    axis = min(axes)
    while axis < len(dims):
        end = axis + 1
        if axis not in position:
            while end < len(dims) and end not in position:
                end += 1
            pieces.append(_int64s([0] * (end - axis)))
        else:
            # A run of axes whose target sizes sit side by side in the shape input.
            while end < len(dims) and position.get(end) == position[axis] + end - axis:
                end += 1
            first = position[axis]
            sizes = (
                ctx.ref(1) if end - axis == len(axes) else Index(ctx.ref(1), f"{first}:{first + end - axis}")
            )
            pieces.append(Infix("-", sizes, _int64s(dims[axis:end])))
        axis = end
    return pieces[0] if len(pieces) == 1 else call("ops.concat", TupleExpr(tuple(pieces)))
