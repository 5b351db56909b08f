"""Index-driven data movement: Gather/Scatter by element or N-D index, NonZero, Compress, ReverseSequence."""

from __future__ import annotations

from collections.abc import Callable

import onnx_ir as ir

from mindgen.targets.mindspore.context import Dim, MappingContext
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Expr,
    Infix,
    Raw,
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register


def _on_float32(ctx: MappingContext, build: Callable[[Expr], Expr]) -> Expr:
    """Data movement on bfloat16 runs on float32 (no CPU kernels); both casts are exact."""
    if ctx.dtype(0) != ir.DataType.BFLOAT16:
        return build(ctx.ref(0))
    widened = call("ops.cast", ctx.ref(0), Raw("ms.float32"))
    return call("ops.cast", build(widened), Raw("ms.bfloat16"))


def _static(dims: tuple[Dim, ...] | None, what: str) -> tuple[int, ...]:
    if dims is None or not all(isinstance(d, int) for d in dims):
        raise Unmappable(f"{what} must be known at conversion time")
    return tuple(int(d) for d in dims)  # type: ignore[arg-type]


def _from_end(ctx: MappingContext, index: int, sizes: Callable[[], Expr]) -> Expr:
    """Indices that may count from the end made non-negative; the ND kernels reject -1."""
    indices = ctx.const(index)
    if indices is not None and (indices >= 0).all():
        return ctx.ref(index)
    ref = ctx.ref(index)
    return call("ops.where", Infix("<", ref, Const(0)), Infix("+", ref, sizes()), ref)


def _coordinate(size: int, axis: int, shape: tuple[int, ...]) -> Expr:
    """The position along one axis for every element of a tensor of the given shape."""
    along = tuple(size if d == axis else 1 for d in range(len(shape)))
    positions = call("ops.reshape", call("ops.arange", size), along)
    return positions if along == shape else call("ops.broadcast_to", positions, shape)


@register("GatherElements", since=11, target="ops.gather_elements")
def map_gather_elements(ctx: MappingContext) -> Emission:
    # ops.gather_elements accepts negative indices.
    axis = int(ctx.attr("axis", 0))
    return expression(_on_float32(ctx, lambda x: call("ops.gather_elements", x, axis, ctx.ref(1))))


@register("GatherND", since=11, target="ops.gather_nd, batch positions prepended to the indices")
def map_gather_nd(ctx: MappingContext) -> Emission:
    batch_dims = int(ctx.attr("batch_dims", 0))
    index_shape = ctx.shape(1)
    if index_shape is None or not isinstance(index_shape[-1], int):
        raise Unmappable("GatherND needs the last dimension of the indices known at conversion time")
    depth = int(index_shape[-1])
    data_shape = ctx.shape(0) or ()
    sizes = data_shape[batch_dims : batch_dims + depth]
    indices = _from_end(ctx, 1, lambda: call("ms.Tensor", _static(sizes, "the indexed data dimensions")))
    if batch_dims:
        shape = _static(index_shape, "GatherND with batch_dims: the indices shape")
        batch = _static(data_shape[:batch_dims], "GatherND with batch_dims: the batch dimensions")
        grid = (*shape[:-1], 1)
        indices = call(
            "ops.concat", TupleExpr((*(_coordinate(b, i, grid) for i, b in enumerate(batch)), indices)), -1
        )
    return expression(_on_float32(ctx, lambda x: call("ops.gather_nd", x, indices)))


# ONNX scatter reductions -> MindSpore scatters by N-D index (ops.tensor_scatter_elements has none/add only).
_ND_SCATTERS = {
    "none": "ops.tensor_scatter_update",
    "add": "ops.tensor_scatter_add",
    "mul": "ops.tensor_scatter_mul",
    "max": "ops.tensor_scatter_max",
    "min": "ops.tensor_scatter_min",
}


@register(
    "ScatterElements", since=11, target="ops.tensor_scatter_elements / ops.tensor_scatter_{mul,max,min}"
)
def map_scatter_elements(ctx: MappingContext) -> Emission:
    reduction = str(ctx.attr("reduction", "none"))
    if reduction not in _ND_SCATTERS:
        raise Unmappable(f"ScatterElements reduction {reduction!r}")
    rank = ctx.require_rank(0)
    axis = int(ctx.attr("axis", 0))
    axis = axis + rank if axis < 0 else axis
    x, updates = ctx.ref(0), ctx.ref(2)
    if reduction in ("none", "add"):
        kwargs = {"reduction": reduction} if reduction == "add" else {}
        return expression(call("ops.tensor_scatter_elements", x, ctx.ref(1), updates, axis, **kwargs))
    # The other reductions exist only as ND scatters: spell out every element's full position.
    shape = _static(ctx.shape(1), f"ScatterElements reduction {reduction!r}: the indices shape")
    size = _static((ctx.shape(0) or (None,) * rank)[axis : axis + 1], "the scattered axis size")[0]
    along = _from_end(ctx, 1, lambda: Const(size))
    if ctx.dtype(1) != ir.DataType.INT64:
        along = call("ops.cast", along, Raw("ms.int64"))
    positions = tuple(along if d == axis else _coordinate(shape[d], d, shape) for d in range(rank))
    return expression(call(_ND_SCATTERS[reduction], x, call("ops.stack", TupleExpr(positions), -1), updates))


@register("Scatter", since=9, target="ops.tensor_scatter_elements")
def map_scatter(ctx: MappingContext) -> Emission:
    return map_scatter_elements(ctx)


@register("ScatterND", since=11, target="ops.tensor_scatter_{update,add,mul,max,min}")
def map_scatter_nd(ctx: MappingContext) -> Emission:
    reduction = str(ctx.attr("reduction", "none"))
    if reduction not in _ND_SCATTERS:
        raise Unmappable(f"ScatterND reduction {reduction!r}")
    index_shape = ctx.shape(1)
    if index_shape is None or not isinstance(index_shape[-1], int):
        raise Unmappable("ScatterND needs the last dimension of the indices known at conversion time")
    sizes = (ctx.shape(0) or ())[: int(index_shape[-1])]
    indices = _from_end(ctx, 1, lambda: call("ms.Tensor", _static(sizes, "the indexed data dimensions")))
    return expression(call(_ND_SCATTERS[reduction], ctx.ref(0), indices, ctx.ref(2)))


@register("NonZero", since=9, target="ops.nonzero, transposed")
def map_nonzero(ctx: MappingContext) -> Emission:
    if ctx.rank(0) == 0:
        raise Unmappable("NonZero of a scalar (ops.nonzero needs rank >= 1)")
    return expression(call("ops.transpose", call("ops.nonzero", ctx.ref(0)), (1, 0)))


@register("Compress", since=9, target="ops.gather at the positions of ops.nonzero(condition)")
def map_compress(ctx: MappingContext) -> Emission:
    kept = call("ops.reshape", call("ops.nonzero", ctx.ref(1)), (-1,))
    axis = ctx.attr("axis")
    if axis is None:
        return expression(
            _on_float32(ctx, lambda x: call("ops.gather", call("ops.reshape", x, (-1,)), kept, 0))
        )
    return expression(_on_float32(ctx, lambda x: call("ops.gather", x, kept, int(axis))))


@register("ReverseSequence", since=10, target="ops.reverse_sequence")
def map_reverse_sequence(ctx: MappingContext) -> Emission:
    time_axis, batch_axis = int(ctx.attr("time_axis", 0)), int(ctx.attr("batch_axis", 1))
    return expression(
        _on_float32(ctx, lambda x: call("ops.reverse_sequence", x, ctx.ref(1), time_axis, batch_axis))
    )
