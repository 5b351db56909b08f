"""Builders for realistic ONNX test models with seeded, non-trivial random weights."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8


def _scope(module: str) -> str:
    """Turn a module path like ``layer2.0.downsample.1`` into a PyTorch ONNX scope."""
    if not module:
        return ""
    parts = module.split(".")
    segments = []
    for i, part in enumerate(parts):
        segments.append(f"{parts[i - 1]}.{part}" if part.isdigit() and i else part)
    return "/" + "/".join(segments)


class _GraphBuilder:
    """Accumulates nodes and initializers with PyTorch-export-style names."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()
        self._matmul_weights = 0

    def _unique(self, base: str) -> str:
        """Return ``base`` or ``base_k`` (the first unused), reserving it."""
        name, k = base, 0
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def param(self, name: str, value: np.ndarray) -> str:
        """Add an initializer and return its name."""
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def const(self, module: str, value: np.ndarray) -> str:
        """Add a constant initializer named like a folded PyTorch ``Constant``."""
        name = self._unique(f"{_scope(module)}/Constant")
        return self.param(f"{name}_output_0", value)

    def node(
        self,
        op_type: str,
        module: str,
        inputs: list[str],
        output: str | None = None,
        **attrs: object,
    ) -> str:
        """Add a node in ``module``'s scope and return its (single) output name."""
        name = self._unique(f"{_scope(module)}/{op_type}")
        out = output or f"{name}_output_0"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    def bias(self, name: str, size: int) -> str:
        """Add a clearly non-zero bias vector."""
        value = self.rng.normal(0.0, 0.1, size) + self.rng.choice([-0.1, 0.1], size)
        return self.param(name, value.astype(np.float32))

    def he(
        self, name: str, shape: tuple[int, ...], fan_in: int, gain: float = 2.0
    ) -> str:
        """Add a weight tensor with variance ``gain / fan_in`` (He init by default)."""
        std = math.sqrt(gain / fan_in)
        return self.param(name, self.rng.normal(0.0, std, shape).astype(np.float32))

    def conv(
        self,
        module: str,
        x: str,
        cin: int,
        cout: int,
        kernel: int,
        stride: int = 1,
        group: int = 1,
        bias: bool = False,
        gain: float = 2.0,
    ) -> str:
        """Add a square Conv with symmetric ``kernel // 2`` padding."""
        fan_in = cin // group * kernel * kernel
        inputs = [
            x,
            self.he(
                f"{module}.weight", (cout, cin // group, kernel, kernel), fan_in, gain
            ),
        ]
        if bias:
            inputs.append(self.bias(f"{module}.bias", cout))
        pad = kernel // 2
        return self.node(
            "Conv",
            module,
            inputs,
            dilations=[1, 1],
            group=group,
            kernel_shape=[kernel, kernel],
            pads=[pad] * 4,
            strides=[stride, stride],
        )

    def batchnorm(
        self, module: str, x: str, channels: int, output: str | None = None
    ) -> str:
        """Add a BatchNormalization with perturbed affine parameters and statistics."""
        rng = self.rng
        inputs = [
            x,
            self.param(
                f"{module}.weight", rng.uniform(0.6, 1.4, channels).astype(np.float32)
            ),
            self.bias(f"{module}.bias", channels),
            self.bias(f"{module}.running_mean", channels),
            self.param(
                f"{module}.running_var",
                rng.uniform(0.5, 1.5, channels).astype(np.float32),
            ),
        ]
        return self.node(
            "BatchNormalization", module, inputs, output, epsilon=1e-5, momentum=0.9
        )

    def gemm(
        self,
        module: str,
        x: str,
        cin: int,
        cout: int,
        output: str | None = None,
        gain: float = 2.0,
    ) -> str:
        """Add a torch ``nn.Linear`` exported as ``Gemm(transB=1)``."""
        weight = self.he(f"{module}.weight", (cout, cin), cin, gain)
        bias = self.bias(f"{module}.bias", cout)
        return self.node(
            "Gemm", module, [x, weight, bias], output, alpha=1.0, beta=1.0, transB=1
        )

    def linear(
        self,
        module: str,
        x: str,
        cin: int,
        cout: int,
        std: float,
        output: str | None = None,
    ) -> str:
        """Add a torch ``nn.Linear`` exported as MatMul (weight ``[in, out]``) + Add."""
        self._matmul_weights += 1
        weight = self.param(
            f"onnx::MatMul_{self._matmul_weights}",
            self.rng.normal(0.0, std, (cin, cout)).astype(np.float32),
        )
        y = self.node("MatMul", module, [x, weight])
        return self.node("Add", module, [self.bias(f"{module}.bias", cout), y], output)

    def model(
        self,
        name: str,
        inputs: list[onnx.ValueInfoProto],
        outputs: list[onnx.ValueInfoProto],
        opset: int = OPSET,
        ir_version: int = IR_VERSION,
    ) -> onnx.ModelProto:
        """Assemble and check the model."""
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", opset)],
            ir_version=ir_version,
            producer_name="mindgen-tests",
        )
        onnx.checker.check_model(model, full_check=True)
        return model


