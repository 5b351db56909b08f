"""Keras' batch normalization, frozen as arithmetic, made one FusedBatchNormV3 node again."""

from __future__ import annotations

import numpy as np

from mindgen.frontends.tensorflow.graph import Ref, TfGraph, TfNode
from mindgen.frontends.tensorflow.patterns import ADD, producer, same


def fuse_keras_batch_norm(graph: TfGraph) -> int:
    """tf.nn.batch_normalization as Keras 3 freezes it, x * inv + (beta - mean * inv) with
    inv = rsqrt(var + eps) * gamma, becomes one FusedBatchNormV3 over the original statistics,
    so that the network gets a BatchNorm layer with its four named weights. Returns the count."""
    fused = 0
    for name in list(graph.nodes):
        node = graph.nodes[name]
        if node.op in ADD and len(node.inputs) == 2:
            found = _match(graph, node)
            if found is not None:
                graph.nodes[name] = found
                fused += 1
    return fused


def _match(graph: TfGraph, add: TfNode) -> TfNode | None:
    for scaled_ref, shift_ref in (add.inputs, add.inputs[::-1]):
        scaled = producer(graph, scaled_ref, "Mul")
        shift = producer(graph, shift_ref, "Sub", "Neg")
        if scaled is None or shift is None:
            continue
        for x_ref, inv_ref in (scaled.inputs, scaled.inputs[::-1]):
            parts = _multiplier(graph, inv_ref)
            if parts is None or graph.const_value(x_ref) is not None:
                continue
            variance, epsilon, gamma = parts
            statistics = _shift(graph, shift, inv_ref)
            if statistics is None:
                continue
            mean, beta = statistics
            vectors = [graph.const_value(r) for r in (gamma, beta, mean, variance) if r is not None]
            if all(v is not None and v.ndim == 1 and v.shape == vectors[-1].shape for v in vectors):
                return _fused_node(graph, add, x_ref, gamma, beta, mean, variance, epsilon)
    return None


def _multiplier(graph: TfGraph, ref: Ref) -> tuple[Ref, float, Ref | None] | None:
    """rsqrt(var + eps) [* gamma] with constant var, eps and gamma."""
    node = producer(graph, ref, "Rsqrt", "Mul")
    gamma = None
    if node is not None and node.op == "Mul":
        for rsqrt_ref, gamma_ref in (node.inputs, node.inputs[::-1]):
            if producer(graph, rsqrt_ref, "Rsqrt") is not None and graph.const_value(gamma_ref) is not None:
                node, gamma = producer(graph, rsqrt_ref, "Rsqrt"), gamma_ref
                break
        else:
            return None
    if node is None or node.op != "Rsqrt":
        return None
    add = producer(graph, node.inputs[0], *ADD)
    if add is None:
        return None
    for var_ref, eps_ref in (add.inputs, add.inputs[::-1]):
        eps = graph.const_value(eps_ref)
        if graph.const_value(var_ref) is not None and eps is not None and eps.size == 1:
            return var_ref, float(eps.reshape(-1)[0]), gamma
    return None


def _shift(graph: TfGraph, node: TfNode, inv_ref: Ref) -> tuple[Ref, Ref | None] | None:
    """beta - mean * inv (or -(mean * inv) without beta), reading the same inv."""
    beta = None
    product_ref = node.inputs[0]
    if node.op == "Sub":
        beta, product_ref = node.inputs
        if graph.const_value(beta) is None:
            return None
    product = producer(graph, product_ref, "Mul")
    if product is None:
        return None
    for mean_ref, other in (product.inputs, product.inputs[::-1]):
        if same(graph, other, inv_ref) and graph.const_value(mean_ref) is not None:
            return mean_ref, beta
    return None


def _fused_node(graph, add, x_ref, gamma, beta, mean, variance, epsilon) -> TfNode:
    """The FusedBatchNormV3 that replaces the final Add (same name, so its readers follow)."""
    channels = graph.const_value(variance).shape  # type: ignore[union-attr]
    dtype = graph.const_value(variance).dtype  # type: ignore[union-attr]
    if gamma is None:
        gamma = _constant(graph, f"{add.name}/gamma", np.ones(channels, dtype))
    if beta is None:
        beta = _constant(graph, f"{add.name}/beta", np.zeros(channels, dtype))
    scope = add.scope
    # 'model/bn/batchnorm/add_1' belongs to the layer 'model/bn'.
    if scope.endswith("/batchnorm"):
        scope = scope[: -len("/batchnorm")]
    attrs = {"epsilon": epsilon, "is_training": False, "data_format": "NHWC", "T": 1}
    return TfNode(
        add.name, "FusedBatchNormV3", [x_ref, gamma, beta, mean, variance], add.control, attrs, scope
    )


def _constant(graph: TfGraph, name: str, value: np.ndarray) -> Ref:
    graph.nodes[name] = TfNode(name, "Const", [], [], {"value": value, "dtype": 1})
    return Ref(name)
