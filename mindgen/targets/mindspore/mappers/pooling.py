"""Max, average and global pooling."""

from __future__ import annotations

from mindgen.targets.mindspore.context import MappingContext, compact_ints
from mindgen.targets.mindspore.emission import Emission, Expr, Unmappable, call, expression, layer
from mindgen.targets.mindspore.mappers.pool_indices import max_pool_with_indices
from mindgen.targets.mindspore.mappers.pool_windows import (
    average_by_window_sums,
    ceil_size,
    pool_pads,
    static_sizes,
)
from mindgen.targets.mindspore.registry import register

_MAX_POOL = {1: "nn.MaxPool1d", 2: "nn.MaxPool2d", 3: "nn.MaxPool3d"}
_AVG_POOL = {1: "nn.AvgPool1d", 2: "nn.AvgPool2d", 3: "nn.AvgPool3d"}


def _pool(ctx: MappingContext, classes: dict[int, str], kind: str, pad_value: float) -> Emission:
    """MaxPool/AveragePool as an nn pooling layer, padding explicitly where the layer cannot."""
    kernel = ctx.ints("kernel_shape")
    if not kernel:
        raise Unmappable("pooling without kernel_shape")
    spatial = len(kernel)
    if spatial not in classes:
        raise Unmappable(f"{spatial}-D pooling has no MindSpore layer")
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    ceil_mode = bool(ctx.attr("ceil_mode", 0))
    include_pad = kind == "avgpool" and bool(ctx.attr("count_include_pad", 0))
    if kind == "avgpool" and dilations != [1] * spatial:
        return average_by_window_sums(ctx)  # MindSpore's average pooling has no dilation
    auto_pad = str(ctx.attr("auto_pad", "NOTSET"))
    kwargs: dict[str, object] = {"stride": compact_ints(strides)}
    if auto_pad == "SAME_UPPER" and not include_pad and dilations == [1] * spatial:
        # 'same' is SAME_UPPER, and its averages leave the padding out of the count.
        return layer(kind, classes[spatial], (ctx.ref(0),), compact_ints(kernel), pad_mode="same", **kwargs)
    begins, ends = pool_pads(ctx, auto_pad, kernel, strides, dilations)
    source: Expr = ctx.ref(0)
    # MindSpore pools pad symmetrically, by at most half the kernel; otherwise pad first
    # (-inf for max, zeros for an average that counts the padding).
    if begins != ends or any(b > k // 2 for b, k in zip(begins, kernel, strict=True)):
        if kind == "avgpool" and not include_pad:
            return average_by_window_sums(ctx)  # the count must leave the explicit padding out
        if ceil_mode:
            _check_ceil_sizes(ctx, kernel, strides, dilations, begins, ends)
        torch_order = tuple(p for axis in reversed(range(spatial)) for p in (begins[axis], ends[axis]))
        source = call("ops.pad", source, torch_order, **({"value": pad_value} if pad_value else {}))
        begins = ends = [0] * spatial
    if any(begins):
        kwargs["padding"] = compact_ints(begins)
        if kind == "avgpool":
            kwargs["count_include_pad"] = include_pad  # MindSpore's default is True, ONNX's is 0
    if dilations != [1] * spatial:
        kwargs["dilation"] = compact_ints(dilations)
    if ceil_mode:
        kwargs["ceil_mode"] = True
    # ceil_mode and dilation are only accepted with pad_mode='pad' (padding may be 0).
    pad_mode = "pad" if any(begins) or ceil_mode or dilations != [1] * spatial else "valid"
    return layer(kind, classes[spatial], (source,), compact_ints(kernel), pad_mode=pad_mode, **kwargs)


def _check_ceil_sizes(ctx: MappingContext, kernel, strides, dilations, begins, ends) -> None:
    """ceil_mode over an explicitly padded input must still give ONNX's output size."""
    sizes = static_sizes(ctx, "ceil_mode with asymmetric pads")
    for n, k, s, d, b, e in zip(sizes, kernel, strides, dilations, begins, ends, strict=True):
        # The padded input has no padding left, so MindSpore keeps a last window that ONNX drops
        # for starting inside the end padding.
        if ceil_size(n, (k - 1) * d + 1, s, b, e) != ceil_size(n + b + e, (k - 1) * d + 1, s, 0, 0):
            raise Unmappable("ceil_mode with asymmetric pads where the last window starts in the padding")


@register("MaxPool", since=8, target="nn.MaxPool1d / 2d / 3d; ops.max_pool2d / 3d for Indices")
def map_max_pool(ctx: MappingContext) -> Emission:
    if any(out.uses() or out.is_graph_output() for out in ctx.node.outputs[1:]):
        return max_pool_with_indices(ctx)
    return _pool(ctx, _MAX_POOL, "maxpool", float("-inf"))


@register("AveragePool", since=7, target="nn.AvgPool1d / 2d / 3d")
def map_average_pool(ctx: MappingContext) -> Emission:
    return _pool(ctx, _AVG_POOL, "avgpool", 0.0)


def _spatial_axes(ctx: MappingContext) -> tuple[int, ...]:
    rank = ctx.require_rank(0)
    if rank < 3:
        raise Unmappable("global pooling needs an (N, C, ...) input")
    return tuple(range(2, rank))


@register("GlobalAveragePool", since=1, target="ops.mean over the spatial axes")
def map_global_average_pool(ctx: MappingContext) -> Emission:
    # A reduction instead of a fixed-size AvgPool keeps any input size working.
    return expression(call("ops.mean", ctx.ref(0), _spatial_axes(ctx), keep_dims=True))


@register("GlobalMaxPool", since=1, target="ops.amax over the spatial axes")
def map_global_max_pool(ctx: MappingContext) -> Emission:
    return expression(call("ops.amax", ctx.ref(0), _spatial_axes(ctx), keepdims=True))
