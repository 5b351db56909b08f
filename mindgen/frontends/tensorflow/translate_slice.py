"""StridedSlice (every mask) and Slice, as ONNX Slice / Gather / Squeeze / Unsqueeze."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.context import SOURCE, NodeContext
from mindgen.frontends.tensorflow.registry import Untranslatable, translates

_MAX = int(np.iinfo(np.int64).max)
_MIN = int(np.iinfo(np.int64).min)


@dataclass
class SliceSpec:
    """A StridedSlice spelled out per input axis: ranges, shrunk axes, and new output axes."""

    ranges: list[tuple[int, int, int, int]] = field(default_factory=list)  # (axis, start, end, step)
    shrink: list[tuple[int, int]] = field(default_factory=list)  # (axis, index)
    new_axes: list[int] = field(default_factory=list)  # positions in the output


def strided_slice_spec(rank: int, begin, end, strides, masks: dict[str, int]) -> SliceSpec:
    """TF's sparse slice spec (with ellipsis, new-axis and shrink masks) made dense."""
    count = len(begin)
    ellipsis = masks["ellipsis"]
    real = sum(1 for i in range(count) if not (ellipsis >> i) & 1 and not (masks["new_axis"] >> i) & 1)
    spec, axis, out_dims = SliceSpec(), 0, 0
    seen_ellipsis = False
    for i in range(count):
        if (ellipsis >> i) & 1 and not seen_ellipsis:
            seen_ellipsis = True
            covered = rank - real
            axis, out_dims = axis + covered, out_dims + covered
            continue
        if (masks["new_axis"] >> i) & 1:
            spec.new_axes.append(out_dims)
            out_dims += 1
            continue
        if axis >= rank:
            raise Untranslatable(f"StridedSlice spec of {count} entries on a rank-{rank} input")
        step = int(strides[i])
        if step == 0:
            raise Untranslatable("StridedSlice with a zero stride")
        if (masks["shrink_axis"] >> i) & 1:
            spec.shrink.append((axis, int(begin[i])))
            axis += 1
            continue
        start = int(begin[i]) if not (masks["begin"] >> i) & 1 else (0 if step > 0 else _MAX)
        stop = int(end[i]) if not (masks["end"] >> i) & 1 else (_MAX if step > 0 else _MIN)
        if (start, stop, step) != (0, _MAX, 1):
            spec.ranges.append((axis, start, stop, step))
        axis += 1
        out_dims += 1
    return spec


@translates("StridedSlice")
def strided_slice(ctx: NodeContext) -> None:
    rank = ctx.require_rank(0)
    begin, end = ctx.const_ints(1, "begin"), ctx.const_ints(2, "end")
    strides = ctx.const_ints(3, "strides")
    masks = {
        m: int(ctx.attr(f"{m}_mask", 0)) for m in ("begin", "end", "ellipsis", "new_axis", "shrink_axis")
    }
    spec = strided_slice_spec(rank, begin, end, strides, masks)
    name, perm = ctx.form(0)
    if spec.new_axes:
        name, perm = ctx.value(0), SOURCE

    def held(axis: int) -> int:
        return axis if perm == SOURCE else layout.held_axis(perm, axis)

    ranges = list(spec.ranges)
    if len(spec.shrink) > 1:
        # Several single indices: slice them out with the ranges, then squeeze them away.
        ranges += [(a, i, i + 1 if i != -1 else _MAX, 1) for a, i in spec.shrink]
    out = name
    if ranges:
        axes, starts, ends, steps = (list(column) for column in zip(*ranges, strict=True))
        inputs = [
            out,
            ctx.int64(starts),
            ctx.int64(ends),
            ctx.int64([held(a) for a in axes]),
            ctx.int64(steps),
        ]
        out = ctx.emit1("Slice", inputs)
    shrunk = [a for a, _ in spec.shrink]
    if len(spec.shrink) == 1:
        axis, index = spec.shrink[0]
        out = ctx.emit1("Gather", [out, ctx.int64(index)], axis=held(axis))
    elif spec.shrink:
        out = ctx.emit1("Squeeze", [out, ctx.int64(sorted(held(a) for a in shrunk))])
    if spec.new_axes:
        out = ctx.emit1("Unsqueeze", [out, ctx.int64(spec.new_axes)])
    if perm != SOURCE and shrunk:
        perm = layout.after_removing(perm, shrunk)
    ctx.output(out, perm)


@translates("Slice")
def slice_(ctx: NodeContext) -> None:
    begin = ctx.const_ints(1, "begin")
    size = ctx.const_ints(2, "size")
    name, perm = ctx.form(0)
    axes = [a for a, (b, s) in enumerate(zip(begin, size, strict=True)) if (b, s) != (0, -1)]
    if not axes:
        ctx.alias(0)
        return
    held = axes if perm == SOURCE else [layout.held_axis(perm, a) for a in axes]
    starts = [begin[a] for a in axes]
    ends = [_MAX if size[a] == -1 else begin[a] + size[a] for a in axes]
    out = ctx.emit1("Slice", [name, ctx.int64(starts), ctx.int64(ends), ctx.int64(held)])
    ctx.output(out, perm)
