"""Resize's roi, scales and sizes inputs as per-axis sizes and scales (numbers or run-time expressions)."""

from __future__ import annotations

import math

import numpy as np

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Expr, Index, Infix, Raw, Unmappable, call
from mindgen.targets.mindspore.mappers.resize_axis import AxisResize, Method

_ROI, _SCALES, _SIZES = 1, 2, 3


def _given(ctx: MappingContext, index: int) -> bool:
    """Whether an optional input is present and not an empty tensor."""
    if not ctx.has_input(index):
        return False
    array = ctx.const(index)
    if array is not None:
        return array.size > 0
    shape = ctx.shape(index)
    return shape is None or shape != (0,)


def _element(ctx: MappingContext, index: int, position: int) -> Expr:
    """One element of a run-time input, as float64."""
    return Index(call("ops.cast", ctx.ref(index), Raw("ms.float64")), str(position))


def resized_axes(ctx: MappingContext, method: Method) -> list[AxisResize]:
    """The axes Resize changes, with their sizes, scale and roi span; identities are left out."""
    shape = ctx.shape(0)
    if shape is None:
        raise Unmappable("the Resize input rank is unknown at conversion time")
    rank = len(shape)
    axes = [a + rank if a < 0 else a for a in ctx.ints("axes", list(range(rank)))]
    out_shape = ctx.shape(0, output=True)
    policy = str(ctx.attr("keep_aspect_ratio_policy", "stretch"))
    by_sizes = _given(ctx, _SIZES)
    if not by_sizes and not _given(ctx, _SCALES):
        raise Unmappable("Resize without scales or sizes")
    sizes = ctx.const(_SIZES) if by_sizes else ctx.const(_SCALES)
    static = [shape[a] for a in axes]
    policy_scale: float | Expr | None = None
    if by_sizes and policy != "stretch":
        pick = min if policy == "not_larger" else max
        if sizes is not None:
            policy_scale = pick(float(v) / n for v, n in zip(sizes.reshape(-1), _ints(static), strict=True))
        else:
            ratios = Infix(
                "/",
                call("ops.cast", ctx.ref(_SIZES), Raw("ms.float64")),
                call("ms.Tensor", tuple(float(n) for n in _ints(static)), Raw("ms.float64")),
            )
            policy_scale = call("ops.amin" if policy == "not_larger" else "ops.amax", ratios)
    roi = ctx.const(_ROI) if method.transform == "tf_crop_and_resize" and _given(ctx, _ROI) else None
    specs = []
    for k, axis in enumerate(axes):
        n = shape[axis]
        span = _roi(ctx, method, roi, k, len(axes))
        if not isinstance(n, int):
            # A constant unit scale leaves even a dynamic axis (the batch, say) alone.
            unit = not by_sizes and sizes is not None and float(sizes.reshape(-1)[k]) == 1.0
            if unit and _identity(1, 1, 1.0, span, method):
                continue
            raise Unmappable("Resize of an axis whose size is unknown at conversion time")
        if policy_scale is not None:
            scale = policy_scale
            out = int(float(scale) * n + 0.5) if not isinstance(scale, Expr) else _declared(out_shape, axis)
        elif by_sizes:
            out = int(sizes.reshape(-1)[k]) if sizes is not None else _declared(out_shape, axis)
            scale = out / n
        elif sizes is not None:
            scale = float(np.float32(sizes.reshape(-1)[k]))
            out = int(np.float32(scale) * np.int64(n))
        else:
            scale, out = _element(ctx, _SCALES, k), _declared(out_shape, axis)
        if _identity(n, out, scale, span, method):
            continue
        specs.append(AxisResize(axis, n, out, scale, span))
    return specs


def _ints(values) -> list[int]:
    if not all(isinstance(v, int) for v in values):
        raise Unmappable("Resize of an axis whose size is unknown at conversion time")
    return list(values)


def _declared(out_shape, axis: int) -> int:
    """A run-time scale or size fixes the output length, which the graph must declare."""
    size = out_shape[axis] if out_shape is not None else None
    if not isinstance(size, int):
        raise Unmappable(
            "Resize scales or sizes are computed at run time and the output shape is not declared"
        )
    return size


def _roi(ctx: MappingContext, method: Method, roi, k: int, count: int):
    """(start, end) of the crop on one axis for tf_crop_and_resize, else None."""
    if method.transform != "tf_crop_and_resize":
        return None
    if roi is not None:
        values = [float(v) for v in roi.reshape(-1).astype(np.float64)]
        return values[k], values[count + k]
    if not _given(ctx, _ROI):
        raise Unmappable("tf_crop_and_resize without roi")
    return _element(ctx, _ROI, k), _element(ctx, _ROI, count + k)


def _identity(n: int, out: int, scale, span, method: Method) -> bool:
    """Axes the reference leaves alone (unit scale, same length, whole roi); run-time 1 -> 1 too."""
    if isinstance(scale, Expr) or (span is not None and any(isinstance(v, Expr) for v in span)):
        # A length-1 axis staying length 1 keeps its only element: every source coordinate is
        # clamped to it, and tf_crop_and_resize scales its roi by length - 1 = 0.
        return n == out == 1
    whole = span is None or (math.isclose(span[0], 0.0) and math.isclose(span[1], 1.0))
    return math.isclose(scale, 1.0) and n == out and whole
