"""Operators that only rearrange a tensor's shape: Flatten, Reshape, Transpose, Squeeze, ..."""

from __future__ import annotations

import math

from mindgen.targets.mindspore.context import Dim, MappingContext
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register


def _target_shape(ctx: MappingContext, dims: tuple[Dim, ...]) -> TupleExpr:
    """A reshape target from inferred dims: symbols read from x.shape, one unknown as -1."""
    in_shape = ctx.shape(0) or ()
    items: list[Expr] = []
    unknown = 0
    for d in dims:
        if isinstance(d, int):
            items.append(Const(d))
        elif isinstance(d, str) and d in in_shape:
            items.append(Index(Attribute(ctx.ref(0), "shape"), str(in_shape.index(d))))
        else:
            unknown += 1
            items.append(Const(-1))
    if unknown > 1:
        raise Unmappable("the target shape has more than one dimension unknown at conversion time")
    return TupleExpr(tuple(items))


@register("Flatten", since=1, target="ops.flatten / ops.reshape")
def map_flatten(ctx: MappingContext) -> Emission:
    rank = ctx.require_rank(0)
    axis = int(ctx.attr("axis", 1))
    axis = axis + rank if axis < 0 else axis
    if axis == 1:
        return expression(call("ops.flatten", ctx.ref(0)))
    shape = ctx.shape(0) or ()
    outer, inner = shape[:axis], shape[axis:]
    if all(isinstance(d, int) for d in outer):
        return expression(call("ops.reshape", ctx.ref(0), (math.prod(outer), -1)))  # type: ignore[arg-type]
    if all(isinstance(d, int) for d in inner):
        return expression(call("ops.reshape", ctx.ref(0), (-1, math.prod(inner))))  # type: ignore[arg-type]
    raise Unmappable("Flatten where both sides of `axis` have unknown dimensions")


@register("Reshape", since=5, target="ops.reshape")
def map_reshape(ctx: MappingContext) -> Emission:
    requested = ctx.const(1)
    allow_zero = int(ctx.attr("allowzero", 0))
    if requested is not None:
        dims = [int(v) for v in requested.reshape(-1)]
        in_shape = ctx.shape(0)
        if not allow_zero and 0 in dims:
            # 0 copies the input dimension: a literal when known, else read from x.shape.
            if in_shape is None:
                raise Unmappable("Reshape with 0 (copy) entries on an input of unknown rank")
            items: list[Expr] = []
            for i, d in enumerate(dims):
                copied = in_shape[i] if d == 0 else d
                if isinstance(copied, int):
                    items.append(Const(copied))
                else:
                    items.append(Index(Attribute(ctx.ref(0), "shape"), str(i)))
            return expression(call("ops.reshape", ctx.ref(0), TupleExpr(tuple(items))))
        return expression(call("ops.reshape", ctx.ref(0), tuple(dims)))
    # The shape is computed in the graph (e.g. from Shape of a dynamic batch): use the
    # inferred output shape, keeping its one unknown dimension dynamic.
    out_shape = ctx.shape(0, output=True)
    if out_shape is None:
        raise Unmappable("Reshape to a shape computed at run time whose result shape is unknown")
    return expression(call("ops.reshape", ctx.ref(0), _target_shape(ctx, out_shape)))


@register("Transpose", since=1, target="ops.transpose")
def map_transpose(ctx: MappingContext) -> Emission:
    perm = ctx.ints("perm")
    if perm is None:
        rank = ctx.require_rank(0)
        perm = list(reversed(range(rank)))
    return expression(call("ops.transpose", ctx.ref(0), tuple(perm)))


def _squeeze_axes(ctx: MappingContext) -> list[int] | None:
    return ctx.const_ints(1, "Squeeze axes") if ctx.opset >= 13 else ctx.ints("axes")


@register("Squeeze", since=1, target="ops.squeeze")
def map_squeeze(ctx: MappingContext) -> Emission:
    axes = _squeeze_axes(ctx)
    if not axes:
        return expression(call("ops.squeeze", ctx.ref(0)))
    return expression(call("ops.squeeze", ctx.ref(0), tuple(axes) if len(axes) > 1 else axes[0]))


@register("Unsqueeze", since=1, target="ops.expand_dims")
def map_unsqueeze(ctx: MappingContext) -> Emission:
    axes = ctx.const_ints(1, "Unsqueeze axes") if ctx.opset >= 13 else ctx.ints("axes")
    if not axes:
        raise Unmappable("Unsqueeze without axes")
    rank = ctx.rank(0)
    out_rank = None if rank is None else rank + len(axes)
    if any(a < 0 for a in axes):
        if out_rank is None:
            raise Unmappable("Unsqueeze with negative axes on an input of unknown rank")
        axes = [a + out_rank if a < 0 else a for a in axes]
    expr = ctx.ref(0)
    # Inserting in ascending order makes each axis refer to the final layout, as ONNX does.
    for axis in sorted(axes):
        expr = call("ops.expand_dims", expr, axis)
    return expression(expr)


@register("Expand", since=8, target="ops.broadcast_to")
def map_expand(ctx: MappingContext) -> Emission:
    requested = ctx.const(1)
    in_shape = ctx.shape(0)
    if requested is None:
        out_shape = ctx.shape(0, output=True)
        if out_shape is None or in_shape is None:
            raise Unmappable("Expand to a shape computed at run time whose result is unknown")
        requested_dims: list[Dim] = list(out_shape)
    else:
        requested_dims = [int(v) for v in requested.reshape(-1)]
    if in_shape is None:
        raise Unmappable("Expand of an input of unknown rank")
    rank = max(len(in_shape), len(requested_dims))
    source_dims = [1] * (rank - len(in_shape)) + list(in_shape)
    wanted = [1] * (rank - len(requested_dims)) + requested_dims
    # ONNX broadcasts both ways: where the request is 1 (or unknown) the input size stays (-1).
    target = []
    for have, want in zip(source_dims, wanted, strict=True):
        if isinstance(want, int) and want != 1:
            target.append(want)
        elif have == 1:
            target.append(1)
        else:
            target.append(-1)
    return expression(call("ops.broadcast_to", ctx.ref(0), tuple(target)))
