"""Keras' Dense on N-D input, frozen as tf.tensordot, made one TensordotLastAxis node."""

from __future__ import annotations

from mindgen.frontends.tensorflow.graph import Ref, TfGraph, TfNode
from mindgen.frontends.tensorflow.patterns import const_vector, producer, same


def fuse_tensordot(graph: TfGraph) -> int:
    """Keras' Dense on an N-D input, frozen as tf.tensordot over the last axis (Transpose ->
    Reshape to 2-D -> MatMul -> Reshape back), becomes one 'TensordotLastAxis' node (x, kernel),
    so the layer stays one matmul and keeps its input's layout. Returns the count."""
    fused = 0
    for name in list(graph.nodes):
        node = graph.nodes[name]
        found = _tensordot(graph, node) if node.op == "Reshape" else None
        if found is not None:
            x_ref, kernel_ref = found
            attrs = {"T": node.attrs.get("T", 1)}
            graph.nodes[name] = TfNode(name, "TensordotLastAxis", [x_ref, kernel_ref], node.control, attrs)
            fused += 1
    return fused


def _tensordot(graph: TfGraph, reshape_back: TfNode) -> tuple[Ref, Ref] | None:
    matmul = producer(graph, reshape_back.inputs[0], "MatMul")
    if matmul is None or matmul.attr("transpose_a", False) or matmul.attr("transpose_b", False):
        return None
    kernel = graph.const_value(matmul.inputs[1])
    flatten = producer(graph, matmul.inputs[0], "Reshape")
    if kernel is None or kernel.ndim != 2 or flatten is None:
        return None
    moved = producer(graph, flatten.inputs[0], "Transpose")
    x_ref = moved.inputs[0] if moved is not None else flatten.inputs[0]
    if moved is not None:
        order = const_vector(graph, moved.inputs[1])
        if order is None or order != list(range(len(order))):
            return None
    # Reshape back to Shape(x)[free] + [out]: free = every axis but the last, contracted = last.
    back = producer(graph, reshape_back.inputs[1], "ConcatV2")
    if back is None or len(back.inputs) != 3:
        return None
    free = _gathered_axes(graph, back.inputs[0], x_ref)
    out = graph.const_value(back.inputs[1])
    if free is None or out is None or list(out.reshape(-1)) != [kernel.shape[1]]:
        return None
    if free != list(range(len(free))) or not _flattens_last_axis(graph, flatten, x_ref, len(free)):
        return None
    return x_ref, matmul.inputs[1]


def _gathered_axes(graph: TfGraph, ref: Ref, x_ref: Ref) -> list[int] | None:
    """The axes of GatherV2(Shape(x), axes, 0), when that is what `ref` is."""
    gather = producer(graph, ref, "GatherV2")
    if gather is None or len(gather.inputs) != 3:
        return None
    shape = producer(graph, gather.inputs[0], "Shape")
    axes, axis = graph.const_value(gather.inputs[1]), graph.const_value(gather.inputs[2])
    if shape is None or not same(graph, shape.inputs[0], x_ref) or axes is None or axis is None or int(axis):
        return None
    return [int(a) for a in axes.reshape(-1)]


def _flattens_last_axis(graph: TfGraph, flatten: TfNode, x_ref: Ref, free: int) -> bool:
    """Reshape(x, [Prod(Shape(x)[free]), Prod(Shape(x)[[last]])])."""
    stack = producer(graph, flatten.inputs[1], "Pack")
    if stack is None or len(stack.inputs) != 2:
        return False
    parts = []
    for ref in stack.inputs:
        prod = producer(graph, ref, "Prod")
        parts.append(None if prod is None else _gathered_axes(graph, prod.inputs[0], x_ref))
    return parts == [list(range(free)), [free]]
