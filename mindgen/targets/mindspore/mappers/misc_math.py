"""Einsum as matmul / transpose / sum (ops.einsum has no CPU kernel), Det, Shrink and parametric activations."""

from __future__ import annotations

import math
import string

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
    Unmappable,
    call,
    expression,
)
from mindgen.targets.mindspore.registry import register

# ONNX Selu's defaults are the constants ops.selu uses.
SELU_ALPHA, SELU_GAMMA = 1.67326319217681884765625, 1.05070102214813232421875
_INTEGERS = {ir.DataType.INT8, ir.DataType.INT16, ir.DataType.INT32, ir.DataType.UINT8}


def _number(ctx: MappingContext, name: str, default: float) -> Const:
    """A float attribute (stored as float32) as its shortest literal: 0.3, not 0.30000001192092896."""
    return Const(scalar_literal(np.float32(ctx.attr(name, default))))


def _in_float32(ctx: MappingContext, build) -> Emission:
    """build(x) on input 0; 16-bit floats go through float32 and back, rounding once as onnxruntime does."""
    narrow = {ir.DataType.FLOAT16: "ms.float16", ir.DataType.BFLOAT16: "ms.bfloat16"}.get(ctx.dtype(0))
    if narrow is None:
        return expression(build(ctx.ref(0)))
    result = build(call("ops.cast", ctx.ref(0), Raw("ms.float32")))
    return expression(call("ops.cast", result, Raw(narrow)))


def _exp_minus_one(x: Expr, alpha: Const) -> Expr:
    return Infix("*", alpha, Infix("-", call("ops.exp", x), Const(1.0)))


@register("Elu", since=6, target="ops.elu (alpha 1) / ops.where")
def map_elu(ctx: MappingContext) -> Emission:
    alpha = _number(ctx, "alpha", 1.0)
    if alpha.value == 1.0:
        return _in_float32(ctx, lambda x: call("ops.elu", x))
    # ops.elu takes only alpha=1 (notes, gotcha 7).
    return _in_float32(ctx, lambda x: call("ops.where", Infix(">", x, Const(0)), x, _exp_minus_one(x, alpha)))


@register("Celu", since=12, target="ops.celu")
def map_celu(ctx: MappingContext) -> Emission:
    return _in_float32(ctx, lambda x: call("ops.celu", x, _number(ctx, "alpha", 1.0)))


@register("Selu", since=6, target="ops.selu / gamma * ops.where")
def map_selu(ctx: MappingContext) -> Emission:
    alpha, gamma = float(ctx.attr("alpha", SELU_ALPHA)), float(ctx.attr("gamma", SELU_GAMMA))
    if math.isclose(alpha, SELU_ALPHA, rel_tol=1e-7) and math.isclose(gamma, SELU_GAMMA, rel_tol=1e-7):
        return _in_float32(ctx, lambda x: call("ops.selu", x))
    a, g = _number(ctx, "alpha", SELU_ALPHA), _number(ctx, "gamma", SELU_GAMMA)
    return _in_float32(
        ctx, lambda x: Infix("*", g, call("ops.where", Infix(">", x, Const(0)), x, _exp_minus_one(x, a)))
    )


@register("ThresholdedRelu", since=10, target="ops.where(x > alpha, x, 0)")
def map_thresholded_relu(ctx: MappingContext) -> Emission:
    alpha = _number(ctx, "alpha", 1.0)
    return _in_float32(ctx, lambda x: call("ops.where", Infix(">", x, alpha), x, Const(0.0)))


@register("PRelu", since=7, target="ops.where(x < 0, x * slope, x)")
def map_prelu(ctx: MappingContext) -> Emission:
    # ops.prelu wants one slope per channel; ONNX broadcasts any slope shape from the right.
    x = ctx.ref(0)
    return expression(call("ops.where", Infix("<", x, Const(0)), Infix("*", x, ctx.ref(1)), x))


@register("Swish", since=24, target="ops.silu / x * ops.sigmoid(alpha * x)")
def map_swish(ctx: MappingContext) -> Emission:
    alpha = _number(ctx, "alpha", 1.0)
    if alpha.value == 1.0:
        return _in_float32(ctx, lambda x: call("ops.silu", x))
    return _in_float32(ctx, lambda x: Infix("*", x, call("ops.sigmoid", Infix("*", alpha, x))))


@register("Shrink", since=9, target="ops.hardshrink / ops.softshrink / ops.where")
def map_shrink(ctx: MappingContext) -> Emission:
    bias, lambd = _number(ctx, "bias", 0.0), _number(ctx, "lambd", 0.5)
    floating = ctx.dtype(0) in (ir.DataType.FLOAT, ir.DataType.FLOAT16)
    if floating and bias.value == 0.0 and lambd.value >= 0:
        return expression(call("ops.hardshrink", ctx.ref(0), lambd))
    if floating and bias.value == lambd.value and lambd.value >= 0:
        return expression(call("ops.softshrink", ctx.ref(0), lambd))
    x: Expr = ctx.ref(0)
    if not floating:
        # Integers shift by the float bias and truncate back, as onnxruntime computes them.
        x = call("ops.cast", x, Raw("ms.float64"))
    zeros = call("ops.zeros_like", x)
    inner = call("ops.where", Infix("<", x, Const(-lambd.value)), Infix("+", x, bias), zeros)
    result = call("ops.where", Infix(">", x, lambd), Infix("-", x, bias), inner)
    return expression(result if floating else call("ops.cast", result, Raw(ms_dtype(ctx.dtype(0)))))


