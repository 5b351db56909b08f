"""Elementwise arithmetic and math functions."""

from __future__ import annotations

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import Emission, Infix, Prefix, Raw, Ref, call, expression
from mindgen.targets.mindspore.registry import register

# ONNX unary op -> the MindSpore function with the same semantics on every element.
UNARY_FUNCTIONS = {
    "Abs": "ops.abs",
    "Acos": "ops.acos",
    "Acosh": "ops.acosh",
    "Asin": "ops.asin",
    "Asinh": "ops.asinh",
    "Atan": "ops.atan",
    "Atanh": "ops.atanh",
    "Ceil": "ops.ceil",
    "Cos": "ops.cos",
    "Cosh": "ops.cosh",
    "Erf": "ops.erf",
    "Exp": "ops.exp",
    "Floor": "ops.floor",
    "Log": "ops.log",
    "Reciprocal": "ops.reciprocal",
    "Round": "ops.round",
    "Sign": "ops.sign",
    "Sin": "ops.sin",
    "Sinh": "ops.sinh",
    "Sqrt": "ops.sqrt",
    "Tan": "ops.tan",
}

# ONNX binary op -> Python operator, for float tensors (integers need care, see Div).
INFIX_OPERATORS = {"Add": "+", "Sub": "-", "Mul": "*"}

_INTEGER_TYPES = {
    ir.DataType.INT8,
    ir.DataType.INT16,
    ir.DataType.INT32,
    ir.DataType.INT64,
    ir.DataType.UINT8,
    ir.DataType.UINT16,
    ir.DataType.UINT32,
    ir.DataType.UINT64,
}


def _unary(func: str):
    def map_unary(ctx: MappingContext) -> Emission:
        return expression(call(func, ctx.ref(0)))

    map_unary.__name__ = f"map_{func.rsplit('.', 1)[-1]}"
    return map_unary


for _op, _func in UNARY_FUNCTIONS.items():
    register(_op, since=1, target=_func)(_unary(_func))


def _operands(ctx: MappingContext):
    """Both operands; a constant scalar becomes a literal when broadcasting allows it."""
    left_rank, right_rank = ctx.rank(0), ctx.rank(1)
    left = ctx.operand(0, right_rank) if ctx.const(1) is None else ctx.ref(0)
    right = ctx.operand(1, left_rank)
    return left, right


def _infix(symbol: str):
    def map_infix(ctx: MappingContext) -> Emission:
        left, right = _operands(ctx)
        return expression(Infix(symbol, left, right))

    return map_infix


for _op, _symbol in INFIX_OPERATORS.items():
    register(_op, since=7, target=f"a {_symbol} b")(_infix(_symbol))


@register("Div", since=7, target="a / b; ops.div(rounding_mode='trunc') for integers")
def map_div(ctx: MappingContext) -> Emission:
    left, right = _operands(ctx)
    if ctx.dtype(0) in _INTEGER_TYPES:
        # ONNX integer division truncates; MindSpore's `/` would return floats.
        return expression(call("ops.div", left, right, rounding_mode="trunc"))
    return expression(Infix("/", left, right))


@register("Neg", since=6, target="-x")
def map_neg(ctx: MappingContext) -> Emission:
    return expression(Prefix("-", ctx.ref(0)))


@register("Pow", since=7, target="ops.pow")
def map_pow(ctx: MappingContext) -> Emission:
    base_type, exponent_type = ctx.dtype(0), ctx.dtype(1)
    exponent = ctx.operand(1, ctx.rank(0))
    mixed = base_type is not None and exponent_type is not None and base_type != exponent_type
    if mixed and base_type in _INTEGER_TYPES and exponent_type not in _INTEGER_TYPES:
        # ONNX keeps the base type: the float power is truncated back to integers.
        return expression(call("ops.cast", call("ops.pow", ctx.ref(0), exponent), Raw(ms_dtype(base_type))))
    if mixed and isinstance(exponent, Ref):
        # MindSpore refuses some mixed pairs (float32 ** uint32): compute in the base type.
        exponent = call("ops.cast", exponent, Raw(ms_dtype(base_type)))
    return expression(call("ops.pow", ctx.ref(0), exponent))
