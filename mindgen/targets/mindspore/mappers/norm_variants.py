"""Instance, group, local-response, Lp and mean-variance normalization."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Infix,
    Unmappable,
    bind,
    call,
    expression,
    layer,
)
from mindgen.targets.mindspore.registry import register


def _epsilon(ctx: MappingContext) -> float:
    """The epsilon attribute as the float32 value ONNX computes with."""
    return scalar_literal(np.float32(ctx.attr("epsilon", 1e-5)))


def _require_float32(ctx: MappingContext) -> None:
    if ctx.dtype(0) not in (None, ir.DataType.FLOAT):
        raise Unmappable(f"{ctx.node.op_type} on {ctx.dtype(0).name} input: only float32 is mapped")


def _group_norm(ctx: MappingContext, groups: int) -> Emission:
    """nn.GroupNorm holding constant scale and bias, else ops.group_norm with them as inputs."""
    _require_float32(ctx)
    shape = ctx.shape(0)
    if shape is None or len(shape) < 3:
        raise Unmappable(f"{ctx.node.op_type} needs an (N, C, ...) input")
    channels = shape[1]
    scale, bias = ctx.input(1), ctx.input(2)
    eps = _epsilon(ctx)
    if isinstance(channels, int) and scale.const_value is not None and bias.const_value is not None:
        weights = [bind("gamma", scale), bind("beta", bias)]
        kwargs = {"eps": eps} if eps != 1e-5 else {}
        return layer("norm", "nn.GroupNorm", (ctx.ref(0),), groups, channels, weights=weights, **kwargs)
    return expression(call("ops.group_norm", ctx.ref(0), groups, ctx.ref(1), ctx.ref(2), eps))


@register("InstanceNormalization", since=6, target="nn.GroupNorm(C, C), or ops.group_norm")
def map_instance_norm(ctx: MappingContext) -> Emission:
    """InstanceNormalization as group normalization with one channel per group (nn.InstanceNorm has no CPU kernel)."""
    shape = ctx.shape(0)
    channels = shape[1] if shape is not None and len(shape) > 1 else None
    if not isinstance(channels, int):
        raise Unmappable("InstanceNormalization needs the channel count at conversion time")
    return _group_norm(ctx, channels)


@register("GroupNormalization", since=21, target="nn.GroupNorm, or ops.group_norm")
def map_group_norm(ctx: MappingContext) -> Emission:
    """GroupNormalization-21 (scale and bias per channel; the per-group opset-18 form is deprecated)."""
    if int(ctx.attr("stash_type", 1)) != 1:
        raise Unmappable("GroupNormalization with stash_type other than float32")
    return _group_norm(ctx, int(ctx.attr("num_groups")))


@register("LRN", since=1, target="ops.lrn")
def map_lrn(ctx: MappingContext) -> Emission:
    """LRN as ops.lrn, whose alpha is ONNX's alpha / size and whose window is centred (odd sizes)."""
    size = int(ctx.attr("size"))
    if size % 2 == 0:
        raise Unmappable("LRN with an even size: its window is off-centre, ops.lrn's is symmetric")
    if ctx.rank(0) != 4:
        raise Unmappable("LRN of a tensor that is not 4-D")
    _require_float32(ctx)
    alpha = scalar_literal(np.float32(ctx.attr("alpha", 1e-4)) / np.float32(size))
    beta = scalar_literal(np.float32(ctx.attr("beta", 0.75)))
    bias = scalar_literal(np.float32(ctx.attr("bias", 1.0)))
    return expression(call("ops.lrn", ctx.ref(0), (size - 1) // 2, bias, alpha, beta))


@register("LpNormalization", since=1, target="x / ops.norm-like sums along an axis")
def map_lp_normalization(ctx: MappingContext) -> Emission:
    """LpNormalization: x divided by its L1 or L2 norm along `axis` (no epsilon, as ONNX)."""
    p, axis = int(ctx.attr("p", 2)), int(ctx.attr("axis", -1))
    x = ctx.ref(0)
    if p == 1:
        norm = call("ops.sum", call("ops.abs", x), axis, keepdim=True)
    elif p == 2:
        norm = call("ops.sqrt", call("ops.sum", call("ops.square", x), axis, keepdim=True))
    else:
        raise Unmappable(f"LpNormalization with p={p}; ONNX defines only 1 and 2")
    return expression(Infix("/", x, norm))


@register("MeanVarianceNormalization", since=9, target="ops.mean arithmetic, as the ONNX function body")
def map_mean_variance_normalization(ctx: MappingContext) -> Emission:
    """(x - E[x]) / (sqrt(E[x**2] - E[x]**2) + 1e-9) over `axes`, term by term as ONNX defines it."""
    _require_float32(ctx)
    axes = tuple(ctx.ints("axes", [0, 2, 3]))
    x = ctx.ref(0)
    mean = call("ops.mean", x, axes, keep_dims=True)
    variance = Infix(
        "-", call("ops.mean", call("ops.square", x), axes, keep_dims=True), call("ops.square", mean)
    )
    deviation = Infix("+", call("ops.sqrt", variance), Const(1e-9))
    return expression(Infix("/", Infix("-", x, mean), deviation))
