"""Convolutions whose weights are computed at run time: ops.conv*d and the transposed-conv primitives."""

from __future__ import annotations

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    TupleExpr,
    Unmappable,
    call,
    expression,
    layer,
)

_CONV_FUNCTIONS = {1: "ops.conv1d", 2: "ops.conv2d", 3: "ops.conv3d"}


def check_float_input(ctx: MappingContext) -> None:
    """MindSpore's CPU convolutions compute float32 and float16 only."""
    dtype = ctx.dtype(0)
    if dtype not in (None, ir.DataType.FLOAT, ir.DataType.FLOAT16):
        raise Unmappable(
            f"{ctx.node.op_type} on {dtype.name} input: MindSpore's CPU convolution has no such kernel"
        )


def torch_pads(begins: list[int], ends: list[int]) -> tuple[int, ...]:
    """(begin, end) pairs per spatial axis in ops.pad order: last axis first."""
    return tuple(p for axis in reversed(range(len(begins))) for p in (begins[axis], ends[axis]))


def explicit_pads(
    ctx: MappingContext, spatial: int, kernel: list[int], strides: list[int], dilations: list[int]
):
    """ONNX pads as (begins, ends) per spatial axis; SAME_LOWER computed from static sizes."""
    auto_pad = str(ctx.attr("auto_pad", "NOTSET"))
    if auto_pad in ("NOTSET", ""):
        pads = ctx.ints("pads", [0] * (2 * spatial))
        return "pad", pads[:spatial], pads[spatial:]
    if auto_pad == "VALID":
        return "valid", [0] * spatial, [0] * spatial
    if auto_pad == "SAME_UPPER":
        return "same", None, None
    if auto_pad != "SAME_LOWER":
        raise Unmappable(f"auto_pad={auto_pad[:40]!r} is not an ONNX padding mode")
    shape = ctx.shape(0)
    sizes = shape[2:] if shape else ()
    if not sizes or not all(isinstance(d, int) for d in sizes):
        raise Unmappable("auto_pad=SAME_LOWER needs static spatial sizes")
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        begins.append(total - total // 2)  # SAME_LOWER puts the odd pixel at the start
        ends.append(total // 2)
    return "pad", begins, ends


def conv_expression(
    source: Expr, weight: Expr, bias: Expr | None, strides, dilations, group: int, pad_mode: str, begins, ends
) -> Expr:
    """ops.conv1d/2d/3d; pads the input first where the function's symmetric padding cannot express them."""
    spatial = len(strides)
    kwargs: dict[str, object] = {}
    if pad_mode == "pad" and not any(begins + ends):
        pad_mode = "valid"
    if pad_mode == "pad" and begins != ends:
        source = call("ops.pad", source, torch_pads(begins, ends))
        pad_mode = "valid"
    if pad_mode == "pad":
        kwargs["padding"] = begins[0] if len(set(begins)) == 1 else tuple(begins)
    if strides != [1] * spatial:
        kwargs["stride"] = strides[0] if len(set(strides)) == 1 else tuple(strides)
    if dilations != [1] * spatial:
        kwargs["dilation"] = dilations[0] if len(set(dilations)) == 1 else tuple(dilations)
    if group != 1:
        kwargs["groups"] = group
    return call(
        _CONV_FUNCTIONS[spatial], source, weight, *([bias] if bias else []), pad_mode=pad_mode, **kwargs
    )


def functional_conv(
    ctx: MappingContext, strides, dilations, group: int, pad_mode: str, begins, ends
) -> Emission:
    """Conv with a run-time weight as ops.conv1d/2d/3d."""
    check_float_input(ctx)
    bias = ctx.ref(2) if ctx.has_input(2) else None
    return expression(
        conv_expression(ctx.ref(0), ctx.ref(1), bias, strides, dilations, group, pad_mode, begins, ends)
    )


def _dim(ctx: MappingContext, axis: int) -> Expr:
    """An input dimension: its static size, else `x.shape[axis]` read at run time."""
    shape = ctx.shape(0)
    size = shape[axis] if shape is not None and axis < len(shape) else None
    return Const(size) if isinstance(size, int) else Index(Attribute(ctx.ref(0), "shape"), str(axis))


def _plus(expr: Expr, value: int) -> Expr:
    if isinstance(expr, Const):
        return Const(expr.value + value)
    return Infix("+", expr, Const(value)) if value >= 0 else Infix("-", expr, Const(-value))


def _times(expr: Expr, value: int) -> Expr:
    if isinstance(expr, Const):
        return Const(expr.value * value)
    return expr if value == 1 else Infix("*", expr, Const(value))


def _primitive_options(begins, ends, strides, dilations, group: int) -> dict[str, object]:
    """Keyword arguments of the transposed-conv primitives that differ from their defaults."""
    options: dict[str, object] = {}
    if any(begins + ends):
        options["pad_mode"] = "pad"
        options["pad"] = tuple(p for pair in zip(begins, ends, strict=True) for p in pair)
    if any(s != 1 for s in strides):
        options["stride"] = tuple(strides)
    if any(d != 1 for d in dilations):
        options["dilation"] = tuple(dilations)
    if group != 1:
        options["group"] = group
    return options


def functional_conv_transpose(
    ctx: MappingContext, w_shape, kernel, strides, dilations, group: int, begins, ends, output_padding
) -> Emission:
    """ConvTranspose with a run-time weight: ops.Conv2DTranspose (1-D as 2-D) or ops.Conv3DTranspose."""
    check_float_input(ctx)
    spatial = len(kernel)
    out_channels = w_shape[1] * group
    # Negative pads (from output_shape) widen the output with zeros: pad afterwards.
    widen = ([max(-b, 0) for b in begins], [max(-e, 0) for e in ends])
    begins, ends = [max(b, 0) for b in begins], [max(e, 0) for e in ends]
    source, weight = ctx.ref(0), ctx.ref(1)
    if spatial == 3:
        if dilations[0] != 1:
            raise Unmappable(
                "3-D ConvTranspose with a depth dilation: ops.Conv3DTranspose only dilates H and W"
            )
        options = _primitive_options(begins, ends, strides, dilations, group)
        if any(output_padding):
            options["output_padding"] = tuple(output_padding)
        primitive = layer(
            "deconv",
            "ops.Conv3DTranspose",
            (source, weight),
            w_shape[0],
            out_channels,
            tuple(kernel),
            **options,
        )
        return _finish(ctx, primitive, spatial, widen)
    if spatial == 1:
        # 1-D as 2-D over a height of 1.
        source, weight = call("ops.expand_dims", source, 2), call("ops.expand_dims", weight, 2)
        kernel, strides, dilations = [1, *kernel], [1, *strides], [1, *dilations]
        begins, ends, output_padding = [0, *begins], [0, *ends], [0, *output_padding]
    # Conv2DTranspose takes the output size, so output_padding needs no option of its own.
    in_sizes = [Const(1), _dim(ctx, 2)] if spatial == 1 else [_dim(ctx, 2), _dim(ctx, 3)]
    sizes = [
        _plus(
            _times(_plus(size, -1), strides[i]),
            (kernel[i] - 1) * dilations[i] + 1 + output_padding[i] - begins[i] - ends[i],
        )
        for i, size in enumerate(in_sizes)
    ]
    size = TupleExpr((_dim(ctx, 0), Const(out_channels), *sizes))
    options = _primitive_options(begins, ends, strides, dilations, group)
    primitive = layer(
        "deconv", "ops.Conv2DTranspose", (source, weight, size), out_channels, tuple(kernel), **options
    )
    if spatial == 1:
        primitive = Emission(call("ops.squeeze", primitive.expr, 2), primitive.layer)
    return _finish(ctx, primitive, spatial, widen)


def _finish(ctx: MappingContext, primitive: Emission, spatial: int, widen) -> Emission:
    """Adds the zero margins of negative pads, then the bias."""
    expr = primitive.expr
    if any(widen[0] + widen[1]):
        expr = call("ops.pad", expr, torch_pads(*widen))
    if ctx.has_input(2):
        expr = Infix("+", expr, call("ops.reshape", ctx.ref(2), (-1,) + (1,) * spatial))
    return Emission(expr, primitive.layer)
