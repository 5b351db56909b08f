"""Linear quantization: Quantize/DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, QLinearMatMul/Conv."""

from __future__ import annotations

import math

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    Prefix,
    Raw,
    Temp,
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.mappers.conv_functional import conv_expression, explicit_pads
from mindgen.targets.mindspore.registry import register

F32, F64, I32 = Raw("ms.float32"), Raw("ms.float64"), Raw("ms.int32")
# The integer types MindSpore has among ONNX's quantized types, with their ranges.
INTEGER_RANGES = {
    ir.DataType.UINT8: (0, 255),
    ir.DataType.INT8: (-128, 127),
    ir.DataType.UINT16: (0, 65535),
    ir.DataType.INT16: (-32768, 32767),
}


def quantized_type(dtype: ir.DataType | int) -> tuple[int, int]:
    """The range of a quantized integer type; float8, float4, int4 and int2 have no MindSpore dtype."""
    dtype = ir.DataType(dtype)
    if dtype not in INTEGER_RANGES:
        raise Unmappable(f"quantized type {dtype.name}: MindSpore has no such dtype")
    return INTEGER_RANGES[dtype]


def cast(expr: Expr, dtype: Raw) -> Expr:
    return call("ops.cast", expr, dtype)


def broadcast(ctx: MappingContext, index: int, axis_attr: int = 1) -> Expr:
    """A scale or zero point shaped to broadcast against input 0: per tensor, per axis or per block."""
    shape, rank = ctx.shape(index), ctx.require_rank(0)
    if shape is None:
        raise Unmappable("the scale / zero point shape is unknown at conversion time")
    value: Expr = ctx.ref(index)
    axis = int(ctx.attr("axis", axis_attr)) % max(rank, 1)
    block = int(ctx.attr("block_size", 0))
    if block:
        value = call("ops.repeat_interleave", value, block, axis)
        size = ctx.shape(0)[axis]  # type: ignore[index]
        if not isinstance(size, int):
            raise Unmappable("blocked quantization needs the blocked axis size at conversion time")
        if size % block:
            value = Index(value, ":, " * axis + f":{size}")
        return value
    if len(shape) == 0 or shape == (1,) or axis == rank - 1:
        return value
    return call("ops.reshape", value, (-1,) + (1,) * (rank - 1 - axis))


def saturate(value: Expr, dtype: ir.DataType) -> Expr:
    """Rounded values clamped to the type's range (ONNX saturates) and cast to it."""
    low, high = quantized_type(dtype)
    return cast(call("ops.clamp", value, low, high), Raw(ms_dtype(dtype)))


@register("QuantizeLinear", since=10, target="ops.round(x / scale) + zero_point, clamped and cast")
def map_quantize_linear(ctx: MappingContext) -> Emission:
    out_type = ctx.dtype(2) if ctx.has_input(2) else int(ctx.attr("output_dtype", 0)) or ir.DataType.UINT8
    quantized_type(out_type)
    if not int(ctx.attr("saturate", 1)):
        raise Unmappable("QuantizeLinear saturate=0 applies to float8 outputs, which MindSpore lacks")
    x, scale = ctx.ref(0), broadcast(ctx, 1)
    precision = ctx.attr("precision")
    if precision:
        x, scale = cast(x, Raw(ms_dtype(int(precision)))), cast(scale, Raw(ms_dtype(int(precision))))
    elif ctx.dtype(0) == ir.DataType.BFLOAT16:
        # bfloat16 divides badly on CPU: divide in float32 and round to bfloat16 as ONNX does.
        x, scale = cast(x, F32), cast(scale, F32)
        rounded = cast(cast(Infix("/", x, scale), Raw("ms.bfloat16")), F32)
        return expression(saturate(_plus_zero_point(ctx, call("ops.round", rounded)), out_type))
    # Rounded in the input type, then widened so adding the zero point stays exact.
    rounded = cast(call("ops.round", Infix("/", x, scale)), F32)
    return expression(saturate(_plus_zero_point(ctx, rounded), out_type))


def _plus_zero_point(ctx: MappingContext, value: Expr) -> Expr:
    return Infix("+", value, cast(broadcast(ctx, 2), F32)) if ctx.has_input(2) else value


@register("DequantizeLinear", since=10, target="(x - zero_point) * scale")
def map_dequantize_linear(ctx: MappingContext) -> Emission:
    if ctx.dtype(0) != ir.DataType.INT32:  # int32 holds dequantized biases
        quantized_type(ctx.dtype(0))
    out_type = int(ctx.attr("output_dtype", 0)) or ctx.dtype(1)
    shifted: Expr = cast(ctx.ref(0), F32)
    if ctx.has_input(2):
        shifted = Infix("-", shifted, cast(broadcast(ctx, 2), F32))
    scale = broadcast(ctx, 1)
    scale = scale if ctx.dtype(1) == ir.DataType.FLOAT else cast(scale, F32)
    result = Infix("*", shifted, scale)
    return expression(result if out_type == ir.DataType.FLOAT else cast(result, Raw(ms_dtype(out_type))))


