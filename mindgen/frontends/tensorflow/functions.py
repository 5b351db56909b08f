"""Function calls left in frozen graphs (Keras' XLA-compiled convolutions) inlined into the graph."""

from __future__ import annotations

from mindgen.errors import InputError
from mindgen.frontends.tensorflow.graph import Ref, TfGraph, TfNode, node_from_proto

CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")
# Output argument names of the multi-output ops; elsewhere 'name:arg:i' is port i.
_OUTPUT_ARGS = {
    "FusedBatchNorm": ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"),
    "FusedBatchNormV2": ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"),
    "FusedBatchNormV3": (
        "y",
        "batch_mean",
        "batch_variance",
        "reserve_space_1",
        "reserve_space_2",
        "reserve_space_3",
    ),
    "Unique": ("y", "idx"),
    "TopKV2": ("values", "indices"),
    "Switch": ("output_false", "output_true"),
    "Merge": ("output", "value_index"),
}
_MAX_DEPTH = 8


def inline_functions(graph: TfGraph) -> int:
    """Replaces each call of a library function by the function's nodes (in the caller's scope);
    the call itself becomes an IdentityN of the function's results, so its readers and its name
    (usable with --output_nodes) stay. Returns the number of calls inlined."""
    inlined = 0
    for _ in range(_MAX_DEPTH):
        calls = [n for n in graph.nodes.values() if _callee(graph, n) is not None]
        if not calls:
            return inlined
        for call in calls:
            _inline(graph, call, graph.functions[_callee(graph, call)])  # type: ignore[index]
            inlined += 1
    raise InputError(f"function calls nest deeper than {_MAX_DEPTH} levels")


def _callee(graph: TfGraph, node: TfNode) -> str | None:
    if node.op in CALL_OPS:
        name = node.attr("f")
        return name if name in graph.functions else None
    return node.op if node.op in graph.functions else None


def _inline(graph: TfGraph, call: TfNode, function) -> None:
    arguments = {arg.name: ref for arg, ref in zip(function.signature.input_arg, call.inputs, strict=False)}
    body = {proto.name: proto for proto in function.node_def}
    scope = call.scope
    renamed = {name: _free_name(graph, f"{scope}/{name}" if scope else name, call.name) for name in body}

    def read(text: str) -> Ref:
        parts = text.split(":")
        if parts[0] in arguments and len(parts) == 1:
            return arguments[parts[0]]
        if parts[0] not in body:
            raise InputError(f"function {function.signature.name!r} reads {text!r}, which it does not define")
        port = int(parts[-1]) if len(parts) == 3 else 0
        names = _OUTPUT_ARGS.get(body[parts[0]].op)
        if len(parts) == 3 and names and parts[1] in names:
            port += names.index(parts[1])
        return Ref(renamed[parts[0]], port)

    for proto in function.node_def:
        node = node_from_proto(proto, read)
        node.name = renamed[proto.name]
        node.control = [renamed.get(c, c) for c in node.control if c in renamed]
        graph.nodes[node.name] = node
    results = [read(function.ret[arg.name]) for arg in function.signature.output_arg]
    graph.nodes[call.name] = TfNode(call.name, "IdentityN", results, call.control, {})


def _free_name(graph: TfGraph, wanted: str, fallback_scope: str) -> str:
    """The inlined node's name: in the caller's scope when free, else under the call's name."""
    if wanted not in graph.nodes:
        return wanted
    name, count = f"{fallback_scope}/{wanted.rpartition('/')[2]}", 0
    while name in graph.nodes:
        count += 1
        name = f"{fallback_scope}/{wanted.rpartition('/')[2]}_{count}"
    return name
