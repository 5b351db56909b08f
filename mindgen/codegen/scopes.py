"""Rebuilds the source's module tree from scoped node names (/layer1/layer1.0/conv1/Conv)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mindgen.codegen.naming import is_noise
from mindgen.targets.mindspore.emission import Emission, NodeMapping

Path = tuple[str, ...]


@dataclass
class Scope:
    """One module of the tree: its own nodes, in graph order, and its child modules."""

    path: Path
    children: dict[str, Scope] = field(default_factory=dict)
    # (graph position, mapping, attribute name for layers/placeholders or None)
    items: list[tuple[int, NodeMapping, str | None]] = field(default_factory=list)

    def positions(self) -> list[int]:
        """Graph positions of every node in this subtree."""
        found = [position for position, _, _ in self.items]
        for child in self.children.values():
            found += child.positions()
        return found


def scope_parts(node_name: str, op_type: str) -> Path:
    """Module path of a node: '/layer1/layer1.0/conv1/Conv' -> ('layer1', '0', 'conv1')."""
    parts = [p for p in node_name.split("/") if p]
    # The last part names the operator itself (Conv, Add_3, MatMul), not a module.
    if parts and (
        re.fullmatch(rf"{re.escape(op_type)}(_\d+)?", parts[-1], re.IGNORECASE)
        or re.fullmatch(r"[A-Z][A-Za-z0-9]*(_\d+)?", parts[-1])
    ):
        parts.pop()
    # PyTorch repeats the parent path in each part: /layer1/layer1.0 means child "0" of layer1.
    path: list[str] = []
    previous = ""
    for part in parts:
        if previous and part.startswith(previous + "."):
            path.extend(p for p in part[len(previous) + 1 :].split(".") if p)
        else:
            path.extend(p for p in part.split(".") if p)
        previous = part
    if any(is_noise(p) and not p.isdigit() for p in path):
        return ()
    return tuple(path)


def _declares_member(mapping: NodeMapping) -> bool:
    """Layers and placeholders become attributes of a module; expressions do not."""
    return not isinstance(mapping.result, Emission) or mapping.result.layer is not None


def build_scopes(mappings: Sequence[NodeMapping], *, flat: bool = False) -> Scope:
    """Assigns every node to a module; --flat (or unscoped names) keeps everything at the root."""
    paths = [() if flat else scope_parts(m.node.name or "", m.node.op_type) for m in mappings]
    members = [i for i, m in enumerate(mappings) if _declares_member(m) and paths[i]]
    while True:
        containers = {p[:k] for i in members for p in [paths[i]] for k in range(len(p))}
        owners = {i: _owner(paths[i], containers, i in members) for i in range(len(mappings))}
        broken = _first_interleaved(containers, owners)
        if broken is None:
            break
        # A module whose nodes interleave with others cannot be one call: merge it upward.
        paths = [_dissolve(p, broken) for p in paths]
    root = Scope(())
    for index, mapping in enumerate(mappings):
        owner = owners[index]
        scope = root
        for depth in range(len(owner)):
            scope = scope.children.setdefault(owner[depth], Scope(owner[: depth + 1]))
        attr = paths[index][-1] if index in members and paths[index] else None
        if _declares_member(mapping) and attr is None:
            attr = ""  # a member without a module path: named from its kind later
        scope.items.append((index, mapping, attr))
    return root


def _owner(path: Path, containers: set[Path], is_member: bool) -> Path:
    """The module a node belongs to: a member's parent path, else its deepest container."""
    if is_member:
        return path[:-1]
    for length in range(len(path), -1, -1):
        if path[:length] in containers:
            return path[:length]
    return ()


def _first_interleaved(containers: set[Path], owners: dict[int, Path]) -> Path | None:
    """A module (other than the root) whose nodes are not one contiguous run, if any."""
    for container in sorted(c for c in containers if c):
        inside = sorted(i for i, owner in owners.items() if owner[: len(container)] == container)
        if inside and inside[-1] - inside[0] + 1 != len(inside):
            return container
    return None


def _dissolve(path: Path, container: Path) -> Path:
    """Merges `container` into its parent: (a, b, c) with container (a, b) becomes (a, b_c)."""
    depth = len(container)
    if path[:depth] != container:
        return path
    if len(path) == depth:
        return path[:-1]
    return path[: depth - 1] + (f"{path[depth - 1]}_{path[depth]}",) + path[depth + 1 :]
