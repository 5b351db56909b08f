"""Shared matching helpers for the TF-graph rewrites (fuse_*.py) that run before translation."""

from __future__ import annotations

import numpy as np

from mindgen.frontends.tensorflow.graph import Ref, TfGraph, TfNode

ADD = ("Add", "AddV2")
_IDENTITIES = ("Identity", "Snapshot")


def producer(graph: TfGraph, ref: Ref, *ops: str) -> TfNode | None:
    """The node computing `ref` (seen through identities) when it is one of `ops`."""
    node = graph.nodes[ref.node]
    seen = {node.name}  # a malformed graph may loop through identities
    while node.op in _IDENTITIES and node.inputs and ref.port == 0 and node.inputs[0].node not in seen:
        node = graph.nodes[node.inputs[0].node]
        seen.add(node.name)
    return node if node.op in ops else None


def same(graph: TfGraph, a: Ref, b: Ref) -> bool:
    """Whether two references name one tensor once identities are looked through."""

    def resolve(ref: Ref) -> Ref:
        node = graph.nodes[ref.node]
        seen = {node.name}
        while node.op in _IDENTITIES and node.inputs and node.inputs[0].node not in seen:
            ref = node.inputs[0]
            node = graph.nodes[ref.node]
            seen.add(node.name)
        return ref

    return resolve(a) == resolve(b)


def split_const(graph: TfGraph, node: TfNode, op: str) -> tuple[TfNode | None, Ref | None]:
    """(the `op` producer, the constant) of a binary node, in either order."""
    for a, b in (node.inputs, node.inputs[::-1]):
        found = producer(graph, a, op)
        if found is not None and const(graph, b) is not None:
            return found, b
    return None, None


def const(graph: TfGraph, ref: Ref) -> np.ndarray | None:
    """A constant, also through the Reshape Keras puts on layer weights."""
    value = graph.const_value(ref)
    node = graph.nodes[ref.node]
    if value is None and node.op == "Reshape":
        inner, shape = graph.const_value(node.inputs[0]), graph.const_value(node.inputs[1])
        if inner is not None and shape is not None:
            try:
                return inner.reshape([int(s) for s in shape.reshape(-1)])
            except (ValueError, TypeError):  # a shape that does not fit: not a layer weight
                return None
    return value


def const_vector(graph: TfGraph, ref: Ref) -> list[int] | None:
    """A constant integer vector, or a ConcatV2 of such (tensordot's permutation)."""
    value = graph.const_value(ref)
    if value is not None:
        return [int(v) for v in value.reshape(-1)]
    concat = producer(graph, ref, "ConcatV2")
    if concat is None:
        return None
    parts = [graph.const_value(r) for r in concat.inputs[:-1]]
    if any(p is None for p in parts):
        return None
    return [int(v) for p in parts for v in p.reshape(-1)]  # type: ignore[union-attr]
