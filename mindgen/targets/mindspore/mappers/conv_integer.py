"""ConvInteger as a float32 convolution of zero-point-shifted integers, exact while sums stay below 2**24."""

from __future__ import annotations

import math

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Const, Emission, Expr, Infix, Raw, Unmappable, call, expression
from mindgen.targets.mindspore.mappers.conv_functional import conv_expression, explicit_pads
from mindgen.targets.mindspore.registry import register

# float32 holds every integer up to 2**24 exactly; shifted 8-bit values lie in [-255, 255].
_EXACT = 2**24
_SHIFTED = 255
_DIGIT = 16  # the weight is split into base-16 digits when one product sum could overflow


def _shifted(ctx: MappingContext, index: int, zero_point: int, per_channel_rank: int) -> Expr:
    """An 8-bit input as float32, minus its zero point (per output channel for the weight)."""
    value: Expr = call("ops.cast", ctx.ref(index), Raw("ms.float32"))
    if not ctx.has_input(zero_point):
        return value
    point: Expr = call("ops.cast", ctx.ref(zero_point), Raw("ms.float32"))
    if per_channel_rank:
        point = call("ops.reshape", point, (-1,) + (1,) * (per_channel_rank - 1))
    return Infix("-", value, point)


@register("ConvInteger", since=10, target="ops.conv1d / 2d / 3d on float32, cast to int32")
def map_conv_integer(ctx: MappingContext) -> Emission:
    """ConvInteger: (x - x_zero_point) conv (w - w_zero_point) in float32, whose sums are exact integers."""
    shape = ctx.shape(1)
    if shape is None or not all(isinstance(d, int) for d in shape):
        raise Unmappable("the ConvInteger weight shape is unknown at conversion time")
    spatial = len(shape) - 2
    if spatial not in (1, 2, 3):
        raise Unmappable(f"{spatial}-D ConvInteger has no MindSpore convolution")
    kernel = ctx.ints("kernel_shape") or list(shape[2:])
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    group = int(ctx.attr("group", 1))
    pad_mode, begins, ends = explicit_pads(ctx, spatial, kernel, strides, dilations)
    terms = int(shape[1]) * math.prod(kernel)
    x = _shifted(ctx, 0, 2, 0)
    w = _shifted(ctx, 1, 3, len(shape))

    def conv(weight: Expr) -> Expr:
        result = conv_expression(x, weight, None, strides, dilations, group, pad_mode, begins, ends)
        return call("ops.cast", result, Raw("ms.int32"))

    if terms * _SHIFTED * _SHIFTED < _EXACT:
        return expression(conv(w))
    if terms * _SHIFTED * _DIGIT >= _EXACT:
        raise Unmappable(f"ConvInteger summing {terms} products per output: float32 sums could round")
    # Two convolutions over the weight's base-16 digits keep every partial sum exact.
    digit = Const(_DIGIT)
    high = call("ops.floor", Infix("/", w, digit))
    low = Infix("-", w, Infix("*", high, digit))
    return expression(Infix("+", Infix("*", conv(high), digit), conv(low)))
