"""Reductions over axes (ReduceMean, ReduceSum, ReduceMax, ...)."""

from __future__ import annotations

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Emission, Expr, call, expression
from mindgen.targets.mindspore.registry import register

# ONNX reduction -> (MindSpore function, name of its keep-dims keyword).
REDUCTIONS = {
    "ReduceMean": ("ops.mean", "keep_dims"),
    "ReduceSum": ("ops.sum", "keepdim"),
    "ReduceMax": ("ops.amax", "keepdims"),
    "ReduceMin": ("ops.amin", "keepdims"),
    "ReduceProd": ("ops.prod", "keep_dims"),
}

# Opset in which each reduction's `axes` moved from attribute to input.
_AXES_AS_INPUT = {"ReduceSum": 13}


def _axes(ctx: MappingContext, axes_as_input: bool) -> tuple[int, ...] | None:
    if axes_as_input:
        axes = ctx.const_ints(1, "reduction axes")
    else:
        axes = ctx.ints("axes")
    return None if not axes else tuple(axes)


def _reduction(func: str, keep_keyword: str, axes_as_input: bool):
    def map_reduction(ctx: MappingContext) -> Emission:
        axes = _axes(ctx, axes_as_input)
        keep = bool(ctx.attr("keepdims", 1))
        if axes is None and int(ctx.attr("noop_with_empty_axes", 0)):
            return expression(ctx.ref(0))
        source: Expr = ctx.ref(0)
        if axes is None:
            rank = ctx.require_rank(0)
            axes = tuple(range(rank))
        return expression(call(func, source, axes, **{keep_keyword: keep}))

    map_reduction.__name__ = f"map_{func.rsplit('.', 1)[-1]}"
    return map_reduction


for _op, (_func, _keep) in REDUCTIONS.items():
    _since = _AXES_AS_INPUT.get(_op, 18)
    register(_op, since=1, target=_func)(_reduction(_func, _keep, axes_as_input=False))
    register(_op, since=_since, target=_func)(_reduction(_func, _keep, axes_as_input=True))


