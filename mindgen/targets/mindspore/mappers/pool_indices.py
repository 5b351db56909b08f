"""MaxPool's Indices output and MaxUnpool: offsets into the whole NCHW tensor, as ONNX counts them."""

from __future__ import annotations

import math

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
from mindgen.targets.mindspore.mappers.conv_functional import torch_pads
from mindgen.targets.mindspore.mappers.pool_windows import ceil_size, pool_pads, static_sizes
from mindgen.targets.mindspore.registry import register


def _dim(source: Expr, shape, axis: int) -> Expr:
    """A dimension: static when known, else read from the tensor at run time."""
    size = shape[axis] if shape is not None else None
    return Const(size) if isinstance(size, int) else Index(Attribute(source, "shape"), str(axis))


def _plane_offsets(source: Expr, shape, plane: int) -> Expr:
    """(n * C + c) * plane as an (N, C, 1, ...) int64 tensor."""
    batch, channels = _dim(source, shape, 0), _dim(source, shape, 1)
    if isinstance(batch, Const) and isinstance(channels, Const):
        end: Expr = Const(batch.value * channels.value * plane)
    else:
        end = Infix("*", Infix("*", batch, channels), Const(plane))
    starts = call("ops.arange", 0, end, plane)
    return call("ops.reshape", starts, TupleExpr((Const(-1), channels, *[Const(1)] * (len(shape) - 2))))


def max_pool_with_indices(ctx: MappingContext) -> Emission:
    """MaxPool with Indices: ops.max_pool2d/3d(return_indices=True), whose per-plane indices are rebased."""
    kernel = ctx.ints("kernel_shape") or []
    spatial = len(kernel)
    if spatial not in (1, 2, 3):
        raise Unmappable("MaxPool with Indices needs a 1-, 2- or 3-D kernel_shape")
    sizes = static_sizes(ctx, "MaxPool's Indices output")
    shape = ctx.shape(0)
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    ceil_mode = bool(int(ctx.attr("ceil_mode", 0)))
    column_major = bool(int(ctx.attr("storage_order", 0)))
    if column_major and spatial != 2:
        raise Unmappable("MaxPool Indices in column-major order (storage_order=1) beyond 2-D")
    begins, ends = pool_pads(ctx, str(ctx.attr("auto_pad", "NOTSET")), kernel, strides, dilations)
    source: Expr = ctx.ref(0)
    shift = [0] * spatial
    if begins != ends or any(b > k // 2 for b, k in zip(begins, kernel, strict=True)):
        # Pad with -inf first; indices then count in the padded plane and are shifted back.
        for n, k, s, d, b, e in zip(sizes, kernel, strides, dilations, begins, ends, strict=True):
            if ceil_mode and ceil_size(n, (k - 1) * d + 1, s, b, e) != ceil_size(
                n + b + e, (k - 1) * d + 1, s, 0, 0
            ):
                raise Unmappable("ceil_mode with asymmetric pads where the last window starts in the padding")
        source = call("ops.pad", source, torch_pads(begins, ends), value=float("-inf"))
        shift, padded = begins, [n + b + e for n, b, e in zip(sizes, begins, ends, strict=True)]
        begins = [0] * spatial
    else:
        padded = sizes
    # 1-D runs as 2-D over a height of 1.
    lead = (1,) if spatial == 1 else ()
    options: dict[str, object] = {"padding": (*[0] * len(lead), *begins)} if any(begins) else {}
    if any(d != 1 for d in dilations):
        options["dilation"] = (*lead, *dilations)
    if ceil_mode:
        options["ceil_mode"] = True
    func = "ops.max_pool3d" if spatial == 3 else "ops.max_pool2d"
    if spatial == 1:
        source = call("ops.expand_dims", source, 2)
    pool = call(func, source, (*lead, *kernel), (*lead, *strides), **options, return_indices=True)
    values, found = Index(pool, "0"), Index(pool, "1")
    if spatial == 1:
        values, found = call("ops.squeeze", values, 2), call("ops.squeeze", found, 2)
    within = _within_plane(found, sizes, padded, shift, column_major)
    indices = Infix("+", within, _plane_offsets(ctx.ref(0), shape, math.prod(sizes)))
    return expression(TupleExpr((values, indices)), results=2)


def _within_plane(found: Expr, sizes, padded, shift, column_major: bool) -> Expr:
    """ONNX's offset within one (n, c) plane from MindSpore's index into the (padded) plane."""
    if not any(shift) and not column_major:
        return found
    coords = []
    stride = math.prod(padded)
    for size, begin in zip(padded, shift, strict=True):
        stride //= size
        coord: Expr = Infix("//", found, Const(stride)) if stride > 1 else found
        if size != math.prod(padded) // stride:
            coord = Infix("%", coord, Const(size))
        coords.append(Infix("-", coord, Const(begin)) if begin else coord)
    order = list(zip(coords, sizes, strict=True))
    if column_major:
        order.reverse()
    result, scale = None, 1
    for coord, size in reversed(order):
        term = coord if scale == 1 else Infix("*", coord, Const(scale))
        result = term if result is None else Infix("+", term, result)
        scale *= size
    return result


@register("MaxUnpool", since=9, target="ops.tensor_scatter_update into a zero tensor")
def map_max_unpool(ctx: MappingContext) -> Emission:
    """MaxUnpool: the values scattered to their flat NCHW indices in a zero tensor of the output shape."""
    shape = ctx.shape(0)
    kernel = ctx.ints("kernel_shape") or []
    if shape is None or len(shape) != len(kernel) + 2 or not all(isinstance(d, int) for d in shape):
        raise Unmappable("MaxUnpool needs an input shape known at conversion time")
    spatial = len(kernel)
    strides = ctx.ints("strides", [1] * spatial)
    pads = ctx.ints("pads", [0] * (2 * spatial))
    out_shape = tuple(shape[:2]) + tuple(
        (n - 1) * s - b - e + k
        for n, s, b, e, k in zip(shape[2:], strides, pads[:spatial], pads[spatial:], kernel, strict=True)
    )
    if ctx.has_input(2):
        declared = ctx.shape(0, output=True)
        given = tuple(ctx.const_ints(2, "output_shape")) if ctx.const(2) is not None else declared
        if given is None or not all(isinstance(d, int) for d in given):
            raise Unmappable("MaxUnpool's output_shape is computed at run time")
        if tuple(given) != out_shape:
            # onnxruntime (like PyTorch) counts the indices in the given shape; the ONNX reference
            # fills the inferred shape and pads it at the end.
            raise Unmappable("MaxUnpool with an output_shape other than the inferred one: runtimes disagree")
    # Overlapping windows can name one element twice, with the same value: update, never add.
    zeros = call("ops.zeros", (math.prod(out_shape),), Attribute(ctx.ref(0), "dtype"))
    flat_indices = call("ops.reshape", ctx.ref(1), (-1, 1))
    scattered = call("ops.tensor_scatter_update", zeros, flat_indices, call("ops.reshape", ctx.ref(0), (-1,)))
    return expression(call("ops.reshape", scattered, out_shape))