@register("Det", since=11, target="ops.det")
def map_det(ctx: MappingContext) -> Emission:
    if ctx.dtype(0) not in (ir.DataType.FLOAT, ir.DataType.DOUBLE):
        raise Unmappable(f"Det on {ctx.dtype(0).name}: MindSpore's CPU determinant takes float32/float64")
    return expression(call("ops.det", ctx.ref(0)))


# Einsum ---------------------------------------------------------------------------------------
def _terms(equation: str, ranks: list[int]) -> tuple[list[str], str]:
    """Input terms and the output term, with `...` spelled as fresh upper-case letters."""
    equation = equation.replace(" ", "")
    inputs, _, output = equation.partition("->")
    terms = inputs.split(",")
    spare = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in equation]
    widths = [rank - (len(t) - 3) if "..." in t else 0 for t, rank in zip(terms, ranks, strict=True)]
    ellipsis = "".join(spare[: max(widths, default=0)])
    terms = [
        t.replace("...", ellipsis[len(ellipsis) - w :] if w else "")
        for t, w in zip(terms, widths, strict=True)
    ]
    if "->" not in equation:
        letters = "".join(terms)
        output = "..." + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis)
        )
    return terms, output.replace("...", ellipsis)


def _reduce(expr: Expr, term: str, keep: set[str], dtype: ir.DataType | None) -> tuple[Expr, str]:
    """Takes repeated letters' diagonals, then sums letters nobody needs any more."""
    for letter in dict.fromkeys(term):
        while term.count(letter) > 1:
            first, second = term.index(letter), term.index(letter, term.index(letter) + 1)
            expr = call("ops.diagonal", expr, 0, first, second)
            term = term[:first] + term[first + 1 : second] + term[second + 1 :] + letter
    gone = tuple(i for i, c in enumerate(term) if c not in keep)
    if gone:
        expr = call("ops.sum", expr, gone)
        # ops.sum widens small integers to int64 (notes, gotcha 9).
        expr = call("ops.cast", expr, Raw(f"ms.{dtype.name.lower()}")) if dtype in _INTEGERS else expr
        term = "".join(c for c in term if c in keep)
    return expr, term


def _permute(expr: Expr, term: str, order: str) -> Expr:
    return expr if term == order else call("ops.transpose", expr, tuple(term.index(c) for c in order))


def _matrix(expr: Expr, rows: str, columns: str) -> Expr:
    """A (batch, rows?, columns?) operand with each missing matrix axis as a size-1 axis."""
    if rows and columns:
        return expr
    return Index(
        expr, "..., " + ("None, None" if not rows and not columns else "None" if rows else "None, :")
    )


def _contract(a: Expr, a_term: str, b: Expr, b_term: str, keep: set[str]) -> tuple[Expr, str]:
    """Two operands as one: ops.matmul over (batch, left, contracted) x (batch, contracted, right)."""
    batch = "".join(c for c in a_term if c in b_term and c in keep)
    inner = "".join(c for c in a_term if c in b_term and c not in keep)
    left = "".join(c for c in a_term if c not in b_term)
    right = "".join(c for c in b_term if c not in a_term)
    a, b = _permute(a, a_term, batch + left + inner), _permute(b, b_term, batch + inner + right)
    if len(left) <= 1 and len(inner) <= 1 and len(right) <= 1:
        # Missing matrix axes become size-1 axes, dropped again after the product.
        a = _matrix(a, left, inner)
        b = _matrix(b, inner, right)
        product: Expr = call("ops.matmul", a, b)
        drop = (() if left else (-2,)) + (() if right else (-1,))
        product = call("ops.squeeze", product, drop) if drop else product
        return product, batch + left + right
    # Otherwise a broadcast product summed over the contracted letters.
    a = Index(a, "..." + ", None" * len(right)) if right else a
    b = Index(b, ":, " * len(batch) + "None, " * len(left) + "...") if left else b
    start = len(batch + left)
    summed = (
        call("ops.sum", Infix("*", a, b), tuple(range(start, start + len(inner))))
        if inner
        else Infix("*", a, b)
    )
    return summed, batch + left + right


@register("Einsum", since=12, target="ops.matmul / ops.transpose / ops.sum / ops.diagonal")
def map_einsum(ctx: MappingContext) -> Emission:
    count = len(ctx.node.inputs)
    ranks = [ctx.require_rank(i) for i in range(count)]
    equation = str(ctx.attr("equation", ""))
    if equation.count(",") + 1 != count:
        raise Unmappable(f"Einsum equation {equation[:80]!r} does not have {count} input term(s)")
    terms, output = _terms(equation, ranks)
    # A term must name every axis of its input (the spec's rule); 'xxxx...' on a 4-D input does not.
    if [len(t) for t in terms] != ranks or not set(output) <= set("".join(terms)):
        raise Unmappable(f"Einsum equation {equation[:80]!r} does not match input ranks {ranks}")
    dtype = ctx.dtype(0)
    operands: list[Expr] = [ctx.ref(i) for i in range(count)]
    if dtype == ir.DataType.BFLOAT16:  # bfloat16 matmul and sum have no CPU kernels
        operands = [call("ops.cast", o, Raw("ms.float32")) for o in operands]
    # Operands join left to right; a letter stays while the output or a later operand has it.
    expr, term = _reduce(operands[0], terms[0], set(output + "".join(terms[1:])), dtype)
    for index in range(1, count):
        keep = set(output + "".join(terms[index + 1 :]))
        other, other_term = _reduce(operands[index], terms[index], keep | set(term), dtype)
        expr, term = _reduce(expr, term, keep | set(other_term), dtype)
        expr, term = _contract(expr, term, other, other_term, keep)
    expr = _permute(expr, term, output)
    return expression(call("ops.cast", expr, Raw("ms.bfloat16")) if dtype == ir.DataType.BFLOAT16 else expr)