@register("DynamicQuantizeLinear", since=11, target="uint8 scale and zero point from ops.amin / ops.amax")
def map_dynamic_quantize_linear(ctx: MappingContext) -> Emission:
    if ctx.dtype(0) != ir.DataType.FLOAT:
        raise Unmappable("DynamicQuantizeLinear on a non-float32 input")
    x = ctx.ref(0)
    # The range always includes 0; an all-zero input has range 0, which ONNX replaces by 1.
    low = Temp("low", call("ops.minimum", call("ops.amin", x), 0.0))
    spread = Temp("spread", Infix("-", call("ops.maximum", call("ops.amax", x), 0.0), low))
    scale = Temp(
        "scale", Infix("/", call("ops.where", Infix("==", spread, Const(0)), 1.0, spread), Const(255.0))
    )
    point = Temp(
        "zero_point", call("ops.clamp", call("ops.round", Infix("/", Prefix("-", low), scale)), 0, 255)
    )
    quantized = call("ops.clamp", Infix("+", call("ops.round", Infix("/", x, scale)), point), 0, 255)
    outputs = TupleExpr((cast(quantized, Raw("ms.uint8")), scale, cast(point, Raw("ms.uint8"))))
    return expression(outputs, results=3, prelude=(low, spread, scale, point))


def _shifted_int32(ctx: MappingContext, index: int, zero_point: int) -> Expr:
    """An integer input as int32 minus its zero point."""
    value: Expr = cast(ctx.ref(index), I32)
    return Infix("-", value, cast(ctx.ref(zero_point), I32)) if ctx.has_input(zero_point) else value


@register("MatMulInteger", since=10, target="ops.matmul on int32")
def map_matmul_integer(ctx: MappingContext) -> Emission:
    if ctx.has_input(2) and ctx.shape(2) not in ((), (1,)):
        # The spec subtracts it per row; the ONNX reference broadcasts it per column; onnxruntime refuses it.
        raise Unmappable("MatMulInteger with a per-row a_zero_point")
    return expression(call("ops.matmul", _shifted_int32(ctx, 0, 2), _shifted_int32(ctx, 1, 3)))


def requantize(ctx: MappingContext, accumulated: Expr, scale: Expr, zero_point: int) -> Emission:
    """Integer sums times a float scale, plus the output zero point, rounded and saturated, in float64."""
    sums = Temp("accumulated", cast(accumulated, F64))
    multiplier = Temp("multiplier", cast(scale, F64))
    value: Expr = Infix("*", sums, multiplier)
    if ctx.has_input(zero_point):
        value = Infix("+", value, cast(ctx.ref(zero_point), F64))
    out_type = ctx.dtype(zero_point) if ctx.has_input(zero_point) else ctx.dtype(0)
    return expression(saturate(call("ops.round", value), out_type), prelude=(sums, multiplier))


@register("QLinearMatMul", since=10, target="int32 ops.matmul, rescaled in float64")
def map_qlinear_matmul(ctx: MappingContext) -> Emission:
    for index in (1, 4, 6):
        if ctx.rank(index) not in (0, 1) or (ctx.shape(index) or (1,)) not in ((), (1,)):
            raise Unmappable("QLinearMatMul with per-axis scales")
    accumulated = call("ops.matmul", _shifted_int32(ctx, 0, 2), _shifted_int32(ctx, 3, 5))
    # ONNX multiplies the scales in their own type before applying them.
    scale = Infix("/", Infix("*", ctx.ref(1), ctx.ref(4)), ctx.ref(6))
    return requantize(ctx, accumulated, scale, 7)


@register("QLinearConv", since=10, target="ops.conv2d on exact float32 integers, rescaled in float64")
def map_qlinear_conv(ctx: MappingContext) -> Emission:
    shape = ctx.shape(3)
    if shape is None or not all(isinstance(d, int) for d in shape) or len(shape) not in (3, 4, 5):
        raise Unmappable("QLinearConv needs a 1-D, 2-D or 3-D weight of known shape")
    spatial = len(shape) - 2
    kernel = ctx.ints("kernel_shape") or list(shape[2:])
    strides, dilations = ctx.ints("strides", [1] * spatial), ctx.ints("dilations", [1] * spatial)
    group = int(ctx.attr("group", 1))
    pad_mode, begins, ends = explicit_pads(ctx, spatial, kernel, strides, dilations)
    terms = shape[1] * math.prod(kernel)
    # Shifted 8-bit values lie in [-255, 255]; float32 sums of products are exact below 2**24.
    if terms * 255 * 255 >= 2**24:
        raise Unmappable(f"QLinearConv summing {terms} products per output: float32 sums could round")
    x = Infix("-", cast(ctx.ref(0), F32), cast(ctx.ref(2), F32))
    w: Expr = cast(ctx.ref(3), F32)
    if ctx.has_input(5):
        w_point: Expr = cast(ctx.ref(5), F32)
        w_point = (
            call("ops.reshape", w_point, (-1,) + (1,) * (spatial + 1))
            if ctx.shape(5) not in ((), (1,))
            else w_point
        )
        w = Infix("-", w, w_point)
    summed: Expr = conv_expression(x, w, None, strides, dilations, group, pad_mode, begins, ends)
    if ctx.has_input(8):
        summed = Infix(
            "+", cast(summed, F64), cast(call("ops.reshape", ctx.ref(8), (-1,) + (1,) * spatial), F64)
        )
    w_scale: Expr = ctx.ref(4)
    if ctx.shape(4) not in ((), (1,)):
        w_scale = call("ops.reshape", w_scale, (-1,) + (1,) * spatial)
    scale = Infix("/", Infix("*", ctx.ref(1), w_scale), ctx.ref(6))
    return requantize(ctx, summed, scale, 7)
