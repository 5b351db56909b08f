"""Transformer blocks: RotaryEmbedding, RMSNormalization, SwiGLU, Gelu, CausalConvWithState, LinearAttention."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype, scalar_literal
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Expr,
    Index,
    Infix,
    Raw,
    TupleExpr,
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.mappers.attention import NEG_INF, cast_to, input_dim, shape_tuple, split_heads
from mindgen.targets.mindspore.registry import register


@register("Gelu", since=20, target="ops.gelu")
def map_gelu(ctx: MappingContext) -> Emission:
    approximate = str(ctx.attr("approximate", "none"))
    if approximate not in ("none", "tanh"):
        raise Unmappable(f"Gelu approximate={approximate!r}")
    return expression(call("ops.gelu", ctx.ref(0), approximate=approximate))


@register("SwiGLU", since=28, target="ops.silu(a) * b")
def map_swiglu(ctx: MappingContext) -> Emission:
    alpha = scalar_literal(np.float32(ctx.attr("alpha", 1.0)))
    a = ctx.ref(0)
    gate = (
        call("ops.silu", a) if alpha == 1 else Infix("*", a, call("ops.sigmoid", Infix("*", a, Const(alpha))))
    )
    return expression(Infix("*", gate, ctx.ref(1)))


@register("RMSNormalization", since=23, target="x / sqrt(mean(x * x) + eps) * scale")
def map_rms_normalization(ctx: MappingContext) -> Emission:
    rank = ctx.require_rank(0)
    axis = int(ctx.attr("axis", -1))
    axis = axis + rank if axis < 0 else axis
    dtype = ctx.dtype(0)
    stash = ir.DataType(int(ctx.attr("stash_type", 1)))  # type: ignore[call-overload]
    # Stage one (the statistics and the division) runs at the stash precision, as in the ONNX function.
    x: Expr = ctx.ref(0) if stash == dtype else call("ops.cast", ctx.ref(0), Raw(ms_dtype(stash)))
    mean_square = call("ops.mean", Infix("*", x, x), tuple(range(axis, rank)), keep_dims=True)
    epsilon = Const(scalar_literal(np.float32(ctx.attr("epsilon", 1e-5))))
    normalized: Expr = Infix("/", x, call("ops.sqrt", Infix("+", mean_square, epsilon)))
    if stash != dtype:
        normalized = call("ops.cast", normalized, Raw(ms_dtype(dtype)))
    return expression(Infix("*", normalized, ctx.ref(1)))


def _rotate(x: Expr, cos: Expr, sin: Expr, rotary_dim: int, interleaved: bool) -> Expr:
    """The first rotary_dim features of each head rotated pairwise by the cached angles."""
    half = rotary_dim // 2
    if interleaved:
        x1, x2 = Index(x, f"..., 0:{rotary_dim}:2"), Index(x, f"..., 1:{rotary_dim}:2")
    else:
        x1, x2 = Index(x, f"..., :{half}"), Index(x, f"..., {half}:{rotary_dim}")
    real = Infix("-", Infix("*", cos, x1), Infix("*", sin, x2))
    imag = Infix("+", Infix("*", sin, x1), Infix("*", cos, x2))
    if interleaved:
        # (real, imag) pairs go back to the even and odd features.
        return call("ops.flatten", call("ops.stack", TupleExpr((real, imag)), -1), start_dim=-2)
    return call("ops.concat", TupleExpr((real, imag)), -1)


@register("RotaryEmbedding", since=23, target="slices, ops.gather of the caches, ops.concat")
def map_rotary_embedding(ctx: MappingContext) -> Emission:
    rank = ctx.require_rank(0)
    if rank not in (3, 4):
        raise Unmappable(f"RotaryEmbedding on a rank-{rank} input")
    x: Expr = ctx.ref(0)
    if rank == 3:
        heads = int(ctx.attr("num_heads", 0))
        if heads <= 0:
            raise Unmappable("3-D RotaryEmbedding input without num_heads")
        x = call("ops.reshape", x, shape_tuple(input_dim(ctx, 0, 0), input_dim(ctx, 0, 1), heads, -1))
    head_size = input_dim(ctx, 0, 3) if rank == 4 else input_dim(ctx, 0, 2)
    if not isinstance(head_size, int):
        raise Unmappable("RotaryEmbedding needs the head size known at conversion time")
    head_size = head_size if rank == 4 else head_size // heads
    rotary_dim = int(ctx.attr("rotary_embedding_dim", 0)) or head_size
    cos_half = input_dim(ctx, 1, -1)
    if isinstance(cos_half, int) and cos_half != rotary_dim // 2:
        raise Unmappable(f"cos_cache has {cos_half} entries per position, not rotary_embedding_dim / 2")
    cos: Expr = ctx.ref(1)
    sin: Expr = ctx.ref(2)
    if ctx.has_input(3):
        cos, sin = call("ops.gather", cos, ctx.ref(3), 0), call("ops.gather", sin, ctx.ref(3), 0)
    # Caches are (batch, seq, rotary_dim / 2): add the heads axis of the input's layout.
    heads_axis = 1 if rank == 4 else 2
    cos, sin = call("ops.unsqueeze", cos, heads_axis), call("ops.unsqueeze", sin, heads_axis)
    rotated = _rotate(x, cos, sin, rotary_dim, bool(int(ctx.attr("interleaved", 0))))
    if rotary_dim < head_size:
        rotated = call("ops.concat", TupleExpr((rotated, Index(x, f"..., {rotary_dim}:"))), -1)
    if rank == 3:
        rotated = call("ops.reshape", rotated, shape_tuple(input_dim(ctx, 0, 0), input_dim(ctx, 0, 1), -1))
    return expression(rotated)


@register("CausalConvWithState", since=27, target="ops.conv1d (depthwise) over the state and the input")
def map_causal_conv_with_state(ctx: MappingContext) -> Emission:
    activation = str(ctx.attr("activation", "none"))
    if activation not in ("none", "silu", "swish"):
        raise Unmappable(f"CausalConvWithState activation={activation!r}")
    kernel, channels = input_dim(ctx, 1, 2), input_dim(ctx, 1, 0)
    if not isinstance(kernel, int) or not isinstance(channels, int):
        raise Unmappable("CausalConvWithState needs the weight shape known at conversion time")
    x: Expr = ctx.ref(0)
    # The carried state (or zeros) supplies the k - 1 positions before the input.
    if ctx.has_input(3):
        padded: Expr = call("ops.concat", TupleExpr((ctx.ref(3), x)), 2)
    else:
        padded = x if kernel == 1 else call("ops.pad", x, (kernel - 1, 0))
    bias = ctx.ref(2) if ctx.has_input(2) else None
    output: Expr = call("ops.conv1d", padded, ctx.ref(1), bias, groups=channels)
    if activation != "none":
        output = call("ops.silu", output)
    used = [out.uses() or out.is_graph_output() for out in ctx.node.outputs]
    if len(used) < 2 or not used[1]:
        return expression(output)
    state = Index(padded, f":, :, -{kernel - 1}:") if kernel > 1 else Index(x, ":, :, :0")
    return expression(TupleExpr((output, state)), results=2)


def _time_major(ctx: MappingContext, index: int, heads: int) -> Expr:
    """A (batch, T, heads * n) or (batch, T, 1) decay or beta input as (batch, heads or 1, T, n), in float32."""
    width = input_dim(ctx, index, 2)
    if not isinstance(width, int) or width % heads and width != 1:
        raise Unmappable("LinearAttention decay/beta widths must be known multiples of kv_num_heads (or 1)")
    split = split_heads(ctx, index, 1 if width == 1 else heads, 3)
    return cast_to(split, ctx.dtype(index), ir.DataType.FLOAT)


@register(
    "LinearAttention", since=27, target="causal linear attention in parallel form; delta rules per step"
)
def map_linear_attention(ctx: MappingContext) -> Emission:
    rule = str(ctx.attr("update_rule", "gated_delta"))
    if rule not in ("linear", "gated", "delta", "gated_delta"):
        raise Unmappable(f"LinearAttention update_rule={rule!r}")
    gated, delta = rule in ("gated", "gated_delta"), rule in ("delta", "gated_delta")
    if delta and input_dim(ctx, 0, 1) != 1:
        # S_{t-1}^T k_t makes each step depend on the last: that needs a loop over T, not one expression.
        raise Unmappable(f"the {rule} recurrence over more than one time step", "emit a loop over T")
    hq, hkv = int(ctx.attr("q_num_heads", 0)), int(ctx.attr("kv_num_heads", 0))
    hidden = input_dim(ctx, 0, 2)
    if hq <= 0 or hkv <= 0 or hq % hkv or not isinstance(hidden, int):
        raise Unmappable("LinearAttention needs valid head counts and a known query width")
    dtype = ctx.dtype(0)
    # The ONNX reference accumulates in float32 whatever T is.
    q, k, v = (
        cast_to(split_heads(ctx, i, h, 3), dtype, ir.DataType.FLOAT) for i, h in ((0, hq), (1, hkv), (2, hkv))
    )
    past = cast_to(ctx.ref(3), ctx.dtype(3), ir.DataType.FLOAT) if ctx.has_input(3) else None
    groups = hq // hkv

    def per_query_head(e: Expr) -> Expr:
        return e if groups == 1 else call("ops.repeat_interleave", e, groups, 1)

    def transposed(e: Expr) -> Expr:
        return call("ops.transpose", e, (0, 1, 3, 2))

    log_decay = _time_major(ctx, 4, hkv) if gated else None
    if delta:
        # One step: S = exp(g) S_past + k (beta (v - (exp(g) S_past)^T k)).
        if past is not None and log_decay is not None:
            past = Infix("*", transposed(call("ops.exp", log_decay)), past)
        update = Infix(
            "*", _time_major(ctx, 5, hkv), v if past is None else Infix("-", v, call("ops.matmul", k, past))
        )
        state = call("ops.matmul", transposed(k), update)
        state = state if past is None else Infix("+", past, state)
        out: Expr = call("ops.matmul", q, per_query_head(state))
    else:
        # S_t = exp(G_t - G_s) summed over s <= t, with G the running sum of the log decays.
        total = call("ops.cumsum", log_decay, 2) if log_decay is not None else None
        if total is None:
            scores: Expr = call("ops.tril", call("ops.matmul", q, transposed(per_query_head(k))))
        else:
            steps = input_dim(ctx, 0, 1)
            earlier = Index(
                Infix(">=", Index(call("ops.arange", steps), ":, None"), call("ops.arange", steps)),
                "..., None",
            )
            shared = per_query_head(total)
            gap = Infix("-", Index(shared, "..., :, None, :"), Index(shared, "..., None, :, :"))
            weights = call("ops.exp", call("ops.where", earlier, gap, NEG_INF))
            products = Infix(
                "*",
                Infix("*", Index(q, "..., :, None, :"), Index(per_query_head(k), "..., None, :, :")),
                weights,
            )
            scores = call("ops.sum", products, -1)
        out = call("ops.matmul", scores, per_query_head(v))
        last = Index(total, "..., -1:, :") if total is not None else None
        if past is not None:
            seen = q if total is None else Infix("*", q, call("ops.exp", per_query_head(total)))
            out = Infix("+", call("ops.matmul", seen, per_query_head(past)), out)
        written = k if total is None else Infix("*", k, call("ops.exp", Infix("-", last, total)))
        state = call("ops.matmul", transposed(written), v)
        if past is not None:
            kept = past if last is None else Infix("*", transposed(call("ops.exp", last)), past)
            state = Infix("+", kept, state)
    scale = float(ctx.attr("scale", 0.0)) or 1 / np.sqrt(hidden // hq)
    out = Infix("*", out, Const(scalar_literal(np.float32(scale))))
    merged = shape_tuple(input_dim(ctx, 0, 0), input_dim(ctx, 0, 1), -1)
    output = cast_to(
        call("ops.reshape", call("ops.transpose", out, (0, 2, 1, 3)), merged), ir.DataType.FLOAT, dtype
    )
    if not (ctx.output(1).uses() or ctx.output(1).is_graph_output()):
        return expression(output)
    present = cast_to(state, ir.DataType.FLOAT, ctx.dtype(3) if past is not None else dtype)
    return expression(TupleExpr((output, present)), results=2)
