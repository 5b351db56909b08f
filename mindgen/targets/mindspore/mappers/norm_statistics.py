"""Batch and layer normalization written out with ops: run-time parameters, batch statistics, Mean/InvStdDev."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Expr,
    Infix,
    TupleExpr,
    Unmappable,
    call,
    expression,
)


def _float(ctx: MappingContext, name: str, default: float) -> Const:
    return Const(scalar_literal(np.float32(ctx.attr(name, default))))


def _check_type(ctx: MappingContext) -> None:
    if ctx.dtype(0) not in (None, ir.DataType.FLOAT, ir.DataType.DOUBLE):
        raise Unmappable(f"{ctx.node.op_type} on {ctx.dtype(0).name} written out with ops: float32/64 only")


def _used(ctx: MappingContext, index: int) -> bool:
    outputs = ctx.node.outputs
    return index < len(outputs) and bool(outputs[index].uses() or outputs[index].is_graph_output())


def batch_norm_with_ops(ctx: MappingContext) -> Emission:
    """BatchNormalization as arithmetic: inference with given statistics, or training with the batch's."""
    _check_type(ctx)
    rank = ctx.require_rank(0)
    if rank < 2:
        raise Unmappable(f"BatchNormalization of a rank-{rank} input")
    x = ctx.ref(0)
    per_channel = (-1,) + (1,) * (rank - 2)

    def channel(index: int) -> Expr:
        return call("ops.reshape", ctx.ref(index), per_channel)

    eps = _float(ctx, "epsilon", 1e-5)
    training = bool(int(ctx.attr("training_mode", 0))) or _used(ctx, 1) or _used(ctx, 2)
    if not training:
        centred = Infix("-", x, channel(3))
        scaled = Infix("/", Infix("*", channel(1), centred), call("ops.sqrt", Infix("+", channel(4), eps)))
        return expression(Infix("+", scaled, channel(2)))
    # Training: normalize with the batch's mean and (biased) variance, and blend them into the
    # running statistics: new = running * momentum + batch * (1 - momentum).
    axes = (0, *range(2, rank))
    mean = call("ops.mean", x, axes, keep_dims=True)
    variance = call("ops.mean", call("ops.square", Infix("-", x, mean)), axes, keep_dims=True)
    centred = Infix("-", x, mean)
    y = Infix(
        "+",
        Infix("/", Infix("*", channel(1), centred), call("ops.sqrt", Infix("+", variance, eps))),
        channel(2),
    )
    momentum = float(np.float32(ctx.attr("momentum", 0.9)))
    keep, blend = Const(scalar_literal(np.float32(momentum))), Const(scalar_literal(np.float32(1 - momentum)))

    def running(index: int, batch: Expr) -> Expr:
        return Infix(
            "+", Infix("*", ctx.ref(index), keep), Infix("*", call("ops.reshape", batch, (-1,)), blend)
        )

    return expression(TupleExpr((y, running(3, mean), running(4, variance))), results=3)


def layer_norm_with_ops(ctx: MappingContext) -> Emission:
    """LayerNormalization as arithmetic, with its Mean and InvStdDev outputs (reduced axes kept as 1)."""
    _check_type(ctx)
    if int(ctx.attr("stash_type", 1)) != 1:
        raise Unmappable("LayerNormalization with stash_type other than float32")
    rank = ctx.require_rank(0)
    axis = int(ctx.attr("axis", -1))
    axes = tuple(range(axis + rank if axis < 0 else axis, rank))
    x = ctx.ref(0)
    mean = call("ops.mean", x, axes, keep_dims=True)
    centred = Infix("-", x, mean)
    variance = call("ops.mean", call("ops.square", centred), axes, keep_dims=True)
    inverse = Infix("/", Const(1.0), call("ops.sqrt", Infix("+", variance, _float(ctx, "epsilon", 1e-5))))
    y: Expr = Infix("*", Infix("*", centred, inverse), ctx.ref(1))
    if ctx.has_input(2):
        y = Infix("+", y, ctx.ref(2))
    if not (_used(ctx, 1) or _used(ctx, 2)):
        return expression(y)
    return expression(TupleExpr((y, mean, inverse)), results=3)
