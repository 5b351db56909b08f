"""TF ops to the canonical graph, checked in onnxruntime against numpy (no TensorFlow needed)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from fixtures.make_tf_fixtures import DType, Shape, const, graph_def, node, placeholder

import mindgen
from mindgen.errors import InputError
from mindgen.frontends.tensorflow import load_tensorflow
from mindgen.frontends.tensorflow.registry import TRANSLATORS

RNG = np.random.default_rng(0)


def _load(tmp_path, nodes, name="model", **options):
    """Translates a hand-built GraphDef and returns the canonical ONNX model it emits."""
    path = tmp_path / f"{name}.pb"
    path.write_bytes(graph_def(*nodes))
    target = tmp_path / f"{name}.onnx"
    source = load_tensorflow(path, emit_onnx=target, **options)
    model = onnx.load(target)
    onnx.checker.check_model(model, full_check=True)
    return model, source


def _run(model, *arrays):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {i.name: a for i, a in zip(session.get_inputs(), arrays, strict=True)}
    return session.run(None, feeds)


def _ops(model) -> list[str]:
    return [n.op_type for n in model.graph.node]


def _conv_stack(padding="SAME", data_format="NHWC"):
    """x -> Conv2D+BiasAdd -> Relu6 -> DepthwiseConv -> MaxPool -> Mean: one NHWC conv stack."""
    return [
        placeholder("x", [-1, 8, 8, 3]),
        const("net/conv/weights", RNG.standard_normal((3, 3, 3, 4))),
        const("net/conv/bias", RNG.standard_normal(4)),
        node(
            "net/conv/Conv2D",
            "Conv2D",
            ["x", "net/conv/weights"],
            T=DType(1),
            strides=[1, 2, 2, 1],
            padding=padding,
        ),
        node("net/conv/BiasAdd", "BiasAdd", ["net/conv/Conv2D", "net/conv/bias"], T=DType(1)),
        node("net/conv/Relu6", "Relu6", ["net/conv/BiasAdd"], T=DType(1)),
        const("net/dw/weights", RNG.standard_normal((3, 3, 4, 2))),
        node(
            "net/dw/depthwise",
            "DepthwiseConv2dNative",
            ["net/conv/Relu6", "net/dw/weights"],
            strides=[1, 1, 1, 1],
            padding="SAME",
        ),
        node(
            "net/pool/MaxPool",
            "MaxPool",
            ["net/dw/depthwise"],
            ksize=[1, 2, 2, 1],
            strides=[1, 2, 2, 1],
            padding="VALID",
        ),
        const("net/mean/axes", np.array([1, 2], np.int32)),
        node("net/mean/Mean", "Mean", ["net/pool/MaxPool", "net/mean/axes"], keep_dims=False),
    ]


def _numpy_conv_stack(x, nodes):
    """The same stack in numpy (NHWC), as the reference."""
    weights = {n.name: n for n in nodes}

    def value(name):
        from mindgen.frontends.tensorflow.tensors import to_numpy

        return to_numpy(weights[name].attr["value"].tensor, name)

    def conv(x, w, stride, groups=1):
        n, h, wd, c = x.shape
        kh, kw = w.shape[:2]
        oh, ow = -(-h // stride), -(-wd // stride)
        ph = max((oh - 1) * stride + kh - h, 0)
        pw = max((ow - 1) * stride + kw - wd, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
        out = np.zeros((n, oh, ow, w.shape[-1] * (groups if groups > 1 else 1)), np.float64)
        for i in range(oh):
            for j in range(ow):
                patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                if groups == 1:
                    out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
                else:
                    out[:, i, j] = np.einsum("nhwc,hwcm->ncm", patch, w).reshape(n, -1)
        return out

    y = np.clip(conv(x, value("net/conv/weights"), 2) + value("net/conv/bias"), 0, 6)
    y = conv(y, value("net/dw/weights"), 1, groups=4)
    n, h, w, c = y.shape
    y = y.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
    return y.mean(axis=(1, 2))


@pytest.mark.parametrize("layout", ["source", "nchw"])
def test_conv_stack_runs_channels_first_with_one_transpose_at_most(tmp_path, layout):
    nodes = _conv_stack()
    model, _ = _load(tmp_path, nodes, layout=layout)
    # The input is the only place where NHWC meets NCHW (none when the interface is NCHW).
    assert _ops(model).count("Transpose") == (1 if layout == "source" else 0)
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    assert len(conv.input) == 3, "BiasAdd becomes the convolution's bias"
    x = RNG.standard_normal((2, 8, 8, 3)).astype(np.float32)
    feed = x if layout == "source" else x.transpose(0, 3, 1, 2)
    (got,) = _run(model, feed)
    np.testing.assert_allclose(got, _numpy_conv_stack(x.astype(np.float64), nodes), atol=1e-4)


def test_no_transpose_feeds_another_transpose(tmp_path):
    nodes = [
        *_conv_stack()[:5],
        # An explicit NHWC -> NCHW -> NHWC round trip and element-wise ops in between.
        const("perm_a", np.array([0, 3, 1, 2], np.int32)),
        node("to_nchw", "Transpose", ["net/conv/BiasAdd", "perm_a"]),
        node("act", "Sigmoid", ["to_nchw"]),
        const("perm_b", np.array([0, 2, 3, 1], np.int32)),
        node("to_nhwc", "Transpose", ["act", "perm_b"]),
        const("two", np.float32(2.0)),
        node("scaled", "Mul", ["to_nhwc", "two"]),
        const("w2", RNG.standard_normal((1, 1, 4, 4))),
        node("conv2", "Conv2D", ["scaled", "w2"], strides=[1, 1, 1, 1], padding="VALID"),
    ]
    model, _ = _load(tmp_path, nodes)
    producers = {out: n for n in model.graph.node for out in n.output}
    for n in model.graph.node:
        if n.op_type == "Transpose":
            assert producers.get(n.input[0]) is None or producers[n.input[0]].op_type != "Transpose"
    assert _ops(model).count("Transpose") == 2  # in at the input, out at the output
    x = RNG.standard_normal((1, 8, 8, 3)).astype(np.float32)
    (got,) = _run(model, x)
    assert got.shape == (1, 4, 4, 4)


@pytest.mark.parametrize(
    ("spec", "masks"),
    [
        (([1], [3], [1]), {}),
        (([0, 1], [0, -1], [1, 2]), {"begin_mask": 1, "end_mask": 1}),
        (([-1], [0], [-1]), {"end_mask": 1}),
        (([0, 2], [0, 3], [1, 1]), {"begin_mask": 1, "end_mask": 1, "shrink_axis_mask": 2}),
        (([1, 0], [2, 0], [1, 1]), {"ellipsis_mask": 2, "shrink_axis_mask": 1}),
        (([0, 0, 1], [0, 0, 3], [1, 1, 1]), {"ellipsis_mask": 1, "new_axis_mask": 2}),
        (([0, 1, 0], [0, 2, 0], [1, 1, 1]), {"begin_mask": 5, "end_mask": 5, "shrink_axis_mask": 2}),
        (([-1, 0], [0, 0], [1, 1]), {"shrink_axis_mask": 1, "begin_mask": 2, "end_mask": 2}),
        (([0, 0], [0, 0], [1, 1]), {"shrink_axis_mask": 3}),
        (([3, 0], [0, 0], [-2, 1]), {"end_mask": 3}),
    ],
)
def test_strided_slice_masks_match_numpy(tmp_path, spec, masks):
    begin, end, strides = (np.array(v, np.int32) for v in spec)
    nodes = [
        placeholder("x", [4, 5, 6]),
        const("b", begin),
        const("e", end),
        const("s", strides),
        node("y", "StridedSlice", ["x", "b", "e", "s"], T=DType(1), Index=DType(3), **masks),
    ]
    model, _ = _load(tmp_path, nodes)
    x = np.arange(120, dtype=np.float32).reshape(4, 5, 6)
    index = _numpy_index(begin, end, strides, masks)
    np.testing.assert_array_equal(_run(model, x)[0], x[index])


def _numpy_index(begin, end, strides, masks):
    """The numpy index that TF's StridedSlice spec stands for."""
    index = []
    for i in range(len(begin)):
        bit = 1 << i
        if masks.get("ellipsis_mask", 0) & bit:
            index.append(Ellipsis)
        elif masks.get("new_axis_mask", 0) & bit:
            index.append(None)
        elif masks.get("shrink_axis_mask", 0) & bit:
            index.append(int(begin[i]))
        else:
            start = None if masks.get("begin_mask", 0) & bit else int(begin[i])
            stop = None if masks.get("end_mask", 0) & bit else int(end[i])
            index.append(slice(start, stop, int(strides[i])))
    return tuple(index)


