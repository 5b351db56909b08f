"""What LSTM, GRU and RNN share: their attributes, and a layer's results turned into ONNX's Y, Y_h, Y_c."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Temp,
    TupleExpr,
    Unmappable,
    call,
)

X, W, R, B, SEQ_LENS, INITIAL_H, INITIAL_C, P = range(8)
DEFAULT_ACTIVATIONS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"], "RNN": ["tanh"]}
# Where each ONNX output (Y, Y_h, Y_c) sits in a layer's result.
ACCESS = {
    "nn.LSTM": ("0", "1][0", "1][1"),
    "nn.GRU": ("0", "1"),
    "nn.RNN": ("0", "1"),
    "ops.LSTM": ("0", "1", "2"),
}


@dataclass(frozen=True)
class Recurrence:
    """The attributes every variant shares."""

    op: str
    hidden: int
    directions: int
    reverse: bool
    batch_first: bool
    # Lower-case activation names, per direction ([f, g, h] for LSTM), with their alpha/beta lists.
    activations: tuple[str, ...]
    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    clip: float | None
    dtype: ir.DataType

    def layer_reason(self) -> str:
        """Why MindSpore's recurrent layers cannot compute this variant ('' when they can)."""
        if self.dtype != ir.DataType.FLOAT:
            return f"{self.dtype.name} input (the layers run float32)"
        if self.clip is not None:
            return "clip"
        plain = self.op == "RNN" and self.activations == ("relu",) * self.directions
        if self.activations != tuple(DEFAULT_ACTIVATIONS[self.op]) * self.directions and not plain:
            return f"activations {list(self.activations)}"
        return ""


def recurrence(ctx: MappingContext, op: str) -> Recurrence:
    """The shared attributes of a recurrent node."""
    direction = str(ctx.attr("direction", "forward"))
    directions = 2 if direction == "bidirectional" else 1
    given = tuple(str(a).lower() for a in ctx.attr("activations", []))
    hidden = ctx.attr("hidden_size")
    r_shape = ctx.shape(R)
    if hidden is None and (r_shape is None or not isinstance(r_shape[-1], int)):
        raise Unmappable(f"{op} hidden_size is unknown")
    hidden = int(hidden) if hidden is not None else int(r_shape[-1])  # type: ignore[index]
    clip = ctx.attr("clip")
    return Recurrence(
        op,
        hidden,
        directions,
        direction == "reverse",
        int(ctx.attr("layout", 0)) == 1,
        given or tuple(DEFAULT_ACTIVATIONS[op]) * directions,
        tuple(_literal(a) for a in ctx.attr("activation_alpha", [])),
        tuple(_literal(b) for b in ctx.attr("activation_beta", [])),
        None if clip is None else _literal(clip),
        ctx.dtype(X),
    )


def _literal(value: object) -> float:
    """A float attribute (stored as float32) as its shortest literal: 0.3, not 0.30000001192092896."""
    return float(scalar_literal(np.float32(value)))


def initial_state(ctx: MappingContext, index: int, spec: Recurrence) -> Expr | None:
    """An initial state as (directions, batch, hidden)."""
    if not ctx.has_input(index):
        return None
    return Attribute(ctx.ref(index), "swapaxes(0, 1)") if spec.batch_first else ctx.ref(index)


def _method(expr: Expr, text: str) -> Expr:
    return Attribute(expr, text)


def y_transform(spec: Recurrence, time_major: bool) -> Callable[[Expr], Expr]:
    """Turns a layer's (T, N, D*H) or (N, T, D*H) output into ONNX's Y (layout 0 or 1)."""

    def transform(y: Expr) -> Expr:
        y = _method(y, f"flip(({0 if time_major else 1},))") if spec.reverse else y
        if time_major and not spec.batch_first and spec.directions == 1:
            return _method(y, "expand_dims(1)")
        # (.., .., D*H) -> (.., .., D, H): the directions' halves stacked on a new axis.
        y = (
            _method(y, "expand_dims(2)")
            if spec.directions == 1
            else call("ops.stack", call("ops.chunk", y, 2, -1), 2)
        )
        if not time_major:
            return y  # (N, T, D, H) is ONNX layout 1
        # (T, N, D, H) -> ONNX layout 0 (T, D, N, H) or layout 1 (N, T, D, H).
        return _method(y, "swapaxes(0, 1)" if spec.batch_first else "swapaxes(1, 2)")

    return transform


def output_transforms(spec: Recurrence, time_major: bool) -> list[Callable[[Expr], Expr] | None]:
    """For Y, Y_h and Y_c, how to build each from the layer's result (None: as it is)."""
    state = (lambda h: _method(h, "swapaxes(0, 1)")) if spec.batch_first else None
    return [y_transform(spec, time_major), state, state]


def output_count(ctx: MappingContext) -> tuple[list[int], int]:
    """The used outputs, and how many the node assigns (up to the last used one)."""
    outputs = ctx.node.outputs
    used = [i for i in range(len(outputs)) if outputs[i].uses() or outputs[i].is_graph_output()]
    return used, max(used, default=0) + 1


def select_outputs(ctx: MappingContext, emission: Emission, kind: str, transforms: list) -> Emission:
    """The node's outputs from one layer call: indexed directly, else from the call kept in a temporary."""
    used, count = output_count(ctx)
    flat = kind != "nn.LSTM"
    if flat and all(transforms[i] is None for i in used):
        result = emission.expr if kind != "ops.LSTM" and count == 2 else Index(emission.expr, f":{count}")
        return Emission(result, emission.layer, count)
    whole = emission.expr if len(used) == 1 else Temp(f"{kind.rsplit('.', 1)[-1].lower()}_out", emission.expr)
    items = []
    for i in range(count):
        item = Index(whole, ACCESS[kind][i]) if i in used else Const(None)
        items.append(transforms[i](item) if i in used and transforms[i] else item)
    result = TupleExpr(tuple(items)) if count > 1 else items[0]
    return Emission(result, emission.layer, count, (whole,) if isinstance(whole, Temp) else ())
