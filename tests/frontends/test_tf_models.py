"""Whole models frozen with TensorFlow, converted, and run against TensorFlow itself."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from harness import run_network, run_onnxruntime

import mindgen
from mindgen.runtime import load_network

pytest.importorskip("tensorflow")
from fixtures.make_tf_fixtures import MODELS, FrozenGraph  # noqa: E402

ATOL = 1e-4
# Transposes left in the canonical graph: one at each NHWC boundary a conv stack touches, none
# when the interface is NCHW. A cancelling pair anywhere would show up here.
TRANSPOSES = {
    "mobilenet_v2": {"source": 1, "nchw": 0},
    "resnet": {"source": 1, "nchw": 0},
    "classifier": {"source": 0, "nchw": 0},
    "decoder": {"source": 2, "nchw": 0},
    "convnext_block": {"source": 1, "nchw": 0},
    "sequence": {"source": 1, "nchw": 1},  # Conv1D reads NWC data as NCW
}
GRAPH_MODE = {("mobilenet_v2", "source"), ("decoder", "nchw"), ("convnext_block", "source")}


@pytest.fixture(scope="module")
def frozen():
    built: dict[str, FrozenGraph] = {}

    def get(name: str) -> FrozenGraph:
        if name not in built:
            built[name] = MODELS[name]()
        return built[name]

    return get


def _to_layout(array: np.ndarray, layout: str, inverse: bool = False) -> np.ndarray:
    if layout == "source" or array.ndim != 4:
        return array
    return array.transpose(0, 2, 3, 1) if inverse else array.transpose(0, 3, 1, 2)


def _max_error(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape, (a.shape, b.shape)
    return max(float(np.abs(a.astype(np.float64) - b).max()) for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize("layout", ["source", "nchw"])
@pytest.mark.parametrize("name", list(MODELS))
def test_converted_network_matches_tensorflow(tmp_path, frozen, name, layout):
    graph = frozen(name)
    path = tmp_path / f"{name}.pb"
    path.write_bytes(graph.graph_def)
    canonical = tmp_path / "canonical.onnx"
    report = mindgen.convert(path, tmp_path / "out", layout=layout, emit_onnx=canonical)
    assert report.summary["unmapped"] == 0, report.unmapped
    assert report.source["format"] == "tensorflow"

    feeds = graph.feeds(seed=1, batch=2)
    want = graph.run(*feeds)
    held = {f"x{i}": _to_layout(a, layout) for i, a in enumerate(feeds)}
    network = load_network(tmp_path / "out")
    modes = ("pynative", "graph") if (name, layout) in GRAPH_MODE else ("pynative",)
    for mode in modes:
        got = [_to_layout(a, layout, inverse=True) for a in run_network(network, held, mode)]
        assert _max_error(got, want) <= ATOL, mode

    model = onnx.load(canonical)
    onnx.checker.check_model(model, full_check=True)
    inputs = {i.name: a for i, a in zip(model.graph.input, held.values(), strict=False)}
    got = [_to_layout(a, layout, inverse=True) for a in run_onnxruntime(model, inputs)]
    assert _max_error(got, want) <= ATOL
    assert [n.op_type for n in model.graph.node].count("Transpose") == TRANSPOSES[name][layout]


def test_tensor_names_shapes_and_scopes(tmp_path, frozen):
    graph = frozen("mobilenet_v2")
    path = tmp_path / "mobilenet.pb"
    path.write_bytes(graph.graph_def)
    report = mindgen.convert(
        path, tmp_path / "out", input_nodes=["x:0"], output_nodes=["Identity:0"], shapes=[[1, 32, 32, 3]]
    )
    assert [(t.name, t.shape) for t in report.inputs] == [("x", [1, 32, 32, 3])]
    assert [(t.name, t.shape) for t in report.outputs] == [("Identity", [1, 10])]
    # Keras layer names become modules and parameter names; BN keeps its four statistics.
    weights = json.loads((tmp_path / "out" / "weight_map.json").read_text())
    names = [entry["converted_weight"]["name"] for entry in weights]
    assert any("block_1_expand_conv" in n and n.endswith(".weight") for n in names), names
    assert any("block_1_expand_bn" in n and n.endswith(".moving_variance") for n in names), names
    network = load_network(tmp_path / "out")
    x = graph.feeds(seed=2, batch=1)[0]
    (got,) = run_network(network, {"x": x}, "pynative")
    assert _max_error([got], graph.run(x)) <= ATOL
