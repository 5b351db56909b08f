"""Tests for the ONNX model zoo builders and the shipped example model."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import onnx
import pytest
from model_zoo import (
    mlp,
    mobilenet_se_block,
    random_inputs,
    resnet_like,
    run_onnxruntime,
    softmax_opset9,
    transformer_encoder_layer,
)
from onnx import numpy_helper

from mindgen.examples import build_example

BUILDERS: dict[str, Callable[..., onnx.ModelProto]] = {
    "mlp": mlp,
    "resnet_like": resnet_like,
    "mobilenet_se_block": mobilenet_se_block,
    "mobilenet_se_block_residual": partial(mobilenet_se_block, residual=True),
    "transformer_encoder_layer": transformer_encoder_layer,
    "softmax_opset9": softmax_opset9,
}
# Softmax is invariant to the key bias (it adds the same q.b to every score of a row).
INERT_PARAMETERS = {"self_attn.k_proj.bias"}
NEUTRAL = {"weight": 1.0, "running_var": 1.0, "bias": 0.0, "running_mean": 0.0}


def _run(model: onnx.ModelProto, batch: int) -> np.ndarray:
    """Run ``model`` on seeded random inputs and return its first output."""
    return run_onnxruntime(model, random_inputs(model, seed=1, batch=batch))[0]


def _vector_parameters(model: onnx.ModelProto) -> list[str]:
    """Names of the 1-D bias / scale / BatchNorm-statistic initializers."""
    return [
        init.name
        for init in model.graph.initializer
        if len(init.dims) == 1 and init.name.rsplit(".", 1)[-1] in NEUTRAL
    ]


@pytest.mark.parametrize("name", BUILDERS)
def test_passes_full_checker(name: str) -> None:
    """Every builder yields a model the strict checker accepts, at both batch kinds."""
    for batch in ("N", 3):
        onnx.checker.check_model(BUILDERS[name](batch=batch), full_check=True)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", BUILDERS)
def test_runs_with_symbolic_batch(name: str, batch: int) -> None:
    """A symbolic-batch model runs at several batch sizes with healthy outputs."""
    model = BUILDERS[name](batch="N")
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    out = _run(model, batch)
    assert out.shape[0] == batch
    assert np.isfinite(out).all()
    assert 1e-3 < out.std() < 10.0


@pytest.mark.parametrize("name", BUILDERS)
def test_static_batch(name: str) -> None:
    """An integer ``batch`` gives a static leading dim on the input and output."""
    model = BUILDERS[name](batch=3)
    for value in (model.graph.input[0], model.graph.output[0]):
        assert value.type.tensor_type.shape.dim[0].dim_value == 3
    assert _run(model, 3).shape[0] == 3


@pytest.mark.parametrize("name", BUILDERS)
def test_pytorch_style_names(name: str) -> None:
    """Node names are unique ``/scope/OpType[_k]``; outputs are ``<name>_output_0``."""
    model = BUILDERS[name]()
    graph_outputs = {value.name for value in model.graph.output}
    names = [node.name for node in model.graph.node]
    assert len(set(names)) == len(names)
    for node in model.graph.node:
        assert re.fullmatch(rf"(/[\w.]+)*/{node.op_type}(_\d+)?", node.name), node.name
        assert (
            node.output[0] in graph_outputs or node.output[0] == f"{node.name}_output_0"
        )


@pytest.mark.parametrize("name", [n for n in BUILDERS if n != "softmax_opset9"])
def test_parameters_are_non_trivial(name: str) -> None:
    """Resetting any bias, scale or BatchNorm statistic changes the output."""
    model = BUILDERS[name]()
    reference = _run(model, 2)
    parameters = [p for p in _vector_parameters(model) if p not in INERT_PARAMETERS]
    assert parameters
    for index, init in enumerate(model.graph.initializer):
        if init.name not in parameters:
            continue
        neutral = NEUTRAL[init.name.rsplit(".", 1)[-1]]
        original = numpy_helper.to_array(init)
        assert np.abs(original - neutral).max() > 0.1, init.name
        mutated = onnx.ModelProto()
        mutated.CopyFrom(model)
        mutated.graph.initializer[index].CopyFrom(
            numpy_helper.from_array(np.full_like(original, neutral), init.name)
        )
        assert np.abs(_run(mutated, 2) - reference).max() > 1e-4, init.name


def test_resnet_like_uses_a_conv_bias_and_average_pool() -> None:
    """Exactly one conv in the ResNet has a bias and an AveragePool is present."""
    model = resnet_like()
    convs_with_bias = [
        n for n in model.graph.node if n.op_type == "Conv" and len(n.input) == 3
    ]
    assert len(convs_with_bias) == 1
    assert any(n.op_type == "AveragePool" for n in model.graph.node)


def test_softmax_opset9_flattens_from_axis() -> None:
    """Opset-9 Softmax normalises over all dims from ``axis`` on, not the last axis."""
    model = softmax_opset9()
    assert model.opset_import[0].version == 9
    feeds = random_inputs(model, seed=3)
    x = feeds["input"]
    out = run_onnxruntime(model, feeds)[0]

    flat = np.exp(x.reshape(2, -1))
    expected = (flat / flat.sum(axis=1, keepdims=True)).reshape(x.shape)
    last_axis = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(out - last_axis).max() > 1e-2


def test_random_inputs_fill_symbolic_dims() -> None:
    """Symbolic dims become ``batch`` and the same seed gives the same feeds."""
    model = transformer_encoder_layer(seq=5, d_model=16, heads=2)
    feeds = random_inputs(model, seed=7, batch=4)
    assert list(feeds) == ["x"]
    assert feeds["x"].shape == (4, 5, 16)
    assert feeds["x"].dtype == np.float32
    np.testing.assert_array_equal(
        feeds["x"], random_inputs(model, seed=7, batch=4)["x"]
    )


def test_example_model_is_reproducible(tmp_path: Path) -> None:
    """Rebuilding the example reproduces the checked-in bytes; it is small and runs."""
    checked_in = build_example.DEFAULT_OUTPUT.read_bytes()
    rebuilt = build_example.write_tiny_resnet(
        tmp_path / "tiny_resnet.onnx"
    ).read_bytes()
    assert rebuilt == checked_in
    assert len(checked_in) < 200_000

    model = onnx.load_from_string(checked_in)
    assert [v.name for v in model.graph.input] == ["image"]
    assert [v.name for v in model.graph.output] == ["logits"]
    for batch in (1, 3):
        out = _run(model, batch)
        assert out.shape == (batch, 10)
        assert np.isfinite(out).all() and out.std() > 1e-3
