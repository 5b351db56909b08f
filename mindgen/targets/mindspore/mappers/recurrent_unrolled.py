"""LSTM, GRU and RNN unrolled over a static sequence length: a few lines per step, ONNX's own equations.

Used where MindSpore's layers differ from ONNX: GRU and RNN weights fed at run time, GRU
linear_before_reset=0, LSTM peepholes or input_forget, clip, other activations, float16/float64.
"""

from __future__ import annotations

from collections.abc import Callable

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
    Temp,
    TupleExpr,
    Unmappable,
    call,
)
from mindgen.targets.mindspore.mappers.recurrent_spec import (
    INITIAL_C,
    INITIAL_H,
    SEQ_LENS,
    B,
    P,
    R,
    Recurrence,
    W,
    X,
    initial_state,
    output_count,
)

# Longer sequences would write too many lines: they need a loop, which an emission cannot hold.
MAX_STEPS = 64
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_TYPES = (ir.DataType.FLOAT, ir.DataType.FLOAT16, ir.DataType.DOUBLE)


def _hard_sigmoid(x: Expr, alpha: float, beta: float) -> Expr:
    return call("ops.clamp", Infix("+", Infix("*", x, Const(alpha)), Const(beta)), 0, 1)


# ONNX activation functions: how to apply one, and its alpha/beta defaults when it takes them.
ACTIVATIONS: dict[str, tuple[Callable[[Expr, float, float], Expr], tuple[float, ...]]] = {
    "sigmoid": (lambda x, a, b: call("ops.sigmoid", x), ()),
    "tanh": (lambda x, a, b: call("ops.tanh", x), ()),
    "relu": (lambda x, a, b: call("ops.relu", x), ()),
    "softsign": (lambda x, a, b: call("ops.softsign", x), ()),
    "softplus": (lambda x, a, b: call("ops.softplus", x), ()),
    "leakyrelu": (lambda x, a, b: call("ops.leaky_relu", x, a), (0.01,)),
    "hardsigmoid": (_hard_sigmoid, (0.2, 0.5)),
}


class _Direction:
    """Writes one direction's steps as temporaries of the node's prelude."""

    def __init__(self, ctx: MappingContext, spec: Recurrence, d: int, prelude: list[Temp]) -> None:
        self.ctx, self.spec, self.d, self.prelude = ctx, spec, d, prelude
        self.suffix = "_back" if d else ""
        self.size = GATES[spec.op] * spec.hidden
        per_direction = len(spec.activations) // spec.directions
        self.f = _activations(spec)[d * per_direction : (d + 1) * per_direction]

    def temp(self, hint: str, expr: Expr) -> Temp:
        self.prelude.append(Temp(hint + self.suffix, expr))
        return self.prelude[-1]

    def rows(self, index: int, gate: int = 0, count: int | None = None) -> Expr:
        """This direction's W / R rows for `count` gates from `gate` (all by default), transposed."""
        h = self.spec.hidden
        span = "" if count is None else f", {gate * h}:{(gate + count) * h}"
        return Attribute(Index(self.ctx.ref(index), f"{self.d}{span}"), "T")

    def bias(self, start: int, count: int) -> Expr:
        h = self.spec.hidden
        return Index(self.ctx.ref(B), f"{self.d}, {start * h}:{(start + count) * h}")

    def block(self, gates: Expr, gate: int, step: int | None = None) -> Expr:
        """Gate `gate` of a (N, gH) tensor, or of step `step` of a (T, N, gH) one."""
        h = self.spec.hidden
        return Index(gates, ("" if step is None else f"{step}, ") + f":, {gate * h}:{(gate + 1) * h}")

    def input_gates(self, x: Expr) -> Temp:
        """x @ W.T for all steps at once, plus Wb (and Rb, where ONNX adds it as is)."""
        expr: Expr = call("ops.matmul", x, self.rows(W))
        gates = GATES[self.spec.op]
        if self.ctx.has_input(B):
            expr = Infix("+", expr, self.bias(0, gates))
            if self.spec.op != "GRU":
                expr = Infix("+", expr, self.bias(gates, gates))
        return self.temp("x_gates", expr)

    def hidden_gates(self, h: Expr, count: int) -> Expr:
        expr: Expr = call("ops.matmul", h, self.rows(R, 0, count))
        return Infix("+", expr, self.bias(GATES[self.spec.op], count)) if self.ctx.has_input(B) else expr


