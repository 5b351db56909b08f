"""Resizing one axis as ONNX defines it: gathered neighbours times weights, from tables or formulas.

Both forms follow the ONNX reference implementation (onnx.reference's Resize): source coordinates in
float64, neighbours clamped to the edge, cubic and antialias weights, exclude_outside, extrapolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import Polynomial

from mindgen.targets.mindspore.emission import Const, Expr, Infix, Raw, as_expr, call

Number = float | Expr


@dataclass(frozen=True)
class AxisResize:
    """One resized axis: sizes, the scale (a number, or an expression read at run time), the roi span."""

    axis: int
    size: int
    out: int
    scale: Number
    roi: tuple[Number, Number] | None = None


@dataclass(frozen=True)
class Method:
    """The interpolation settings shared by every axis."""

    mode: str
    transform: str
    nearest: str
    cubic_a: float
    exclude_outside: bool
    antialias: bool


# Source coordinates ----------------------------------------------------------------------
def coordinates_table(spec: AxisResize, method: Method) -> np.ndarray:
    """The float64 source coordinate of every output position (the reference's formulas)."""
    y = np.arange(spec.out, dtype=np.float64)
    n, s = spec.size, float(spec.scale)  # type: ignore[arg-type]
    width = s * n  # the reference's output_width: fractional when it comes from a scale
    transform = method.transform
    if transform == "align_corners":
        return np.zeros(spec.out) if width == 1 else y * (n - 1) / (width - 1)
    if transform == "asymmetric":
        return y / s
    if transform == "tf_half_pixel_for_nn":
        return (y + 0.5) / s
    if transform == "tf_crop_and_resize":
        start, end = (float(v) for v in spec.roi)  # type: ignore[union-attr]
        x = (
            np.full(spec.out, (end - start) * (n - 1) / 2)
            if width == 1
            else y * (end - start) * (n - 1) / (width - 1)
        )
        return x + start * (n - 1)
    if transform == "pytorch_half_pixel" and spec.out == 1:
        return np.full(1, -0.5)
    if transform == "half_pixel_symmetric":
        return n / 2 * (1 - spec.out / width) + (y + 0.5) / s - 0.5
    return (y + 0.5) / s - 0.5


def coordinates_formula(spec: AxisResize, method: Method) -> Expr:
    """The same coordinates computed at run time, for scales or rois fed as inputs."""
    n, s = spec.size, as_expr(spec.scale)
    y = call("ops.arange", spec.out, dtype=Raw("ms.float64"))
    width = Infix("*", s, Const(float(n)))
    transform = method.transform
    if transform == "asymmetric":
        return Infix("/", y, s)
    if transform == "tf_half_pixel_for_nn":
        return Infix("/", Infix("+", y, Const(0.5)), s)
    half = Infix("-", Infix("/", Infix("+", y, Const(0.5)), s), Const(0.5))
    if transform == "half_pixel_symmetric":
        offset = Infix("*", Const(n / 2), Infix("-", Const(1), Infix("/", Const(spec.out), width)))
        return Infix("+", offset, half)
    if transform not in ("align_corners", "tf_crop_and_resize"):
        return half
    start: Expr = Const(0.0)
    scaled: Expr = y
    single: Expr = Const(0.0)
    if transform == "tf_crop_and_resize":
        start, end = (as_expr(v) for v in spec.roi)  # type: ignore[union-attr]
        scaled = Infix("*", y, Infix("-", end, start))
        single = Infix("/", Infix("*", Infix("-", end, start), Const(n - 1)), Const(2))
    # The reference's operation order, so that edge comparisons agree to the last bit.
    stretched: Expr = Infix("/", Infix("*", scaled, Const(n - 1)), Infix("-", width, Const(1)))
    if spec.out == 1:
        # An output length of exactly one takes the span's centre (tf_crop) or the start.
        if isinstance(spec.scale, Expr):
            stretched = call("ops.where", Infix("==", width, Const(1.0)), single, stretched)
        elif float(spec.scale) * n == 1:
            stretched = Infix("+", y, single)
    if transform == "align_corners":
        return stretched
    return Infix("+", stretched, Infix("*", start, Const(n - 1)))


# Neighbours and weights ----------------------------------------------------------------------
def _kernel(distance: np.ndarray, method: Method) -> np.ndarray:
    a = np.abs(distance)
    if method.mode == "linear":
        return np.clip(1 - a, 0, 1)
    A = method.cubic_a
    inner = ((A + 2) * a - (A + 3)) * a * a + 1
    outer = ((A * a - 5 * A) * a + 8 * A) * a - 4 * A
    return np.where(a <= 1, inner, np.where(a < 2, outer, 0.0))


def _taps(method: Method, scale: float) -> np.ndarray:
    """Neighbour offsets from floor(x): the kernel's support, widened by 1/scale when antialiasing."""
    support = 1 if method.mode == "linear" else 2
    shrink = min(scale, 1.0) if method.antialias else 1.0
    start = int(np.floor(-support / shrink) + 1)
    return np.arange(start, 2 - start)


def neighbour_table(spec: AxisResize, method: Method) -> tuple[np.ndarray, np.ndarray | None]:
    """(indices, weights) of every output position; nearest has one index and no weights."""
    x = coordinates_table(spec, method)
    n = spec.size
    if method.mode == "nearest":
        return np.clip(_round(x, method.nearest), 0, n - 1).astype(np.int32), None
    base = np.floor(x)
    taps = _taps(method, float(spec.scale))  # type: ignore[arg-type]
    shrink = min(float(spec.scale), 1.0) if method.antialias else 1.0  # type: ignore[arg-type]
    positions = base[:, None] + taps[None, :]
    weights = _kernel((positions - x[:, None]) * shrink, method)
    if method.antialias:
        weights = weights / weights.sum(axis=1, keepdims=True)
    if method.exclude_outside:
        weights = np.where((positions < 0) | (positions > n - 1), 0.0, weights)
        total = weights.sum(axis=1, keepdims=True)
        weights = weights / np.where(total == 0, 1.0, total)
    return np.clip(positions, 0, n - 1).astype(np.int32), weights


def _round(x: np.ndarray, nearest: str) -> np.ndarray:
    if nearest == "floor":
        return np.floor(x)
    if nearest == "ceil":
        return np.ceil(x)
    if nearest == "round_prefer_ceil":
        return np.floor(x + 0.5)
    return np.ceil(x - 0.5)  # round_prefer_floor


_ROUND_FORMULAS = {
    "floor": lambda x: call("ops.floor", x),
    "ceil": lambda x: call("ops.ceil", x),
    "round_prefer_ceil": lambda x: call("ops.floor", Infix("+", x, Const(0.5))),
    "round_prefer_floor": lambda x: call("ops.ceil", Infix("-", x, Const(0.5))),
}


def _monomials(method: Method) -> np.ndarray:
    """(powers of r, taps) coefficients: weight of tap t = sum_k r**k * M[k, t], r = x - floor(x)."""
    r = Polynomial([0.0, 1.0])
    if method.mode == "linear":
        polynomials = [1 - r, r]
    else:
        a = method.cubic_a
        inner = Polynomial([1.0, 0.0, -(a + 3), a + 2])  # |d| <= 1
        outer = Polynomial([-4 * a, 8 * a, -5 * a, a])  # 1 < |d| < 2
        polynomials = [outer(1 + r), inner(r), inner(1 - r), outer(2 - r)]
    return np.array([np.pad(p.coef, (0, 4 - len(p.coef))) for p in polynomials]).T


def neighbour_formula(spec: AxisResize, method: Method, x: Expr) -> tuple[Expr, Expr | None]:
    """(indices, weights) as run-time expressions of the coordinates x (float64, shape (out,))."""
    n = spec.size
    if method.mode == "nearest":
        return _clamped_index(_ROUND_FORMULAS[method.nearest](x), n), None
    taps = tuple(float(t) for t in _taps(method, 1.0))
    positions = Infix(
        "+", call("ops.expand_dims", call("ops.floor", x), 1), call("ms.Tensor", taps, Raw("ms.float64"))
    )
    fraction = call("ops.expand_dims", call("ops.remainder", x, 1.0), 1)
    powers = call("ops.pow", fraction, call("ms.Tensor", (0.0, 1.0, 2.0, 3.0), Raw("ms.float64")))
    coefficients = tuple(tuple(float(v) for v in row) for row in _monomials(method))
    weights: Expr = call("ops.matmul", powers, call("ms.Tensor", coefficients, Raw("ms.float64")))
    if method.exclude_outside:
        inside = call(
            "ops.logical_and", Infix(">=", positions, Const(0)), Infix("<=", positions, Const(n - 1))
        )
        kept = Infix("*", weights, call("ops.cast", inside, Raw("ms.float64")))
        weights = Infix("/", kept, call("ops.sum", kept, 1, keepdim=True))
    return _clamped_index(positions, n), weights


def _clamped_index(positions: Expr, n: int) -> Expr:
    return call("ops.cast", call("ops.clamp", positions, 0, n - 1), Raw("ms.int32"))