ELEMENTWISE = [
    ("SquaredDifference", lambda a, b: (a - b) ** 2),
    ("FloorDiv", lambda a, b: np.floor(a / b)),
    ("FloorMod", lambda a, b: np.mod(a, b)),
    ("RealDiv", lambda a, b: a / b),
    ("Maximum", np.maximum),
    ("Minimum", np.minimum),
    ("Pow", lambda a, b: np.abs(a) ** b),
]


@pytest.mark.parametrize(("op", "reference"), ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_binary_ops_match_numpy(tmp_path, op, reference):
    nodes = [placeholder("a", [3, 4]), placeholder("b", [4])]
    if op == "Pow":
        nodes += [node("abs", "Abs", ["a"]), node("y", "Pow", ["abs", "b"])]
    else:
        nodes.append(node("y", op, ["a", "b"]))
    model, _ = _load(tmp_path, nodes)
    a = RNG.standard_normal((3, 4)).astype(np.float32) * 3
    b = RNG.uniform(0.5, 2.0, 4).astype(np.float32) * np.array([1, -1, 1, -1], np.float32)
    np.testing.assert_allclose(_run(model, a, b)[0], reference(a, b), rtol=1e-5, atol=1e-5)


UNARY = [
    ("Rsqrt", lambda x: 1 / np.sqrt(np.abs(x) + 1)),
    ("Square", lambda x: (np.abs(x) + 1) ** 2),
    ("Log1p", lambda x: np.log1p(np.abs(x) + 1)),
    ("Expm1", lambda x: np.expm1(np.abs(x) + 1)),
    ("Softplus", lambda x: np.log1p(np.exp(np.abs(x) + 1))),
    ("Relu6", lambda x: np.clip(np.abs(x) + 1, 0, 6)),
]


@pytest.mark.parametrize(("op", "reference"), UNARY, ids=[u[0] for u in UNARY])
def test_unary_ops_match_numpy(tmp_path, op, reference):
    nodes = [
        placeholder("x", [2, 3]),
        node("abs", "Abs", ["x"]),
        const("one", np.float32(1.0)),
        node("shifted", "AddV2", ["abs", "one"]),
        node("y", op, ["shifted"]),
    ]
    model, _ = _load(tmp_path, nodes)
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(model, x)[0], reference(x), rtol=1e-5)


