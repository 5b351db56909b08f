"""Maps every node of the canonical graph to an emission, or to a placeholder."""

from __future__ import annotations

from collections.abc import Callable

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import NodeMapping, Placeholder, Unmappable
from mindgen.targets.mindspore.hints import hint_for
from mindgen.targets.mindspore.registry import Registry


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
        result = entry.fn(MappingContext(node, opset))
    except Unmappable as refusal:
        return NodeMapping(node, Placeholder(refusal.reason, refusal.hint or hint_for(node.op_type)), entry.name)
    return NodeMapping(node, result, entry.name)
