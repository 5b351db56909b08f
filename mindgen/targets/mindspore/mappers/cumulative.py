"""Running sums and products along an axis: CumSum, CumProd."""

from __future__ import annotations

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Const, Emission, Expr, Unmappable, call, expression
from mindgen.targets.mindspore.registry import register


def _cumulative(ctx: MappingContext, function: str, primitive: str) -> Emission:
    if ctx.dtype(0) == ir.DataType.BFLOAT16:
        # Accumulating in float32 and rounding back would differ from a bfloat16 running total.
        raise Unmappable(f"{primitive} on bfloat16: MindSpore has no bfloat16 {primitive} kernel on CPU")
    axis = ctx.const(1)
    # The primitives take the axis as a 0-d tensor, so a run-time axis works too.
    axis_expr: Expr = ctx.ref(1) if axis is None else Const(int(axis.reshape(-1)[0]))
    exclusive, reverse = bool(ctx.attr("exclusive", 0)), bool(ctx.attr("reverse", 0))
    if not exclusive and not reverse:
        return expression(call(function, ctx.ref(0), axis_expr))
    return expression(
        call(f"ops.{primitive}(exclusive={exclusive}, reverse={reverse})", ctx.ref(0), axis_expr)
    )


@register("CumSum", since=11, target="ops.cumsum / ops.CumSum(exclusive, reverse)")
def map_cumsum(ctx: MappingContext) -> Emission:
    return _cumulative(ctx, "ops.cumsum", "CumSum")


@register("CumProd", since=26, target="ops.cumprod / ops.CumProd(exclusive, reverse)")
def map_cumprod(ctx: MappingContext) -> Emission:
    return _cumulative(ctx, "ops.cumprod", "CumProd")