def _float(name: str, *dims: int | str) -> onnx.ValueInfoProto:
    """Make a float32 tensor value info."""
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))


def mlp(batch: int | str = "N", seed: int = 0) -> onnx.ModelProto:
    """A 4-layer MLP 32 -> 64 -> 64 -> 48 -> 10 mixing Gemm and MatMul+Add layers."""
    g = _GraphBuilder(seed)
    x = g.gemm("fc1", "input", 32, 64)
    x = g.node("Relu", "act1", [x])
    x = g.gemm("fc2", x, 64, 64)
    x = g.node("Sigmoid", "act2", [x])
    x = g.linear("fc3", x, 64, 48, std=0.25)  # sigmoid outputs have a small 2nd moment
    x = g.node("Relu", "act3", [x])
    g.gemm("fc4", x, 48, 10, output="output")
    return g.model("mlp", [_float("input", batch, 32)], [_float("output", batch, 10)])


def _basic_block(
    g: _GraphBuilder,
    module: str,
    x: str,
    cin: int,
    cout: int,
    stride: int,
) -> str:
    """Add a torchvision BasicBlock; the strided one gets a ResNet-D style shortcut."""
    y = g.conv(f"{module}.conv1", x, cin, cout, 3, stride, gain=0.5)
    y = g.batchnorm(f"{module}.bn1", y, cout)
    y = g.node("Relu", f"{module}.relu", [y])
    y = g.conv(f"{module}.conv2", y, cout, cout, 3, gain=0.5)
    y = g.batchnorm(f"{module}.bn2", y, cout)
    shortcut = x
    if stride != 1 or cin != cout:
        ds = f"{module}.downsample"
        shortcut = g.node(
            "AveragePool",
            f"{ds}.0",
            [x],
            kernel_shape=[stride, stride],
            strides=[stride, stride],
            pads=[0, 0, 0, 0],
        )
        shortcut = g.conv(f"{ds}.1", shortcut, cin, cout, 1, bias=True, gain=0.5)
        shortcut = g.batchnorm(f"{ds}.2", shortcut, cout)
    y = g.node("Add", module, [y, shortcut])
    return g.node("Relu", f"{module}.relu_1", [y])


