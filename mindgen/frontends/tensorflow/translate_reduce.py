"""Reductions (Mean, Sum, Max, Min, Prod, All, Any) and ArgMax/ArgMin over held axes."""

from __future__ import annotations

from onnx import TensorProto

from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.context import SOURCE, NodeContext
from mindgen.frontends.tensorflow.registry import translates
from mindgen.frontends.tensorflow.tensors import onnx_type

_REDUCE = {
    "Mean": "ReduceMean",
    "Sum": "ReduceSum",
    "Max": "ReduceMax",
    "Min": "ReduceMin",
    "Prod": "ReduceProd",
}


def _axes(ctx: NodeContext, index: int, rank: int) -> list[int]:
    return sorted({a + rank if a < 0 else a for a in ctx.const_ints(index, "the reduction axes")})


def _reduce(onnx_op: str):
    def translate(ctx: NodeContext) -> None:
        rank = ctx.require_rank(0)
        axes = _axes(ctx, 1, rank)
        keep = bool(ctx.attr("keep_dims", False))
        name, perm = ctx.form(0)
        if not axes:
            ctx.alias(0)  # reducing over no axis changes nothing
            return
        held = axes if perm == SOURCE else sorted(layout.held_axis(perm, a) for a in axes)
        # Opset 17 takes ReduceSum's axes as an input and the others' as an attribute.
        if onnx_op == "ReduceSum":
            out = ctx.emit1(onnx_op, [name, ctx.int64(held)], keepdims=int(keep))
        else:
            out = ctx.emit1(onnx_op, [name], axes=held, keepdims=int(keep))
        ctx.output(out, perm if keep or perm == SOURCE else layout.after_removing(perm, axes))

    return translate


for _tf_op, _onnx_op in _REDUCE.items():
    translates(_tf_op)(_reduce(_onnx_op))


def _logical(onnx_op: str):
    # ONNX reductions take no booleans: reduce 0/1 integers and compare back.
    def translate(ctx: NodeContext) -> None:
        rank = ctx.require_rank(0)
        axes = _axes(ctx, 1, rank)
        keep = int(bool(ctx.attr("keep_dims", False)))
        as_int = ctx.emit1("Cast", [ctx.value(0)], to=TensorProto.INT32)
        reduced = ctx.emit1(onnx_op, [as_int], axes=axes, keepdims=keep)
        ctx.output(ctx.emit1("Cast", [reduced], to=TensorProto.BOOL))

    return translate


translates("All")(_logical("ReduceMin"))
translates("Any")(_logical("ReduceMax"))


def _arg(onnx_op: str):
    def translate(ctx: NodeContext) -> None:
        rank = ctx.require_rank(0)
        axis = ctx.const_ints(1, "the axis")[0]
        axis = axis + rank if axis < 0 else axis
        name, perm = ctx.form(0)
        held = axis if perm == SOURCE else layout.held_axis(perm, axis)
        out = ctx.emit1(onnx_op, [name], axis=held, keepdims=0)
        wanted = onnx_type(int(ctx.attr("output_type", 9)))
        if wanted != TensorProto.INT64:
            out = ctx.emit1("Cast", [out], to=wanted)
        ctx.output(out, SOURCE if perm == SOURCE else layout.after_removing(perm, [axis]))

    return translate


translates("ArgMax")(_arg("ArgMax"))
translates("ArgMin")(_arg("ArgMin"))
