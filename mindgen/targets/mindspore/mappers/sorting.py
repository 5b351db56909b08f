"""Operators built on sorting: TopK and Unique."""

from __future__ import annotations

import math
from collections.abc import Callable

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
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register

INT64 = Raw("ms.int64")


def _used(ctx: MappingContext, index: int) -> bool:
    if index >= len(ctx.node.outputs):
        return False
    value = ctx.output(index)
    return bool(value.uses()) or value.is_graph_output()


# -2**63 as an expression: GRAPH mode cannot parse the literal.
_INT64_MIN = Infix("-", Const(-(2**63 - 1)), Const(1))


def _sort_key(ctx: MappingContext, x: Expr) -> tuple[Expr, Callable[[Expr], Expr]]:
    """x in a type ops.sort takes (it lacks uint16/32/64 and bfloat16), same order, and the way back."""
    dtype = ctx.dtype(0)
    if dtype in (ir.DataType.UINT16, ir.DataType.UINT32, ir.DataType.BFLOAT16):
        wide = Raw("ms.float32" if dtype == ir.DataType.BFLOAT16 else "ms.int64")
        return call("ops.cast", x, wide), lambda v: call("ops.cast", v, Raw(ms_dtype(dtype)))
    if dtype == ir.DataType.UINT64:
        # Flipping the top bit of the reinterpreted int64 keeps the unsigned order.
        key = call("ops.bitwise_xor", call("ops.cast", x, INT64), _INT64_MIN)
        return key, lambda v: call("ops.cast", call("ops.bitwise_xor", v, _INT64_MIN), Raw("ms.uint64"))
    return x, lambda v: v


def _top_k(ctx: MappingContext, k: Expr) -> Emission:
    rank = ctx.require_rank(0)
    axis = int(ctx.attr("axis", -1))
    axis = axis + rank if axis < 0 else axis
    key, restore = _sort_key(ctx, ctx.ref(0))
    # ops.topk orders ties arbitrarily; ops.sort is stable, so ties keep ONNX's lower-index-first.
    # sorted=0 leaves the order unspecified, so the sorted order is a valid one.
    kwargs = {"descending": True} if int(ctx.attr("largest", 1)) else {}
    ranked = call("ops.sort", key, axis, **kwargs)

    def first_k(sorted_part: Expr) -> Expr:
        if isinstance(k, Const):
            return Index(sorted_part, ", ".join([":"] * axis + [f":{k.value}"]))
        return call("ops.gather", sorted_part, call("ops.arange", k), axis)

    values = restore(first_k(Index(ranked, "0")))
    # ops.sort gives int32 positions; ONNX gives int64.
    return expression(TupleExpr((values, call("ops.cast", first_k(Index(ranked, "1")), INT64))), results=2)


@register("TopK", since=10, target="ops.sort (stable), first k")
def map_top_k(ctx: MappingContext) -> Emission:
    k = ctx.const(1)
    # A k computed at run time selects through ops.gather.
    return _top_k(ctx, Index(ctx.ref(1), "0") if k is None else Const(int(k.reshape(-1)[0])))


@register("TopK", since=1, target="ops.sort (stable), first k")
def map_top_k_attribute(ctx: MappingContext) -> Emission:
    return _top_k(ctx, Const(int(ctx.attr("k"))))


@register("Unique", since=11, target="ops.unique, ops.sort, ops.searchsorted and scatters")
def map_unique(ctx: MappingContext) -> Emission:
    if ctx.attr("axis") is not None:
        raise Unmappable(
            "Unique along an axis: MindSpore has no unique-slices operator (ops.unique flattens its input)"
        )
    flat, restore = _sort_key(ctx, call("ops.reshape", ctx.ref(0), (-1,)))
    shape = ctx.shape(0)
    static = shape is not None and all(isinstance(d, int) for d in shape)
    count = Const(math.prod(shape)) if static else Index(Attribute(flat, "shape"), "0")  # type: ignore[arg-type]
    if int(ctx.attr("sorted", 1)):
        values: Expr = Index(call("ops.sort", Index(call("ops.unique", flat), "0")), "0")
        inverse: Expr = call("ops.searchsorted", values, flat)
    else:  # ops.unique keeps the order of first appearance, which is ONNX's sorted=0 order
        values = Index(call("ops.unique", flat), "0")
        inverse = call("ops.cast", Index(call("ops.unique", flat), "1"), INT64)
    slots = call("ops.expand_dims", inverse, 1)
    # A value's first index is the smallest position scattered onto its slot.
    first = call("ops.full_like", values, count, dtype=INT64)
    first = call("ops.tensor_scatter_min", first, slots, call("ops.arange", count))
    counts = call("ops.zeros_like", values, dtype=INT64)
    counts = call("ops.tensor_scatter_add", counts, slots, call("ops.ones_like", flat, dtype=INT64))
    outputs = (restore(values), first, inverse, counts)[: len(ctx.node.outputs)]
    items = tuple(expr if _used(ctx, i) else Const(None) for i, expr in enumerate(outputs))
    return expression(TupleExpr(items) if len(items) > 1 else items[0], results=len(items))
