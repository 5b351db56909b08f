"""Window sums as convolutions with a kernel of ones: dilated or unevenly padded averages, LpPool, GlobalLpPool."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    Raw,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.mappers.conv_functional import torch_pads
from mindgen.targets.mindspore.mappers.tables import table
from mindgen.targets.mindspore.registry import register


def pool_pads(ctx: MappingContext, auto_pad: str, kernel, strides, dilations) -> tuple[list[int], list[int]]:
    """ONNX pooling pads as (begins, ends) per spatial axis; SAME_* computed from static sizes."""
    spatial = len(kernel)
    if auto_pad in ("NOTSET", ""):
        pads = ctx.ints("pads", [0] * (2 * spatial))
        return pads[:spatial], pads[spatial:]
    if auto_pad == "VALID":
        return [0] * spatial, [0] * spatial
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise Unmappable(f"auto_pad={auto_pad} is not mapped for pooling")
    sizes = static_sizes(ctx, f"auto_pad={auto_pad}")
    totals = [
        max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        for n, k, s, d in zip(sizes, kernel, strides, dilations, strict=True)
    ]
    small = [t // 2 for t in totals]
    large = [t - t // 2 for t in totals]
    return (small, large) if auto_pad == "SAME_UPPER" else (large, small)


def static_sizes(ctx: MappingContext, what: str) -> list[int]:
    """The input's spatial sizes, which must be known at conversion time."""
    shape = ctx.shape(0)
    sizes = list(shape[2:]) if shape else []
    if not sizes or not all(isinstance(d, int) for d in sizes):
        raise Unmappable(f"{what} needs static spatial sizes")
    return sizes  # type: ignore[return-value]


