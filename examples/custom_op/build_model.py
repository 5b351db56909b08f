"""Writes fused_gelu_net.onnx: MatMul + Add -> com.mycompany::FusedGelu -> MatMul.

The model stands for a network exported from training code with a custom operator: no
converter knows FusedGelu, and onnxruntime cannot run it without the company's kernel.
Run: python build_model.py [OUTPUT.onnx]
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ALPHA = 1.702


def build_model() -> onnx.ModelProto:
    """The network, with seeded weights (the same file every run)."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float32) * 0.5, "fc1.weight"),
        numpy_helper.from_array(rng.standard_normal(16).astype(np.float32) * 0.1, "fc1.bias"),
        numpy_helper.from_array(rng.standard_normal((16, 4)).astype(np.float32) * 0.5, "fc2.weight"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "fc1.weight"], ["fc1_mm"], name="/fc1/MatMul"),
        helper.make_node("Add", ["fc1_mm", "fc1.bias"], ["fc1_out"], name="/fc1/Add"),
        helper.make_node(
            "FusedGelu", ["fc1_out"], ["act_out"], name="/act/FusedGelu", domain="com.mycompany", alpha=ALPHA
        ),
        helper.make_node("MatMul", ["act_out", "fc2.weight"], ["y"], name="/fc2/MatMul"),
    ]
    graph = helper.make_graph(
        nodes,
        "fused_gelu_net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        weights,
        # Exporters record a custom op's output type (torch: g.op(...).setType(...)); ONNX shape
        # inference cannot look inside FusedGelu, so without it the next MatMul has no shape.
        value_info=[helper.make_tensor_value_info("act_out", TensorProto.FLOAT, ["batch", 16])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.mycompany", 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="mindgen-example")


def reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """What the model computes, in numpy (the company's kernel is not available here)."""
    w1, b1, w2 = (numpy_helper.to_array(t) for t in model.graph.initializer)
    h = x @ w1 + b1
    return (h * (1.0 / (1.0 + np.exp(-ALPHA * h)))) @ w2


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "fused_gelu_net.onnx"
    onnx.save(build_model(), target)
    print(f"wrote {target}")
