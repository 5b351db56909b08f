"""Attention (opsets 23-25) from ops.matmul, ops.softmax and broadcast masks (ops.einsum has no CPU kernel)."""

from __future__ import annotations

import functools
import math
import operator

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype, scalar_literal
from mindgen.targets.mindspore.emission import (
    Attribute,
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    Raw,
    TupleExpr,
    Unmappable,
    as_expr,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register

Size = int | Expr
NEG_INF = Const(-math.inf)
Q, K, V, MASK, PAST_KEY, PAST_VALUE, NONPAD = range(7)


def input_dim(ctx: MappingContext, index: int, axis: int) -> Size:
    """A dimension of an input: an int when known, else read from `.shape` at run time."""
    shape = ctx.shape(index)
    dim = shape[axis] if shape is not None else None
    return dim if isinstance(dim, int) else Index(Attribute(ctx.ref(index), "shape"), str(axis))


def _fold(op: str, left: Size, right: Size) -> Size:
    """left op right on sizes: computed now when both are known, else an expression."""
    if isinstance(left, int) and isinstance(right, int):
        return {"+": operator.add, "-": operator.sub, "//": operator.floordiv}[op](left, right)
    if op == "+" and isinstance(left, int):
        left, right = right, left
    if op == "+" and isinstance(right, int):
        return left if right == 0 else Infix("-" if right < 0 else "+", as_expr(left), Const(abs(right)))
    return Infix(op, as_expr(left), as_expr(right))


def shape_tuple(*dims: Size) -> Expr:
    """A shape argument: a literal tuple, or a tuple expression when a dimension is read at run time."""
    items = tuple(as_expr(d) for d in dims)
    return Const(tuple(dims)) if all(isinstance(d, int) for d in dims) else TupleExpr(items)


def _literal(value: float, dtype: ir.DataType) -> float:
    """value rounded to the tensor's precision first, as ONNX casts it to T before multiplying."""
    rounded = np.asarray(value, dtype.numpy())
    # scalar_literal spells numpy floats; a bfloat16 value is exact in float32.
    return scalar_literal((rounded.astype(np.float32) if dtype == ir.DataType.BFLOAT16 else rounded)[()])


def split_heads(ctx: MappingContext, index: int, heads: object, rank: int) -> Expr:
    """A 4-D (batch, heads, seq, head_size) view of Q, K or V."""
    if rank == 4:
        return ctx.ref(index)
    if heads is None:
        raise Unmappable("3-D Attention inputs need the q_num_heads and kv_num_heads attributes")
    shape = shape_tuple(input_dim(ctx, index, 0), input_dim(ctx, index, 1), int(heads), -1)  # type: ignore[call-overload]
    return call("ops.transpose", call("ops.reshape", ctx.ref(index), shape), (0, 2, 1, 3))


def _scale(ctx: MappingContext, rank: int, q_heads: object) -> float:
    scale = ctx.attr("scale")
    if scale is not None:
        return float(scale)
    head_size = input_dim(ctx, Q, 3) if rank == 4 else input_dim(ctx, Q, 2)
    if not isinstance(head_size, int):
        raise Unmappable("the default Attention scale needs the head size known at conversion time")
    return 1 / math.sqrt(head_size if rank == 4 else head_size // int(q_heads))  # type: ignore[call-overload]


def _per_batch(values: Expr) -> Expr:
    """A (batch,) tensor as (batch, 1, 1, 1), to broadcast over heads, queries and keys."""
    return call("ops.reshape", values, (-1, 1, 1, 1))


def _bias(ctx: MappingContext, q_len: Size, kv_len: Size, past_len: Size) -> tuple[Expr | None, bool]:
    """The additive bias (mask, causal frontier, windows, padding) and whether a row can be fully masked."""
    allowed: list[Expr] = []
    additive: Expr | None = None
    if ctx.has_input(MASK):
        pad = _fold("-", kv_len, input_dim(ctx, MASK, -1))
        if isinstance(pad, int) and pad < 0:
            raise Unmappable("attn_mask is longer than the key sequence")
        boolean = ctx.dtype(MASK) == ir.DataType.BOOL
        mask: Expr = ctx.ref(MASK)
        if not boolean:
            mask = cast_to(mask, ctx.dtype(MASK), ctx.dtype(Q))
        if pad != 0:
            # A mask shorter than the keys leaves the extra keys out (ONNX pads with False / -inf).
            mask = call("ops.pad", mask, shape_tuple(0, pad), value=Const(False) if boolean else NEG_INF)
        if boolean:
            allowed.append(mask)
        else:
            additive = mask
    nonpad = ctx.ref(NONPAD) if ctx.has_input(NONPAD) else None
    # Bottom-right alignment: query i sits at absolute position i + offset.
    offset = past_len if nonpad is None else _per_batch(Infix("-", nonpad, as_expr(q_len)))
    keys = call("ops.arange", kv_len)
    rows = Index(call("ops.arange", q_len), ":, None")

    def position(shift: int) -> Expr:
        return as_expr(_fold("+", rows, _fold("+", offset, shift)))

    left, right = int(ctx.attr("left_window_size", -1)), int(ctx.attr("right_window_size", -1))
    if int(ctx.attr("is_causal", 0)):
        allowed.append(Infix("<=", keys, position(0)))
    if left >= 0:
        allowed.append(Infix(">=", keys, position(-left)))
    if right >= 0:
        allowed.append(Infix("<=", keys, position(right)))
    if nonpad is not None:
        allowed.append(Infix("<", keys, _per_batch(nonpad)))
    bias = additive
    if allowed:
        joined = functools.reduce(lambda a, b: call("ops.logical_and", a, b), allowed)
        blocked: Expr = call("ops.where", joined, 0.0, NEG_INF)
        blocked = cast_to(blocked, ir.DataType.FLOAT, ctx.dtype(Q))
        bias = blocked if bias is None else Infix("+", bias, blocked)
    # Only the causal frontier with a non-negative offset always leaves key 0 visible.
    return bias, bool(ctx.has_input(MASK) or nonpad is not None or left >= 0 or right >= 0)


def cast_to(expr: Expr, source: ir.DataType, target: ir.DataType) -> Expr:
    """expr as the target type; unchanged when the types agree."""
    return expr if source == target else call("ops.cast", expr, Raw(ms_dtype(target)))


def _softmax(scores: Expr, bias: Expr | None, guard: bool, dtype: ir.DataType, precision: object) -> Expr:
    """Softmax over the keys at softmax_precision; rows with every key masked become zeros, not NaN."""
    softmax_type = dtype if precision is None else ir.DataType(int(precision))  # type: ignore[call-overload]
    logits = cast_to(scores, dtype, softmax_type)
    if not guard:
        return cast_to(call("ops.softmax", logits, -1), softmax_type, dtype)
    empty = call("ops.isneginf", call("ops.amax", bias, -1, keepdims=True))
    if softmax_type == ir.DataType.FLOAT:
        # MindSpore's float32 CPU softmax zeroes every row after an all -inf row: keep them out.
        logits = call("ops.masked_fill", logits, empty, 0.0)
    return cast_to(call("ops.masked_fill", call("ops.softmax", logits, -1), empty, 0.0), softmax_type, dtype)


@register("Attention", since=23, target="ops.matmul + ops.softmax; GQA, KV cache, masks, windows")
def map_attention(ctx: MappingContext) -> Emission:
    rank = ctx.require_rank(Q)
    if rank not in (3, 4):
        raise Unmappable(f"Attention on rank-{rank} inputs")
    past = ctx.has_input(PAST_KEY)
    if past != ctx.has_input(PAST_VALUE) or (past and ctx.has_input(NONPAD)):
        raise Unmappable("past_key/past_value must come together and exclude nonpad_kv_seqlen")
    mode = int(ctx.attr("qk_matmul_output_mode", 0))
    if mode not in (0, 1, 2, 3):
        raise Unmappable(f"qk_matmul_output_mode {mode}")
    dtype = ctx.dtype(Q)
    q_heads, kv_heads = ctx.attr("q_num_heads"), ctx.attr("kv_num_heads")
    q, k, v = (split_heads(ctx, i, h, rank) for i, h in ((Q, q_heads), (K, kv_heads), (V, kv_heads)))
    if past:
        k = call("ops.concat", TupleExpr((ctx.ref(PAST_KEY), k)), 2)
        v = call("ops.concat", TupleExpr((ctx.ref(PAST_VALUE), v)), 2)
    present_key, present_value = k, v
    # ONNX scales Q and K by sqrt(scale) each, rounded to T, to keep QK^T from overflowing.
    factor = Const(_literal(math.sqrt(_scale(ctx, rank, q_heads)), dtype))
    q, k = Infix("*", q, factor), Infix("*", call("ops.transpose", k, (0, 1, 3, 2)), factor)
    # Grouped-query attention: each KV head serves q_heads / kv_heads consecutive query heads.
    if rank == 3:
        groups: Size = int(q_heads) // int(kv_heads)  # type: ignore[call-overload]
    else:
        groups = _fold("//", input_dim(ctx, Q, 1), input_dim(ctx, K, 1))
    if groups != 1:
        k, v = call("ops.repeat_interleave", k, groups, 1), call("ops.repeat_interleave", v, groups, 1)
    qk = capped = call("ops.matmul", q, k)
    softcap = float(ctx.attr("softcap", 0.0))
    if softcap > 0:
        cap = Const(scalar_literal(np.float32(softcap)))
        capped = Infix("*", call("ops.tanh", Infix("/", qk, cap)), cap)
    seq_axis = 2 if rank == 4 else 1
    past_len = input_dim(ctx, PAST_KEY, 2) if past else 0
    q_len = input_dim(ctx, Q, seq_axis)
    bias, guard = _bias(ctx, q_len, _fold("+", past_len, input_dim(ctx, K, seq_axis)), past_len)
    scores = capped if bias is None else Infix("+", capped, bias)
    probs = _softmax(scores, bias, guard, dtype, ctx.attr("softmax_precision"))
    y = call("ops.matmul", probs, v)
    if rank == 3:
        merged = shape_tuple(input_dim(ctx, Q, 0), q_len, -1)
        y = call("ops.reshape", call("ops.transpose", y, (0, 2, 1, 3)), merged)
    results = [y, present_key, present_value, (qk, capped, scores, probs)[mode]]
    used = [out.uses() or out.is_graph_output() for out in ctx.node.outputs]
    while len(used) > 1 and not used[-1]:
        used.pop()
    if len(used) == 1:
        return expression(y)
    items = tuple(r if u else Const(None) for r, u in zip(results, used, strict=False))
    return expression(TupleExpr(items), results=len(used))
