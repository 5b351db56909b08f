"""Reductions over axes (ReduceMean, ReduceSum, ReduceMax, ...)."""

from __future__ import annotations

from collections.abc import Callable

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import Emission, Expr, Infix, Raw, call, expression
from mindgen.targets.mindspore.registry import register

# ONNX reduction -> (MindSpore function, name of its keep-dims keyword).
REDUCTIONS = {
    "ReduceMean": ("ops.mean", "keep_dims"),
    "ReduceSum": ("ops.sum", "keepdim"),
    "ReduceMax": ("ops.amax", "keepdims"),
    "ReduceMin": ("ops.amin", "keepdims"),
    "ReduceProd": ("ops.prod", "keep_dims"),
    "ReduceLogSumExp": ("ops.logsumexp", "keepdim"),
}

# Reductions written as a sum: ONNX op -> (what is summed, what is applied to the sum).
SUM_BASED: dict[str, tuple[Callable[[Expr], Expr], Callable[[Expr], Expr]]] = {
    "ReduceSumSquare": (lambda x: Infix("*", x, x), lambda s: s),
    "ReduceL1": (lambda x: call("ops.abs", x), lambda s: s),
    "ReduceL2": (lambda x: Infix("*", x, x), lambda s: call("ops.sqrt", s)),
    "ReduceLogSum": (lambda x: x, lambda s: call("ops.log", s)),
}

# Opset in which each reduction's `axes` moved from attribute to input (18 for the rest).
_AXES_AS_INPUT = {"ReduceSum": 13}

# ops.sum returns int64 for these (ONNX keeps the input type), so the type is passed.
_WIDENED_BY_SUM = {ir.DataType.INT8, ir.DataType.INT16, ir.DataType.INT32, ir.DataType.UINT8}


def _axes(ctx: MappingContext, axes_as_input: bool) -> tuple[int, ...] | None:
    if axes_as_input:
        axes = ctx.const_ints(1, "reduction axes")
    else:
        axes = ctx.ints("axes")
    return None if not axes else tuple(axes)


def _reduction(op: str, axes_as_input: bool):
    func, keep_keyword = REDUCTIONS.get(op, ("ops.sum", "keepdim"))
    summand, finish = SUM_BASED.get(op, (lambda x: x, lambda s: s))

    def map_reduction(ctx: MappingContext) -> Emission:
        axes = _axes(ctx, axes_as_input)
        if axes is None and axes_as_input and int(ctx.attr("noop_with_empty_axes", 0)):
            return expression(ctx.ref(0))
        if axes is None:
            axes = tuple(range(ctx.require_rank(0)))
        kwargs: dict[str, object] = {keep_keyword: bool(ctx.attr("keepdims", 1))}
        if func == "ops.sum" and ctx.dtype(0) in _WIDENED_BY_SUM:
            kwargs["dtype"] = Raw(ms_dtype(ctx.dtype(0)))
        return expression(finish(call(func, summand(ctx.ref(0)), axes, **kwargs)))

    map_reduction.__name__ = f"map_{op[len('Reduce') :].lower()}"
    return map_reduction


for _op in [*REDUCTIONS, *SUM_BASED]:
    _target = REDUCTIONS[_op][0] if _op in REDUCTIONS else "ops.sum"
    register(_op, since=1, target=_target)(_reduction(_op, axes_as_input=False))
    register(_op, since=_AXES_AS_INPUT.get(_op, 18), target=_target)(_reduction(_op, axes_as_input=True))
