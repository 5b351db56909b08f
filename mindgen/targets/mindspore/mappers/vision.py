"""Sampling grids and regions: GridSample, AffineGrid, RoiAlign, Col2Im."""

from __future__ import annotations

import numpy as np

from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Expr,
    Infix,
    Raw,
    TupleExpr,
    Unmappable,
    call,
    expression,
    layer,
)
from mindgen.targets.mindspore.registry import register

_GRID_MODES = {"bilinear": "bilinear", "linear": "bilinear", "nearest": "nearest"}


@register("GridSample", since=16, target="ops.grid_sample")
def map_grid_sample(ctx: MappingContext) -> Emission:
    """GridSample as ops.grid_sample (4-D and 5-D; MindSpore has no bicubic sampling)."""
    mode = str(ctx.attr("mode", "linear" if ctx.opset >= 20 else "bilinear"))
    if mode not in _GRID_MODES:
        raise Unmappable(f"GridSample mode={mode}: ops.grid_sample samples only bilinearly or nearest")
    if ctx.rank(0) not in (None, 4, 5):
        raise Unmappable("GridSample beyond 2-D and 3-D sampling")
    padding = str(ctx.attr("padding_mode", "zeros"))
    align = bool(int(ctx.attr("align_corners", 0)))
    grid: Expr = ctx.ref(1)
    if mode == "nearest":
        grid, padding, align = _nearest_grid(ctx, padding, align), "zeros", False
    options = {"padding_mode": padding} if padding != "zeros" else {}
    return expression(
        call("ops.grid_sample", ctx.ref(0), grid, mode=_GRID_MODES[mode], **options, align_corners=align)
    )


def _nearest_grid(ctx: MappingContext, padding: str, align: bool) -> Expr:
    """The grid moved onto the pixel ONNX picks: ops.grid_sample rounds ties up, ONNX to even.

    ONNX rounds the pixel coordinate first, then clamps or reflects it into the image.
    """
    shape = ctx.shape(0)
    sizes = list(reversed(shape[2:])) if shape else []  # grid components run x (width) first
    if not sizes or not all(isinstance(d, int) for d in sizes):
        raise Unmappable("nearest GridSample needs static spatial sizes")

    def per_axis(values) -> Expr:
        return call("ms.Tensor", tuple(float(v) for v in values), Raw("ms.float32"))

    one = Const(1)
    extent = per_axis(sizes)
    if align:
        position = Infix(
            "*", Infix("/", Infix("+", ctx.ref(1), one), Const(2)), per_axis(n - 1 for n in sizes)
        )
        low, high = [0.0] * len(sizes), [n - 1.0 for n in sizes]
    else:
        position = Infix("/", Infix("-", Infix("*", Infix("+", ctx.ref(1), one), extent), one), Const(2))
        low, high = [-0.5] * len(sizes), [n - 0.5 for n in sizes]
    pixel: Expr = call("ops.round", position)
    if padding == "border":
        pixel = call("ops.clamp", pixel, per_axis(0 for _ in sizes), per_axis(n - 1 for n in sizes))
    elif padding == "reflection":
        # Folding into [low, high]: low + (L - |((x - low) mod 2L) - L|) with L = high - low.
        span = per_axis(h - lo for h, lo in zip(high, low, strict=True))
        folded = call("ops.remainder", Infix("-", pixel, Const(low[0])), Infix("*", span, Const(2)))
        pixel = Infix("+", Const(low[0]), Infix("-", span, call("ops.abs", Infix("-", folded, span))))
    elif padding != "zeros":
        raise Unmappable(f"GridSample padding_mode={padding}")
    # Back to the (align_corners=False) normalized position of the chosen pixel's centre.
    return Infix("-", Infix("/", Infix("+", Infix("*", pixel, Const(2)), one), extent), one)


