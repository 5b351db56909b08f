"""DeformConv (2-D) as ops.deformable_conv2d, with ONNX's offsets and mask rearranged to its layout."""

from __future__ import annotations

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register


@register("DeformConv", since=19, target="ops.deformable_conv2d")
def map_deform_conv(ctx: MappingContext) -> Emission:
    """DeformConv: ONNX interleaves (dy, dx) per kernel tap; MindSpore wants all dx, all dy, then the mask."""
    w_shape = ctx.shape(1)
    if w_shape is None or len(w_shape) != 4 or not all(isinstance(d, int) for d in w_shape):
        raise Unmappable("DeformConv needs a 2-D kernel whose shape is known at conversion time")
    if ctx.dtype(0) not in (None, ir.DataType.FLOAT, ir.DataType.FLOAT16):
        raise Unmappable(f"DeformConv on {ctx.dtype(0).name} input: ops.deformable_conv2d has no such kernel")
    kernel = ctx.ints("kernel_shape") or list(w_shape[2:])
    taps = int(ctx.attr("offset_group", 1)) * kernel[0] * kernel[1]
    pads = ctx.ints("pads", [0, 0, 0, 0])
    strides = ctx.ints("strides", [1, 1])
    dilations = ctx.ints("dilations", [1, 1])
    offset = ctx.ref(2)
    pairs = call(
        "ops.reshape", offset, Infix("+", Const((-1, taps, 2)), Index(Attribute(offset, "shape"), "2:"))
    )
    dx, dy = Index(pairs, ":, :, 1"), Index(pairs, ":, :, 0")
    mask: Expr = ctx.ref(4) if ctx.has_input(4) else call("ops.ones_like", dx)
    offsets = call("ops.concat", TupleExpr((dx, dy, mask)), 1)
    options: dict[str, object] = {}
    if ctx.has_input(3):
        options["bias"] = ctx.ref(3)
    if dilations != [1, 1]:
        options["dilations"] = (1, 1, *dilations)
    group = int(ctx.attr("group", 1))
    if group != 1:
        options["groups"] = group
    if taps != kernel[0] * kernel[1]:
        options["deformable_groups"] = taps // (kernel[0] * kernel[1])
    return expression(
        call(
            "ops.deformable_conv2d",
            ctx.ref(0),
            ctx.ref(1),
            offsets,
            tuple(kernel),
            (1, 1, *strides),
            (pads[0], pads[2], pads[1], pads[3]),
            **options,
        )
    )
