"""Activations, Clip, Softmax, Dropout and Identity against onnxruntime, in both modes.

Each test checks its variants as one combined model (check_cases); a failure names the variant.
"""

from __future__ import annotations

import numpy as np
import pytest
from _single_node import check_cases, make_model, single_node_model, unmapped_count
from onnx import helper

F32, I64 = np.float32, np.int64


def test_plain_activations(tmp_path):
    ops = ["Relu", "Sigmoid", "Tanh", "HardSwish", "Softsign", "Softplus", "Mish"]
    # Mish exists from opset 18.
    check_cases({op: single_node_model(op, [("x", F32, ["N", 3, 4])], opset=18) for op in ops}, tmp_path)


def test_leaky_relu(tmp_path):
    alphas = {"default": {}, "0.2": {"alpha": 0.2}, "1.5": {"alpha": 1.5}}
    cases = {
        name: single_node_model("LeakyRelu", [("x", F32, ["N", 5])], attrs=a) for name, a in alphas.items()
    }
    check_cases(cases, tmp_path)


def test_hard_sigmoid(tmp_path):
    variants = {
        "default_alpha_0.2": {},
        "alpha_one_sixth": {"alpha": 1 / 6},
        "alpha_one_sixth_beta_half": {"alpha": 1 / 6, "beta": 0.5},
        "custom": {"alpha": 0.5, "beta": 0.1},
    }
    values = {"x": np.linspace(-5, 5, 16, dtype=F32).reshape(2, 8)}
    cases = {
        name: (single_node_model("HardSigmoid", [("x", F32, [2, 8])], attrs=a), values)
        for name, a in variants.items()
    }
    check_cases(cases, tmp_path)


# Clip(x, min, max) with constant bounds: (min, max); None leaves the input empty.
CLIP_BOUNDS = {
    "relu6": (0.0, 6.0),
    "relu": (0.0, None),
    "min_only": (-1.5, None),
    "max_only": (None, 2.5),
    "both": (-0.5, 0.75),
    "neither": (None, None),
}


def _clip_model(low, high, dtype=F32):
    inputs = [("x", dtype, [2, 6]), "" if low is None else "lo", "" if high is None else "hi"]
    while inputs[-1] == "":
        inputs.pop()
    constants = {k: np.array(v, dtype) for k, v in (("lo", low), ("hi", high)) if v is not None}
    return single_node_model("Clip", inputs, initializers=constants)


def test_clip(tmp_path):
    values = {"x": np.linspace(-8, 8, 12, dtype=F32).reshape(2, 6)}
    cases: dict = {name: (_clip_model(*bounds), values) for name, bounds in CLIP_BOUNDS.items()}
    cases["int64_relu6"] = (
        _clip_model(0, 6, I64),
        {"x": np.array([-9, -1, 0, 3, 6, 10] * 2, I64).reshape(2, 6)},
    )
    # Bounds computed at run time: graph inputs ('' = omitted).
    for which, names in {"both": ["lo", "hi"], "min": ["lo"], "max": ["", "hi"]}.items():
        model = single_node_model("Clip", [("x", F32, [2, 6])] + [(n, F32, []) if n else "" for n in names])
        bounds = {n: np.array(-1.0 if n == "lo" else 2.0, F32) for n in names if n}
        cases[f"graph_input_{which}"] = (model, values | bounds)
    check_cases(cases, tmp_path)


@pytest.mark.parametrize("opset", [6, 10])
def test_clip_attribute_form(opset, tmp_path):
    variants = {"relu6": {"min": 0.0, "max": 6.0}, "min": {"min": -1.0}, "max": {"max": 1.0}, "neither": {}}
    values = {"x": np.linspace(-8, 8, 12, dtype=F32).reshape(2, 6)}
    cases = {
        n: (single_node_model("Clip", [("x", F32, [2, 6])], attrs=a, opset=opset), values)
        for n, a in variants.items()
    }
    check_cases(cases, tmp_path)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_axes(op, tmp_path):
    axes = {"default": {}, "0": {"axis": 0}, "1": {"axis": 1}, "minus_2": {"axis": -2}, "2": {"axis": 2}}
    check_cases(
        {name: single_node_model(op, [("x", F32, ["N", 3, 4])], attrs=a) for name, a in axes.items()},
        tmp_path,
    )


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_opset11_flattens_from_axis(op, tmp_path):
    cases = {}
    for axis in (1, -1, 0):
        for label, shape in {"static": [2, 3, 4], "symbolic_batch": ["N", 3, 4]}.items():
            cases[f"axis_{axis}_{label}"] = single_node_model(
                op, [("x", F32, shape)], attrs={"axis": axis}, opset=11
            )
    check_cases(cases, tmp_path, batches=(1, 3))


def test_dropout_inference(tmp_path):
    x = ("x", F32, ["N", 4])
    cases = {
        "no_ratio": single_node_model("Dropout", [x], opset=12),
        "ratio_0": single_node_model("Dropout", [x, "r"], initializers={"r": np.array(0.0, F32)}, opset=12),
        "ratio_0.3": single_node_model("Dropout", [x, "r"], initializers={"r": np.array(0.3, F32)}, opset=12),
        "training_mode_false": single_node_model(
            "Dropout", [x, "r", "t"], initializers={"r": np.array(0.5, F32), "t": np.array(False)}, opset=12
        ),
        "mask_output": single_node_model("Dropout", [x], outputs=["y", "mask"], opset=12),
    }
    check_cases(cases, tmp_path)


@pytest.mark.parametrize("opset", [7, 10])
def test_dropout_attribute_form(opset, tmp_path):
    # No mask output here: onnxruntime fills the mask of these opsets with False (a float in
    # opset 7), while the upgraded opset-17 Dropout keeps every element (all True).
    x = ("x", F32, ["N", 4])
    cases = {
        "default": single_node_model("Dropout", [x], opset=opset),
        "ratio": single_node_model("Dropout", [x], attrs={"ratio": 0.25}, opset=opset),
    }
    check_cases(cases, tmp_path)


def test_identity(tmp_path):
    nodes = [helper.make_node("Identity", ["x"], ["i"]), helper.make_node("Relu", ["i"], ["y"])]
    cases = {
        "between_ops": make_model(nodes, [("x", F32, ["N", 4])], ["y"]),
        "whole_graph": single_node_model("Identity", [("x", F32, ["N", 4])]),
    }
    check_cases(cases, tmp_path)


def test_dropout_training_mode_from_graph_input_is_a_placeholder(tmp_path):
    model = single_node_model("Dropout", [("x", F32, ["N", 4]), "", ("t", np.bool_, [])])
    assert unmapped_count(model, tmp_path) == 1