def ceil_size(size: int, window: int, stride: int, begin: int, end: int) -> int:
    """Output length with ceil_mode; a window starting in the end padding is dropped."""
    out = -(-(size + begin + end - window) // stride) + 1
    return out - 1 if (out - 1) * stride >= size + begin else out


@dataclass(frozen=True)
class Windows:
    """A pooling's windows: kernel, steps, pads, the zero margins ceil_mode adds, static sizes."""

    kernel: list[int]
    strides: list[int]
    dilations: list[int]
    begins: list[int]
    ends: list[int]
    margins: list[int]
    sizes: list[int] | None  # input spatial sizes, when static
    out_sizes: list[int] | None


def windows_of(ctx: MappingContext) -> Windows:
    """The node's windows; ceil_mode and 3-D windows need static spatial sizes."""
    kernel = ctx.ints("kernel_shape")
    if not kernel or len(kernel) not in (1, 2, 3):
        raise Unmappable("pooling needs a 1-, 2- or 3-D kernel_shape")
    spatial = len(kernel)
    strides = ctx.ints("strides", [1] * spatial)
    dilations = ctx.ints("dilations", [1] * spatial)
    begins, ends = pool_pads(ctx, str(ctx.attr("auto_pad", "NOTSET")), kernel, strides, dilations)
    if ctx.dtype(0) not in (None, ir.DataType.FLOAT, ir.DataType.FLOAT16):
        raise Unmappable(
            f"{ctx.node.op_type} on {ctx.dtype(0).name} input: MindSpore's CPU convolution has none"
        )
    ceil_mode = bool(int(ctx.attr("ceil_mode", 0)))
    shape = ctx.shape(0)
    if not shape or not all(isinstance(d, int) for d in shape[2:]):
        if ceil_mode or spatial == 3:
            static_sizes(ctx, "ceil_mode" if ceil_mode else "a 3-D window sum")
        return Windows(kernel, strides, dilations, begins, ends, [0] * spatial, None, None)
    sizes = [int(d) for d in shape[2:]]  # type: ignore[arg-type]
    margins, out_sizes = [], []
    for n, k, s, d, b, e in zip(sizes, kernel, strides, dilations, begins, ends, strict=True):
        window = (k - 1) * d + 1
        out = ceil_size(n, window, s, b, e) if ceil_mode else (n + b + e - window) // s + 1
        margin = max((out - 1) * s + window - (n + b + e), 0)
        if (n + b + e + margin - window) // s + 1 != out:
            raise Unmappable(
                "ceil_mode drops a last window that starts inside an end pad wider than the window"
            )
        margins.append(margin)
        out_sizes.append(out)
    return Windows(kernel, strides, dilations, begins, ends, margins, sizes, out_sizes)


def window_sum(ctx: MappingContext, source: Expr, windows: Windows, pad_value: float = 0.0) -> Expr:
    """Sums over each (dilated) window of the padded source: a convolution with ones per channel plane."""
    w = windows
    spatial = len(w.kernel)
    source = _padded(source, w, pad_value)
    ones = call(
        "ops.ones", (1, 1, 1, *w.kernel) if spatial < 3 else (1, 1, *w.kernel), Raw(ms_dtype(ctx.dtype(0)))
    )
    options: dict[str, object] = {}
    if any(s != 1 for s in w.strides):
        options["stride"] = tuple(w.strides) if spatial == 3 else (1, *w.strides)
    if any(d != 1 for d in w.dilations):
        options["dilation"] = tuple(w.dilations) if spatial == 3 else (1, *w.dilations)
    if spatial < 3:
        # (N, C, ...) as (N, 1, C, ...): the channels become a depth the kernel does not mix.
        conv = "ops.conv2d" if spatial == 1 else "ops.conv3d"
        return call("ops.squeeze", call(conv, call("ops.expand_dims", source, 1), ones, **options), 1)
    # 3-D: every (n, c) plane as a batch item of one channel, and back.
    padded = tuple(n + b + e + m for n, b, e, m in zip(w.sizes, w.begins, w.ends, w.margins, strict=True))
    summed = call("ops.conv3d", call("ops.reshape", source, (-1, 1, *padded)), ones, **options)
    lead = Index(Attribute(ctx.ref(0), "shape"), ":2")
    return call("ops.reshape", summed, Infix("+", lead, Const(tuple(w.out_sizes))))


def _padded(source: Expr, w: Windows, value: float) -> Expr:
    """Pads with `value`, then zero margins past the end (ceil_mode windows that overhang)."""
    if any(w.begins + w.ends):
        source = call("ops.pad", source, torch_pads(w.begins, w.ends), **({"value": value} if value else {}))
    if any(w.margins):
        source = call("ops.pad", source, torch_pads([0] * len(w.margins), w.margins))
    return source


def _counts(w: Windows, include: bool) -> np.ndarray:
    """How many counted elements each window holds: the per-axis counts multiplied out."""
    total = np.ones(())
    for n, k, s, d, b, e, m, o in zip(
        w.sizes, w.kernel, w.strides, w.dilations, w.begins, w.ends, w.margins, w.out_sizes, strict=True
    ):
        counted = np.zeros(b + n + e + m)
        counted[0 if include else b : b + n + (e if include else 0)] = 1  # never the ceil margin
        taps = np.arange(o)[:, None] * s + np.arange(k)[None, :] * d
        total = np.multiply.outer(total, counted[taps].sum(axis=1))
    return total


def average_by_window_sums(ctx: MappingContext) -> Emission:
    """AveragePool as window sums divided by how many counted elements each window holds."""
    w = windows_of(ctx)
    total = window_sum(ctx, ctx.ref(0), w)
    include = bool(int(ctx.attr("count_include_pad", 0)))
    if (include or not any(w.begins + w.ends)) and not any(w.margins):
        return expression(Infix("/", total, Const(float(math.prod(w.kernel)))))
    if w.out_sizes is not None:
        counts = _counts(w, include).astype(np.float16 if ctx.dtype(0) == ir.DataType.FLOAT16 else np.float32)
        return expression(Infix("/", total, table(f"{ctx.output().name}_counts", counts)))
    # Sizes known only at run time: count by the same window sum over a plane of ones.
    plane = call("ops.ones_like", Index(ctx.ref(0), ":1, :1"))
    return expression(Infix("/", total, window_sum(ctx, plane, w, 1.0 if include else 0.0)))


@register("LpPool", since=2, target="ops.conv*d with a kernel of ones over |x|**p")
def map_lp_pool(ctx: MappingContext) -> Emission:
    """LpPool: (sum of |x|**p over each window, padding counting as zeros) ** (1/p)."""
    p = int(ctx.attr("p", 2))
    total = window_sum(ctx, _powers(ctx, p), windows_of(ctx))
    return expression(call("ops.sqrt", total) if p == 2 else call("ops.pow", total, 1.0 / p))


def _powers(ctx: MappingContext, p: int) -> Expr:
    return call("ops.square", ctx.ref(0)) if p == 2 else call("ops.pow", call("ops.abs", ctx.ref(0)), p)


@register("GlobalLpPool", since=2, target="ops.sum of |x|**p over the spatial axes")
def map_global_lp_pool(ctx: MappingContext) -> Emission:
    rank = ctx.require_rank(0)
    if rank < 3:
        raise Unmappable("global pooling needs an (N, C, ...) input")
    p = int(ctx.attr("p", 2))
    total = call("ops.sum", _powers(ctx, p), tuple(range(2, rank)), keepdim=True)
    return expression(call("ops.sqrt", total) if p == 2 else call("ops.pow", total, 1.0 / p))
