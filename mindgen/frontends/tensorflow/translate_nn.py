"""Softmax, batch and layer normalization, pooling and local response normalization."""

from __future__ import annotations

import numpy as np

from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.context import SOURCE, NodeContext
from mindgen.frontends.tensorflow.padding import onnx_pads, spatial
from mindgen.frontends.tensorflow.registry import Untranslatable, translates


@translates("Softmax", "LogSoftmax")
def softmax(ctx: NodeContext) -> None:
    # TF normalises over the last axis, wherever that axis is held.
    name, perm = ctx.form(0)
    rank = ctx.require_rank(0)
    axis = rank - 1 if perm == SOURCE else layout.held_axis(perm, rank - 1)
    ctx.output(ctx.emit1(ctx.node.op, [name], axis=axis), perm)


def channels_layout(ctx: NodeContext, index: int = 0) -> tuple[str, object]:
    """Input `index` with its channel axis at position 1: NHWC inputs are held NCHW."""
    rank = ctx.require_rank(index)
    if ctx.data_format() == "channels_first" or rank <= 2:
        return ctx.value(index), SOURCE
    perm = layout.channels_first(rank)
    return ctx.value(index, perm), perm


@translates("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def fused_batch_norm(ctx: NodeContext) -> None:
    if ctx.attr("is_training", False):
        raise Untranslatable("FusedBatchNorm with is_training=True computes batch statistics")
    x, perm = channels_layout(ctx)
    params = [ctx.value(i) for i in range(1, 5)]
    y = ctx.emit1("BatchNormalization", [x, *params], epsilon=float(ctx.attr("epsilon", 1e-3)))
    ctx.output(y, perm)
    # Inference passes the moving statistics through as the batch statistics.
    for port, index in ((1, 3), (2, 4), (3, 3), (4, 4), (5, 3)):
        if ctx.uses(port):
            ctx.alias(index, port)


def _pool(ctx: NodeContext, onnx_op: str, ksize: list[int], strides: list[int]) -> None:
    rank = ctx.require_rank(0)
    channels_last = ctx.data_format() == "channels_last"
    if len(ksize) != rank or len(strides) != rank:
        raise Untranslatable(f"ksize {ksize} / strides {strides} do not match a rank-{rank} input")
    kernel, stride = spatial(ksize, channels_last), spatial(strides, channels_last)
    outer = [ksize[0], ksize[-1] if channels_last else ksize[1]]
    if outer != [1, 1]:
        raise Untranslatable("pooling over the batch or channel axis")
    x, perm = channels_layout(ctx)
    pads = onnx_pads(str(ctx.attr("padding", "VALID")), len(kernel))
    ctx.output(ctx.emit1(onnx_op, [x], kernel_shape=kernel, strides=stride, **pads), perm)


@translates("MaxPool", "MaxPool3D")
def max_pool(ctx: NodeContext) -> None:
    _pool(ctx, "MaxPool", list(ctx.attr("ksize", kind=list)), list(ctx.attr("strides", kind=list)))


@translates("MaxPoolV2")
def max_pool_v2(ctx: NodeContext) -> None:
    _pool(ctx, "MaxPool", ctx.const_ints(1, "ksize"), ctx.const_ints(2, "strides"))


@translates("AvgPool", "AvgPool3D")
def avg_pool(ctx: NodeContext) -> None:
    # TF's SAME average leaves the padding out of the count: ONNX's count_include_pad=0.
    _pool(ctx, "AveragePool", list(ctx.attr("ksize", kind=list)), list(ctx.attr("strides", kind=list)))


@translates("LRN")
def lrn(ctx: NodeContext) -> None:
    radius = int(ctx.attr("depth_radius", 5))
    size = 2 * radius + 1
    x, perm = ctx.value(0, layout.channels_first(4)), layout.channels_first(4)
    # ONNX divides alpha by the window size; TF does not.
    attrs = {
        "size": size,
        "alpha": float(ctx.attr("alpha", 1.0)) * size,
        "beta": float(ctx.attr("beta", 0.5)),
    }
    attrs["bias"] = float(ctx.attr("bias", 1.0))
    ctx.output(ctx.emit1("LRN", [x], **attrs), perm)


@translates("LayerNorm")
def layer_norm(ctx: NodeContext) -> None:
    """Keras LayerNormalization (made by fuse_layer_norm): ONNX LayerNormalization
    when the normalised axes are held last, else its arithmetic in the held layout."""
    rank = ctx.require_rank(0)
    axes = sorted(a % rank for a in ctx.attr("axes", kind=list))
    gamma, beta = ctx.const(1), ctx.const(2)
    shape = ctx.static_dims(0, axes)
    if gamma is None or beta is None or shape is None:
        raise Untranslatable("layer normalization with weights or sizes known only at run time")
    epsilon = float(ctx.attr("epsilon", 1e-3))
    name, perm = ctx.form(0)
    held = axes if perm == SOURCE else sorted(layout.held_axis(perm, a) for a in axes)
    if held == list(range(rank - len(axes), rank)) and (perm == SOURCE or len(axes) == 1):
        scale = ctx.add_const(gamma.reshape(shape), ctx.form(1)[0])
        bias = ctx.add_const(beta.reshape(shape), ctx.form(2)[0])
        out = ctx.emit1("LayerNormalization", [name, scale, bias], axis=held[0], epsilon=epsilon)
        ctx.output(out, perm)
        return
    # Normalising over the held channel axis: no layer does that, the arithmetic does.
    broadcast = [d if a in axes else 1 for a, d in enumerate(ctx.shape(0))]  # type: ignore[arg-type]
    order = perm or tuple(range(rank))
    scale = ctx.add_const(np.transpose(gamma.reshape(broadcast), order), ctx.form(1)[0])
    bias = ctx.add_const(np.transpose(beta.reshape(broadcast), order), ctx.form(2)[0])
    mean = ctx.emit1("ReduceMean", [name], axes=held, keepdims=1)
    centred = ctx.emit1("Sub", [name, mean])
    variance = ctx.emit1("ReduceMean", [ctx.emit1("Mul", [centred, centred])], axes=held, keepdims=1)
    eps = ctx.add_const(np.asarray(epsilon, dtype=gamma.dtype), f"{ctx.node.name}/epsilon")
    normalised = ctx.emit1("Div", [centred, ctx.emit1("Sqrt", [ctx.emit1("Add", [variance, eps])])])
    ctx.output(ctx.emit1("Add", [ctx.emit1("Mul", [normalised, scale]), bias]), perm)
