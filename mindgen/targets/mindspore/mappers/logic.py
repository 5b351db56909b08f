"""Comparison, logical, bitwise and variadic elementwise operators."""

from __future__ import annotations

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Const, Emission, Expr, Infix, Unmappable, call, expression
from mindgen.targets.mindspore.registry import register

# ONNX binary op -> MindSpore function with the same broadcasting semantics.
BINARY_FUNCTIONS = {
    "Equal": "ops.equal",
    "Less": "ops.less",
    "LessOrEqual": "ops.less_equal",
    "Greater": "ops.greater",
    "GreaterOrEqual": "ops.greater_equal",
    "And": "ops.logical_and",
    "Or": "ops.logical_or",
    "Xor": "ops.logical_xor",
    "BitwiseAnd": "ops.bitwise_and",
    "BitwiseOr": "ops.bitwise_or",
    "BitwiseXor": "ops.bitwise_xor",
}

UNARY_FUNCTIONS = {"Not": "ops.logical_not", "BitwiseNot": "ops.invert", "IsNaN": "ops.isnan"}


def _binary(func: str):
    def map_binary(ctx: MappingContext) -> Emission:
        return expression(call(func, ctx.ref(0), ctx.ref(1)))

    map_binary.__name__ = f"map_{func.rsplit('.', 1)[-1]}"
    return map_binary


def _unary(func: str):
    def map_unary(ctx: MappingContext) -> Emission:
        return expression(call(func, ctx.ref(0)))

    map_unary.__name__ = f"map_{func.rsplit('.', 1)[-1]}"
    return map_unary


for _op, _func in BINARY_FUNCTIONS.items():
    register(_op, since=1, target=_func)(_binary(_func))
for _op, _func in UNARY_FUNCTIONS.items():
    register(_op, since=1, target=_func)(_unary(_func))


@register("Where", since=9, target="ops.where")
def map_where(ctx: MappingContext) -> Emission:
    return expression(call("ops.where", ctx.ref(0), ctx.ref(1), ctx.ref(2)))


@register("IsInf", since=10, target="ops.isinf, restricted by sign when asked")
def map_is_inf(ctx: MappingContext) -> Emission:
    negative, positive = int(ctx.attr("detect_negative", 1)), int(ctx.attr("detect_positive", 1))
    infinite = call("ops.isinf", ctx.ref(0))
    if negative and positive:
        return expression(infinite)
    if not negative and not positive:
        return expression(call("ops.zeros_like", infinite))
    sign = call("ops.greater" if positive else "ops.less", ctx.ref(0), 0)
    return expression(call("ops.logical_and", infinite, sign))


def _fold(ctx: MappingContext, func: str) -> Expr:
    """Applies a binary function across all inputs, left to right."""
    expr: Expr = ctx.ref(0)
    for index in range(1, len(ctx.node.inputs)):
        expr = call(func, expr, ctx.ref(index))
    return expr


@register("Max", since=8, target="ops.maximum, chained")
def map_max(ctx: MappingContext) -> Emission:
    return expression(_fold(ctx, "ops.maximum"))


@register("Min", since=8, target="ops.minimum, chained")
def map_min(ctx: MappingContext) -> Emission:
    return expression(_fold(ctx, "ops.minimum"))


@register("Sum", since=8, target="a + b + ...")
def map_sum(ctx: MappingContext) -> Emission:
    expr: Expr = ctx.ref(0)
    for index in range(1, len(ctx.node.inputs)):
        expr = Infix("+", expr, ctx.ref(index))
    return expression(expr)


@register("Mean", since=8, target="(a + b + ...) / n")
def map_mean(ctx: MappingContext) -> Emission:
    count = len(ctx.node.inputs)
    total: Expr = ctx.ref(0)
    for index in range(1, count):
        total = Infix("+", total, ctx.ref(index))
    return expression(Infix("/", total, Const(float(count))) if count > 1 else total)


@register("Mod", since=10, target="ops.floor_mod (fmod=0) / ops.fmod (fmod=1)")
def map_mod(ctx: MappingContext) -> Emission:
    # floor_mod takes the divisor's sign (ONNX fmod=0); fmod the dividend's (fmod=1).
    func = "ops.fmod" if int(ctx.attr("fmod", 0)) else "ops.floor_mod"
    return expression(call(func, ctx.ref(0), ctx.ref(1)))


@register("BitShift", since=11, target="ops.bitwise_left_shift / ops.bitwise_right_shift")
def map_bit_shift(ctx: MappingContext) -> Emission:
    direction = str(ctx.attr("direction", ""))
    if direction not in ("LEFT", "RIGHT"):
        raise Unmappable(f"BitShift direction {direction!r}")
    func = "ops.bitwise_left_shift" if direction == "LEFT" else "ops.bitwise_right_shift"
    return expression(call(func, ctx.ref(0), ctx.ref(1)))
