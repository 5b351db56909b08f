"""Convolutions (regular, depthwise, transposed) and BiasAdd, held channels-first inside."""

from __future__ import annotations

import numpy as np

from mindgen.errors import InputError
from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.context import SOURCE, NodeContext
from mindgen.frontends.tensorflow.padding import onnx_pads, spatial
from mindgen.frontends.tensorflow.registry import Untranslatable, translates
from mindgen.frontends.tensorflow.translate_nn import channels_layout


def _window(ctx: NodeContext, rank: int) -> tuple[list[int], list[int], bool]:
    """Spatial strides and dilations, and whether the data format is channels-last."""
    channels_last = ctx.data_format() == "channels_last"
    strides = spatial(ctx.attr("strides", [1] * rank), channels_last)
    dilations = spatial(ctx.attr("dilations", [1] * rank), channels_last)
    return strides, dilations, channels_last


def _weight(ctx: NodeContext, index: int, order: tuple[int, ...], reshape=None) -> str:
    """A filter in ONNX order; a constant is rearranged once, anything else gets a Transpose."""
    array = ctx.const(index)
    if array is not None:
        if array.ndim != len(order):
            raise InputError(
                f"{ctx.node.op} node {ctx.node.name!r} has a rank-{array.ndim} filter, expected rank {len(order)}"
            )
        if reshape is not None:
            array = array.reshape(reshape(array.shape))
        return ctx.add_const(np.ascontiguousarray(np.transpose(array, order)), ctx.form(index)[0])
    if reshape is not None:
        raise Untranslatable("a depthwise filter computed at run time")
    return ctx.emit1("Transpose", [ctx.value(index)], perm=list(order))


def _spatial_sizes(ctx: NodeContext, index: int, rank: int, channels_last: bool) -> list[int] | None:
    axes = list(range(1, rank - 1)) if channels_last else list(range(2, rank))
    return ctx.static_dims(index, axes)


def _conv(ctx: NodeContext, depthwise: bool) -> None:
    rank = ctx.require_rank(0)
    strides, dilations, channels_last = _window(ctx, rank)
    spatial_rank = rank - 2
    filter_shape = ctx.shape(1)
    if filter_shape is None or len(filter_shape) != rank or not all(isinstance(d, int) for d in filter_shape):
        raise Untranslatable("the filter's shape is unknown")
    kernel = [int(d) for d in filter_shape[:spatial_rank]]  # type: ignore[arg-type]
    # TF filters are (spatial..., in, out); ONNX wants (out, in / group, spatial...).
    order = (rank - 1, rank - 2, *range(spatial_rank))
    if depthwise:
        # (spatial..., C, multiplier) -> (spatial..., 1, C * multiplier): one group per channel.
        weight = _weight(ctx, 1, order, lambda s: (*s[:-2], 1, s[-2] * s[-1]))
        group = int(filter_shape[-2])  # type: ignore[arg-type]
    else:
        weight = _weight(ctx, 1, order)
        in_channels = ctx.static_dims(0, [rank - 1 if channels_last else 1])
        group = in_channels[0] // int(filter_shape[-2]) if in_channels else 1  # type: ignore[arg-type]
    x, perm = channels_layout(ctx)
    padding = str(ctx.attr("padding", "VALID"))
    pads = onnx_pads(padding, spatial_rank, ctx.attr("explicit_paddings", []), channels_last)
    attrs: dict[str, object] = {"kernel_shape": kernel, "strides": strides, "dilations": dilations, **pads}
    if group != 1:
        attrs["group"] = group
    ctx.output(ctx.emit1("Conv", [x, weight], **attrs), perm)


@translates("Conv2D", "Conv3D")
def conv(ctx: NodeContext) -> None:
    _conv(ctx, depthwise=False)


@translates("DepthwiseConv2dNative")
def depthwise_conv(ctx: NodeContext) -> None:
    _conv(ctx, depthwise=True)


