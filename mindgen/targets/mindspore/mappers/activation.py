"""Activation functions, Softmax and friends."""

from __future__ import annotations

import math

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Infix,
    Raw,
    TupleExpr,
    Unmappable,
    call,
    expression,
    layer,
)
from mindgen.targets.mindspore.registry import register

_FLOAT_TYPES = {ir.DataType.FLOAT, ir.DataType.FLOAT16, ir.DataType.DOUBLE}

# Activations whose ONNX and MindSpore definitions agree and take no attributes.
PLAIN_ACTIVATIONS = {
    "Relu": "ops.relu",
    "Sigmoid": "ops.sigmoid",
    "Tanh": "ops.tanh",
    "HardSwish": "ops.hardswish",
    "Softsign": "ops.softsign",
    "Mish": "ops.mish",
    "Softplus": "ops.softplus",
}


def _plain(func: str):
    def map_activation(ctx: MappingContext) -> Emission:
        return expression(call(func, ctx.ref(0)))

    map_activation.__name__ = f"map_{func.rsplit('.', 1)[-1]}"
    return map_activation


for _op, _func in PLAIN_ACTIVATIONS.items():
    register(_op, since=1, target=_func)(_plain(_func))


@register("LeakyRelu", since=6, target="ops.leaky_relu")
def map_leaky_relu(ctx: MappingContext) -> Emission:
    alpha = scalar_literal(float(ctx.attr("alpha", 0.01)))
    return expression(call("ops.leaky_relu", ctx.ref(0), alpha))


@register("HardSigmoid", since=6, target="ops.hardsigmoid, or clamp(alpha*x+beta)")
def map_hard_sigmoid(ctx: MappingContext) -> Emission:
    alpha = scalar_literal(float(ctx.attr("alpha", 0.2)))
    beta = scalar_literal(float(ctx.attr("beta", 0.5)))
    if math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5:
        return expression(call("ops.hardsigmoid", ctx.ref(0)))
    scaled = Infix("+", Infix("*", ctx.ref(0), Const(alpha)), Const(beta))
    return expression(call("ops.clamp", scaled, 0.0, 1.0))


@register("Clip", since=11, target="ops.relu6 / ops.relu / ops.clamp")
def map_clip(ctx: MappingContext) -> Emission:
    low, high = ctx.const(1), ctx.const(2)
    dynamic = (ctx.has_input(1) and low is None) or (ctx.has_input(2) and high is None)
    if dynamic:
        low_expr = ctx.ref(1) if ctx.has_input(1) else None
        high_expr = ctx.ref(2) if ctx.has_input(2) else None
        return expression(call("ops.clamp", ctx.ref(0), low_expr, high_expr))
    return _clip(ctx, None if low is None else low.item(), None if high is None else high.item())


@register("Clip", since=6, target="ops.relu6 / ops.relu / ops.clamp")
def map_clip_attributes(ctx: MappingContext) -> Emission:
    return _clip(ctx, ctx.attr("min"), ctx.attr("max"))


def _clip(ctx: MappingContext, low: object, high: object) -> Emission:
    low = None if low is None else scalar_literal(low)
    high = None if high is None else scalar_literal(high)
    if low is None and high is None:
        return expression(ctx.ref(0))
    # ops.relu6 only takes float tensors.
    if low == 0 and high == 6 and ctx.dtype(0) in _FLOAT_TYPES:
        return expression(call("ops.relu6", ctx.ref(0)))
    if low == 0 and high is None:
        return expression(call("ops.relu", ctx.ref(0)))
    return expression(call("ops.clamp", ctx.ref(0), low, high))


@register("Softmax", since=13, target="ops.softmax")
def map_softmax(ctx: MappingContext) -> Emission:
    return expression(call("ops.softmax", ctx.ref(0), int(ctx.attr("axis", -1))))


@register("LogSoftmax", since=13, target="ops.log_softmax")
def map_log_softmax(ctx: MappingContext) -> Emission:
    return expression(call("ops.log_softmax", ctx.ref(0), int(ctx.attr("axis", -1))))


def _flattened_softmax(ctx: MappingContext, func: str) -> Emission:
    """Opset < 13: the input is seen as 2-D, flattened from `axis`, and normalised per row."""
    rank = ctx.require_rank(0)
    axis = int(ctx.attr("axis", 1))
    axis = axis + rank if axis < 0 else axis
    if axis == rank - 1:
        return expression(call(func, ctx.ref(0), -1))
    shape = ctx.shape(0)
    inner = shape[axis:]
    if not all(isinstance(d, int) for d in inner):
        raise Unmappable(
            "Softmax before opset 13 flattens from `axis`; the trailing dimensions must be static"
        )
    size = math.prod(inner)  # type: ignore[arg-type]
    rows = call("ops.reshape", ctx.ref(0), (-1, size))
    restored = call(
        "ops.reshape", call(func, rows, -1), tuple(d if isinstance(d, int) else -1 for d in shape)
    )
    if sum(not isinstance(d, int) for d in shape) > 1:
        raise Unmappable("Softmax before opset 13 on an input with several unknown dimensions")
    return expression(restored)


@register("Softmax", since=1, target="ops.softmax over the flattened trailing axes")
def map_softmax_flattened(ctx: MappingContext) -> Emission:
    return _flattened_softmax(ctx, "ops.softmax")


@register("LogSoftmax", since=1, target="ops.log_softmax over the flattened trailing axes")
def map_log_softmax_flattened(ctx: MappingContext) -> Emission:
    return _flattened_softmax(ctx, "ops.log_softmax")


@register("Dropout", since=12, target="nn.Dropout")
def map_dropout(ctx: MappingContext) -> Emission:
    training = ctx.const(2)
    if ctx.has_input(2) and (training is None or bool(training.item())):
        raise Unmappable("Dropout in training mode is random; only inference Dropout is mapped")
    ratio = ctx.const(1)
    if ctx.has_input(1) and ratio is None:
        raise Unmappable("the Dropout ratio is computed at run time")
    return _dropout(ctx, 0.5 if ratio is None else scalar_literal(np.float32(ratio.item())))


@register("Dropout", since=7, target="nn.Dropout")
def map_dropout_attribute(ctx: MappingContext) -> Emission:
    return _dropout(ctx, scalar_literal(float(ctx.attr("ratio", 0.5))))


def _dropout(ctx: MappingContext, p: float) -> Emission:
    """nn.Dropout keeps the ratio for fine-tuning and is the identity in inference."""
    x = ctx.ref(0)
    mask = ctx.output(1) if len(ctx.node.outputs) > 1 else None
    if mask is None or not (mask.uses() or mask.is_graph_output()):
        return layer("dropout", "nn.Dropout", (x,), p=p)
    # In inference Dropout keeps every element, so its mask is all True.
    keep_all = call("ops.ones_like", x, dtype=Raw("ms.bool_"))
    return layer("dropout", "nn.Dropout", (x,), p=p, wrap=lambda out: TupleExpr((out, keep_all)), results=2)
