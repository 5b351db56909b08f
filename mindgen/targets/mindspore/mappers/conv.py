"""Convolution and transposed convolution (1-D, 2-D, 3-D) as nn layers."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, compact_ints, ms_dtype
from mindgen.targets.mindspore.emission import Emission, Expr, Raw, Unmappable, bind, call, layer
from mindgen.targets.mindspore.mappers.conv_functional import (
    explicit_pads,
    functional_conv,
    functional_conv_transpose,
)
from mindgen.targets.mindspore.registry import register

_CONV = {1: "nn.Conv1d", 2: "nn.Conv2d", 3: "nn.Conv3d"}
_CONV_TRANSPOSE = {1: "nn.Conv1dTranspose", 2: "nn.Conv2dTranspose", 3: "nn.Conv3dTranspose"}


def layer_dtype(ctx: MappingContext, *, float64: bool) -> dict[str, Raw]:
    """The dtype= keyword a weighted nn layer needs for the input's float type ({} for float32)."""
    dtype = ctx.dtype(0)
    if dtype is None or dtype == ir.DataType.FLOAT:
        return {}
    # Layers create float32 parameters by default; MindSpore's CPU kernels for convolution
    # and batch norm stop at float16, Dense and LayerNorm also run float64.
    if dtype == ir.DataType.FLOAT16 or (dtype == ir.DataType.DOUBLE and float64):
        return {"dtype": Raw(ms_dtype(dtype))}
    raise Unmappable(f"{ctx.node.op_type} on {dtype.name} input: MindSpore's CPU layer has no such kernel")


def _padding_argument(spatial: int, begins: list[int], ends: list[int]) -> int | tuple[int, ...]:
    """MindSpore's padding: an int, or (begin, end) pairs per axis in axis order."""
    if len(set(begins + ends)) == 1:
        return begins[0]
    return tuple(p for pair in zip(begins, ends, strict=True) for p in pair)


def weight_shape(ctx: MappingContext) -> tuple[int, ...]:
    """The weight's shape: a constant's, or a run-time weight's declared static shape."""
    weight = ctx.input(1)
    if weight is not None and weight.const_value is not None:
        return tuple(int(d) for d in weight.const_value.shape)
    shape = ctx.shape(1)
    if shape is None or not all(isinstance(d, int) for d in shape):
        raise Unmappable("the shape of the run-time convolution weight is unknown at conversion time")
    return tuple(int(d) for d in shape)  # type: ignore[arg-type]


@register("Conv", since=1, target="nn.Conv1d / 2d / 3d; ops.conv1d / 2d / 3d for run-time weights")
def map_conv(ctx: MappingContext) -> Emission:
    """Conv with a constant weight as nn.Conv1d/2d/3d; MindSpore 'same' is ONNX SAME_UPPER."""
    weight = ctx.input(1)
    w_shape = weight_shape(ctx)
    spatial = len(w_shape) - 2
    if spatial not in _CONV:
        raise Unmappable(f"{spatial}-D convolution has no MindSpore layer")
    kernel = ctx.ints("kernel_shape") or list(w_shape[2:])
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    group = int(ctx.attr("group", 1))
    pad_mode, begins, ends = explicit_pads(ctx, spatial, kernel, strides, dilations)
    if weight.const_value is None:
        return functional_conv(ctx, strides, dilations, group, pad_mode, begins, ends)
    source: Expr = ctx.ref(0)
    kwargs: dict[str, object] = {}
    if pad_mode == "pad" and not any(begins + ends):
        pad_mode = "valid"
    if pad_mode == "pad":
        if spatial == 1 and begins[0] != ends[0]:
            # nn.Conv1d only takes one symmetric int: pad explicitly first.
            source = call("ops.pad", source, (begins[0], ends[0]))
            pad_mode = "valid"
        else:
            kwargs["padding"] = _padding_argument(spatial, begins, ends)
    in_channels = w_shape[1] * group
    if strides != [1] * spatial:
        kwargs["stride"] = compact_ints(strides)
    if dilations != [1] * spatial:
        kwargs["dilation"] = compact_ints(dilations)
    if group != 1:
        kwargs["group"] = group
    kwargs.update(layer_dtype(ctx, float64=False))
    weights = [bind("weight", weight, _conv1d_weight if spatial == 1 else None, _note_1d(spatial))]
    if ctx.has_input(2):
        kwargs["has_bias"] = True
        weights.append(bind("bias", ctx.input(2)))
    return layer(
        "conv",
        _CONV[spatial],
        (source,),
        in_channels,
        w_shape[0],
        compact_ints(kernel),
        pad_mode=pad_mode,
        weights=weights,
        **kwargs,
    )


def _conv1d_weight(array: np.ndarray) -> np.ndarray:
    """nn.Conv1d/Conv1dTranspose keep their weight as 2-D kernels of height 1."""
    return array.reshape(array.shape[0], array.shape[1], 1, array.shape[2])


def _note_1d(spatial: int) -> str:
    """The weight-map note for a reshaped 1-D kernel."""
    return "reshaped (out, in, k) -> (out, in, 1, k) for nn.Conv1d" if spatial == 1 else ""


