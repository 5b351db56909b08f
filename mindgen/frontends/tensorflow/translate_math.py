"""Element-wise arithmetic, comparisons, logic and unary math, in whatever layout inputs are held."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from mindgen.frontends.tensorflow.context import NodeContext
from mindgen.frontends.tensorflow.registry import translates

_FLOATS = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}

# TF op -> ONNX op for broadcasting binary ops that match one to one.
_BINARY = {
    "Add": "Add",
    "AddV2": "Add",
    "Sub": "Sub",
    "Mul": "Mul",
    "RealDiv": "Div",
    "Div": "Div",  # integer Div truncates in TensorFlow, as ONNX Div does
    "TruncateDiv": "Div",
    "Maximum": "Max",
    "Minimum": "Min",
    "Pow": "Pow",
    "Equal": "Equal",
    "Less": "Less",
    "LessEqual": "LessOrEqual",
    "Greater": "Greater",
    "GreaterEqual": "GreaterOrEqual",
    "LogicalAnd": "And",
    "LogicalOr": "Or",
    "BitwiseAnd": "BitwiseAnd",
    "BitwiseOr": "BitwiseOr",
    "BitwiseXor": "BitwiseXor",
}

# TF op -> ONNX op for unary ops that match one to one (attributes are ONNX's defaults).
_UNARY = {
    "Relu": "Relu",
    "Sigmoid": "Sigmoid",
    "Tanh": "Tanh",
    "Exp": "Exp",
    "Log": "Log",
    "Neg": "Neg",
    "Abs": "Abs",
    "Sqrt": "Sqrt",
    "Erf": "Erf",
    "Softplus": "Softplus",
    "Softsign": "Softsign",
    "Elu": "Elu",
    "Selu": "Selu",  # ONNX's default alpha/gamma are TensorFlow's constants
    "Floor": "Floor",
    "Ceil": "Ceil",
    "Round": "Round",  # both round half to even
    "Rint": "Round",
    "Sign": "Sign",
    "Sin": "Sin",
    "Cos": "Cos",
    "Tan": "Tan",
    "Asin": "Asin",
    "Acos": "Acos",
    "Atan": "Atan",
    "Sinh": "Sinh",
    "Cosh": "Cosh",
    "Asinh": "Asinh",
    "Acosh": "Acosh",
    "Atanh": "Atanh",
    "Reciprocal": "Reciprocal",
    "Inv": "Reciprocal",
    "LogicalNot": "Not",
    "IsNan": "IsNaN",
    "IsInf": "IsInf",
    "Invert": "BitwiseNot",
}


def _binary(onnx_op: str):
    def translate(ctx: NodeContext) -> None:
        names, perm = ctx.aligned([0, 1])
        ctx.output(ctx.emit1(onnx_op, names), perm)

    return translate


def _unary(onnx_op: str):
    def translate(ctx: NodeContext) -> None:
        name, perm = ctx.form(0)
        ctx.output(ctx.emit1(onnx_op, [name]), perm)

    return translate


for _tf_op, _onnx_op in _BINARY.items():
    translates(_tf_op)(_binary(_onnx_op))
for _tf_op, _onnx_op in _UNARY.items():
    translates(_tf_op)(_unary(_onnx_op))


def _scalar(ctx: NodeContext, value: float, index: int = 0) -> str:
    """A scalar constant of input `index`'s dtype."""
    array = ctx.const(index)
    dtype = (
        array.dtype
        if array is not None
        else helper.tensor_dtype_to_np_dtype(ctx.elem(index) or TensorProto.FLOAT)
    )
    return ctx.add_const(np.asarray(value, dtype=dtype), f"{ctx.node.name}/const")


@translates("NotEqual")
def not_equal(ctx: NodeContext) -> None:
    names, perm = ctx.aligned([0, 1])
    ctx.output(ctx.emit1("Not", [ctx.emit1("Equal", names)]), perm)


@translates("SquaredDifference")
def squared_difference(ctx: NodeContext) -> None:
    names, perm = ctx.aligned([0, 1])
    difference = ctx.emit1("Sub", names)
    ctx.output(ctx.emit1("Mul", [difference, difference]), perm)


@translates("Square")
def square(ctx: NodeContext) -> None:
    name, perm = ctx.form(0)
    ctx.output(ctx.emit1("Mul", [name, name]), perm)


