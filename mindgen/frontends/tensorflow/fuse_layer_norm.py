"""Keras' layer normalization, frozen as tf.nn.moments arithmetic, made one LayerNorm node."""

from __future__ import annotations

from mindgen.frontends.tensorflow.graph import Ref, TfGraph, TfNode
from mindgen.frontends.tensorflow.patterns import ADD, const, producer, same, split_const


def fuse_keras_layer_norm(graph: TfGraph) -> int:
    """Keras 3 LayerNormalization as frozen, x * inv + (-mean * inv + beta) with mean and
    variance from tf.nn.moments and inv = rsqrt(var + eps) [* gamma], becomes one 'LayerNorm'
    node (x, gamma, beta; axes, epsilon) over the original weights. Returns the count."""
    fused = 0
    for name in list(graph.nodes):
        node = graph.nodes[name]
        found = _layer_norm(graph, node) if node.op in ADD and len(node.inputs) == 2 else None
        if found is not None:
            graph.nodes[name] = found
            fused += 1
    return fused


def _layer_norm(graph: TfGraph, add: TfNode) -> TfNode | None:
    for scaled_ref, shift_ref in (add.inputs, add.inputs[::-1]):
        scaled = producer(graph, scaled_ref, "Mul")
        shift = producer(graph, shift_ref, *ADD)
        if scaled is None or shift is None:
            continue
        for x_ref, inv_ref in (scaled.inputs, scaled.inputs[::-1]):
            inv = producer(graph, inv_ref, "Mul", "Rsqrt")
            if inv is None:
                continue
            gamma, rsqrt = None, inv
            if inv.op == "Mul":
                rsqrt, gamma = split_const(graph, inv, "Rsqrt")  # type: ignore[assignment]
            variance_plus = producer(graph, rsqrt.inputs[0], *ADD) if rsqrt is not None else None
            if variance_plus is None:
                continue
            variance, eps = split_const(graph, variance_plus, "Mean")
            moments = _moments(graph, variance, x_ref)
            beta = _shifted_mean(graph, shift, inv_ref, moments)
            if eps is None or moments is None or beta is None or graph.const_value(eps).size != 1:  # type: ignore[union-attr]
                continue
            if gamma is None:
                continue
            axes = [int(a) for a in graph.const_value(moments[1]).reshape(-1)]  # type: ignore[union-attr]
            epsilon = float(graph.const_value(eps).reshape(-1)[0])  # type: ignore[union-attr]
            attrs = {"axes": axes, "epsilon": epsilon, "T": 1}
            return TfNode(add.name, "LayerNorm", [x_ref, gamma, beta], add.control, attrs, add.scope)
    return None


def _moments(graph: TfGraph, variance: TfNode | None, x_ref: Ref) -> tuple[TfNode, Ref] | None:
    """(the mean node, the axes) of Mean(SquaredDifference(x, mean), axes) with mean = Mean(x, axes)."""
    if variance is None or not variance.attr("keep_dims", False):
        return None
    difference = producer(graph, variance.inputs[0], "SquaredDifference")
    if difference is None or not same(graph, difference.inputs[0], x_ref):
        return None
    mean = producer(graph, difference.inputs[1], "Mean", "StopGradient")
    if mean is not None and mean.op == "StopGradient":
        mean = producer(graph, mean.inputs[0], "Mean")
    if mean is None or not same(graph, mean.inputs[0], x_ref) or not mean.attr("keep_dims", False):
        return None
    axes, other = graph.const_value(mean.inputs[1]), graph.const_value(variance.inputs[1])
    if axes is None or other is None or sorted(axes.reshape(-1)) != sorted(other.reshape(-1)):
        return None
    return mean, mean.inputs[1]


def _shifted_mean(graph: TfGraph, shift: TfNode, inv_ref: Ref, moments) -> Ref | None:
    """beta, when `shift` is -mean * inv + beta."""
    if moments is None:
        return None
    for product_ref, beta_ref in (shift.inputs, shift.inputs[::-1]):
        product = producer(graph, product_ref, "Mul")
        if product is None or const(graph, beta_ref) is None:
            continue
        for negated_ref, other in (product.inputs, product.inputs[::-1]):
            negated = producer(graph, negated_ref, "Neg")
            if (
                negated is not None
                and same(graph, other, inv_ref)
                and negated.inputs[0].node == moments[0].name
            ):
                return beta_ref
    return None
