"""Gemm and MatMul: nn.Dense when the weight is constant, ops.matmul otherwise."""

from __future__ import annotations

import numpy as np

from mindgen.errors import InputError
from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    Expr,
    Infix,
    Raw,
    Unmappable,
    Weight,
    bind,
    call,
    expression,
    layer,
)
from mindgen.targets.mindspore.mappers.conv import layer_dtype
from mindgen.targets.mindspore.registry import register
from mindgen.weights.transform import transposed_copy


@register("Gemm", since=7, target="nn.Dense, or ops.matmul when B is not constant")
def map_gemm(ctx: MappingContext) -> Emission:
    """Gemm as nn.Dense (constant B, per-feature C) or as alpha * A @ B + beta * C."""
    alpha = float(ctx.attr("alpha", 1.0))
    beta = float(ctx.attr("beta", 1.0))
    trans_a, trans_b = int(ctx.attr("transA", 0)), int(ctx.attr("transB", 0))
    a: Expr = ctx.ref(0)
    if trans_a:
        a = call("ops.transpose", a, (1, 0))
    weight = ctx.input(1)
    bias = ctx.input(2)
    dtype = _dense_dtype(ctx)
    if (
        weight is not None
        and weight.const_value is not None
        and len(weight.const_value.shape) == 2
        and _is_bias_vector(ctx, bias)
        and dtype is not None
    ):
        return _dense(ctx, a, weight, bias, alpha, beta, trans_b, dtype)
    if dtype is None and (alpha != 1.0 or beta != 1.0):
        # A float factor would turn an integer product into floats.
        raise Unmappable("integer Gemm with alpha or beta other than 1")
    b: Expr = ctx.ref(1)
    if trans_b:
        b = call("ops.transpose", b, (1, 0))
    product: Expr = call("ops.matmul", a, b)
    if alpha != 1.0:
        product = Infix("*", product, _scalar(alpha))
    if bias is not None:
        c: Expr = ctx.operand(2, 2)
        if beta != 1.0:
            c = Infix("*", c, _scalar(beta))
        product = Infix("+", product, c)
    return expression(product)


def _dense_dtype(ctx: MappingContext) -> dict[str, Raw] | None:
    """nn.Dense's dtype= keyword for the input, or None for a type Dense cannot hold (integers)."""
    try:
        return layer_dtype(ctx, float64=True)
    except Unmappable:
        return None


def _scalar(value: float) -> Const:
    """A float attribute as the literal float32 rounds it to."""
    return Const(scalar_literal(np.float32(value)))


def _is_bias_vector(ctx: MappingContext, bias) -> bool:
    """A Gemm C that is a per-output-feature bias (what nn.Dense can hold)."""
    if bias is None:
        return True
    if bias.const_value is None:
        return False
    shape = tuple(int(d) for d in bias.const_value.shape)
    vector = len(shape) <= 1 or (len(shape) == 2 and shape[0] == 1)
    weight = ctx.input(1)
    if (
        vector
        and weight is not None
        and weight.const_value is not None
        and len(weight.const_value.shape) == 2
    ):
        features = int(weight.const_value.shape[0 if int(ctx.attr("transB", 0)) else 1])
        size = int(np.prod(shape))
        if size not in (1, features):
            # An invalid model (shape inference only warns): say so rather than fail writing weights.
            raise InputError(
                f"Gemm node {ctx.node.name!r}: C has shape {list(shape)}, which does not broadcast "
                f"to {features} output features"
            )
    return vector


def _dense(
    ctx: MappingContext, a: Expr, weight, bias, alpha: float, beta: float, trans_b: int, dtype: dict[str, Raw]
) -> Emission:
    """nn.Dense holding alpha * B (as (out, in)) and beta * C."""
    w_shape = tuple(int(d) for d in weight.const_value.shape)
    out_features, in_features = (w_shape[0], w_shape[1]) if trans_b else (w_shape[1], w_shape[0])

    def dense_weight(array: np.ndarray) -> np.ndarray:
        # nn.Dense keeps (out, in); fold alpha in so construct stays a plain layer call.
        matrix = array if trans_b else transposed_copy(array)
        return np.ascontiguousarray(matrix * np.asarray(alpha, array.dtype) if alpha != 1.0 else matrix)

    notes = [] if trans_b else ["transposed (in, out) -> (out, in)"]
    if alpha != 1.0:
        notes.append(f"scaled by alpha={alpha}")
    weights: list[Weight] = [bind("weight", weight, dense_weight, "; ".join(notes))]
    if bias is not None:

        def dense_bias(array: np.ndarray) -> np.ndarray:
            vector = np.broadcast_to(array.reshape(-1), (out_features,))
            return np.ascontiguousarray(vector * np.asarray(beta, array.dtype) if beta != 1.0 else vector)

        weights.append(bind("bias", bias, dense_bias, f"scaled by beta={beta}" if beta != 1.0 else ""))
    return layer(
        "fc", "nn.Dense", (a,), in_features, out_features, weights=weights, has_bias=bias is not None, **dtype
    )


@register("MatMul", since=1, target="nn.Dense (constant 2-D weight) or ops.matmul")
def map_matmul(ctx: MappingContext) -> Emission:
    """MatMul by a constant 2-D matrix as nn.Dense (no bias); anything else as ops.matmul."""
    weight = ctx.input(1)
    left_rank = ctx.rank(0)
    dtype = _dense_dtype(ctx)
    if (
        dtype is not None
        and weight is not None
        and weight.const_value is not None
        and len(weight.const_value.shape) == 2
        and left_rank is not None
        and left_rank >= 2
    ):
        in_features, out_features = (int(d) for d in weight.const_value.shape)
        transposed = bind("weight", weight, transposed_copy, "transposed (in, out) -> (out, in)")
        return layer(
            "fc",
            "nn.Dense",
            (ctx.ref(0),),
            in_features,
            out_features,
            weights=[transposed],
            has_bias=False,
            **dtype,
        )
    if ctx.rank(0) is None or ctx.rank(1) is None:
        raise Unmappable("MatMul operands of unknown rank")
    return expression(call("ops.matmul", ctx.ref(0), ctx.ref(1)))