def test_shape_ops_with_a_dynamic_batch_keep_constant_targets(tmp_path):
    """Keras' Flatten: Reshape(x, Pack(Shape(x)[0], -1)) becomes a constant (0, 48) target."""
    nodes = [
        placeholder("x", [-1, 4, 4, 3]),
        node("flatten/Shape", "Shape", ["x"], out_type=DType(3)),
        const("flatten/begin", np.array([0], np.int32)),
        const("flatten/end", np.array([1], np.int32)),
        const("flatten/step", np.array([1], np.int32)),
        node(
            "flatten/strided_slice",
            "StridedSlice",
            ["flatten/Shape", "flatten/begin", "flatten/end", "flatten/step"],
            shrink_axis_mask=1,
        ),
        const("flatten/minus_one", np.int32(-1)),
        node("flatten/shape", "Pack", ["flatten/strided_slice", "flatten/minus_one"], N=2, axis=0),
        node("flatten/Reshape", "Reshape", ["x", "flatten/shape"]),
    ]
    model, _ = _load(tmp_path, nodes)
    assert _ops(model) == ["Reshape"]
    x = RNG.standard_normal((5, 4, 4, 3)).astype(np.float32)
    np.testing.assert_array_equal(_run(model, x)[0], x.reshape(5, -1))
    output = model.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in output] == ["batch", 48]


def test_array_ops_match_numpy(tmp_path):
    nodes = [
        placeholder("x", [2, 3, 4]),
        const("perm", np.array([2, 0, 1], np.int32)),
        node("t", "Transpose", ["x", "perm"]),
        const("axis", np.int32(1)),
        node("e", "ExpandDims", ["t", "axis"]),
        node("sq", "Squeeze", ["e"], squeeze_dims=[1]),
        const("pads", np.array([[0, 0], [1, 2], [0, 1]], np.int32)),
        node("p", "Pad", ["sq", "pads"]),
        const("split_axis", np.int32(1)),
        node("parts", "Split", ["split_axis", "p"], num_split=1),
        const("concat_axis", np.int32(-1)),
        node("c", "ConcatV2", ["parts", "parts", "concat_axis"], N=2),
        const("multiples", np.array([1, 1, 2], np.int32)),
        node("tiled", "Tile", ["c", "multiples"]),
        node("u", "Unpack", ["tiled"], num=4, axis=0),
        node("y", "Pack", ["u:1", "u:3"], N=2, axis=-1),
    ]
    model, _ = _load(tmp_path, nodes)
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    p = np.pad(x.transpose(2, 0, 1), ((0, 0), (1, 2), (0, 1)))
    tiled = np.tile(np.concatenate([p, p], axis=-1), (1, 1, 2))
    np.testing.assert_array_equal(_run(model, x)[0], np.stack([tiled[1], tiled[3]], axis=-1))


