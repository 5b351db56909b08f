"""Joining, splitting, indexing and converting tensors: Concat, Split, Slice, Gather, Pad, Cast."""

from __future__ import annotations

import numpy as np

from mindgen.targets.mindspore.context import MappingContext, ms_dtype, scalar_literal
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Expr,
    Index,
    Raw,
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register

_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


@register("Identity", since=1, target="the input itself")
def map_identity(ctx: MappingContext) -> Emission:
    return expression(ctx.ref(0))


@register("Concat", since=4, target="ops.concat")
def map_concat(ctx: MappingContext) -> Emission:
    parts = TupleExpr(tuple(ctx.ref(i) for i in range(len(ctx.node.inputs))))
    return expression(call("ops.concat", parts, int(ctx.attr("axis"))))


@register("Split", since=2, target="ops.split")
def map_split(ctx: MappingContext) -> Emission:
    outputs = len(ctx.node.outputs)
    if outputs == 1:
        return expression(ctx.ref(0))
    axis = int(ctx.attr("axis", 0))
    if ctx.opset >= 13:
        sizes = ctx.const_ints(1, "split sizes")
    else:
        sizes = ctx.ints("split")
    if sizes is None:
        shape = ctx.shape(0)
        size = shape[axis] if shape is not None else None
        if not isinstance(size, int):
            if ctx.attr("num_outputs") is None:
                return expression(call("ops.chunk", ctx.ref(0), outputs, axis), results=outputs)
            raise Unmappable("Split into num_outputs pieces along a dimension unknown at conversion time")
        # Equal pieces, the last one smaller when the size does not divide (opset 18 rule).
        step = -(-size // outputs)
        sizes = [min(step, size - i * step) for i in range(outputs)]
        if sizes[-1] <= 0:
            raise Unmappable(f"Split of {size} elements into {outputs} pieces leaves an empty piece")
    return expression(call("ops.split", ctx.ref(0), tuple(sizes), axis), results=outputs)


def _slice_key(starts: list[int], ends: list[int], axes: list[int], steps: list[int]) -> str:
    """A Python subscript ('1:3, :, ::2') for ONNX Slice parameters on non-negative axes."""
    parts = [":"] * (max(axes) + 1)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        lo = "" if (start == 0 and step > 0) or (start >= _INT64_MAX // 2 and step < 0) else str(start)
        unbounded = end >= _INT64_MAX // 2 if step > 0 else end <= _INT64_MIN // 2
        hi = "" if unbounded else str(end)
        part = f"{lo}:{hi}"
        if step != 1:
            part += f":{step}"
        parts[axis] = part
    return ", ".join(parts)


@register("Slice", since=10, target="Python slicing x[a:b:c]")
def map_slice(ctx: MappingContext) -> Emission:
    starts = ctx.const_ints(1, "Slice starts")
    ends = ctx.const_ints(2, "Slice ends")
    axes = ctx.const_ints(3, "Slice axes") or list(range(len(starts or [])))
    steps = ctx.const_ints(4, "Slice steps") or [1] * len(axes)
    return _slice(ctx, starts or [], ends or [], axes, steps)


@register("Slice", since=1, target="Python slicing x[a:b]")
def map_slice_attributes(ctx: MappingContext) -> Emission:
    starts, ends = ctx.ints("starts", []), ctx.ints("ends", [])
    axes = ctx.ints("axes") or list(range(len(starts)))
    return _slice(ctx, starts, ends, axes, [1] * len(axes))


def _slice(
    ctx: MappingContext, starts: list[int], ends: list[int], axes: list[int], steps: list[int]
) -> Emission:
    if not axes:
        return expression(ctx.ref(0))
    if any(a < 0 for a in axes):
        rank = ctx.require_rank(0)
        axes = [a + rank if a < 0 else a for a in axes]
    if 0 in steps:
        raise Unmappable("Slice with a zero step")
    shape = ctx.shape(0)
    starts = list(starts)
    for i, (start, axis, step) in enumerate(zip(starts, axes, steps, strict=True)):
        # Stepping backwards from before the first element: ONNX clamps to element 0,
        # Python slicing yields nothing.
        if step < 0 and start < -1:
            dim = shape[axis] if shape is not None and axis < len(shape) else None
            if not isinstance(dim, int):
                raise Unmappable(
                    "Slice stepping backwards from a negative start on a dimension unknown at conversion time"
                )
            starts[i] = max(start, -dim)
    return expression(Index(ctx.ref(0), _slice_key(starts, ends, axes, steps)))


@register("Gather", since=1, target="x[..., i] for a constant scalar index, else ops.gather")
def map_gather(ctx: MappingContext) -> Emission:
    axis = int(ctx.attr("axis", 0))
    indices = ctx.const(1)
    if indices is not None and indices.ndim == 0:
        if axis < 0:
            axis += ctx.require_rank(0)
        key = ", ".join([":"] * axis + [str(int(indices))])
        return expression(Index(ctx.ref(0), key))
    return expression(call("ops.gather", ctx.ref(0), ctx.ref(1), axis))


# ONNX Pad modes -> ops.pad modes.
PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


@register("Pad", since=11, target="ops.pad")
def map_pad(ctx: MappingContext) -> Emission:
    if (ctx.has_input(1) and ctx.const(1) is None) or (ctx.has_input(2) and ctx.const(2) is None):
        return _pad_at_run_time(ctx)
    pads = ctx.const_ints(1, "pads")
    value = ctx.const(2)
    axes = ctx.const_ints(3, "Pad axes")
    return _pad(ctx, pads or [], None if value is None else value.item(), axes)


@register("Pad", since=2, target="ops.pad")
def map_pad_attributes(ctx: MappingContext) -> Emission:
    return _pad(ctx, ctx.ints("pads", []), ctx.attr("value", 0.0), None)


def _pad(ctx: MappingContext, pads: list[int], value: object, axes: list[int] | None) -> Emission:
    mode = str(ctx.attr("mode", "constant"))
    if mode not in PAD_MODES:
        raise Unmappable(f"Pad mode {mode!r}")
    rank = ctx.require_rank(0)
    count = len(pads) // 2
    axes = [a + rank if a < 0 else a for a in (axes or list(range(count)))]
    begins, ends = [0] * rank, [0] * rank
    for i, axis in enumerate(axes):
        begins[axis], ends[axis] = pads[i], pads[count + i]
    first = next((a for a in range(rank) if begins[a] or ends[a]), rank)
    if first == rank:
        return expression(ctx.ref(0))
    if mode == "constant":
        kwargs = {} if value in (None, 0, 0.0) else {"value": _pad_value(value)}
        return expression(call("ops.pad", ctx.ref(0), _torch_order(begins, ends, first), **kwargs))
    return _pad_borders(ctx, PAD_MODES[mode], begins, ends, rank - first)


def _pad_at_run_time(ctx: MappingContext) -> Emission:
    """Pads or the fill value computed in the graph: ops.PadV3 takes both as tensors (and crops
    with negative pads), after the ONNX [begins..., ends...] order is turned into torch order."""
    if str(ctx.attr("mode", "constant")) != "constant" or ctx.has_input(3):
        raise Unmappable("run-time pads are mapped for constant mode over all axes only")
    rank = ctx.require_rank(0)
    pads = ctx.const(1)
    if pads is None:
        onnx_pads = ctx.ref(1)
        pairs = call("ops.stack", TupleExpr((Index(onnx_pads, f":{rank}"), Index(onnx_pads, f"{rank}:"))), -1)
        order: Expr = call("ops.reshape", call("ops.flip", pairs, (0,)), (-1,))
    else:
        flat = [int(v) for v in pads.reshape(-1)]
        order = Const(_torch_order(flat[:rank], flat[rank:], 0))
    args = (ctx.ref(0), order, ctx.ref(2)) if ctx.has_input(2) else (ctx.ref(0), order)
    return expression(call("ops.PadV3()", *args))


def _torch_order(begins: list[int], ends: list[int], first: int) -> tuple[int, ...]:
    """ops.pad wants (begin, end) pairs from the last axis backwards, like torch."""
    return tuple(p for a in reversed(range(first, len(begins))) for p in (begins[a], ends[a]))


def _pad_value(value: object) -> int | float | bool:
    return scalar_literal(np.float32(value) if isinstance(value, float) else value)


def _pad_borders(ctx: MappingContext, mode: str, begins: list[int], ends: list[int], padded: int) -> Emission:
    """reflect/replicate/circular: MindSpore pads the last n axes of a rank n+1 or n+2 input only."""
    rank = len(begins)
    # n = 1 or 2 for reflect, up to 3 for the others (measured on MindSpore 2.10 CPU).
    most = 2 if mode == "reflect" else 3
    # Unpadded axes may join the padded ones (with zero pads) to reach an accepted length.
    n = max(padded, rank - 2, 1)
    if n > most:
        raise Unmappable(
            f"Pad mode {mode!r} over the last {n} axes of a rank-{rank} input (MindSpore pads at most {most})"
        )
    order = _torch_order(begins, ends, rank - n)
    if n <= rank - 1:
        return expression(call("ops.pad", ctx.ref(0), order, mode=mode))
    # Every axis is padded (or the input is 1-D): pad a view with a leading axis of 1.
    return expression(Index(call("ops.pad", call("ops.expand_dims", ctx.ref(0), 0), order, mode=mode), "0"))


@register("Cast", since=6, target="ops.cast")
def map_cast(ctx: MappingContext) -> Emission:
    source = ctx.dtype(0)
    if source is not None:
        ms_dtype(source)  # Unmappable for types MindSpore lacks (float8, int4): they cannot even be fed
    return expression(call("ops.cast", ctx.ref(0), Raw(ms_dtype(int(ctx.attr("to"))))))


@register("Shape", since=1, target="ops.TensorShape (dynamic shapes only; static ones are folded)")
def map_shape(ctx: MappingContext) -> Emission:
    start, end = int(ctx.attr("start", 0)), ctx.attr("end")
    shape = call("ops.TensorShape()", ctx.ref(0))
    if start == 0 and end is None:
        return expression(shape)
    return expression(Index(shape, f"{start or ''}:{'' if end is None else int(end)}"))