@translates("Conv2DBackpropInput", "Conv3DBackpropInputV2")
def conv_transpose(ctx: NodeContext) -> None:
    """The gradient of a convolution with respect to its input: ONNX ConvTranspose."""
    rank = ctx.require_rank(2)
    strides, dilations, channels_last = _window(ctx, rank)
    spatial_rank = rank - 2
    filter_shape = ctx.shape(1)
    if filter_shape is None or len(filter_shape) != rank or not all(isinstance(d, int) for d in filter_shape):
        raise Untranslatable("the filter's shape is unknown")
    kernel = [int(d) for d in filter_shape[:spatial_rank]]  # type: ignore[arg-type]
    # TF filters are (spatial..., out, in); ONNX ConvTranspose wants (in, out, spatial...).
    weight = _weight(ctx, 1, (rank - 1, rank - 2, *range(spatial_rank)))
    wanted = _output_sizes(ctx, rank, channels_last)
    given = _spatial_sizes(ctx, 2, rank, channels_last)
    if wanted is None or given is None:
        raise Untranslatable("transposed convolution needs static spatial sizes")
    padding = str(ctx.attr("padding", "VALID"))
    explicit = ctx.attr("explicit_paddings", [])
    begins, ends, extra = [], [], []
    for axis, (size, out, k, s, d) in enumerate(zip(given, wanted, kernel, strides, dilations, strict=True)):
        window = (k - 1) * d + 1
        full = (size - 1) * s + window
        if padding == "SAME":
            begin = max((size - 1) * s + window - out, 0) // 2
        elif padding == "EXPLICIT":
            begin = int(explicit[2 * (axis + (1 if channels_last else 2))])
        else:
            begin = 0
        end = full - out - begin
        begins.append(begin)
        ends.append(max(end, 0))
        extra.append(max(-end, 0))  # TF's output is longer than the full window: zeros appended
    x = ctx.value(2, layout.channels_first(rank)) if channels_last else ctx.value(2)
    perm = layout.channels_first(rank) if channels_last else SOURCE
    attrs: dict[str, object] = {"kernel_shape": kernel, "strides": strides, "dilations": dilations}
    if any(begins + ends):
        attrs["pads"] = begins + ends
    if any(extra):
        attrs["output_padding"] = extra
    ctx.output(ctx.emit1("ConvTranspose", [x, weight], **attrs), perm)


def _output_sizes(ctx: NodeContext, rank: int, channels_last: bool) -> list[int] | None:
    entries = ctx.entries(0)
    if entries is None or len(entries) != rank:
        return None
    picked = entries[1:-1] if channels_last else entries[2:]
    return [e for e in picked if isinstance(e, int)] if all(isinstance(e, int) for e in picked) else None


@translates("BiasAdd", "BiasAddV1")
def bias_add(ctx: NodeContext) -> None:
    rank = ctx.require_rank(0)
    name, perm = ctx.form(0)
    channel = 1 if ctx.data_format() == "channels_first" and rank > 2 else rank - 1
    held_channel = channel if perm == SOURCE else layout.held_axis(perm, channel)
    bias = ctx.const(1)
    producer = ctx.b.producer(name)
    if (
        bias is not None
        and held_channel == 1
        and producer is not None
        and producer.op_type in ("Conv", "ConvTranspose")
        and len(producer.input) == 2
        and ctx.tr.consumers.get(ctx.ref(0)) == [ctx.node.name]
    ):
        # The bias of the convolution it follows: one layer with a bias, as Keras declared it.
        producer.input.append(ctx.value(1))
        ctx.output(name, perm)
        return
    if channel == rank - 1:
        names, perm = ctx.aligned([0, 1])
        ctx.output(ctx.emit1("Add", names), perm)
        return
    # Channels-first BiasAdd: the bias broadcasts along axis 1.
    shape = ctx.int64([-1] + [1] * (rank - 2))
    column = ctx.emit1("Reshape", [ctx.value(1), shape])
    ctx.output(ctx.emit1("Add", [ctx.value(0), column]))