def test_resize_nearest_and_bilinear(tmp_path):
    nodes = [
        placeholder("x", [1, 3, 4, 2]),
        const("size", np.array([6, 8], np.int32)),
        node("up/bilinear", "ResizeBilinear", ["x", "size"], half_pixel_centers=True),
        const("size2", np.array([6, 8], np.int32)),
        node("up/nearest", "ResizeNearestNeighbor", ["x", "size2"], half_pixel_centers=True),
    ]
    model, _ = _load(tmp_path, nodes, output_names=["up/bilinear", "up/nearest:0"])
    assert [o.name for o in model.graph.output] == ["up/bilinear", "up/nearest"]
    x = RNG.standard_normal((1, 3, 4, 2)).astype(np.float32)
    bilinear, nearest = _run(model, x)
    # Whole-factor nearest upsampling repeats pixels; it is built from reshape and broadcast.
    np.testing.assert_array_equal(nearest, x.repeat(2, axis=1).repeat(2, axis=2))
    assert "Resize" in _ops(model) and bilinear.shape == (1, 6, 8, 2)


def test_keras_batch_norm_pattern_becomes_one_batch_norm(tmp_path):
    c = 3
    stats = {k: RNG.uniform(0.5, 1.5, c).astype(np.float32) for k in ("gamma", "beta", "mean", "var")}
    nodes = [
        placeholder("x", [-1, 4, 4, c]),
        *[const(f"bn/{k}", v) for k, v in stats.items()],
        const("bn/batchnorm/add/y", np.float32(1e-3)),
        node("bn/batchnorm/add", "AddV2", ["bn/var", "bn/batchnorm/add/y"]),
        node("bn/batchnorm/Rsqrt", "Rsqrt", ["bn/batchnorm/add"]),
        node("bn/batchnorm/mul", "Mul", ["bn/batchnorm/Rsqrt", "bn/gamma"]),
        node("bn/batchnorm/mul_1", "Mul", ["x", "bn/batchnorm/mul"]),
        node("bn/batchnorm/mul_2", "Mul", ["bn/mean", "bn/batchnorm/mul"]),
        node("bn/batchnorm/sub", "Sub", ["bn/beta", "bn/batchnorm/mul_2"]),
        node("bn/batchnorm/add_1", "AddV2", ["bn/batchnorm/mul_1", "bn/batchnorm/sub"]),
    ]
    model, _ = _load(tmp_path, nodes)
    assert _ops(model).count("BatchNormalization") == 1
    assert [o.name for o in model.graph.output] == ["bn/batchnorm/add_1"]
    bn = next(n for n in model.graph.node if n.op_type == "BatchNormalization")
    assert bn.name == "bn/BatchNormalization" and list(bn.input[1:]) == [
        "bn/gamma",
        "bn/beta",
        "bn/mean",
        "bn/var",
    ]
    x = RNG.standard_normal((2, 4, 4, c)).astype(np.float32)
    want = (x - stats["mean"]) / np.sqrt(stats["var"] + 1e-3) * stats["gamma"] + stats["beta"]
    np.testing.assert_allclose(_run(model, x)[0], want, atol=1e-5)


def test_names_select_inputs_and_outputs(tmp_path):
    nodes = [
        placeholder("x", [-1, 4]),
        node("a", "Relu", ["x"]),
        node("b", "Neg", ["a"]),
        node("c", "Exp", ["b"]),
    ]
    model, source = _load(tmp_path, nodes, input_names=["a:0"], output_names=["b"], shapes=[[2, 4]])
    assert _ops(model) == ["Neg"]
    assert [v.name for v in source.graph.inputs] == ["a"] and [v.name for v in source.graph.outputs] == ["b"]
    model, _ = _load(tmp_path, nodes, name="full", shapes=[[3, 4]])
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [3, 4]
    with pytest.raises(InputError, match="no node named 'nope'"):
        _load(tmp_path, nodes, name="bad", output_names=["nope:0"])
    with pytest.raises(InputError, match="--shape 3,5"):
        _load(tmp_path, nodes, name="bad2", shapes=[[3, 5, 1]])


