"""Operators that only rearrange a tensor's shape: Flatten, Reshape, Transpose, Squeeze, ..."""

from __future__ import annotations

import math

import onnx_ir as ir

from mindgen.targets.mindspore.context import Dim, MappingContext
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Ref,
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
    if axis == 1 and rank >= 2:
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
    if requested is not None:
        entries: list[Expr] | None = [Const(int(v)) for v in requested.reshape(-1)]
    else:
        # A shape computed in the graph (Shape -> Gather -> Concat of a dynamic batch):
        # read the same dimensions from `.shape` so that they stay dynamic.
        entries = _shape_entries(ctx.input(1))
    if entries is None:
        # Otherwise the inferred result shape, keeping its one unknown dimension dynamic.
        out_shape = ctx.shape(0, output=True)
        if out_shape is None:
            raise Unmappable("Reshape to a shape computed at run time whose result shape is unknown")
        return expression(call("ops.reshape", ctx.ref(0), _target_shape(ctx, out_shape)))
    if not int(ctx.attr("allowzero", 0)) and Const(0) in entries:
        # 0 copies the input dimension: a literal when known, else read from x.shape.
        in_shape = ctx.shape(0)
        if in_shape is None:
            raise Unmappable("Reshape with 0 (copy) entries on an input of unknown rank")
        entries = [_dim_expr(ctx, i, in_shape[i]) if e == Const(0) else e for i, e in enumerate(entries)]
    return expression(call("ops.reshape", ctx.ref(0), TupleExpr(tuple(entries))))


def _dim_expr(ctx: MappingContext, axis: int, dim: Dim) -> Expr:
    return Const(dim) if isinstance(dim, int) else Index(Attribute(ctx.ref(0), "shape"), str(axis))


def _shape_entries(value: ir.Value | None) -> list[Expr] | None:
    """A 1-D int64 shape tensor as one expression per entry, when it is built from shapes."""
    if value is None:
        return None
    if value.const_value is not None:
        return [Const(int(v)) for v in value.const_value.numpy().reshape(-1)]
    node = value.producer()
    if node is None or node.domain not in ("", "ai.onnx"):
        return None
    if node.op_type == "Shape" and node.inputs[0] is not None and node.inputs[0].shape is not None:
        source = node.inputs[0]
        rank = len(source.shape)
        start = _attr_int(node, "start", 0)
        end = _attr_int(node, "end", rank)
        return [_source_dim(source, i) for i in range(rank)[start:end]]
    if node.op_type == "Concat" and _attr_int(node, "axis", 0) in (0, -1):
        parts = [_shape_entries(v) for v in node.inputs]
        return None if any(p is None for p in parts) else [e for p in parts for e in p]  # type: ignore[union-attr]
    if node.op_type in ("Unsqueeze", "Squeeze", "Identity") and _is_rank_at_most_1(node):
        return _shape_entries(node.inputs[0])
    if node.op_type == "Gather" and node.inputs[1] is not None and node.inputs[1].const_value is not None:
        entries = _shape_entries(node.inputs[0])
        indices = node.inputs[1].const_value.numpy().reshape(-1)
        if (
            entries is None
            or indices.size == 0
            or not all(-len(entries) <= i < len(entries) for i in indices)
        ):
            return None
        return [entries[int(i)] for i in indices]
    return None


def _source_dim(source: ir.Value, axis: int) -> Expr:
    dim = source.shape[axis]
    return Const(dim) if isinstance(dim, int) else Index(Attribute(Ref(source), "shape"), str(axis))


def _attr_int(node: ir.Node, name: str, default: int) -> int:
    found = node.attributes.get(name)
    return default if found is None else found.as_int()


def _is_rank_at_most_1(node: ir.Node) -> bool:
    """Squeeze/Unsqueeze between a scalar and a 1-element vector only renames the entry."""
    return all(
        v is not None and v.shape is not None and len(v.shape) <= 1 for v in (node.inputs[0], node.outputs[0])
    )


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
