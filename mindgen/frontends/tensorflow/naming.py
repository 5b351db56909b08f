"""Node names that read as a module tree: 'scope/OpType', the convention codegen follows."""

from __future__ import annotations

import re
from collections.abc import Sequence

import onnx

# Ops that become layers (weights or window settings) in a target rather than expressions.
LAYER_OPS = frozenset(
    {"Conv", "ConvTranspose", "BatchNormalization", "MaxPool", "AveragePool", "MatMul", "Gemm", "LRN"}
)


def snake(text: str) -> str:
    """'MaxPool' -> 'max_pool', 'BatchNormalization' -> 'batch_normalization'."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()


def nest_layers(nodes: Sequence[onnx.NodeProto]) -> None:
    """Gives a layer op its own leaf scope when its scope also holds other scopes.

    In TF, 'resnet/MaxPool' is a raw op inside the module 'resnet', while 'resnet/block1/...'
    are that module's children; read PyTorch-style, 'resnet' would be the pooling layer and a
    container at once. 'resnet/max_pool/MaxPool' makes it the member 'max_pool' of 'resnet'.
    """
    scopes = [node.name.rpartition("/")[0] for node in nodes]
    containers = {s[:i] for s in scopes for i in range(len(s)) if s[i] == "/"}
    taken = {node.name for node in nodes}
    for node, scope in zip(nodes, scopes, strict=True):
        if node.op_type not in LAYER_OPS or not scope or scope not in containers:
            continue
        leaf, count = snake(node.op_type), 0
        while f"{scope}/{leaf}/{node.op_type}" in taken:
            count += 1
            leaf = f"{snake(node.op_type)}_{count}"
        node.name = f"{scope}/{leaf}/{node.op_type}"
        taken.add(node.name)
