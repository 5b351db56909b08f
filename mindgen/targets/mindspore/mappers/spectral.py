"""DFT, STFT (ops.fft family; ONNX keeps real and imaginary parts in a last axis) and MelWeightMatrix."""

from __future__ import annotations

import math

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import (
    Attribute,
    Call,
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    Raw,
    Temp,
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register

F64 = Raw("ms.float64")
# Signals are transformed in float64 and cast back to these types: float32 FFTs stray ~1e-5 from ONNX.
_FFT_TYPES = {ir.DataType.FLOAT: "ms.float32", ir.DataType.DOUBLE: None, ir.DataType.FLOAT16: "ms.float16"}


def _constant_int(ctx: MappingContext, index: int, what: str) -> int | None:
    if not ctx.has_input(index):
        return None
    value = ctx.const(index)
    if value is None:
        raise Unmappable(f"{ctx.node.op_type} {what} is computed at run time; ops.fft needs a Python int")
    return int(value.reshape(-1)[0])


def _parts(spectrum: Expr) -> Expr:
    """A complex tensor as ONNX's (..., 2) real/imaginary pairs."""
    return call("ops.stack", TupleExpr((call("ops.real", spectrum), call("ops.imag", spectrum))), -1)


def _signal(ctx: MappingContext) -> tuple[Expr, bool]:
    """Input 0 without its last (1 or 2) axis, as a real or complex float64 tensor."""
    if ctx.dtype(0) not in _FFT_TYPES:
        raise Unmappable(
            f"{ctx.node.op_type} on {ctx.dtype(0).name}: MindSpore's CPU FFT takes float32/float64"
        )
    shape = ctx.shape(0)
    parts = shape[-1] if shape else None
    if parts not in (1, 2):
        raise Unmappable(f"{ctx.node.op_type} input's last axis must be 1 (real) or 2 (complex) and known")
    x: Expr = ctx.ref(0)
    if _FFT_TYPES[ctx.dtype(0)]:
        x = call("ops.cast", x, F64)
    if parts == 1:
        return Index(x, "..., 0"), False
    return Call("ops.Complex()", (Index(x, "..., 0"), Index(x, "..., 1"))), True


def _restore(ctx: MappingContext, result: Expr) -> Emission:
    back = _FFT_TYPES[ctx.dtype(0)]
    return expression(call("ops.cast", result, Raw(back)) if back else result)


def _dft(ctx: MappingContext, axis: int) -> Emission:
    rank = ctx.require_rank(0)
    axis %= rank
    if axis == rank - 1:
        raise Unmappable("DFT over the real/imaginary axis")
    signal, is_complex = _signal(ctx)
    length = _constant_int(ctx, 1, "dft_length")
    inverse, onesided = int(ctx.attr("inverse", 0)), int(ctx.attr("onesided", 0))
    if inverse and onesided:
        # One-sided spectra invert to real signals, of length 2 * (bins - 1) by default.
        return _restore(ctx, call("ops.expand_dims", call("ops.irfft", signal, length, axis), -1))
    if inverse:
        return _restore(ctx, _parts(call("ops.ifft", signal, length, axis)))
    if onesided and not is_complex:
        return _restore(ctx, _parts(call("ops.rfft", signal, length, axis)))
    if onesided:
        raise Unmappable(
            "a one-sided DFT of a complex signal: ONNX defines one-sided output for real input only"
        )
    return _restore(ctx, _parts(call("ops.fft", signal, length, axis)))


@register("DFT", since=17, target="ops.fft / ops.rfft / ops.ifft / ops.irfft")
def map_dft_17(ctx: MappingContext) -> Emission:
    return _dft(ctx, int(ctx.attr("axis", 1)))


@register("DFT", since=20, target="ops.fft / ops.rfft / ops.ifft / ops.irfft")
def map_dft(ctx: MappingContext) -> Emission:
    axis = _constant_int(ctx, 2, "axis")
    return _dft(ctx, -2 if axis is None else axis)


def _frame_length(ctx: MappingContext) -> Expr:
    """The frame length: the window's, else frame_length (a Python int, or a tensor read at run time)."""
    window = ctx.shape(2) if ctx.has_input(2) else None
    known = ctx.const(3) if ctx.has_input(3) else None
    if window is not None:
        if not isinstance(window[0], int) or (
            ctx.has_input(3) and (known is None or int(known) != window[0])
        ):
            raise Unmappable("STFT needs the window length at conversion time, equal to frame_length")
        return Const(window[0])
    if not ctx.has_input(3):
        raise Unmappable("STFT without a window or frame_length")
    return Const(int(known.reshape(-1)[0])) if known is not None else ctx.ref(3)


@register("STFT", since=17, target="frames by ops.gather, windowed, then ops.rfft / ops.fft")
def map_stft(ctx: MappingContext) -> Emission:
    signal, is_complex = _signal(ctx)
    if is_complex:
        raise Unmappable("STFT of a complex signal")
    length = _frame_length(ctx)
    size = (ctx.shape(0) or (None, None))[-2]
    samples: Expr = Const(size) if isinstance(size, int) else Index(Attribute(signal, "shape"), "1")
    last_start = Infix("-", samples, length)
    if isinstance(samples, Const) and isinstance(length, Const):
        last_start = Const(samples.value - length.value)  # type: ignore[operator]
    step = ctx.const(1)
    # Frame f holds samples starts[f] ... starts[f] + length - 1; run-time sizes give run-time shapes.
    if step is not None and isinstance(length, Const):
        starts = call("ops.arange", 0, Infix("+", last_start, Const(1)), int(step.reshape(-1)[0]))
        offsets = call("ops.arange", length)
    else:
        starts = call("ops.range", 0, Infix("+", last_start, Const(1)), ctx.ref(1))
        offsets = call("ops.range", 0, length, 1)
    framed: Expr = call("ops.gather", signal, Infix("+", Index(starts, ":, None"), offsets), 1)
    if ctx.has_input(2):
        weights: Expr = ctx.ref(2)
        wide = _FFT_TYPES[ctx.dtype(0)] is not None
        framed = Infix("*", framed, call("ops.cast", weights, F64) if wide else weights)
    fft = "ops.rfft" if int(ctx.attr("onesided", 1)) else "ops.fft"
    return _restore(ctx, _parts(call(fft, framed, None, -1)))


def _mel(hertz: Expr) -> Expr:
    """The mel scale as ONNX computes it: log1p in the input's float32, the rest in float64."""
    scaled = Infix("*", Const(2595), call("ops.log1p", Infix("/", hertz, Const(700))))
    return Infix("/", call("ops.cast", scaled, F64), Const(math.log(10)))


@register("MelWeightMatrix", since=17, target="triangular filters from ops.range, ops.where")
def map_mel_weight_matrix(ctx: MappingContext) -> Emission:
    bands, length, rate = ctx.ref(0), ctx.ref(1), ctx.ref(2)
    low = Temp("low_mel", _mel(ctx.ref(3)))
    step = Temp("mel_step", Infix("/", Infix("-", _mel(ctx.ref(4)), low), Infix("+", bands, Const(2))))
    mels = Infix(
        "+",
        Infix("*", call("ops.cast", call("ops.range", 0, Infix("+", bands, Const(2)), 1), F64), step),
        low,
    )
    hertz = Infix(
        "*", Const(700), call("ops.expm1", Infix("*", Infix("/", mels, Const(2595)), Const(math.log(10))))
    )
    # Band edges as FFT bin indices: band i rises from edges[i] to edges[i + 1], falls to edges[i + 2].
    edges = Temp(
        "edges", call("ops.floor", Infix("/", Infix("*", Infix("+", length, Const(1)), hertz), rate))
    )
    lower, center, upper = (Index(edges, key) for key in (":-2", "1:-1", "2:"))
    bins = Temp(
        "fft_bins",
        Index(
            call(
                "ops.cast", call("ops.range", 0, Infix("+", Infix("//", length, Const(2)), Const(1)), 1), F64
            ),
            ":, None",
        ),
    )
    falling = call("ops.logical_and", Infix(">=", bins, center), Infix("<", bins, upper))
    rising = call("ops.logical_and", Infix(">=", bins, lower), Infix("<=", bins, center))
    up = call(
        "ops.where",
        Infix(">", center, lower),
        Infix("/", Infix("-", bins, lower), Infix("-", center, lower)),
        1.0,
    )
    down = Infix("/", Infix("-", upper, bins), Infix("-", upper, center))
    weights = call("ops.where", falling, down, call("ops.where", rising, up, 0.0))
    out_type = ir.DataType(int(ctx.attr("output_datatype", int(ir.DataType.FLOAT))))
    return expression(call("ops.cast", weights, Raw(ms_dtype(out_type))), prelude=(low, step, edges, bins))
