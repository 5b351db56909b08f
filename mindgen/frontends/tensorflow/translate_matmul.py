"""MatMul and batched MatMul, with TF's transpose/adjoint flags folded into the operands."""

from __future__ import annotations

import numpy as np

from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.context import NodeContext
from mindgen.frontends.tensorflow.registry import Untranslatable, translates


def _operand(ctx: NodeContext, index: int, swap: bool) -> str:
    """Input `index`, with its last two axes swapped when asked (constants once, at conversion)."""
    if not swap:
        return ctx.value(index)
    array = ctx.const(index)
    if array is not None:
        return ctx.add_const(np.ascontiguousarray(np.swapaxes(array, -1, -2)), ctx.form(index)[0])
    rank = ctx.require_rank(index)
    perm = [*range(rank - 2), rank - 1, rank - 2]
    return ctx.emit1("Transpose", [ctx.value(index)], perm=perm)


@translates("MatMul")
def matmul(ctx: NodeContext) -> None:
    a = _operand(ctx, 0, bool(ctx.attr("transpose_a", False)))
    b = _operand(ctx, 1, bool(ctx.attr("transpose_b", False)))
    ctx.output(ctx.emit1("MatMul", [a, b]))


@translates("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def batch_matmul(ctx: NodeContext) -> None:
    a = _operand(ctx, 0, bool(ctx.attr("adj_x", False)))
    b = _operand(ctx, 1, bool(ctx.attr("adj_y", False)))
    ctx.output(ctx.emit1("MatMul", [a, b]))


@translates("TensordotLastAxis")
def tensordot_last_axis(ctx: NodeContext) -> None:
    """x @ kernel over x's last axis (Keras Dense on N-D input; made by fuse_tensordot)."""
    kernel = ctx.const(1)
    if kernel is None:
        raise Untranslatable("the kernel is computed at run time")
    rank = ctx.require_rank(0)
    name, perm = ctx.form(0)
    if rank in (3, 4, 5) and perm == layout.channels_first(rank):
        # Held channels-first, a dense layer over channels is a 1x1 convolution.
        weight = np.ascontiguousarray(kernel.T.reshape(kernel.shape[1], kernel.shape[0], *[1] * (rank - 2)))
        conv = ctx.emit1("Conv", [name, ctx.add_const(weight, ctx.form(1)[0])], kernel_shape=[1] * (rank - 2))
        ctx.output(conv, perm)
        return
    ctx.output(ctx.emit1("MatMul", [ctx.value(0), ctx.value(1)]))
