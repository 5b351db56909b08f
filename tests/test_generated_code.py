"""The generated model.py as a product: deterministic, lint-clean, honest about gaps."""

from __future__ import annotations

import json
import subprocess
import sys

import mindspore as ms
import numpy as np
import onnx
import pytest
from harness import assert_matches_onnxruntime, convert_model, run_network
from model_zoo import mlp, random_inputs, resnet_like, softmax_opset9, transformer_encoder_layer
from onnx import TensorProto, helper, numpy_helper

import mindgen
from mindgen.runtime import load_network

REPORT_KEYS = {"network_class", "checkpoint", "source", "inputs", "outputs", "summary", "unmapped", "timings"}


def _convert(model, tmp_path, name):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    out = tmp_path / name
    mindgen.convert(path, out)
    return out


def test_same_input_gives_byte_identical_files(tmp_path):
    model = resnet_like()
    first, second = _convert(model, tmp_path / "a", "m"), _convert(model, tmp_path / "b", "m")
    for name in ("model.py", "model.ckpt", "weight_map.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.mark.parametrize("builder", [resnet_like, transformer_encoder_layer, mlp])
def test_generated_code_is_formatted_and_lint_clean(builder, tmp_path):
    out = _convert(builder(), tmp_path, "m")
    model_py = out / "model.py"
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F,E9,W6", str(model_py)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--isolated", "--line-length", "100", "--check", str(model_py)],
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout


def test_report_json_has_the_contract_keys_and_weight_map_pairs_every_parameter(tmp_path):
    model = resnet_like()
    out = _convert(model, tmp_path, "resnet")
    report = json.loads((out / "report.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["source"]["format"] == "onnx" and report["source"]["opset"] == 17
    assert report["inputs"] == [{"name": "input", "shape": ["N", 3, 32, 32], "dtype": "float32"}]
    assert report["summary"]["unmapped"] == 0 and report["summary"]["nodes"] == report["summary"]["mapped"]
    assert set(report["timings"]) >= {"load", "passes", "mapping", "codegen", "weights"}
    weight_map = json.loads((out / "weight_map.json").read_text())
    checkpoint = ms.load_checkpoint(str(out / "model.ckpt"))
    assert [e["converted_weight"]["name"] for e in weight_map] == list(checkpoint)
    sources = {t.name: t for t in model.graph.initializer}
    for entry in weight_map:
        converted, source = entry["converted_weight"], entry["source_weight"]
        assert list(checkpoint[converted["name"]].shape) == converted["shape"]
        assert source["name"] in sources
        assert source["shape"] == list(sources[source["name"]].dims)
    fc = next(e for e in weight_map if e["converted_weight"]["name"] == "fc.weight")
    assert fc["source_weight"]["name"] == "fc.weight"


def test_parameter_names_follow_source_module_paths(tmp_path):
    out = _convert(resnet_like(), tmp_path, "resnet")
    names = set(ms.load_checkpoint(str(out / "model.ckpt")))
    assert {"conv1.weight", "bn1.moving_mean", "bn1.moving_variance", "bn1.gamma", "bn1.beta", "fc.bias"} <= names
    assert {"layer1.0.conv1.weight", "layer2.0.downsample.1.weight", "layer2.0.downsample.2.moving_mean"} <= names


def test_opset9_softmax_keeps_its_flattening_semantics(tmp_path):
    model = softmax_opset9()
    feeds = random_inputs(model, seed=5)
    output = assert_matches_onnxruntime(model, tmp_path, feeds)
    report = json.loads((output / "report.json").read_text())
    assert report["source"]["source_opset"] == 9


def _model_with_custom_op():
    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32), "w")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="/proj/MatMul"),
        helper.make_node("FusedGelu", ["h"], ["g"], name="/act/FusedGelu", domain="com.mycompany", approximate="tanh"),
        helper.make_node("Relu", ["g"], ["y"], name="/relu/Relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [weight],
        value_info=[helper.make_tensor_value_info("g", TensorProto.FLOAT, ["N", 4])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.mycompany", 1)]
    return helper.make_model(graph, opset_imports=opsets)


def test_unmapped_operator_becomes_placeholder_that_imports_constructs_and_is_reported(tmp_path):
    output, report = convert_model(_model_with_custom_op(), tmp_path, "custom")
    assert report["summary"] == {**report["summary"], "nodes": 3, "mapped": 2, "unmapped": 1}
    (entry,) = report["unmapped"]
    assert entry["node"] == "/act/FusedGelu" and entry["op_type"] == "FusedGelu"
    assert entry["domain"] == "com.mycompany" and entry["attributes"] == {"approximate": "tanh"}
    assert entry["input_shapes"] == [["N", 4]] and entry["output_shapes"] == [["N", 4]]
    assert entry["hint"]
    code = (output / "model.py").read_text()
    assert "class UnmappedFusedGelu(nn.Cell)" in code
    assert "def __init__(self, approximate=None):" in code and "def construct(self, h):" in code
    assert "h: float32 (N, 4) -> float32 (N, 4)" in code
    assert 'self.act = UnmappedFusedGelu(approximate="tanh")' in code
    assert entry["input_dtypes"] == ["float32"] and entry["class_name"] == "UnmappedFusedGelu"
    markdown = (output / "report.md").read_text()
    assert "FusedGelu" in markdown and "(N, 4)" in markdown
    network = load_network(output)
    with pytest.raises(NotImplementedError, match="FusedGelu"):
        run_network(network, {"x": np.ones((2, 4), np.float32)}, "pynative")


def test_mapper_temporaries_become_their_own_lines_and_are_computed_once(tmp_path):
    from mindgen.targets.mindspore.emission import Infix, Temp, expression
    from mindgen.targets.mindspore.registry import Registry, default_registry

    registry = Registry()
    for entry in default_registry().entries():
        registry.add(entry)

    @registry.register("Square2x", domain="test")
    def map_square_twice(ctx):
        doubled = Temp("doubled", Infix("+", ctx.ref(0), ctx.ref(0)))
        return expression(Infix("*", doubled, doubled), prelude=(doubled,))

    node = helper.make_node("Square2x", ["x"], ["y"], domain="test")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("test", 1)])
    onnx.save(model, tmp_path / "m.onnx")
    mindgen.convert(tmp_path / "m.onnx", tmp_path / "out", registry=registry)
    code = (tmp_path / "out" / "model.py").read_text()
    assert "        doubled = x + x\n        y = doubled * doubled\n" in code
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (result,) = run_network(load_network(tmp_path / "out"), {"x": x}, "graph")
    np.testing.assert_array_equal(result, (2 * x) ** 2)


def test_network_class_keeps_its_name_when_a_module_shares_it(tmp_path):
    weight = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="/resnet_v1/block/fc/MatMul"),
        helper.make_node("Relu", ["h"], ["y"], name="/resnet_v1/Relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    output, report = convert_model(model, tmp_path, "resnet_v1")
    assert report["network_class"] == "ResnetV1"
    assert "class ResnetV1(nn.Cell)" in (output / "model.py").read_text()
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(run_network(load_network(output), {"x": x}, "pynative")[0], np.full((2, 4), 4.0))
