"""Deterministically build the ``tiny_resnet.onnx`` example model."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DEFAULT_OUTPUT = Path(__file__).with_name("tiny_resnet.onnx")


class _Builder:
    """Collects nodes and initializers using PyTorch-export-style names."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()

    def _param(self, name: str, value: np.ndarray) -> str:
        """Add a float32 initializer and return its name."""
        self.initializers.append(
            numpy_helper.from_array(value.astype(np.float32), name)
        )
        return name

    def node(
        self,
        op_type: str,
        scope: str,
        inputs: list[str],
        output: str = "",
        **attrs: object,
    ) -> str:
        """Add a node named ``{scope}/{op_type}[_k]`` and return its output name."""
        base = name = f"{scope}/{op_type}"
        k = 0
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        out = output or f"{name}_output_0"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    def conv(
        self,
        module: str,
        scope: str,
        x: str,
        cin: int,
        cout: int,
        kernel: int,
        stride: int,
    ) -> str:
        """Add a bias-free square Conv with ``kernel // 2`` padding."""
        std = math.sqrt(1.0 / (cin * kernel * kernel))
        weight = self._param(
            f"{module}.weight", self.rng.normal(0.0, std, (cout, cin, kernel, kernel))
        )
        pad = kernel // 2
        return self.node(
            "Conv",
            scope,
            [x, weight],
            dilations=[1, 1],
            group=1,
            kernel_shape=[kernel, kernel],
            pads=[pad] * 4,
            strides=[stride, stride],
        )

    def batchnorm(self, module: str, scope: str, x: str, channels: int) -> str:
        """Add a BatchNormalization with perturbed affine parameters and statistics."""
        rng = self.rng
        inputs = [
            x,
            self._param(f"{module}.weight", rng.uniform(0.6, 1.4, channels)),
            self._param(f"{module}.bias", rng.normal(0.0, 0.2, channels)),
            self._param(f"{module}.running_mean", rng.normal(0.0, 0.2, channels)),
            self._param(f"{module}.running_var", rng.uniform(0.5, 1.5, channels)),
        ]
        return self.node(
            "BatchNormalization", scope, inputs, epsilon=1e-5, momentum=0.9
        )

    def gemm(self, module: str, x: str, cin: int, cout: int, output: str) -> str:
        """Add a torch ``nn.Linear`` exported as ``Gemm(transB=1)``."""
        weight = self._param(
            f"{module}.weight", self.rng.normal(0.0, 0.5 / math.sqrt(cin), (cout, cin))
        )
        bias = self._param(f"{module}.bias", self.rng.normal(0.0, 0.2, cout))
        return self.node(
            "Gemm",
            f"/{module}",
            [x, weight, bias],
            output,
            alpha=1.0,
            beta=1.0,
            transB=1,
        )


def _basic_block(
    b: _Builder, layer: str, x: str, cin: int, cout: int, stride: int
) -> str:
    """Add torchvision BasicBlock ``{layer}.0``, with a 1x1 downsample if strided."""
    module, scope = f"{layer}.0", f"/{layer}/{layer}.0"
    y = b.conv(f"{module}.conv1", f"{scope}/conv1", x, cin, cout, 3, stride)
    y = b.batchnorm(f"{module}.bn1", f"{scope}/bn1", y, cout)
    y = b.node("Relu", f"{scope}/relu", [y])
    y = b.conv(f"{module}.conv2", f"{scope}/conv2", y, cout, cout, 3, 1)
    y = b.batchnorm(f"{module}.bn2", f"{scope}/bn2", y, cout)
    shortcut = x
    if stride != 1 or cin != cout:
        ds, ds_scope = f"{module}.downsample", f"{scope}/downsample/downsample"
        shortcut = b.conv(f"{ds}.0", f"{ds_scope}.0", x, cin, cout, 1, stride)
        shortcut = b.batchnorm(f"{ds}.1", f"{ds_scope}.1", shortcut, cout)
    y = b.node("Add", scope, [y, shortcut])
    return b.node("Relu", f"{scope}/relu_1", [y])


def build_tiny_resnet(seed: int = 0) -> onnx.ModelProto:
    """Build the tiny residual CNN ``image`` [N,3,32,32] -> ``logits`` [N,10]."""
    b = _Builder(seed)
    x = b.conv("conv1", "/conv1", "image", 3, 8, 3, 1)
    x = b.batchnorm("bn1", "/bn1", x, 8)
    x = b.node("Relu", "/relu", [x])
    x = b.node(
        "MaxPool",
        "/maxpool",
        [x],
        ceil_mode=0,
        dilations=[1, 1],
        kernel_shape=[3, 3],
        pads=[1, 1, 1, 1],
        strides=[2, 2],
    )
    x = _basic_block(b, "layer1", x, 8, 8, 1)
    x = _basic_block(b, "layer2", x, 8, 16, 2)
    x = b.node("GlobalAveragePool", "/avgpool", [x])
    x = b.node("Flatten", "", [x], axis=1)
    b.gemm("fc", x, 16, 10, "logits")
    graph = helper.make_graph(
        b.nodes,
        "tiny_resnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        b.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        ir_version=8,
        producer_name="mindgen-examples",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def write_tiny_resnet(path: Path = DEFAULT_OUTPUT) -> Path:
    """Build the example model and write it to ``path``."""
    path.write_bytes(build_tiny_resnet().SerializeToString())
    return path


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    print(f"wrote {write_tiny_resnet(args.output)}")


if __name__ == "__main__":
    main()
