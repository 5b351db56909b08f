"""Renders emission expressions as Python source text."""

from __future__ import annotations

import math
from collections.abc import Callable

from mindgen.targets.mindspore.emission import (
    Attribute,
    Call,
    Const,
    Expr,
    Index,
    Infix,
    LayerCall,
    Literal,
    Prefix,
    Raw,
    Ref,
    Temp,
    TupleExpr,
)


def render_literal(value: Literal) -> str:
    """A Python literal for value; strings through repr, so no source text escapes."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(float(value))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        items = [render_literal(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, list):
        return f"[{', '.join(render_literal(v) for v in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render_literal(k)}: {render_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot render {type(value).__name__} as a literal")


class ExpressionRenderer:
    """Renders expressions given how refs and the layer call are spelled; notes used modules."""

    def __init__(
        self,
        ref_name: Callable[[Ref], str],
        layer_attr: str | None = None,
        temp_names: dict[int, str] | None = None,
    ) -> None:
        self._ref_name = ref_name
        self._layer_attr = layer_attr
        self._temp_names = temp_names if temp_names is not None else {}
        self.modules: set[str] = set()

    def render(self, expr: Expr) -> str:
        if isinstance(expr, Ref):
            return self._ref_name(expr)
        if isinstance(expr, Const):
            return render_literal(expr.value)
        if isinstance(expr, Raw):
            self._note(expr.text)
            return expr.text
        if isinstance(expr, Call):
            self._note(expr.func)
            parts = [self.render(a) for a in expr.args]
            parts += [f"{k}={self.render(v)}" for k, v in expr.kwargs]
            return f"{expr.func}({', '.join(parts)})"
        if isinstance(expr, Infix):
            return f"{self._operand(expr.left)} {expr.op} {self._operand(expr.right)}"
        if isinstance(expr, Prefix):
            return f"{expr.op}{self._operand(expr.operand)}"
        if isinstance(expr, Index):
            return f"{self._operand(expr.base)}[{expr.key}]"
        if isinstance(expr, Attribute):
            return f"{self._operand(expr.base)}.{expr.name}"
        if isinstance(expr, LayerCall):
            if self._layer_attr is None:
                raise ValueError("a LayerCall outside an emission that declares a layer")
            return f"self.{self._layer_attr}({', '.join(self.render(a) for a in expr.args)})"
        if isinstance(expr, Temp):
            if id(expr) not in self._temp_names:
                raise ValueError(f"temporary {expr.hint!r} is used but not in the emission's prelude")
            return self._temp_names[id(expr)]
        if isinstance(expr, TupleExpr):
            return render_literal(()) if not expr.items else self._tuple(expr.items)
        raise TypeError(f"unknown expression {expr!r}")

    def render_args(self, args: tuple[Expr, ...], kwargs: tuple[tuple[str, Expr], ...]) -> str:
        parts = [self.render(a) for a in args] + [f"{k}={self.render(v)}" for k, v in kwargs]
        return ", ".join(parts)

    def _tuple(self, items: tuple[Expr, ...]) -> str:
        rendered = [self.render(i) for i in items]
        return f"({rendered[0]},)" if len(rendered) == 1 else f"({', '.join(rendered)})"

    def _operand(self, expr: Expr) -> str:
        text = self.render(expr)
        needs_parens = isinstance(expr, (Infix, Prefix)) or (
            isinstance(expr, Const) and isinstance(expr.value, (int, float)) and expr.value < 0
        )
        return f"({text})" if needs_parens else text

    def _note(self, dotted: str) -> None:
        head = dotted.split(".", 1)[0].split("(", 1)[0]
        self.modules.add(head)