@register(
    "ConvTranspose",
    since=1,
    target="nn.Conv1dTranspose / 2d / 3d; ops.Conv2DTranspose / ops.Conv3DTranspose for run-time weights",
)
def map_conv_transpose(ctx: MappingContext) -> Emission:
    """ConvTranspose as an nn.Conv*Transpose layer, padding the input or cropping the output where needed."""
    weight = ctx.input(1)
    w_shape = weight_shape(ctx)
    spatial = len(w_shape) - 2
    if spatial not in _CONV_TRANSPOSE:
        raise Unmappable(f"{spatial}-D transposed convolution has no MindSpore layer")
    kernel = ctx.ints("kernel_shape") or list(w_shape[2:])
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    output_padding = ctx.ints("output_padding", [0] * spatial)
    group = int(ctx.attr("group", 1))
    begins, ends = _transpose_pads(ctx, spatial, kernel, strides, dilations, output_padding)
    if weight.const_value is None or min(begins + ends) < 0:
        return functional_conv_transpose(
            ctx, w_shape, kernel, strides, dilations, group, begins, ends, output_padding
        )
    kwargs: dict[str, object] = {}
    source: Expr = ctx.ref(0)
    crop: tuple[int, ...] = ()
    if str(ctx.attr("auto_pad", "NOTSET")) == "SAME_UPPER" and ctx.attr("output_shape") is None:
        pad_mode = "same"  # MindSpore 'same' puts the odd pixel at the end, as onnxruntime does
    else:
        # nn.Conv*Transpose's output_padding fills zeros where ONNX computes values (notes,
        # gotcha 6). Exact instead: crop output_padding less at the end; where the end pad is
        # too small for that, append m zero inputs first, which lengthens the output by m*stride
        # (bias-only values, as ONNX gives) and changes nothing else.
        extra = [max(-(-(p - e) // s), 0) for e, p, s in zip(ends, output_padding, strides, strict=True)]
        ends = [e - p + m * s for e, p, m, s in zip(ends, output_padding, extra, strides, strict=True)]
        if any(extra):
            source = call("ops.pad", source, tuple(p for m in reversed(extra) for p in (0, m)))
        if spatial == 1 and begins[0] != ends[0]:
            # nn.Conv1dTranspose takes one symmetric int: crop the rest of the output (negative pad).
            low = min(begins[0], ends[0])
            crop = (low - begins[0], low - ends[0])
            begins, ends = [low], [low]
        pad_mode = "pad" if any(begins + ends) else "valid"
        if pad_mode == "pad":
            kwargs["padding"] = _padding_argument(spatial, begins, ends)
    if strides != [1] * spatial:
        kwargs["stride"] = compact_ints(strides)
    if dilations != [1] * spatial:
        kwargs["dilation"] = compact_ints(dilations)
    if group != 1:
        kwargs["group"] = group
    kwargs.update(layer_dtype(ctx, float64=False))
    weights = [bind("weight", weight, _conv1d_weight if spatial == 1 else None, _note_1d(spatial))]
    if ctx.has_input(2):
        kwargs["has_bias"] = True
        weights.append(bind("bias", ctx.input(2)))
    return layer(
        "deconv",
        _CONV_TRANSPOSE[spatial],
        (source,),
        w_shape[0],
        w_shape[1] * group,
        compact_ints(kernel),
        pad_mode=pad_mode,
        weights=weights,
        wrap=(lambda out: call("ops.pad", out, crop)) if crop else None,
        **kwargs,
    )


def _transpose_pads(ctx: MappingContext, spatial: int, kernel, strides, dilations, output_padding):
    """ConvTranspose (begins, ends) per spatial axis; from output_shape when it is given."""
    auto_pad = str(ctx.attr("auto_pad", "NOTSET"))
    output_shape = ctx.ints("output_shape")
    if output_shape is not None:
        shape = ctx.shape(0)
        sizes = shape[2:] if shape else ()
        if len(sizes) != spatial or not all(isinstance(d, int) for d in sizes):
            raise Unmappable("ConvTranspose with output_shape needs static spatial input sizes")
        totals = [
            s * (n - 1) + p + (k - 1) * d + 1 - o
            for n, k, s, d, p, o in zip(
                sizes, kernel, strides, dilations, output_padding, output_shape[-spatial:], strict=True
            )
        ]
        halves = [t // 2 for t in totals]  # a negative total widens the output at the end
        if auto_pad == "SAME_UPPER":
            if min(totals) < 0:
                raise Unmappable("SAME_UPPER with an output_shape beyond the full result: runtimes disagree")
            return halves, [t - h for t, h in zip(totals, halves, strict=True)]
        return [t - h for t, h in zip(totals, halves, strict=True)], halves
    if auto_pad in ("NOTSET", ""):
        pads = ctx.ints("pads", [0] * (2 * spatial))
        return pads[:spatial], pads[spatial:]
    if auto_pad == "VALID":
        return [0] * spatial, [0] * spatial
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise Unmappable(f"auto_pad={auto_pad} is not mapped")
    if any(output_padding):
        # onnxruntime makes the output input*stride long; ONNX shape inference adds output_padding.
        raise Unmappable(f"auto_pad={auto_pad} with output_padding: onnxruntime and the ONNX spec disagree")
    totals = [(k - 1) * d + 1 - s for k, d, s in zip(kernel, dilations, strides, strict=True)]
    if any(t < 0 for t in totals):
        raise Unmappable(f"auto_pad={auto_pad} with a stride larger than the dilated kernel")
    if auto_pad == "SAME_UPPER":
        return [t // 2 for t in totals], [t - t // 2 for t in totals]
    return [t - t // 2 for t in totals], [t // 2 for t in totals]
