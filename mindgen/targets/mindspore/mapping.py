"""Maps every node of the canonical graph to an emission, or to a placeholder."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterator

import onnx_ir as ir

from mindgen.errors import MappingsError
from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import (
    Attribute,
    Call,
    Emission,
    Expr,
    Index,
    Infix,
    LayerCall,
    NodeMapping,
    Placeholder,
    Prefix,
    Raw,
    Temp,
    TupleExpr,
    Unmappable,
)
from mindgen.targets.mindspore.hints import hint_for
from mindgen.targets.mindspore.registry import MapperEntry, Registry


def map_graph(
    model: ir.Model,
    registry: Registry,
    progress: Callable[[int, int], None] | None = None,
) -> list[NodeMapping]:
    """One mapping per node, in graph order; unsupported nodes become placeholders."""
    mappings = []
    total = len(model.graph)
    for index, node in enumerate(model.graph):
        mappings.append(map_node(node, model, registry))
        if progress is not None:
            progress(index + 1, total)
    return mappings


def map_node(node: ir.Node, model: ir.Model, registry: Registry) -> NodeMapping:
    """Runs the registered mapper for one node; its refusals become placeholders."""
    domain = "" if node.domain in ("", "ai.onnx") else node.domain
    opset = model.opset_imports.get(domain, model.opset_imports.get("ai.onnx", 1) if not domain else 1)
    entry = registry.lookup(node.op_type, domain, opset)
    if entry is None:
        label = f"{domain}::{node.op_type}" if domain else node.op_type
        reason = f"no mapper for {label} at opset {opset}"
        return NodeMapping(node, Placeholder(reason, hint_for(node.op_type)))
    try:
        result = (
            entry.fn(MappingContext(node, opset))
            if not entry.origin
            else _run_user_mapper(entry, node, opset)
        )
    except Unmappable as refusal:
        placeholder = Placeholder(refusal.reason, refusal.hint or hint_for(node.op_type))
        return NodeMapping(node, placeholder, entry.name, origin=entry.origin)
    return NodeMapping(node, result, entry.name, origin=entry.origin)


def _run_user_mapper(entry: MapperEntry, node: ir.Node, opset: int) -> Emission | Placeholder:
    """A user's mapper: its bugs are the user's to fix, reported as one line naming it."""
    try:
        result = entry.fn(MappingContext(node, opset))
    except Unmappable:
        raise
    except Exception as error:
        detail = " ".join(str(error).split())
        raise MappingsError(
            f"mapper {entry.name} failed on node {node.name!r}: {type(error).__name__}: {detail}"
        ) from None
    if not isinstance(result, (Emission, Placeholder)):
        raise MappingsError(
            f"mapper {entry.name} returned {type(result).__name__} for node {node.name!r}; "
            "a mapper returns an Emission (expression(...), layer(...)) or raises Unmappable"
        )
    if isinstance(result, Emission):
        _check_names(entry, result)
    return result


# What model.py always has in scope: mindspore as ms, and nn, ops, Parameter from it.
_GENERATED_NAMES = frozenset({"ms", "nn", "ops", "Parameter", *dir(builtins)})


def _check_names(entry: MapperEntry, emission: Emission) -> None:
    """Every module a user's emission calls into must be imported by model.py (a typo fails here)."""
    known = set(_GENERATED_NAMES)
    for line in emission.imports:
        bound = _import_names(line)
        if bound is None:
            raise MappingsError(
                f"mapper {entry.name} asks model.py to import {line!r}; imports are `import module` lines"
            )
        known |= bound
    dotted = [
        *_dotted_names(emission.expr),
        *(name for t in emission.prelude for name in _dotted_names(t.expr)),
    ]
    if emission.layer is not None:
        dotted += [emission.layer.cls, *(n for a in emission.layer.args for n in _dotted_names(a))]
        dotted += [n for _, v in emission.layer.kwargs for n in _dotted_names(v)]
    for name in dotted:
        head = name.split(".", 1)[0].split("(", 1)[0].strip()
        if head.isidentifier() and head not in known:
            raise MappingsError(
                f"mapper {entry.name} uses {name!r}, but model.py imports only mindspore as ms, nn, ops and "
                "Parameter; add the module to the emission's imports (imports=['import ...'])"
            )


def _dotted_names(expr: Expr) -> Iterator[str]:
    """The called functions and fixed names of an expression tree."""
    if isinstance(expr, Call):
        yield expr.func
        for item in (*expr.args, *(v for _, v in expr.kwargs)):
            yield from _dotted_names(item)
    elif isinstance(expr, Raw):
        yield expr.text
    elif isinstance(expr, Infix):
        yield from _dotted_names(expr.left)
        yield from _dotted_names(expr.right)
    elif isinstance(expr, Prefix):
        yield from _dotted_names(expr.operand)
    elif isinstance(expr, (Index, Attribute)):
        yield from _dotted_names(expr.base)
    elif isinstance(expr, (LayerCall, TupleExpr)):
        for item in expr.args if isinstance(expr, LayerCall) else expr.items:
            yield from _dotted_names(item)
    elif isinstance(expr, Temp):
        yield from _dotted_names(expr.expr)


def _import_names(line: str) -> set[str] | None:
    """The names one `import x [as y]` line binds; None for anything else.

    Module imports only: a `from x import name` could bind a name that a local variable of
    construct shadows; a module name is not one codegen gives a value.
    """
    try:
        body = ast.parse(line).body
    except SyntaxError:
        return None
    if "\n" in line.strip() or len(body) != 1 or not isinstance(body[0], ast.Import):
        return None
    return {(alias.asname or alias.name).split(".", 1)[0] for alias in body[0].names}
