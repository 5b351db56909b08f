"""tf.cond on a constant predicate (Keras' learning phase in TF1 graphs) resolved statically."""

from __future__ import annotations

from mindgen.frontends.tensorflow.graph import Ref, TfGraph

_SWITCHES = ("Switch", "RefSwitch")
_MERGES = ("Merge", "RefMerge")


def resolve_constant_conditions(graph: TfGraph) -> int:
    """Switches whose predicate is a constant pass their data to the taken branch only; nodes
    fed by the other branch are dead, and each Merge forwards its one live input. Readers are
    rewired accordingly, so the dead branch drops out of the graph. Returns the switches resolved."""
    forward: dict[Ref, Ref] = {}  # a live Switch/Merge output -> the tensor it forwards
    dead: set[Ref] = set()
    ports: dict[str, int] = {}  # outputs of each node that something reads
    for ref in graph.consumers():
        ports[ref.node] = max(ports.get(ref.node, 1), ref.port + 1)
    resolved = 0
    changed = True
    while changed:
        changed = False
        for node in list(graph.nodes.values()):
            inputs = [forward.get(ref, ref) for ref in node.inputs]
            if node.op in _SWITCHES and Ref(node.name, 0) not in forward and Ref(node.name, 0) not in dead:
                # A malformed Switch stays as it is: the path check refuses it if it matters.
                predicate = graph.const_value(inputs[1]) if len(inputs) == 2 else None
                if predicate is None or not predicate.size or inputs[0] in dead:
                    continue
                taken = int(bool(predicate.reshape(-1)[0]))
                forward[Ref(node.name, taken)] = inputs[0]
                dead.add(Ref(node.name, 1 - taken))
                resolved += 1
                changed = True
            elif node.op in _MERGES and Ref(node.name, 0) not in forward:
                live = [ref for ref in inputs if ref not in dead]
                if len(live) == 1 and len(inputs) > 1 and all(r in dead or r == live[0] for r in inputs):
                    forward[Ref(node.name, 0)] = live[0]
                    changed = True
            elif node.op not in _MERGES and any(ref in dead for ref in inputs):
                outputs = {Ref(node.name, p) for p in range(ports.get(node.name, 1))}
                if not outputs <= dead:
                    dead |= outputs
                    changed = True
    if resolved:
        for node in graph.nodes.values():
            node.inputs = [_follow(forward, ref) for ref in node.inputs]
    return resolved


def _follow(forward: dict[Ref, Ref], ref: Ref) -> Ref:
    seen = set()
    while ref in forward and ref not in seen:
        seen.add(ref)
        ref = forward[ref]
    return ref