def test_unknown_op_becomes_a_tf_placeholder_with_shapes(tmp_path):
    nodes = [
        placeholder("x", [1, 4, 4, 3]),
        node("block/odd/FancyOp", "FancyOp", ["x"], T=DType(1), alpha=0.5, mode="fast", sizes=[1, 2]),
        node("block/odd/FancyOp/relu", "Relu", ["block/odd/FancyOp"]),
    ]
    nodes[1].attr["_output_shapes"].list.shape.add().dim.extend([])
    for size in (1, 4, 4, 3):
        nodes[1].attr["_output_shapes"].list.shape[0].dim.add(size=size)
    model, source = _load(tmp_path, nodes)
    fancy = next(n for n in model.graph.node if n.op_type == "FancyOp")
    assert fancy.domain == "tf"
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in fancy.attribute}
    assert attrs == {"T": b"DT_FLOAT", "alpha": 0.5, "mode": b"fast", "sizes": [1, 2]}
    assert any("FancyOp" in w for w in source.warnings)
    report = mindgen.convert(tmp_path / "model.pb", tmp_path / "out")
    unmapped = report.unmapped[0]
    assert (unmapped["op_type"], unmapped["domain"]) == ("FancyOp", "tf")
    assert unmapped["input_shapes"] == [[1, 4, 4, 3]] and unmapped["output_shapes"] == [[1, 4, 4, 3]]
    written = json.loads((tmp_path / "out" / "report.json").read_text())
    assert written["source"]["format"] == "tensorflow"
    assert "FancyOp" in (tmp_path / "out" / "model.py").read_text()


def test_translators_cover_the_ops_frozen_models_contain():
    wanted = """Placeholder Const Identity IdentityN NoOp Conv2D DepthwiseConv2dNative Conv2DBackpropInput
        BiasAdd FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 MatMul BatchMatMul BatchMatMulV2
        BatchMatMulV3 Relu Relu6 Elu Selu LeakyRelu Sigmoid Tanh Softmax LogSoftmax Softplus Erf Add
        AddV2 AddN Sub Mul RealDiv FloorDiv Maximum Minimum SquaredDifference Square Sqrt Rsqrt Pow Exp
        Log Neg Abs Mean Sum Max Min Prod ArgMax MaxPool AvgPool Pad PadV2 MirrorPad Reshape Squeeze
        ExpandDims ConcatV2 Pack Unpack Transpose StridedSlice Slice Split SplitV Shape Cast Tile Fill
        Range GatherV2 ResizeBilinear ResizeNearestNeighbor""".split()
    missing = [op for op in wanted if op != "Placeholder" and TRANSLATORS.lookup(op) is None]
    assert not missing


def test_layout_option_is_checked(tmp_path):
    with pytest.raises(InputError, match="unknown --layout 'nhwc'"):
        _load(tmp_path, [placeholder("x", [1]), node("y", "Relu", ["x"])], layout="nhwc")


def test_shape_attribute_round_trip():
    assert node("p", "Placeholder", shape=Shape([-1, 2])).attr["shape"].shape.dim[0].size == -1


def test_function_calls_are_inlined_in_the_callers_scope(tmp_path):
    from mindgen.frontends.tensorflow.schema import GraphDef

    graph = GraphDef()
    graph.node.extend(
        [
            placeholder("x", [2, 3]),
            const("block/two", np.float32(2.0)),
            node("block/call", "StatefulPartitionedCall", ["x", "block/two"]),
            node("y", "Relu", ["block/call"]),
        ]
    )
    graph.node[2].attr["f"].func.name = "__inference_scale_7"
    function = graph.library.function.add()
    function.signature.name = "__inference_scale_7"
    function.signature.input_arg.add(name="inputs")
    function.signature.input_arg.add(name="factor")
    function.signature.output_arg.add(name="identity")
    function.node_def.extend(
        [node("mul", "Mul", ["inputs", "factor"]), node("Identity", "Identity", ["mul:z:0"])]
    )
    function.ret["identity"] = "Identity:output:0"
    path = tmp_path / "model.pb"
    path.write_bytes(graph.SerializeToString())
    source = load_tensorflow(path, emit_onnx=tmp_path / "model.onnx")
    model = onnx.load(tmp_path / "model.onnx")
    assert [n.name for n in model.graph.node] == ["block/Mul", "Relu"]
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(model, x)[0], np.maximum(x * 2, 0))
    assert source.warnings == []
