"""Max, average and global pooling."""

from __future__ import annotations

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Emission, Expr, Unmappable, call, expression, layer
from mindgen.targets.mindspore.registry import register

_MAX_POOL = {1: "nn.MaxPool1d", 2: "nn.MaxPool2d", 3: "nn.MaxPool3d"}
_AVG_POOL = {1: "nn.AvgPool1d", 2: "nn.AvgPool2d", 3: "nn.AvgPool3d"}


def _compact(values: list[int]) -> int | tuple[int, ...]:
    return values[0] if len(set(values)) == 1 else tuple(values)


def _pool(ctx: MappingContext, classes: dict[int, str], kind: str, pad_value: float) -> Emission:
    if any(out.uses() or out.is_graph_output() for out in ctx.node.outputs[1:]):
        raise Unmappable("MaxPool's Indices output is used")
    kernel = ctx.ints("kernel_shape")
    if not kernel:
        raise Unmappable("pooling without kernel_shape")
    spatial = len(kernel)
    if spatial not in classes:
        raise Unmappable(f"{spatial}-D pooling has no MindSpore layer")
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    ceil_mode = bool(ctx.attr("ceil_mode", 0))
    auto_pad = str(ctx.attr("auto_pad", "NOTSET"))
    kwargs: dict[str, object] = {}
    source: Expr = ctx.ref(0)
    if auto_pad == "SAME_UPPER":
        pad_mode = "same"
        if kind == "avgpool" and int(ctx.attr("count_include_pad", 0)):
            raise Unmappable("auto_pad=SAME_UPPER with count_include_pad=1")
    elif auto_pad == "VALID":
        pad_mode = "valid"
    elif auto_pad in ("NOTSET", ""):
        pads = ctx.ints("pads", [0] * (2 * spatial))
        begins, ends = pads[:spatial], pads[spatial:]
        pad_mode = "pad" if any(pads) else "valid"
        if begins != ends:
            if kind == "avgpool" or ceil_mode:
                raise Unmappable("asymmetric pads on AveragePool or with ceil_mode")
            # MindSpore pooling pads symmetrically only: pad with -inf first, then pool.
            torch_order = tuple(p for axis in reversed(range(spatial)) for p in (begins[axis], ends[axis]))
            source = call("ops.pad", source, torch_order, value=pad_value)
            pad_mode = "valid"
        elif pad_mode == "pad":
            kwargs["padding"] = _compact(begins)
    else:
        raise Unmappable(f"auto_pad={auto_pad} is not mapped for pooling")
    if kind == "avgpool" and pad_mode == "pad":
        kwargs["count_include_pad"] = bool(ctx.attr("count_include_pad", 0))
    if dilations != [1] * spatial:
        if kind == "avgpool":
            raise Unmappable("AveragePool with dilations")
        kwargs["dilation"] = _compact(dilations)
    if ceil_mode:
        kwargs["ceil_mode"] = True
    kwargs["stride"] = _compact(strides)
    return layer(kind, classes[spatial], (source,), _compact(kernel), pad_mode=pad_mode, **kwargs)


@register("MaxPool", since=8, target="nn.MaxPool1d / 2d / 3d")
def map_max_pool(ctx: MappingContext) -> Emission:
    if int(ctx.attr("storage_order", 0)):
        raise Unmappable("MaxPool with storage_order=1")
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
