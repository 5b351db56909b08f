"""The two benchmark architectures as ONNX graphs built in code, with the random weights they share.

Each builder returns the ONNX model and its weights as a dict keyed by the hand-written
network's parameter names (benchmarks/hand_written.py), so both networks hold the same numbers.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Weights = dict[str, np.ndarray]


class _Graph:
    """Collects ONNX nodes and initializers, and the hand-written network's copy of each weight."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.weights: Weights = {}
        self.names: dict[str, int] = {}

    def random(self, shape: tuple[int, ...], scale: float) -> np.ndarray:
        """Normal random float32 numbers of the given spread."""
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def init(self, name: str, value: np.ndarray) -> str:
        """Adds an ONNX initializer named like the hand-written parameter (dots), returns its name."""
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, kind: str, inputs: list[str], scope: str, **attrs) -> str:
        """Adds a node named like a PyTorch export (/scope/Kind) and returns its output."""
        base = f"/{scope.replace('.', '/')}/{kind}" if scope else f"/{kind}"
        count = self.names[base] = self.names.get(base, -1) + 1
        name = f"{base}_{count}" if count else base
        self.nodes.append(helper.make_node(kind, inputs, [f"{name}_output_0"], name=name, **attrs))
        return f"{name}_output_0"

    def model(self, name: str, source: str, input_shape: list, output: str, output_shape: list):
        """The finished opset-17 model with one float input and one float output."""
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(source, TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)],
            self.inits,
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _conv_bn(g: _Graph, x: str, prefix: str, bn: str, cin: int, cout: int, k: int, stride: int) -> str:
    """Conv (no bias) then inference BatchNormalization, as torch exports an unfused Conv2d+BatchNorm2d."""
    weight = g.random((cout, cin, k, k), float(np.sqrt(2.0 / (cin * k * k))))
    g.weights[f"{prefix}.weight"] = weight
    pad = k // 2
    conv = g.op(
        "Conv",
        [x, g.init(f"{prefix}.weight", weight)],
        prefix,
        kernel_shape=[k, k],
        strides=[stride, stride],
        pads=[pad] * 4,
    )
    stats = {
        "gamma": 1 + g.random((cout,), 0.1),
        "beta": g.random((cout,), 0.1),
        "moving_mean": g.random((cout,), 0.1),
        "moving_variance": 1 + np.abs(g.random((cout,), 0.1)),
    }
    for key, value in stats.items():
        g.weights[f"{bn}.{key}"] = value
    names = [g.init(f"{bn}.{key}", value) for key, value in stats.items()]
    return g.op("BatchNormalization", [conv, *names], bn, epsilon=1e-5)


def resnet_onnx(width: int, resolution: int, seed: int = 0) -> tuple[onnx.ModelProto, Weights]:
    """Stem, a basic block at `width`, a stride-2 block to 2*width with a projection, pool, fc."""
    g = _Graph(seed)
    x = g.op("Relu", [_conv_bn(g, "input", "conv1", "bn1", 3, width, 3, 1)], "relu")
    for index, (cin, cout, stride) in enumerate(((width, width, 1), (width, 2 * width, 2))):
        scope = f"layers.{index}"
        identity = x
        out = _conv_bn(g, x, f"{scope}.conv1", f"{scope}.bn1", cin, cout, 3, stride)
        out = g.op("Relu", [out], f"{scope}.relu")
        out = _conv_bn(g, out, f"{scope}.conv2", f"{scope}.bn2", cout, cout, 3, 1)
        if stride != 1 or cin != cout:
            identity = _conv_bn(g, x, f"{scope}.down.0", f"{scope}.down.1", cin, cout, 1, stride)
        x = g.op("Relu", [g.op("Add", [out, identity], scope)], f"{scope}.relu_1")
    flat = g.op("Flatten", [g.op("GlobalAveragePool", [x], "")], "")
    fc_weight, fc_bias = g.random((10, 2 * width), 0.1), g.random((10,), 0.1)
    g.weights.update({"fc.weight": fc_weight, "fc.bias": fc_bias})
    logits = g.op("Gemm", [flat, g.init("fc.weight", fc_weight), g.init("fc.bias", fc_bias)], "fc", transB=1)
    return g.model("resnet", "input", ["N", 3, resolution, resolution], logits, ["N", 10]), g.weights


def _linear(g: _Graph, x: str, prefix: str, fan_in: int, fan_out: int) -> str:
    """MatMul by W^T then Add bias, as torch exports nn.Linear on a 3-D input."""
    weight, bias = g.random((fan_out, fan_in), float(np.sqrt(1.0 / fan_in))), g.random((fan_out,), 0.02)
    g.weights.update({f"{prefix}.weight": weight, f"{prefix}.bias": bias})
    product = g.op("MatMul", [x, g.init(f"{prefix}.weight_t", np.ascontiguousarray(weight.T))], prefix)
    return g.op("Add", [product, g.init(f"{prefix}.bias", bias)], prefix)


def _layer_norm(g: _Graph, x: str, prefix: str, dim: int) -> str:
    """LayerNormalization over the last axis with random scale and shift."""
    gamma, beta = 1 + g.random((dim,), 0.1), g.random((dim,), 0.1)
    g.weights.update({f"{prefix}.gamma": gamma, f"{prefix}.beta": beta})
    inputs = [x, g.init(f"{prefix}.gamma", gamma), g.init(f"{prefix}.beta", beta)]
    return g.op("LayerNormalization", inputs, prefix, axis=-1, epsilon=1e-5)


def encoder_onnx(
    dim: int, heads: int, seq: int, layers: int, seed: int = 0
) -> tuple[onnx.ModelProto, Weights]:
    """Post-norm encoder layers: multi-head self-attention, then a ReLU FFN of width 4*dim."""
    g = _Graph(seed)
    head_dim = dim // heads
    split = g.init("split_shape", np.array([0, 0, heads, head_dim], np.int64))
    merge = g.init("merge_shape", np.array([0, 0, dim], np.int64))
    scale = g.init("scale", np.array(np.sqrt(head_dim), np.float32))
    x = "x"
    for index in range(layers):
        scope = f"layers.{index}"
        q, k, v = (
            g.op(
                "Transpose",
                [g.op("Reshape", [_linear(g, x, f"{scope}.{name}", dim, dim), split], scope)],
                scope,
                perm=[0, 2, 3, 1] if name == "key" else [0, 2, 1, 3],
            )
            for name in ("query", "key", "value")
        )
        scores = g.op("Div", [g.op("MatMul", [q, k], scope), scale], scope)
        context = g.op("MatMul", [g.op("Softmax", [scores], scope, axis=-1), v], scope)
        merged = g.op("Reshape", [g.op("Transpose", [context], scope, perm=[0, 2, 1, 3]), merge], scope)
        attended = g.op("Add", [x, _linear(g, merged, f"{scope}.output", dim, dim)], scope)
        normed = _layer_norm(g, attended, f"{scope}.norm1", dim)
        hidden = g.op("Relu", [_linear(g, normed, f"{scope}.intermediate", dim, 4 * dim)], scope)
        ffn = _linear(g, hidden, f"{scope}.ffn_out", 4 * dim, dim)
        x = _layer_norm(g, g.op("Add", [normed, ffn], scope), f"{scope}.norm2", dim)
    return g.model("encoder", "x", ["N", seq, dim], x, ["N", seq, dim]), g.weights
