"""Which part of the graph to translate: inputs, outputs, and the nodes between them in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mindgen.errors import InputError
from mindgen.frontends.tensorflow.graph import Ref, TfGraph, TfNode, parse_ref

CONTROL_FLOW_OPS = frozenset(
    {
        "Switch", "RefSwitch", "Merge", "RefMerge", "Enter", "RefEnter", "Exit", "RefExit",
        "NextIteration", "RefNextIteration", "LoopCond", "While", "StatelessWhile", "If",
        "StatelessIf", "Case", "StatelessCase", "ControlTrigger",
    }
)  # fmt: skip
# Nodes that end a graph without producing a model output.
_NOT_OUTPUTS = frozenset(
    {"NoOp", "Const", "Placeholder", "PlaceholderWithDefault", "Assert", "Print", "PrintV2", "SaveV2",
     "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "StringJoin", "VarIsInitializedOp"}
)  # fmt: skip


@dataclass
class Selection:
    """The tensors that become graph inputs and outputs, and the nodes to translate, in order."""

    inputs: list[Ref]
    outputs: list[Ref]
    order: list[TfNode]
    unused_placeholders: list[str]


def parse_names(graph: TfGraph, names: Sequence[str], what: str) -> list[Ref]:
    """TF tensor names ('x:0') or op names ('x') as Refs that exist in the graph."""
    refs = []
    for text in names:
        ref = parse_ref(text.strip())
        if ref.node not in graph.nodes:
            raise InputError(f"{what}: the graph has no node named {ref.node!r}")
        refs.append(ref)
    return refs


def default_outputs(graph: TfGraph) -> list[Ref]:
    """Sinks: tensors no node reads, from nodes that compute something. A node that others
    wait for through control edges is a step of the graph (cond's pivots), not a result."""
    read = {ref.node for node in graph.nodes.values() for ref in node.inputs}
    read |= {name for node in graph.nodes.values() for name in node.control}
    outputs = []
    for node in graph.nodes.values():
        if node.name in read or node.op in _NOT_OUTPUTS:
            continue
        count = len(node.attr("T", [])) if node.op == "IdentityN" else 1
        outputs.extend(Ref(node.name, port) for port in range(max(count, 1)))
    if not outputs:
        raise InputError("the graph has no output (every node's result is read by another node)")
    return outputs


def select(graph: TfGraph, input_names: Sequence[str] | None, outputs: list[Ref], where: str) -> Selection:
    """Walks back from the outputs to the inputs; control flow on that path is an InputError."""
    explicit = parse_names(graph, input_names, "--input_nodes") if input_names else None
    stops = set(explicit or ())
    needed = _reach(graph, outputs, stops)
    placeholders = [name for name in graph.nodes if name in needed and graph.nodes[name].op == "Placeholder"]
    if explicit is None:
        inputs = [Ref(name) for name in placeholders]
    else:
        inputs = explicit
        missing = [name for name in placeholders if Ref(name) not in stops]
        if missing:
            raise InputError(
                f"the outputs also depend on placeholder {missing[0]!r}; add it to --input_nodes"
            )
    _check_control_flow(graph, needed, where)
    unused = [n.name for n in graph.nodes.values() if n.op == "Placeholder" and n.name not in needed]
    order = _topological(graph, needed, stops, where)
    return Selection(inputs, outputs, order, unused)


def _reach(graph: TfGraph, outputs: list[Ref], stops: set[Ref]) -> set[str]:
    needed: set[str] = set()
    stack = [ref for ref in outputs if ref not in stops]
    while stack:
        ref = stack.pop()
        if ref.node in needed:
            continue
        needed.add(ref.node)
        stack.extend(r for r in graph.nodes[ref.node].inputs if r not in stops)
    return needed


def _check_control_flow(graph: TfGraph, needed: set[str], where: str) -> None:
    found = [
        graph.nodes[name]
        for name in graph.nodes
        if name in needed and graph.nodes[name].op in CONTROL_FLOW_OPS
    ]
    if not found:
        return
    kinds = sorted({node.op for node in found})
    first = ", ".join(f"{node.op} {node.name!r}" for node in found[:3])
    raise InputError(
        f"{where}: the outputs depend on TensorFlow control flow that cannot be translated "
        f"({len(found)} node(s) of type {'/'.join(kinds)}: {first}{', ...' if len(found) > 3 else ''}); "
        "freeze an inference graph without tf.cond/tf.while_loop on this path, or cut it with "
        "--input_nodes/--output_nodes"
    )


def _topological(graph: TfGraph, needed: set[str], stops: set[Ref], where: str) -> list[TfNode]:
    """Needed nodes, producers before consumers, otherwise in file order."""
    order: list[TfNode] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in graph.nodes:
        if root not in needed or root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            name, index = stack.pop()
            inputs = [r for r in graph.nodes[name].inputs if r not in stops and r.node in needed]
            if index < len(inputs):
                stack.append((name, index + 1))
                child = inputs[index].node
                if state.get(child) == 1:
                    raise InputError(f"{where}: the graph has a cycle through {child!r}")
                if child not in state:
                    state[child] = 1
                    stack.append((child, 0))
                continue
            state[name] = 2
            order.append(graph.nodes[name])
    return order
