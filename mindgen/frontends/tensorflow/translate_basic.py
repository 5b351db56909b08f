"""Constants, identities, placeholders with defaults, casts."""

from __future__ import annotations

import numpy as np

from mindgen.errors import InputError
from mindgen.frontends.tensorflow.context import NodeContext
from mindgen.frontends.tensorflow.registry import Untranslatable, translates
from mindgen.frontends.tensorflow.tensors import onnx_type, type_name


@translates("Const")
def const(ctx: NodeContext) -> None:
    try:
        value = ctx.attr("value", kind=np.ndarray)
    except InputError as error:  # strings and other types ONNX tensors cannot hold
        raise Untranslatable(str(error)) from None
    if value is None:
        raise Untranslatable("Const without a value")
    ctx.output(ctx.add_const(value, ctx.node.name))


@translates("Identity", "Snapshot", "StopGradient", "PreventGradient", "CheckNumerics", "EnsureShape")
def identity(ctx: NodeContext) -> None:
    # Inference-time no-ops: the output is the input, in whatever layout it is held.
    ctx.alias(0)


@translates("PlaceholderWithDefault")
def placeholder_with_default(ctx: NodeContext) -> None:
    # Not fed at inference (Keras' learning phase): the default is the value.
    ctx.alias(0)


@translates("IdentityN")
def identity_n(ctx: NodeContext) -> None:
    for port in range(ctx.n_inputs):
        ctx.alias(port, port)


@translates("NoOp")
def no_op(ctx: NodeContext) -> None:
    """Only control edges lead out of a NoOp; there is nothing to compute."""


@translates("Cast")
def cast(ctx: NodeContext) -> None:
    target = int(ctx.attr("DstT", kind=int))
    to = onnx_type(target)
    if not to:
        raise Untranslatable(f"Cast to {type_name(target)}")
    name, perm = ctx.form(0)
    if ctx.elem(0) == to:
        ctx.alias(0)
        return
    ctx.output(ctx.emit1("Cast", [name], to=to), perm)