def _activations(spec: Recurrence) -> list[Callable[[Expr], Expr]]:
    """Every activation; alpha/beta values go to those that take them, in order."""
    alphas, betas = list(spec.alphas), list(spec.betas)
    result = []
    for name in spec.activations:
        if name not in ACTIVATIONS:
            raise Unmappable(f"{spec.op} activation {name!r}")
        apply, defaults = ACTIVATIONS[name]
        a = (alphas.pop(0) if alphas else defaults[0]) if defaults else 0.0
        b = (betas.pop(0) if betas else defaults[1]) if len(defaults) > 1 else 0.0
        result.append(lambda x, apply=apply, a=a, b=b: apply(x, a, b))
    return result


def _clip(x: Expr, limit: float | None) -> Expr:
    """clip bounds the gates' inputs; onnxruntime leaves the LSTM cell state unclipped before h."""
    return x if limit is None else call("ops.clamp", x, -limit, limit)


def _lstm_step(
    cell: _Direction, x_gates: Expr, t: int, h: Expr, c: Expr, input_forget: bool
) -> tuple[Temp, Temp]:
    f, g, act = cell.f
    gates = cell.temp("gates", Infix("+", Index(x_gates, str(t)), call("ops.matmul", h, cell.rows(R))))

    def gate(block: int, peephole: int, state: Expr) -> Expr:
        """ONNX gates i, o, f, c; peepholes P hold i, o, f."""
        pre = cell.block(gates, block)
        if not cell.ctx.has_input(P):
            return _clip(pre, cell.spec.clip)
        h_size = cell.spec.hidden
        weights = Index(cell.ctx.ref(P), f"{cell.d}, {peephole * h_size}:{(peephole + 1) * h_size}")
        return _clip(Infix("+", pre, Infix("*", weights, state)), cell.spec.clip)

    i = cell.temp("i", f(gate(0, 0, c)))
    forget = Infix("-", Const(1), i) if input_forget else f(gate(2, 2, c))
    c_next = cell.temp(
        "c", Infix("+", Infix("*", forget, c), Infix("*", i, g(_clip(cell.block(gates, 3), cell.spec.clip))))
    )
    return cell.temp("h", Infix("*", f(gate(1, 1, c_next)), act(c_next))), c_next


def _gru_step(cell: _Direction, x_gates: Expr, t: int, h: Expr, reset_after: bool) -> Temp:
    f, g = cell.f
    hidden = cell.temp("hidden_gates", cell.hidden_gates(h, 3 if reset_after else 2))
    z = cell.temp("z", f(_clip(Infix("+", cell.block(x_gates, 0, t), cell.block(hidden, 0)), cell.spec.clip)))
    r = cell.temp("r", f(_clip(Infix("+", cell.block(x_gates, 1, t), cell.block(hidden, 1)), cell.spec.clip)))
    # linear_before_reset=1 resets (h @ Rh.T + Rbh); =0 resets h before multiplying by Rh.
    if reset_after:
        reset = Infix("*", r, cell.block(hidden, 2))
    else:
        reset = call("ops.matmul", Infix("*", r, h), cell.rows(R, 2, 1))
        reset = Infix("+", reset, cell.bias(5, 1)) if cell.ctx.has_input(B) else reset
    n = cell.temp("n", g(_clip(Infix("+", cell.block(x_gates, 2, t), reset), cell.spec.clip)))
    return cell.temp("h", Infix("+", Infix("*", Infix("-", Const(1), z), n), Infix("*", z, h)))


def _step(cell: _Direction, x_gates: Expr, t: int, h: Expr, c: Expr, reset_after: bool, input_forget: bool):
    """The next hidden and cell states after step t."""
    if cell.spec.op == "LSTM":
        return _lstm_step(cell, x_gates, t, h, c, input_forget)
    if cell.spec.op == "GRU":
        return _gru_step(cell, x_gates, t, h, reset_after), c
    gates = Infix("+", Index(x_gates, str(t)), call("ops.matmul", h, cell.rows(R)))
    return cell.temp("h", cell.f[0](_clip(gates, cell.spec.clip))), c


