"""A frozen GraphDef as plain Python records: nodes, their data and control inputs, attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from mindgen.errors import InputError
from mindgen.frontends.tensorflow.tensors import shape_dims, to_numpy


class Ref(NamedTuple):
    """One output of a node: TensorFlow's 'name:port'."""

    node: str
    port: int = 0

    def __str__(self) -> str:
        return f"{self.node}:{self.port}"


def parse_ref(text: str) -> Ref:
    """'conv/Relu' or 'split:1' as a Ref."""
    name, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        return Ref(name, int(port))
    return Ref(text, 0)


@dataclass
class TfNode:
    """One NodeDef with its inputs split into data and control edges."""

    name: str
    op: str
    inputs: list[Ref]
    control: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)  # name -> AttrValue message or a Python value
    scope_override: str | None = None  # the module path of a node made by a rewrite

    @property
    def scope(self) -> str:
        """The name scope ('model/block_1/expand' of 'model/block_1/expand/Conv2D')."""
        return self.name.rpartition("/")[0] if self.scope_override is None else self.scope_override

    def attr(self, name: str, default: Any = None) -> Any:
        """An attribute as a Python value (str, int, float, bool, list, shape list, ndarray)."""
        if name not in self.attrs:
            return default
        value = self.attrs[name]
        if not hasattr(value, "WhichOneof"):
            return value
        decoded = decode_attr(value, f"node {self.name!r} attribute {name!r}")
        return default if decoded is None else decoded  # an AttrValue that sets nothing

    def has_attr(self, name: str) -> bool:
        return name in self.attrs


def decode_attr(value, where: str) -> Any:
    """An AttrValue as the Python value of whichever field it sets."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "list":
        items = value.list
        for name in ("s", "i", "f", "b", "type", "shape", "tensor", "func"):
            entries = getattr(items, name)
            if len(entries):
                return [_scalar(name, entry, where) for entry in entries]
        return []
    return _scalar(kind, getattr(value, kind), where)


def _scalar(kind: str, entry, where: str) -> Any:
    if kind == "s":
        return entry.decode("utf-8", errors="replace")
    if kind in ("i", "type"):
        return int(entry)
    if kind == "f":
        return float(entry)
    if kind == "b":
        return bool(entry)
    if kind == "shape":
        return shape_dims(entry)
    if kind == "tensor":
        return to_numpy(entry, where)
    if kind == "func":
        return entry.name
    return entry  # placeholder: the name of a function attribute


@dataclass
class TfGraph:
    """Every node of a GraphDef by name, in file order."""

    nodes: dict[str, TfNode]
    producer: int = 0
    functions: dict[str, Any] = field(default_factory=dict)  # name -> FunctionDef of the library

    def node(self, name: str) -> TfNode:
        return self.nodes[name]

    def consumers(self) -> dict[Ref, list[str]]:
        """Which nodes read each tensor (data edges only)."""
        found: dict[Ref, list[str]] = {}
        for node in self.nodes.values():
            for ref in node.inputs:
                found.setdefault(ref, []).append(node.name)
        return found

    def const_value(self, ref: Ref) -> np.ndarray | None:
        """The value of a Const (seen through Identity chains), else None."""
        seen = set()
        while ref.node in self.nodes and ref.node not in seen:
            seen.add(ref.node)
            node = self.nodes[ref.node]
            if node.op == "Const":
                try:
                    value = node.attr("value")
                except InputError:  # strings and other types a conversion cannot use
                    return None
                return value if isinstance(value, np.ndarray) else None  # a mistyped 'value' attribute
            if (
                node.op not in ("Identity", "Snapshot", "StopGradient", "PlaceholderWithDefault")
                or not node.inputs
            ):
                return None
            ref = node.inputs[0]
        return None


def from_graphdef(graph_def, where: str) -> TfGraph:
    """Builds the node table; every data or control input must name a node of the graph."""
    nodes: dict[str, TfNode] = {}
    for proto in graph_def.node:
        if not proto.name or not proto.op:
            raise InputError(f"{where} is not a TensorFlow GraphDef (a node has no name or no op)")
        if proto.name in nodes:
            raise InputError(f"{where}: two nodes are named {proto.name!r}")
        nodes[proto.name] = node_from_proto(proto, parse_ref)
    for node in nodes.values():
        for name in [ref.node for ref in node.inputs] + node.control:
            if name not in nodes:
                raise InputError(f"{where}: node {node.name!r} reads {name!r}, which is not in the graph")
    functions = {f.signature.name: f for f in graph_def.library.function}
    return TfGraph(nodes, int(graph_def.versions.producer), functions)


def node_from_proto(proto, read_input) -> TfNode:
    """A NodeDef as a TfNode; `read_input` turns a data input string into a Ref."""
    inputs, control = [], []
    for text in proto.input:
        if text.startswith("^"):
            control.append(text[1:])
        else:
            inputs.append(read_input(text))
    return TfNode(proto.name, proto.op, inputs, control, dict(proto.attr))
