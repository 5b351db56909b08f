"""What a mapper returns: small typed pieces of target code, rendered later by codegen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx_ir as ir

Literal = None | bool | int | float | str | tuple | list | dict


@dataclass(frozen=True)
class Ref:
    """A value of the source graph, rendered as the variable (or buffer) holding it."""

    value: ir.Value


@dataclass(frozen=True)
class Const:
    """A Python literal written into the code (axes, shapes, scalars)."""

    value: Literal


@dataclass(frozen=True)
class Raw:
    """A fixed piece of target syntax, such as a dtype name (`ms.float32`)."""

    text: str


@dataclass(frozen=True)
class Call:
    """A function call: `func(args..., key=value...)`."""

    func: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True)
class Infix:
    """A binary operator expression: `left op right`."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Prefix:
    """A unary operator expression: `op operand`."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class Index:
    """Subscription: `base[key]`, where key is rendered as written."""

    base: Expr
    key: str


@dataclass(frozen=True)
class Attribute:
    """Attribute access on an expression: `base.name`."""

    base: Expr
    name: str


@dataclass(frozen=True)
class LayerCall:
    """A call of the layer this emission declares: `self.<layer>(args...)`."""

    args: tuple[Expr, ...]


@dataclass(frozen=True)
class TupleExpr:
    """A tuple of expressions: `(a, b)`."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class Temp:
    """A value computed once, on its own line before the node's line (`name = expr`), and
    referenced wherever this object appears. List it in the emission's `prelude`."""

    hint: str
    expr: Expr


Expr = Ref | Const | Raw | Call | Infix | Prefix | Index | Attribute | LayerCall | TupleExpr | Temp


@dataclass(frozen=True)
class Weight:
    """One parameter of a layer, bound to the source tensor(s) it is made from."""

    param: str
    sources: tuple[ir.Value, ...]
    load: Callable[[], np.ndarray]
    note: str = ""


@dataclass(frozen=True)
class Layer:
    """An nn.Cell member: constructed in __init__, called in construct."""

    kind: str
    cls: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[tuple[str, Expr], ...] = ()
    weights: tuple[Weight, ...] = ()


@dataclass(frozen=True)
class Emission:
    """The code one source node becomes: an expression, possibly calling one layer."""

    expr: Expr
    layer: Layer | None = None
    # How many of the node's outputs the expression yields (a tuple when more than one).
    results: int = 1
    # Intermediate values written as their own lines first, in order (see Temp).
    prelude: tuple[Temp, ...] = ()
    # `import module` lines model.py needs beyond mindspore (a user mapper's own Cells).
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placeholder:
    """An unmapped node: kept as a stub that records its type, attributes and shapes."""

    reason: str
    hint: str = ""


MapResult = Emission | Placeholder


class Unmappable(Exception):
    """Raised by a mapper for an attribute or input variant it cannot translate exactly."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def call(func: str, *args: Expr | Literal, **kwargs: Expr | Literal) -> Call:
    """Builds a Call, wrapping plain Python values as literals."""
    return Call(func, tuple(as_expr(a) for a in args), tuple((k, as_expr(v)) for k, v in kwargs.items()))


def as_expr(item: Expr | Literal) -> Expr:
    """Wraps a Python literal as Const; leaves expressions alone."""
    if isinstance(item, (Ref, Const, Raw, Call, Infix, Prefix, Index, Attribute, LayerCall, TupleExpr, Temp)):
        return item
    return Const(item)


def expression(
    expr: Expr, results: int = 1, prelude: Sequence[Temp] = (), imports: Sequence[str] = ()
) -> Emission:
    """An emission that is a plain expression in construct (after its prelude lines)."""
    return Emission(expr=expr, results=results, prelude=tuple(prelude), imports=tuple(imports))


def layer(
    kind: str,
    cls: str,
    inputs: Sequence[Expr],
    *args: Expr | Literal,
    weights: Sequence[Weight] = (),
    wrap: Callable[[LayerCall], Expr] | None = None,
    results: int = 1,
    imports: Sequence[str] = (),
    **kwargs: Expr | Literal,
) -> Emission:
    """An emission that declares one layer and calls it on inputs (optionally wrapped)."""
    decl = Layer(
        kind=kind,
        cls=cls,
        args=tuple(as_expr(a) for a in args),
        kwargs=tuple((k, as_expr(v)) for k, v in kwargs.items()),
        weights=tuple(weights),
    )
    call_expr = LayerCall(tuple(inputs))
    expr = wrap(call_expr) if wrap else call_expr
    return Emission(expr=expr, layer=decl, results=results, imports=tuple(imports))


@dataclass
class NodeMapping:
    """A source node together with what it was mapped to."""

    node: ir.Node
    result: MapResult
    mapper: str = ""
    buffers: list[ir.Value] = field(default_factory=list)
    # The mappings file or entry point of a user's mapper; "" for mindgen's own.
    origin: str = ""


def bind(
    param: str,
    source: ir.Value,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    note: str = "",
) -> Weight:
    """Binds a layer parameter to a constant source tensor, optionally transformed on write."""
    tensor = source.const_value
    if tensor is None:
        raise Unmappable(f"{param} comes from {source.name!r}, which is not constant")

    def load() -> np.ndarray:
        array = tensor.numpy()
        return transform(array) if transform else array

    return Weight(param=param, sources=(source,), load=load, note=note)