@translates("Rsqrt")
def rsqrt(ctx: NodeContext) -> None:
    name, perm = ctx.form(0)
    ctx.output(ctx.emit1("Reciprocal", [ctx.emit1("Sqrt", [name])]), perm)


@translates("Log1p")
def log1p(ctx: NodeContext) -> None:
    name, perm = ctx.form(0)
    ctx.output(ctx.emit1("Log", [ctx.emit1("Add", [name, _scalar(ctx, 1.0)])]), perm)


@translates("Expm1")
def expm1(ctx: NodeContext) -> None:
    name, perm = ctx.form(0)
    ctx.output(ctx.emit1("Sub", [ctx.emit1("Exp", [name]), _scalar(ctx, 1.0)]), perm)


@translates("Erfc")
def erfc(ctx: NodeContext) -> None:
    name, perm = ctx.form(0)
    ctx.output(ctx.emit1("Sub", [_scalar(ctx, 1.0), ctx.emit1("Erf", [name])]), perm)


@translates("Relu6")
def relu6(ctx: NodeContext) -> None:
    name, perm = ctx.form(0)
    ctx.output(ctx.emit1("Clip", [name, _scalar(ctx, 0.0), _scalar(ctx, 6.0)]), perm)


@translates("LeakyRelu")
def leaky_relu(ctx: NodeContext) -> None:
    name, perm = ctx.form(0)
    ctx.output(ctx.emit1("LeakyRelu", [name], alpha=float(ctx.attr("alpha", 0.2))), perm)


@translates("FloorDiv")
def floor_div(ctx: NodeContext) -> None:
    names, perm = ctx.aligned([0, 1])
    if ctx.elem(0) in _FLOATS:
        ctx.output(ctx.emit1("Floor", [ctx.emit1("Div", names)]), perm)
        return
    # Integers: a - (a mod b), with the divisor's sign, divides exactly, so truncation is floor.
    remainder = ctx.emit1("Mod", names)
    ctx.output(ctx.emit1("Div", [ctx.emit1("Sub", [names[0], remainder]), names[1]]), perm)


@translates("FloorMod")
def floor_mod(ctx: NodeContext) -> None:
    names, perm = ctx.aligned([0, 1])
    if ctx.elem(0) not in _FLOATS:
        ctx.output(ctx.emit1("Mod", names), perm)
        return
    # ONNX Mod on floats is C's fmod (dividend's sign); TF's is Python's (divisor's sign).
    quotient = ctx.emit1("Floor", [ctx.emit1("Div", names)])
    ctx.output(ctx.emit1("Sub", [names[0], ctx.emit1("Mul", [quotient, names[1]])]), perm)


@translates("TruncateMod")
def truncate_mod(ctx: NodeContext) -> None:
    names, perm = ctx.aligned([0, 1])
    ctx.output(ctx.emit1("Mod", names, fmod=1), perm)


@translates("AddN")
def add_n(ctx: NodeContext) -> None:
    names, perm = ctx.aligned(list(range(ctx.n_inputs)))
    if len(names) == 1:
        ctx.alias(0)
        return
    ctx.output(ctx.emit1("Sum", names), perm)


@translates("ClipByValue")
def clip_by_value(ctx: NodeContext) -> None:
    low, high = ctx.const(1), ctx.const(2)
    if low is not None and high is not None and low.ndim == 0 and high.ndim == 0:
        name, perm = ctx.form(0)
        ctx.output(ctx.emit1("Clip", [name, ctx.value(1), ctx.value(2)]), perm)
        return
    names, perm = ctx.aligned([0, 1, 2])
    ctx.output(ctx.emit1("Max", [ctx.emit1("Min", [names[0], names[2]]), names[1]]), perm)


@translates("Select", "SelectV2")
def select(ctx: NodeContext) -> None:
    cond_rank, value_rank = ctx.rank(0), ctx.rank(1)
    if ctx.node.op == "Select" and cond_rank == 1 and value_rank is not None and value_rank > 1:
        # Select (v1) picks whole rows with a vector condition.
        shape = ctx.int64([-1] + [1] * (value_rank - 1))
        condition = ctx.emit1("Reshape", [ctx.value(0), shape])
        ctx.output(ctx.emit1("Where", [condition, ctx.value(1), ctx.value(2)]))
        return
    names, perm = ctx.aligned([0, 1, 2])
    ctx.output(ctx.emit1("Where", names), perm)
