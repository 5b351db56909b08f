"""Maps every node of the canonical graph to an emission, or to a placeholder."""

from __future__ import annotations

import ast
from collections.abc import Callable

import onnx_ir as ir

from mindgen.errors import MappingsError
from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Emission, NodeMapping, Placeholder, Unmappable
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
    for line in result.imports if isinstance(result, Emission) else ():
        if not _is_import(line):
            raise MappingsError(
                f"mapper {entry.name} asks model.py to import {line!r}, which is not one import line"
            )
    return result


def _is_import(line: str) -> bool:
    """One `import x` / `from x import y` statement, and nothing else."""
    try:
        body = ast.parse(line).body
    except SyntaxError:
        return False
    return "\n" not in line and len(body) == 1 and isinstance(body[0], (ast.Import, ast.ImportFrom))
