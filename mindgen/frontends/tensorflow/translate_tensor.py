"""Shapes, fills, ranges, gathers and the other tensor-building ops."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, numpy_helper

from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.context import SOURCE, NodeContext
from mindgen.frontends.tensorflow.registry import Untranslatable, translates
from mindgen.frontends.tensorflow.tensors import numpy_dtype, onnx_type


def _int_result(ctx: NodeContext, out: str, attr: str = "out_type") -> str:
    """Shape-like results are int64 in ONNX; TF asks for int32 by default."""
    wanted = onnx_type(int(ctx.attr(attr, 3)))
    return out if wanted == TensorProto.INT64 else ctx.emit1("Cast", [out], to=wanted)


def _shape(ctx: NodeContext, index: int) -> str:
    shape = ctx.shape(index)
    dtype = numpy_dtype(int(ctx.attr("out_type", 3)))
    if shape is not None and all(isinstance(d, int) for d in shape):
        return ctx.add_const(np.asarray(shape, dtype=dtype), f"{ctx.node.name}/shape")
    name, perm = ctx.form(index)
    out = ctx.emit1("Shape", [name])
    if perm != SOURCE:
        # Read the held shape back in TF's axis order instead of transposing the tensor.
        out = ctx.emit1("Gather", [out, ctx.int64(layout.inverse(perm))], axis=0)
    return _int_result(ctx, out)


@translates("Shape")
def shape(ctx: NodeContext) -> None:
    ctx.output(_shape(ctx, 0))


@translates("ShapeN")
def shape_n(ctx: NodeContext) -> None:
    for port in range(ctx.n_inputs):
        ctx.output(_shape(ctx, port), port=port)


@translates("Size")
def size(ctx: NodeContext) -> None:
    ctx.output(_int_result(ctx, ctx.emit1("Size", [ctx.form(0)[0]])))


@translates("Rank")
def rank(ctx: NodeContext) -> None:
    ctx.output(ctx.add_const(np.asarray(ctx.require_rank(0), dtype=np.int32)))


@translates("Fill")
def fill(ctx: NodeContext) -> None:
    dims = ctx.emit1("Cast", [ctx.value(0)], to=TensorProto.INT64)
    value = ctx.const(1)
    if value is not None:
        tensor = numpy_helper.from_array(np.asarray(value).reshape(1))
        ctx.output(ctx.emit1("ConstantOfShape", [dims], value=tensor))
        return
    ctx.output(ctx.emit1("Expand", [ctx.value(1), dims]))


@translates("ZerosLike", "OnesLike")
def zeros_like(ctx: NodeContext) -> None:
    name, perm = ctx.form(0)
    dtype = numpy_dtype(int(ctx.attr("T", 1))) or np.dtype(np.float32)
    fill_value = np.full((1,), 0 if ctx.node.op == "ZerosLike" else 1, dtype=dtype)
    out = ctx.emit1(
        "ConstantOfShape", [ctx.emit1("Shape", [name])], value=numpy_helper.from_array(fill_value)
    )
    ctx.output(out, perm)


@translates("Range")
def range_(ctx: NodeContext) -> None:
    ctx.output(ctx.emit1("Range", [ctx.value(0), ctx.value(1), ctx.value(2)]))


@translates("GatherV2", "Gather")
def gather(ctx: NodeContext) -> None:
    if int(ctx.attr("batch_dims", 0)):
        raise Untranslatable("GatherV2 with batch_dims")
    axis = ctx.const_ints(2, "the axis")[0] if ctx.node.op == "GatherV2" else 0
    rank = ctx.rank(0)
    if axis < 0:
        if rank is None:
            raise Untranslatable("a negative gather axis on an input of unknown rank")
        axis += rank
    name, perm = ctx.form(0)
    if perm != SOURCE and ctx.rank(1) == 0:
        out = ctx.emit1("Gather", [name, ctx.value(1)], axis=layout.held_axis(perm, axis))
        ctx.output(out, layout.after_removing(perm, [axis]))
        return
    ctx.output(ctx.emit1("Gather", [ctx.value(0), ctx.value(1)], axis=axis))


@translates("GatherNd")
def gather_nd(ctx: NodeContext) -> None:
    indices = ctx.emit1("Cast", [ctx.value(1)], to=TensorProto.INT64)
    ctx.output(ctx.emit1("GatherND", [ctx.value(0), indices]))


@translates("BroadcastTo")
def broadcast_to(ctx: NodeContext) -> None:
    target = ctx.emit1("Cast", [ctx.value(1)], to=TensorProto.INT64)
    ctx.output(ctx.emit1("Expand", [ctx.value(0), target]))


@translates("OneHot")
def one_hot(ctx: NodeContext) -> None:
    values = ctx.emit1(
        "Concat", [ctx.emit1("Unsqueeze", [ctx.value(i), ctx.int64([0])]) for i in (3, 2)], axis=0
    )
    axis = int(ctx.attr("axis", -1))
    ctx.output(ctx.emit1("OneHot", [ctx.value(0), ctx.value(1), values], axis=axis))


@translates("Cumsum")
def cumsum(ctx: NodeContext) -> None:
    attrs = {
        "exclusive": int(bool(ctx.attr("exclusive", False))),
        "reverse": int(bool(ctx.attr("reverse", False))),
    }
    ctx.output(ctx.emit1("CumSum", [ctx.value(0), ctx.value(1)], **attrs))


@translates("TopKV2")
def top_k(ctx: NodeContext) -> None:
    k = ctx.emit1("Reshape", [ctx.emit1("Cast", [ctx.value(1)], to=TensorProto.INT64), ctx.int64([1])])
    values, indices = ctx.emit("TopK", [ctx.value(0), k], 2, axis=-1, largest=1, sorted=1)
    ctx.output(values, port=0)
    ctx.output(ctx.emit1("Cast", [indices], to=TensorProto.INT32), port=1)


@translates("Einsum")
def einsum(ctx: NodeContext) -> None:
    equation = str(ctx.attr("equation", ""))
    ctx.output(ctx.emit1("Einsum", [ctx.value(i) for i in range(ctx.n_inputs)], equation=equation))


@translates("ReverseV2")
def reverse(ctx: NodeContext) -> None:
    rank = ctx.require_rank(0)
    axes = sorted({a + rank if a < 0 else a for a in ctx.const_ints(1, "the axes")})
    if not axes:
        ctx.alias(0)
        return
    big = np.iinfo(np.int64).max
    inputs = [ctx.value(0), ctx.int64([-1] * len(axes)), ctx.int64([-big] * len(axes)), ctx.int64(axes)]
    ctx.output(ctx.emit1("Slice", [*inputs, ctx.int64([-1] * len(axes))]))


@translates("Where")
def where(ctx: NodeContext) -> None:
    if ctx.n_inputs != 1:
        raise Untranslatable("Where with three inputs is Select")
    # TF lists the coordinates row by row; ONNX NonZero column by column.
    ctx.output(ctx.emit1("Transpose", [ctx.emit1("NonZero", [ctx.value(0)])], perm=[1, 0]))


def _depth_space(onnx_op: str):
    def translate(ctx: NodeContext) -> None:
        if ctx.data_format() != "channels_last":
            raise Untranslatable(f"{ctx.node.op} with data_format {ctx.attr('data_format')}")
        perm = layout.channels_first(4)
        # TF's NHWC block order is ONNX's DCR mode once held NCHW.
        attrs = {"blocksize": int(ctx.attr("block_size", kind=int))}
        if onnx_op == "DepthToSpace":
            attrs["mode"] = "DCR"
        ctx.output(ctx.emit1(onnx_op, [ctx.value(0, perm)], **attrs), perm)

    return translate


translates("DepthToSpace")(_depth_space("DepthToSpace"))
translates("SpaceToDepth")(_depth_space("SpaceToDepth"))