def unrolled(
    ctx: MappingContext, spec: Recurrence, *, reset_after: bool = False, input_forget: bool = False
) -> Emission:
    """The recurrence step by step (time-major inside), each direction on its own temporaries."""
    if spec.dtype not in _TYPES:
        raise Unmappable(f"{spec.op} on {spec.dtype.name}")
    shape = ctx.shape(X)
    steps = shape[1 if spec.batch_first else 0] if shape is not None else None
    if not isinstance(steps, int) or steps > MAX_STEPS:
        raise Unmappable(
            f"{spec.op} unrolled needs a static sequence length of at most {MAX_STEPS}, got {steps}"
        )
    prelude: list[Temp] = []
    x: Expr = ctx.ref(X)
    if spec.batch_first:
        x = Temp("x", Attribute(x, "swapaxes(0, 1)"))
        prelude.append(x)
    batch = shape[0 if spec.batch_first else 1]  # type: ignore[index]
    batch_expr: Expr = Const(batch) if isinstance(batch, int) else Index(Attribute(x, "shape"), "1")
    zeros = Temp(
        "zeros", call("ops.zeros", TupleExpr((batch_expr, Const(spec.hidden))), Raw(ms_dtype(spec.dtype)))
    )
    lengths = _lengths(ctx, steps)
    if lengths is not None:
        prelude.append(lengths)
    h0, c0 = initial_state(ctx, INITIAL_H, spec), initial_state(ctx, INITIAL_C, spec)
    if h0 is None or (spec.op == "LSTM" and c0 is None):
        prelude.append(zeros)
    ys, finals, cells = [], [], []
    for d in range(spec.directions):
        cell = _Direction(ctx, spec, d, prelude)
        x_gates = cell.input_gates(x)
        h: Expr = zeros if h0 is None else Index(h0, str(d))
        c: Expr = zeros if c0 is None else Index(c0, str(d))
        outputs: dict[int, Expr] = {}
        backward = spec.reverse or d == 1
        for t in reversed(range(steps)) if backward else range(steps):
            h_next, c_next = _step(cell, x_gates, t, h, c, reset_after, input_forget)
            if lengths is None:
                h, c, outputs[t] = h_next, c_next, h_next
                continue
            # Past its length a sequence keeps its state and outputs zeros.
            running = Infix(">", lengths, Const(t))
            h = cell.temp("h", call("ops.where", running, h_next, h))
            c = cell.temp("c", call("ops.where", running, c_next, c)) if spec.op == "LSTM" else c
            outputs[t] = call("ops.where", running, h_next, 0.0)
        ys.append(call("ops.stack", TupleExpr(tuple(outputs[t] for t in range(steps)))))
        finals.append(h)
        cells.append(c)
    results = [
        call("ops.stack", TupleExpr(tuple(ys)), 1),
        call("ops.stack", TupleExpr(tuple(finals))),
        call("ops.stack", TupleExpr(tuple(cells))),
    ]
    if spec.batch_first:
        results = [
            call("ops.transpose", results[0], (2, 0, 1, 3)),
            *(Attribute(r, "swapaxes(0, 1)") for r in results[1:]),
        ]
    used, count = output_count(ctx)
    items = tuple(results[i] if i in used else Const(None) for i in range(count))
    return Emission(TupleExpr(items) if count > 1 else items[0], results=count, prelude=tuple(prelude))


def _lengths(ctx: MappingContext, steps: int) -> Temp | None:
    """sequence_lens as a (N, 1) column; None when absent or known to be the full length everywhere."""
    if not ctx.has_input(SEQ_LENS):
        return None
    known = ctx.const(SEQ_LENS)
    if known is not None and bool(np.all(known == steps)):
        return None
    return Temp("lengths", call("ops.reshape", ctx.ref(SEQ_LENS), (-1, 1)))
