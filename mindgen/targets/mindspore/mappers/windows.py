"""Window functions whose length is known only at run time: HannWindow, HammingWindow, BlackmanWindow."""

from __future__ import annotations

import math

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext, ms_dtype
from mindgen.targets.mindspore.emission import Const, Emission, Expr, Infix, Raw, call, expression
from mindgen.targets.mindspore.registry import register

# Cosine-sum windows: w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N).
WINDOWS = {
    "HannWindow": (0.5, 0.5, 0.0),
    "HammingWindow": (25 / 46, 21 / 46, 0.0),
    "BlackmanWindow": (0.42, 0.5, 0.08),
}


def _window(op: str, coefficients: tuple[float, float, float]):
    a0, a1, a2 = coefficients

    def map_window(ctx: MappingContext) -> Emission:
        out_type = ir.DataType(int(ctx.attr("output_datatype", int(ir.DataType.FLOAT))))
        target = ms_dtype(out_type)
        compute = "ms.float64" if out_type == ir.DataType.DOUBLE else "ms.float32"

        def number(value: float) -> Expr:
            # A Python float is a float32 scalar to MindSpore, even next to a float64 tensor.
            return Const(value) if compute == "ms.float32" else call("ms.Tensor", value, Raw(compute))

        size = ctx.ref(0)
        # Periodic windows have period `size`; symmetric ones end on the starting value.
        period = size if int(ctx.attr("periodic", 1)) else Infix("-", size, Const(1))
        steps = call("ops.cast", call("ops.range", 0, size, 1), Raw(compute))
        phase = Infix("/", Infix("*", steps, number(2 * math.pi)), call("ops.cast", period, Raw(compute)))
        window: Expr = Infix("-", number(a0), Infix("*", number(a1), call("ops.cos", phase)))
        if a2:
            second = call("ops.cos", Infix("*", number(2.0), phase))
            window = Infix("+", window, Infix("*", number(a2), second))
        return expression(window if target == compute else call("ops.cast", window, Raw(target)))

    map_window.__name__ = f"map_{op.removesuffix('Window').lower()}_window"
    return map_window


for _op, _coefficients in WINDOWS.items():
    register(_op, since=17, target="ops.range and ops.cos")(_window(_op, _coefficients))
