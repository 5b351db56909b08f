"""Image resizing: ResizeBilinear and ResizeNearestNeighbor as ONNX Resize, held NCHW."""

from __future__ import annotations

from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.context import NodeContext
from mindgen.frontends.tensorflow.registry import Untranslatable, translates


def _sizes(ctx: NodeContext, x: str, out_hw: list[int]) -> str:
    """Resize's full output sizes (N, C, H, W): constants when N and C are known."""
    batch_channels = ctx.static_dims(0, [0, 3])
    if batch_channels is not None:
        return ctx.int64([*batch_channels, *out_hw])
    leading = ctx.emit1("Slice", [ctx.emit1("Shape", [x]), ctx.int64([0]), ctx.int64([2])])
    return ctx.emit1("Concat", [leading, ctx.int64(out_hw)], axis=0)


def _repeat(ctx: NodeContext, x: str, in_hw: list[int], factors: list[int]) -> str:
    """Nearest upsampling by whole factors as reshape-broadcast-reshape: exactly the same
    values (every pixel repeated), from operators every target maps."""
    (h, w), (fh, fw) = in_hw, factors
    spread = ctx.emit1("Reshape", [x, ctx.int64([0, 0, h, 1, w, 1])])
    tiled = ctx.emit1("Expand", [spread, ctx.int64([1, 1, 1, fh, 1, fw])])
    return ctx.emit1("Reshape", [tiled, ctx.int64([0, 0, h * fh, w * fw])])


def _resize(ctx: NodeContext, mode: str) -> None:
    if ctx.require_rank(0) != 4:
        raise Untranslatable("resizing needs a 4-D NHWC input")
    out_hw = ctx.const_ints(1, "the output size")
    align = bool(ctx.attr("align_corners", False))
    half_pixel = bool(ctx.attr("half_pixel_centers", False))
    perm = layout.channels_first(4)
    x = ctx.value(0, perm)
    in_hw = ctx.static_dims(0, [1, 2])
    if (
        mode == "nearest"
        and not align
        and in_hw
        and all(o % i == 0 for o, i in zip(out_hw, in_hw, strict=True))
    ):
        # Half-pixel or not, nearest upsampling by a whole factor repeats each pixel.
        ctx.output(_repeat(ctx, x, in_hw, [o // i for o, i in zip(out_hw, in_hw, strict=True)]), perm)
        return
    if align:
        transform = "align_corners"
    elif half_pixel:
        transform = "half_pixel" if mode == "linear" else "tf_half_pixel_for_nn"
    else:
        transform = "asymmetric"
    attrs: dict[str, object] = {"mode": mode, "coordinate_transformation_mode": transform}
    if mode == "nearest":
        # TF rounds half away from zero with align_corners, and floors otherwise.
        attrs["nearest_mode"] = "round_prefer_ceil" if align else "floor"
    out = ctx.emit1("Resize", [x, "", "", _sizes(ctx, x, out_hw)], **attrs)
    ctx.output(out, perm)


@translates("ResizeBilinear")
def resize_bilinear(ctx: NodeContext) -> None:
    _resize(ctx, "linear")


@translates("ResizeNearestNeighbor")
def resize_nearest(ctx: NodeContext) -> None:
    _resize(ctx, "nearest")
