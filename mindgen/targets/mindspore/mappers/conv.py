"""Convolution and transposed convolution (1-D, 2-D, 3-D) as nn layers."""

from __future__ import annotations

import numpy as np

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Emission, Expr, Unmappable, bind, call, layer
from mindgen.targets.mindspore.registry import register

_CONV = {1: "nn.Conv1d", 2: "nn.Conv2d", 3: "nn.Conv3d"}
_CONV_TRANSPOSE = {1: "nn.Conv1dTranspose", 2: "nn.Conv2dTranspose", 3: "nn.Conv3dTranspose"}


def _compact(values: list[int]) -> int | tuple[int, ...]:
    """One int when every spatial axis agrees (as people write it), else a tuple."""
    return values[0] if len(set(values)) == 1 else tuple(values)


def _explicit_pads(ctx: MappingContext, spatial: int, kernel: list[int], strides: list[int], dilations: list[int]):
    """ONNX pads as (begins, ends) per spatial axis; SAME_LOWER computed from static sizes."""
    auto_pad = str(ctx.attr("auto_pad", "NOTSET"))
    if auto_pad in ("NOTSET", ""):
        pads = ctx.ints("pads", [0] * (2 * spatial))
        return "pad", pads[:spatial], pads[spatial:]
    if auto_pad == "VALID":
        return "valid", [0] * spatial, [0] * spatial
    if auto_pad == "SAME_UPPER":
        return "same", None, None
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


def _padding_argument(spatial: int, begins: list[int], ends: list[int]) -> int | tuple[int, ...]:
    """MindSpore's padding: an int, or (begin, end) pairs per axis in axis order."""
    if len(set(begins + ends)) == 1:
        return begins[0]
    return tuple(p for pair in zip(begins, ends, strict=True) for p in pair)


@register("Conv", since=1, target="nn.Conv1d / nn.Conv2d / nn.Conv3d")
def map_conv(ctx: MappingContext) -> Emission:
    weight = ctx.input(1)
    if weight is None or weight.const_value is None:
        raise Unmappable("the convolution weight is computed at run time")
    w_shape = tuple(int(d) for d in weight.const_value.shape)
    spatial = len(w_shape) - 2
    if spatial not in _CONV:
        raise Unmappable(f"{spatial}-D convolution has no MindSpore layer")
    kernel = ctx.ints("kernel_shape") or list(w_shape[2:])
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    group = int(ctx.attr("group", 1))
    pad_mode, begins, ends = _explicit_pads(ctx, spatial, kernel, strides, dilations)
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
        kwargs["stride"] = _compact(strides)
    if dilations != [1] * spatial:
        kwargs["dilation"] = _compact(dilations)
    if group != 1:
        kwargs["group"] = group
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
        _compact(kernel),
        pad_mode=pad_mode,
        weights=weights,
        **kwargs,
    )


def _conv1d_weight(array: np.ndarray) -> np.ndarray:
    # nn.Conv1d/Conv1dTranspose keep their weight as 2-D kernels of height 1.
    return array.reshape(array.shape[0], array.shape[1], 1, array.shape[2])


def _note_1d(spatial: int) -> str:
    return "reshaped (out, in, k) -> (out, in, 1, k) for nn.Conv1d" if spatial == 1 else ""


@register("ConvTranspose", since=1, target="nn.Conv1dTranspose / nn.Conv2dTranspose / nn.Conv3dTranspose")
def map_conv_transpose(ctx: MappingContext) -> Emission:
    weight = ctx.input(1)
    if weight is None or weight.const_value is None:
        raise Unmappable("the transposed-convolution weight is computed at run time")
    w_shape = tuple(int(d) for d in weight.const_value.shape)
    spatial = len(w_shape) - 2
    if spatial not in _CONV_TRANSPOSE:
        raise Unmappable(f"{spatial}-D transposed convolution has no MindSpore layer")
    if ctx.attr("output_shape") is not None:
        raise Unmappable("ConvTranspose with output_shape is not mapped; give pads instead")
    kernel = ctx.ints("kernel_shape") or list(w_shape[2:])
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    output_padding = ctx.ints("output_padding", [0] * spatial)
    group = int(ctx.attr("group", 1))
    auto_pad = str(ctx.attr("auto_pad", "NOTSET"))
    kwargs: dict[str, object] = {}
    if auto_pad in ("SAME_UPPER", "VALID") and not any(output_padding):
        pad_mode = "same" if auto_pad == "SAME_UPPER" else "valid"
    elif auto_pad in ("NOTSET", ""):
        pads = ctx.ints("pads", [0] * (2 * spatial))
        begins, ends = pads[:spatial], pads[spatial:]
        # nn.Conv*Transpose's output_padding fills zeros where ONNX computes values; the
        # exact equivalent is to crop less at the end (measured =ORT).
        ends = [e - p for e, p in zip(ends, output_padding, strict=True)]
        if any(e < 0 for e in ends):
            raise Unmappable("output_padding larger than the end padding is not mapped")
        pad_mode = "pad" if any(begins + ends) else "valid"
        if pad_mode == "pad":
            if spatial == 1 and begins[0] != ends[0]:
                raise Unmappable("asymmetric padding of a 1-D transposed convolution")
            kwargs["padding"] = _padding_argument(spatial, begins, ends)
    else:
        raise Unmappable(f"auto_pad={auto_pad} with output_padding is not mapped")
    if strides != [1] * spatial:
        kwargs["stride"] = _compact(strides)
    if dilations != [1] * spatial:
        kwargs["dilation"] = _compact(dilations)
    if group != 1:
        kwargs["group"] = group
    weights = [bind("weight", weight, _conv1d_weight if spatial == 1 else None, _note_1d(spatial))]
    if ctx.has_input(2):
        kwargs["has_bias"] = True
        weights.append(bind("bias", ctx.input(2)))
    return layer(
        "deconv",
        _CONV_TRANSPOSE[spatial],
        (ctx.ref(0),),
        w_shape[0],
        w_shape[1] * group,
        _compact(kernel),
        pad_mode=pad_mode,
        weights=weights,
        **kwargs,
    )