@register("AffineGrid", since=20, target="ops.affine_grid")
def map_affine_grid(ctx: MappingContext) -> Emission:
    """AffineGrid as ops.affine_grid, whose size must be known at conversion time."""
    size = ctx.const(1)
    if size is not None:
        sizes = tuple(int(v) for v in size.reshape(-1))
    else:
        # A size fed at run time fixes the output shape, which the graph may declare.
        out = ctx.shape(0, output=True)
        if out is None or not all(isinstance(d, int) for d in out):
            raise Unmappable("AffineGrid's size is computed at run time")
        sizes = (out[0], 1, *out[1:-1])
    align = bool(int(ctx.attr("align_corners", 0)))
    return expression(call("ops.affine_grid", ctx.ref(0), sizes, align_corners=align))


@register("RoiAlign", since=10, target="ops.ROIAlign")
def map_roi_align(ctx: MappingContext) -> Emission:
    """RoiAlign (average mode) as ops.ROIAlign on [batch index, x1, y1, x2, y2] rows."""
    if str(ctx.attr("mode", "avg")) != "avg":
        raise Unmappable("RoiAlign mode=max: ops.ROIAlign only averages")
    default = "half_pixel" if ctx.opset >= 16 else "output_half_pixel"
    transform = str(ctx.attr("coordinate_transformation_mode", default))
    sampling = int(ctx.attr("sampling_ratio", 0))
    if sampling <= 0:
        raise Unmappable(
            "RoiAlign adaptive sampling (sampling_ratio=0): ops.ROIAlign returns NaN for it on CPU"
        )
    scale = scalar_literal(np.float32(ctx.attr("spatial_scale", 1.0)))
    rois: Expr = ctx.ref(1)
    if transform == "half_pixel":
        # ops.ROIAlign computes as output_half_pixel; half_pixel shifts boxes by half an input pixel.
        rois = Infix("-", rois, Const(scalar_literal(np.float32(0.5 / scale))))
    elif transform != "output_half_pixel":
        raise Unmappable(f"RoiAlign coordinate_transformation_mode={transform}")
    index = call("ops.cast", call("ops.expand_dims", ctx.ref(2), 1), Raw("ms.float32"))
    boxes = call("ops.concat", TupleExpr((index, rois)), 1)
    return layer(
        "roi_align",
        "ops.ROIAlign",
        (ctx.ref(0), boxes),
        int(ctx.attr("output_height", 1)),
        int(ctx.attr("output_width", 1)),
        scale,
        sampling,
        roi_end_mode=0,
    )


@register("Col2Im", since=18, target="ops.fold")
def map_col2im(ctx: MappingContext) -> Emission:
    """Col2Im over two spatial axes as ops.fold; the block shape must be constant."""
    block = ctx.const(2)
    if block is None:
        raise Unmappable("Col2Im's block_shape is computed at run time; ops.fold needs its kernel size")
    kernel = tuple(int(v) for v in block.reshape(-1))
    if len(kernel) != 2:
        raise Unmappable(f"Col2Im over {len(kernel)} spatial axes: ops.fold folds two")
    pads = ctx.ints("pads", [0, 0, 0, 0])
    if pads[:2] != pads[2:]:
        raise Unmappable("Col2Im with asymmetric pads: ops.fold pads symmetrically")
    image = ctx.const(1)
    size: Expr = (
        call("ms.Tensor", tuple(int(v) for v in image.reshape(-1)), Raw("ms.int32"))
        if image is not None
        else call("ops.cast", ctx.ref(1), Raw("ms.int32"))
    )
    options: dict[str, object] = {"padding": tuple(pads[:2])} if any(pads) else {}
    for name, values in (
        ("dilation", ctx.ints("dilations", [1, 1])),
        ("stride", ctx.ints("strides", [1, 1])),
    ):
        if values != [1, 1]:
            options[name] = tuple(values)
    return expression(call("ops.fold", ctx.ref(0), size, kernel, **options))
