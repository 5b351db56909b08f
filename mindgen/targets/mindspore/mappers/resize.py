"""Resize: ops.interpolate / ops.ResizeBilinearV2 where they match exactly, else per-axis gathers.

The gathers follow the ONNX reference implementation; onnxruntime differs from it for align_corners
and tf_crop_and_resize when a scale makes the output length fractional (it uses the whole length).
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Expr,
    Infix,
    Raw,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.mappers.resize_axis import (
    AxisResize,
    Method,
    coordinates_formula,
    coordinates_table,
    neighbour_formula,
    neighbour_table,
)
from mindgen.targets.mindspore.mappers.resize_inputs import resized_axes
from mindgen.targets.mindspore.mappers.tables import table
from mindgen.targets.mindspore.registry import register

_TRANSFORMS = (
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_crop_and_resize",
    "tf_half_pixel_for_nn",  # Resize-11 only, but the TensorFlow frontend and onnxruntime use it
)
_NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
_FLOATS = {ir.DataType.FLOAT: np.float32, ir.DataType.DOUBLE: np.float64}


def _method(ctx: MappingContext) -> Method:
    mode = str(ctx.attr("mode", "nearest"))
    transform = str(ctx.attr("coordinate_transformation_mode", "half_pixel"))
    nearest = str(ctx.attr("nearest_mode", "round_prefer_floor"))
    if mode not in ("nearest", "linear", "cubic"):
        raise Unmappable(f"Resize mode={mode}")
    if transform not in _TRANSFORMS:
        raise Unmappable(f"Resize coordinate_transformation_mode={transform}")
    if mode == "nearest" and nearest not in _NEAREST:
        raise Unmappable(f"Resize nearest_mode={nearest}")
    antialias = bool(int(ctx.attr("antialias", 0)))
    if antialias and mode == "nearest":
        raise Unmappable("Resize antialias with mode=nearest is undefined")
    a = float(np.float32(ctx.attr("cubic_coeff_a", -0.75)))
    return Method(mode, transform, nearest, a, bool(int(ctx.attr("exclude_outside", 0))), antialias)


@register("Resize", since=11, target="ops.interpolate / ops.ResizeBilinearV2, else ops.gather with weights")
def map_resize(ctx: MappingContext) -> Emission:
    """Resize every mode, transform and rounding of the ONNX spec, axis by axis."""
    method = _method(ctx)
    dtype = ctx.dtype(0)
    if dtype is None:
        raise Unmappable("the Resize input type is unknown at conversion time")
    if method.mode != "nearest" and dtype not in (*_FLOATS, ir.DataType.FLOAT16):
        raise Unmappable(f"Resize mode={method.mode} of {dtype.name}: ONNX rounds the averages back")
    specs = resized_axes(ctx, method)
    source: Expr = ctx.ref(0)
    if not specs:
        return expression(source)
    primitive = _primitive(ctx, specs, method)
    if primitive is not None:
        return expression(primitive)
    # float16 averages are computed in float32, as onnxruntime does, and rounded once.
    widen = method.mode != "nearest" and dtype == ir.DataType.FLOAT16
    numpy_type = _FLOATS.get(ir.DataType.FLOAT if widen else dtype, np.float32)
    if widen:
        source = call("ops.cast", source, Raw("ms.float32"))
    rank = ctx.require_rank(0)
    extrapolation = float(np.float32(ctx.attr("extrapolation_value", 0.0)))
    for spec in specs:
        source = _resize_axis(ctx, source, spec, method, rank, numpy_type, extrapolation)
    return expression(call("ops.cast", source, Raw(ms_dtype(dtype))) if widen else source)


def _resize_axis(
    ctx, source: Expr, spec: AxisResize, method: Method, rank: int, numpy_type, extrapolation
) -> Expr:
    """One axis: from constant tables when the scale and roi are known, else from formulas."""
    trailing = (1,) * (rank - spec.axis - 1)
    known = not isinstance(spec.scale, Expr) and (
        spec.roi is None or not any(isinstance(v, Expr) for v in spec.roi)
    )
    tag = f"{ctx.output().name}_axis{spec.axis}"
    if known:
        indices, weights = neighbour_table(spec, method)
        index: Expr = table(f"{tag}_index", indices)
        weight = (
            None
            if weights is None
            else table(f"{tag}_weight", weights.reshape(weights.shape + trailing).astype(numpy_type))
        )
    else:
        if method.antialias:
            raise Unmappable("Resize antialias with scales or sizes computed at run time")
        x = coordinates_formula(spec, method)
        index, weight = neighbour_formula(spec, method, x)
        if weight is not None:
            shape = (spec.out, -1, *trailing)
            weight = call("ops.reshape", call("ops.cast", weight, Raw(_ms_type(numpy_type))), shape)
    result = call("ops.gather", source, index, spec.axis)
    if weight is not None:
        result = call("ops.sum", Infix("*", result, weight), spec.axis + 1)
    if method.transform != "tf_crop_and_resize":
        return result
    if known:
        coordinates = coordinates_table(spec, method)
        outside = (coordinates < 0) | (coordinates > spec.size - 1)
        if not outside.any():
            return result
        mask: Expr = table(f"{tag}_outside", outside.reshape(outside.shape + trailing))
    else:
        x = coordinates_formula(spec, method)
        beyond = call("ops.logical_or", Infix("<", x, Const(0)), Infix(">", x, Const(spec.size - 1)))
        mask = call("ops.reshape", beyond, (spec.out, *trailing))
    return call("ops.masked_fill", result, mask, extrapolation)


def _ms_type(numpy_type) -> str:
    return "ms.float64" if numpy_type is np.float64 else "ms.float32"


def _primitive(ctx: MappingContext, specs: list[AxisResize], method: Method) -> Expr | None:
    """ops.interpolate / ops.ResizeBilinearV2 over H and W of NCHW float32, when verifiably the same."""
    if ctx.dtype(0) != ir.DataType.FLOAT or ctx.rank(0) != 4 or method.antialias or method.mode == "cubic":
        return None
    if any(s.axis < 2 or isinstance(s.scale, Expr) or s.roi is not None for s in specs):
        return None
    shape = ctx.shape(0)
    sizes = {s.axis: s for s in specs}
    outs = tuple(sizes[a].out if a in sizes else shape[a] for a in (2, 3))
    if not all(isinstance(d, int) for d in outs):
        return None
    if method.mode == "nearest":
        found = [neighbour_table(s, method)[0] for s in specs]
        for option, formula in (("nearest", _floor_source), ("nearest-exact", _centre_source)):
            # Only whole power-of-two factors: there MindSpore's float32 source index is exact.
            if all(
                _power_of_two(s) and np.array_equal(f, formula(s)) for s, f in zip(specs, found, strict=True)
            ):
                return call("ops.interpolate", ctx.ref(0), size=outs, mode=option)
        return None
    if not all(float(s.scale) * s.size == s.out for s in specs):  # type: ignore[arg-type]
        return None
    transform = method.transform
    if transform == "pytorch_half_pixel" and all(o > 1 for o in outs):
        transform = "half_pixel"
    if transform in ("half_pixel", "align_corners"):
        return call(
            "ops.interpolate",
            ctx.ref(0),
            size=outs,
            mode="bilinear",
            align_corners=transform == "align_corners",
        )
    if transform == "asymmetric":
        return call("ops.ResizeBilinearV2()", ctx.ref(0), outs)
    return None


def _power_of_two(spec: AxisResize) -> bool:
    factor = spec.out // spec.size
    return spec.out == factor * spec.size and factor & (factor - 1) == 0


def _floor_source(spec: AxisResize) -> np.ndarray:
    return np.arange(spec.out) * spec.size // spec.out


def _centre_source(spec: AxisResize) -> np.ndarray:
    return (2 * np.arange(spec.out) + 1) * spec.size // (2 * spec.out)
