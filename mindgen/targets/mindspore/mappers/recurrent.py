"""LSTM, GRU and RNN: nn layers for constant weights, ops.LSTM for run-time LSTM weights, else unrolled steps."""

from __future__ import annotations

import dataclasses

import numpy as np

from mindgen.targets.mindspore.context import MappingContext
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
    Weight,
    bind,
    call,
    layer,
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
    output_transforms,
    recurrence,
    select_outputs,
)
from mindgen.targets.mindspore.mappers.recurrent_unrolled import unrolled
from mindgen.targets.mindspore.registry import register

# ONNX gate blocks -> MindSpore's (PyTorch's) order: LSTM iofc -> ifco, GRU zrh -> rzh.
GATE_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}


def _reorder(array: np.ndarray, op: str) -> np.ndarray:
    """Gate blocks along the first axis, from ONNX's order to MindSpore's."""
    blocks = np.split(array, len(GATE_ORDER[op]), axis=0)
    return np.concatenate([blocks[i] for i in GATE_ORDER[op]], axis=0)


def _weights(ctx: MappingContext, spec: Recurrence) -> list[Weight]:
    """nn layer parameters from constant W, R and B (Wb then Rb), per direction, gates reordered."""
    gates = len(GATE_ORDER[spec.op]) * spec.hidden
    weights = []
    for d in range(spec.directions):
        suffix = "_reverse" if d else ""
        for param, index, start in (
            ("weight_ih", W, None),
            ("weight_hh", R, None),
            ("bias_ih", B, 0),
            ("bias_hh", B, gates),
        ):
            if ctx.has_input(index):

                def part(array: np.ndarray, d: int = d, start: int | None = start) -> np.ndarray:
                    return _reorder(array[d] if start is None else array[d, start : start + gates], spec.op)

                weights.append(
                    bind(f"{param}_l0{suffix}", ctx.input(index), part, note="gate blocks reordered")
                )
    return weights


def _input_size(ctx: MappingContext, op: str) -> int:
    shape = ctx.shape(X)
    size = shape[-1] if shape is not None else None
    if not isinstance(size, int):
        raise Unmappable(f"{op} input size is unknown")
    return size


def _sequence_lengths(ctx: MappingContext, spec: Recurrence) -> Expr | None:
    """sequence_lens for the layer's seq_length: None when absent or all equal to the sequence length."""
    if not ctx.has_input(SEQ_LENS):
        return None
    lengths, shape = ctx.const(SEQ_LENS), ctx.shape(X)
    steps = shape[1 if spec.batch_first else 0] if shape is not None else None
    if lengths is not None and isinstance(steps, int) and bool(np.all(lengths == steps)):
        return None
    return ctx.ref(SEQ_LENS)


def _constant_weights(ctx: MappingContext) -> bool:
    return all(ctx.const(i) is not None for i in (W, R, B) if ctx.has_input(i))


def _nn_layer(ctx: MappingContext, spec: Recurrence, cls: str) -> Emission:
    """An nn.LSTM / nn.GRU / nn.RNN layer holding the constant weights."""
    x: Expr = ctx.ref(X)
    if spec.reverse:
        x = call("ops.flip", x, (1 if spec.batch_first else 0,))
    inputs = [x]
    h0, c0 = initial_state(ctx, INITIAL_H, spec), initial_state(ctx, INITIAL_C, spec)
    if spec.op == "LSTM" and (h0 is not None or c0 is not None):
        h0 = h0 if h0 is not None else call("ops.zeros_like", c0)
        inputs.append(TupleExpr((h0, c0 if c0 is not None else call("ops.zeros_like", h0))))
    elif h0 is not None:
        inputs.append(h0)
    seq_length = _sequence_lengths(ctx, spec)
    if seq_length is not None:
        inputs += [Const(None)] * (len(inputs) == 1) + [seq_length]
    kwargs: dict[str, object] = {"has_bias": ctx.has_input(B), "batch_first": spec.batch_first}
    kwargs |= {"bidirectional": True} if spec.directions == 2 else {}
    kwargs |= {"nonlinearity": "relu"} if spec.activations[0] == "relu" else {}
    kind = cls.rsplit(".", 1)[-1].lower()
    emission = layer(
        kind, cls, inputs, _input_size(ctx, spec.op), spec.hidden, weights=_weights(ctx, spec), **kwargs
    )
    return select_outputs(ctx, emission, cls, output_transforms(spec, time_major=not spec.batch_first))


