"""`mindgen inspect`: what users used to open Netron for."""

from __future__ import annotations

import collections
import os

from mindgen.converter import load_source
from mindgen.report.model import TensorInfo
from mindgen.targets.mindspore.registry import default_registry


def _shape_text(info: TensorInfo) -> str:
    if info.shape is None:
        return "unknown"
    return "[" + ", ".join("?" if d is None else _one_line(str(d)) for d in info.shape) + "]"


def _one_line(text: str) -> str:
    """Text from the model as is when plainly printable, else quoted with escapes: no newline, no ESC."""
    return text if text.isprintable() else repr(text)


def describe_model(path: str | os.PathLike[str]) -> str:
    """A plain-text description: I/O, opset, producer, operator histogram, mappability."""
    source = load_source(path)
    graph = source.graph
    registry = default_registry()
    lines = [f"model:    {_one_line(str(source.path))}", f"format:   {source.format}"]
    opset_line = f"opset:    {source.source_opset}"
    if source.opset != source.source_opset:
        opset_line += f" (converted as {source.opset})"
    lines.append(opset_line)
    lines.append(f"producer: {_one_line(source.producer) if source.producer else 'unknown'}")
    lines.append("inputs:")
    for value in graph.inputs:
        if not value.is_initializer():
            info = TensorInfo.of(value)
            lines.append(f"  {info.name!r}  {_shape_text(info)}  {info.dtype}")
    lines.append("outputs:")
    for value in graph.outputs:
        info = TensorInfo.of(value)
        lines.append(f"  {info.name!r}  {_shape_text(info)}  {info.dtype}")
    counts = collections.Counter((node.domain or "", node.op_type) for node in graph)
    lines.append(f"operators ({sum(counts.values())} nodes, {len(counts)} types):")
    unmappable = 0
    for (domain, op_type), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        opset = source.model.opset_imports.get(domain, source.opset)
        mapped = registry.lookup(op_type, domain, opset) is not None
        unmappable += 0 if mapped else count
        label = f"{domain}::{op_type}" if domain else op_type
        lines.append(f"  {count:6d}  {label!r:32}  {'mapped' if mapped else 'NOT MAPPED'}")
    lines.append(
        "every operator type has a mapper"
        if not unmappable
        else f"{unmappable} node(s) have no mapper and would become placeholders"
    )
    return "\n".join(lines)
