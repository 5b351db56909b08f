"""The supported-operator table, generated from the registry so it cannot drift."""

from __future__ import annotations

from mindgen.targets.mindspore.registry import Registry, default_registry


def operator_table(registry: Registry | None = None) -> str:
    """A Markdown table: op type, opset range, MindSpore construct, mapper function."""
    registry = registry or default_registry()
    entries = registry.entries()
    lines = ["| op type | opsets | MindSpore | mapper |", "|---|---|---|---|"]
    for index, entry in enumerate(entries):
        following = entries[index + 1] if index + 1 < len(entries) else None
        same_op = following is not None and (following.domain, following.op_type) == (entry.domain, entry.op_type)
        versions = f"{entry.since}-{following.since - 1}" if same_op else f"{entry.since}+"
        label = f"{entry.domain}::{entry.op_type}" if entry.domain else entry.op_type
        lines.append(f"| {label} | {versions} | {entry.target.replace('|', '/')} | {entry.name} |")
    lines.append("")
    lines.append(f"{len({(e.domain, e.op_type) for e in entries})} operator types, {len(entries)} mappers.")
    return "\n".join(lines)