def resnet_like(
    batch: int | str = "N", seed: int = 0, image: int = 32
) -> onnx.ModelProto:
    """Two-stage ResNet: stem, identity block, strided block with avg-pool shortcut."""
    if image % 4:
        raise ValueError(f"image size must be a multiple of 4, got {image}")
    g = _GraphBuilder(seed)
    x = g.conv("conv1", "input", 3, 16, 3)
    x = g.batchnorm("bn1", x, 16)
    x = g.node("Relu", "relu", [x])
    x = g.node(
        "MaxPool",
        "maxpool",
        [x],
        ceil_mode=0,
        dilations=[1, 1],
        kernel_shape=[3, 3],
        pads=[1, 1, 1, 1],
        strides=[2, 2],
    )
    x = _basic_block(g, "layer1.0", x, 16, 16, 1)
    x = _basic_block(g, "layer2.0", x, 16, 32, 2)
    x = g.node("GlobalAveragePool", "avgpool", [x])
    x = g.node("Flatten", "", [x], axis=1)
    g.gemm("fc", x, 32, 10, output="output", gain=0.25)
    return g.model(
        "resnet_like",
        [_float("input", batch, 3, image, image)],
        [_float("output", batch, 10)],
    )


def _inverted_residual(
    g: _GraphBuilder,
    module: str,
    x: str,
    cin: int,
    expand: int,
    cout: int,
    stride: int,
    output: str | None = None,
) -> str:
    """Add a MobileNetV3 inverted residual block with squeeze-excite."""
    y = g.conv(f"{module}.expand", x, cin, expand, 1, bias=True)
    y = g.node(
        "Clip",
        f"{module}.expand_act",
        [
            y,
            g.const(f"{module}.expand_act", np.array(0.0, np.float32)),
            g.const(f"{module}.expand_act", np.array(6.0, np.float32)),
        ],
    )
    y = g.conv(f"{module}.dw", y, expand, expand, 3, stride, group=expand, bias=True)
    y = g.node("HardSwish", f"{module}.dw_act", [y])
    se = f"{module}.se"
    s = g.node("GlobalAveragePool", f"{se}.avgpool", [y])
    s = g.conv(f"{se}.fc1", s, expand, expand // 4, 1, bias=True)
    s = g.node("Relu", f"{se}.relu", [s])
    s = g.conv(f"{se}.fc2", s, expand // 4, expand, 1, bias=True)
    s = g.node("HardSigmoid", f"{se}.scale_act", [s], alpha=1.0 / 6.0, beta=0.5)
    y = g.node("Mul", se, [s, y])
    y = g.conv(f"{module}.project", y, expand, cout, 1)
    if stride != 1 or cin != cout:
        return g.batchnorm(f"{module}.project_bn", y, cout, output)
    y = g.batchnorm(f"{module}.project_bn", y, cout)
    return g.node("Add", module, [x, y], output)


def mobilenet_se_block(
    batch: int | str = "N", seed: int = 0, residual: bool = False
) -> onnx.ModelProto:
    """MobileNetV3 SE block [N,16,16,16] -> [N,24,8,8]; ``residual`` adds a 2nd one."""
    g = _GraphBuilder(seed)
    x = _inverted_residual(
        g, "blocks.0", "input", 16, 64, 24, 2, None if residual else "output"
    )
    if residual:
        _inverted_residual(g, "blocks.1", x, 24, 96, 24, 1, "output")
    return g.model(
        "mobilenet_se_block",
        [_float("input", batch, 16, 16, 16)],
        [_float("output", batch, 24, 8, 8)],
    )


def transformer_encoder_layer(
    batch: int | str = "N",
    seed: int = 0,
    seq: int = 8,
    d_model: int = 32,
    heads: int = 4,
    ffn: int = 64,
) -> onnx.ModelProto:
    """A post-norm transformer encoder layer (MHA + GELU FFN) on [N, seq, d_model]."""
    if d_model % heads:
        raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
    dh = d_model // heads
    g = _GraphBuilder(seed)
    attn = "self_attn"
    split_shape = g.const(attn, np.array([0, 0, heads, dh], np.int64))
    std = 1.0 / math.sqrt(d_model)

    def heads_of(proj: str, perm: list[int]) -> str:
        """Project ``x`` and split it into heads with the given transpose."""
        y = g.linear(f"{attn}.{proj}", "x", d_model, d_model, std)
        y = g.node("Reshape", attn, [y, split_shape])
        return g.node("Transpose", attn, [y], perm=perm)

    q = heads_of("q_proj", [0, 2, 1, 3])
    k = heads_of("k_proj", [0, 2, 3, 1])
    v = heads_of("v_proj", [0, 2, 1, 3])
    scores = g.node("MatMul", attn, [q, k])
    scale = g.const(attn, np.array(math.sqrt(dh), np.float32))
    scores = g.node("Div", attn, [scores, scale])
    probs = g.node("Softmax", attn, [scores], axis=-1)
    ctx = g.node("MatMul", attn, [probs, v])
    ctx = g.node("Transpose", attn, [ctx], perm=[0, 2, 1, 3])
    merge_shape = g.const(attn, np.array([0, 0, d_model], np.int64))
    ctx = g.node("Reshape", attn, [ctx, merge_shape])
    attn_out = g.linear(f"{attn}.out_proj", ctx, d_model, d_model, std)
    h = g.node("Add", "", ["x", attn_out])
    h = _layer_norm(g, "norm1", h, d_model)

    f = g.linear("linear1", h, d_model, ffn, math.sqrt(2.0 / d_model))
    act = "activation"
    gelu = g.node("Div", act, [f, g.const(act, np.array(math.sqrt(2.0), np.float32))])
    gelu = g.node("Erf", act, [gelu])
    gelu = g.node("Add", act, [gelu, g.const(act, np.array(1.0, np.float32))])
    gelu = g.node("Mul", act, [f, gelu])
    gelu = g.node("Mul", act, [gelu, g.const(act, np.array(0.5, np.float32))])
    f = g.linear("linear2", gelu, ffn, d_model, 1.0 / math.sqrt(ffn))
    h = g.node("Add", "", [h, f])
    _layer_norm(g, "norm2", h, d_model, output="y")
    return g.model(
        "transformer_encoder_layer",
        [_float("x", batch, seq, d_model)],
        [_float("y", batch, seq, d_model)],
    )


def _layer_norm(
    g: _GraphBuilder, module: str, x: str, dim: int, output: str | None = None
) -> str:
    """Add a last-axis LayerNormalization with non-trivial scale and bias."""
    scale = g.param(f"{module}.weight", g.rng.uniform(0.6, 1.4, dim).astype(np.float32))
    bias = g.bias(f"{module}.bias", dim)
    return g.node(
        "LayerNormalization", module, [x, scale, bias], output, axis=-1, epsilon=1e-5
    )


def softmax_opset9(batch: int | str = 2, seed: int = 0) -> onnx.ModelProto:
    """An opset-9 ``Softmax(axis=1)`` on [batch, 3, 4] (coerced to 2-D from axis 1)."""
    g = _GraphBuilder(seed)
    g.node("Softmax", "softmax", ["input"], output="output", axis=1)
    return g.model(
        "softmax_opset9",
        [_float("input", batch, 3, 4)],
        [_float("output", batch, 3, 4)],
        opset=9,
        ir_version=4,
    )


def random_inputs(
    model: onnx.ModelProto, seed: int = 0, batch: int = 2
) -> dict[str, np.ndarray]:
    """Random feeds for the graph inputs, with symbolic dims set to ``batch``."""
    rng = np.random.default_rng(seed)
    initializers = {init.name for init in model.graph.initializer}
    feeds: dict[str, np.ndarray] = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor_type = value.type.tensor_type
        shape = [
            d.dim_value if d.HasField("dim_value") else batch
            for d in tensor_type.shape.dim
        ]
        dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        if dtype == np.float32:
            feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
        elif dtype == np.int64:
            feeds[value.name] = rng.integers(0, 10, shape, dtype=np.int64)
        else:
            raise TypeError(f"unsupported input dtype {dtype} for {value.name!r}")
    return feeds


def run_onnxruntime(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """Run ``model`` on the CPU execution provider and return all outputs."""
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)
