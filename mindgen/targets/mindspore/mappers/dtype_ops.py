"""Operators that change only the element type: CastLike and BitCast."""

from __future__ import annotations

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import Attribute, Emission, Raw, Unmappable, call, expression
from mindgen.targets.mindspore.registry import register


def _source_type(ctx: MappingContext) -> ir.DataType | None:
    """The input's element type, refused when MindSpore cannot even hold the input."""
    dtype = ctx.dtype(0)
    if dtype is not None:
        try:
            ms_dtype(dtype)
        except Unmappable:
            raise Unmappable(f"the input's element type {dtype.name} has no MindSpore dtype") from None
    return dtype


@register("CastLike", since=15, target="ops.cast")
def map_cast_like(ctx: MappingContext) -> Emission:
    _source_type(ctx)
    like = ctx.dtype(1)
    # The target type is static in ONNX; read it from the tensor only when inference lost it.
    target = Raw(ms_dtype(like)) if like is not None else Attribute(ctx.ref(1), "dtype")
    return expression(call("ops.cast", ctx.ref(0), target))


# Element types by (bit width, kind); ops.cast between same-width integers wraps like a bit cast.
_INTEGERS = {
    ir.DataType.BOOL: 8,
    ir.DataType.INT8: 8,
    ir.DataType.UINT8: 8,
    ir.DataType.INT16: 16,
    ir.DataType.UINT16: 16,
    ir.DataType.INT32: 32,
    ir.DataType.UINT32: 32,
    ir.DataType.INT64: 64,
    ir.DataType.UINT64: 64,
}


@register("BitCast", since=26, target="ops.cast between same-width integer types")
def map_bit_cast(ctx: MappingContext) -> Emission:
    source = _source_type(ctx)
    target = ir.DataType(int(ctx.attr("to")))
    ms_dtype(target)
    if source == target:
        return expression(ctx.ref(0))
    if source in _INTEGERS and target in _INTEGERS and _INTEGERS[source] == _INTEGERS[target]:
        if target == ir.DataType.BOOL:
            raise Unmappable("BitCast to bool: bytes other than 0 and 1 have no MindSpore equivalent")
        return expression(call("ops.cast", ctx.ref(0), Raw(ms_dtype(target))))
    name = source.name if source is not None else "an unknown type"
    raise Unmappable(
        f"BitCast from {name} to {target.name} reinterprets float bits: MindSpore's Tensor.view(dtype) "
        "runs only in PyNative mode"
    )