def _slices(expr: Expr, hidden: int) -> Expr:
    """ONNX's i, o, f, c gate blocks along axis 1 as i, f, c, o: three slices joined by ops.concat."""
    spans = ((0, 1), (2, 4), (1, 2))
    blocks = tuple(Index(expr, f":, {a * hidden}:{b * hidden}") for a, b in spans)
    return call("ops.reshape", call("ops.concat", TupleExpr(blocks), 1), (-1,))


def _zeros(ctx: MappingContext, spec: Recurrence) -> Expr:
    shape = ctx.shape(X)
    axis = 0 if spec.batch_first else 1
    batch = shape[axis] if shape is not None else None
    size: Expr = Const(batch) if isinstance(batch, int) else Index(Attribute(ctx.ref(X), "shape"), str(axis))
    return call("ops.zeros", TupleExpr((Const(spec.directions), size, Const(spec.hidden))), Raw("ms.float32"))


def _lstm_primitive(ctx: MappingContext, spec: Recurrence) -> Emission:
    """ops.LSTM on weights known at run time, packed as [W, R, Wb + Rb] with gates in i, f, c, o order."""
    gates = 4 * spec.hidden
    # ops.LSTM reads all directions' W, then all R, then the summed biases.
    parts = [_slices(ctx.ref(W), spec.hidden), _slices(ctx.ref(R), spec.hidden)]
    prelude = []
    if ctx.has_input(B):
        bias = Temp(
            "lstm_bias", Infix("+", Index(ctx.ref(B), f":, :{gates}"), Index(ctx.ref(B), f":, {gates}:"))
        )
        parts.append(_slices(bias, spec.hidden))
        prelude.append(bias)
    packed = Temp(
        "lstm_weights", call("ops.reshape", call("ops.concat", TupleExpr(tuple(parts))), (-1, 1, 1))
    )
    x: Expr = ctx.ref(X)
    x = Attribute(x, "swapaxes(0, 1)") if spec.batch_first else x
    x = call("ops.flip", x, (0,)) if spec.reverse else x
    h0, c0 = initial_state(ctx, INITIAL_H, spec), initial_state(ctx, INITIAL_C, spec)
    h0 = h0 if h0 is not None else _zeros(ctx, spec)
    c0 = c0 if c0 is not None else _zeros(ctx, spec)
    arguments = (_input_size(ctx, "LSTM"), spec.hidden, 1, ctx.has_input(B), spec.directions == 2, 0.0)
    emission = layer("lstm", "ops.LSTM", [x, h0, c0, packed], *arguments)
    emission = select_outputs(ctx, emission, "ops.LSTM", output_transforms(spec, time_major=True))
    return dataclasses.replace(emission, prelude=(*prelude, packed, *emission.prelude))


def _layer_fits(ctx: MappingContext, spec: Recurrence) -> bool:
    """Whether an nn layer computes this node exactly: defaults, constant weights, lengths it can mask."""
    masked_reverse = spec.reverse and _sequence_lengths(ctx, spec) is not None
    return not spec.layer_reason() and _constant_weights(ctx) and not masked_reverse


@register("LSTM", since=7, target="nn.LSTM (constant weights) / ops.LSTM (run-time weights) / unrolled steps")
def map_lstm(ctx: MappingContext) -> Emission:
    spec = recurrence(ctx, "LSTM")
    input_forget = bool(int(ctx.attr("input_forget", 0)))
    peepholes = ctx.const(P) if ctx.has_input(P) else np.zeros(1)
    # MindSpore's LSTM has no peepholes and no coupled input/forget gate.
    if peepholes is not None and not np.any(peepholes) and not input_forget:
        if _layer_fits(ctx, spec):
            return _nn_layer(ctx, spec, "nn.LSTM")
        if not spec.layer_reason() and _sequence_lengths(ctx, spec) is None:
            return _lstm_primitive(ctx, spec)
    return unrolled(ctx, spec, input_forget=input_forget)


@register("GRU", since=7, target="nn.GRU (linear_before_reset=1, constant weights) / unrolled steps")
def map_gru(ctx: MappingContext) -> Emission:
    spec = recurrence(ctx, "GRU")
    # nn.GRU resets after the recurrent matmul, as ONNX linear_before_reset=1 does.
    reset_after = bool(int(ctx.attr("linear_before_reset", 0)))
    if reset_after and _layer_fits(ctx, spec):
        return _nn_layer(ctx, spec, "nn.GRU")
    return unrolled(ctx, spec, reset_after=reset_after)


@register("RNN", since=7, target="nn.RNN (constant weights) / unrolled steps")
def map_rnn(ctx: MappingContext) -> Emission:
    spec = recurrence(ctx, "RNN")
    return _nn_layer(ctx, spec, "nn.RNN") if _layer_fits(ctx, spec) else unrolled(ctx, spec)
