"""ReduceMean, ReduceSum, ReduceMax, ReduceMin and ReduceProd against onnxruntime, in both modes."""

from __future__ import annotations

import numpy as np
import pytest
from _single_node import check_cases, single_node_model, unmapped_count

F32, I64, I32 = np.float32, np.int64, np.int32
REDUCTIONS = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]
COMPOSED = ["ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp"]
# The opset from which `axes` is an input rather than an attribute.
AXES_INPUT_SINCE = {"ReduceSum": 13}

# (axes or None, keepdims or None for the default).
VARIANTS = {
    "one_axis_keep": ([1], 1),
    "one_axis_drop": ([1], 0),
    "negative_axes_drop": ([-1, 0], 0),
    "all_axes_default": (None, None),
    "all_axes_drop": (None, 0),
}


def _model(op, axes, keepdims, opset, dtype=F32, noop=None, shape=("N", 3, 4)):
    attrs = {} if keepdims is None else {"keepdims": keepdims}
    if noop is not None:
        attrs["noop_with_empty_axes"] = noop
    inputs: list = [("x", dtype, list(shape))]
    constants = {}
    if opset >= AXES_INPUT_SINCE.get(op, 18):
        if axes is not None:
            inputs.append("axes")
            constants["axes"] = np.array(axes, I64)
    elif axes is not None:
        attrs["axes"] = axes
    return single_node_model(op, inputs, attrs=attrs, initializers=constants, opset=opset)


def _feeds(dtype=F32):
    # Values near 1 keep ReduceProd of 24 elements well inside the absolute tolerance.
    values = np.random.default_rng(5).uniform(0.8, 1.2, (2, 3, 4))
    return (
        {"x": values.astype(dtype)}
        if dtype == F32
        else {"x": np.arange(-11, 13).reshape(2, 3, 4).astype(dtype)}
    )


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("op", REDUCTIONS)
def test_reduction(op, opset, tmp_path):
    cases: dict = {name: (_model(op, axes, keep, opset), _feeds()) for name, (axes, keep) in VARIANTS.items()}
    if opset >= 18:
        cases["noop_with_empty_axes"] = (_model(op, None, 1, opset, noop=1), _feeds())
        empty = single_node_model(
            op, [("x", F32, ["N", 3, 4]), "axes"], initializers={"axes": np.zeros(0, I64)}, opset=opset
        )
        cases["empty_axes_input"] = (empty, _feeds())
    check_cases(cases, tmp_path)


@pytest.mark.parametrize("opset", [17, 18])
def test_composed_reduction(opset, tmp_path):
    values = np.random.default_rng(6).uniform(-2, 2, (2, 3, 4)).astype(F32)
    cases: dict = {}
    for op in COMPOSED:
        feeds = {"x": np.abs(values) + np.float32(0.1) if op == "ReduceLogSum" else values}
        cases[f"{op}_two_axes_drop"] = (_model(op, [1, 2], 0, opset), feeds)
        cases[f"{op}_all_axes_keep"] = (_model(op, None, 1, opset), feeds)
    check_cases(cases, tmp_path)


def test_integer_reduction_keeps_dtype(tmp_path):
    cases = {
        f"{op}_{np.dtype(dtype).name}": (_model(op, [2], 0, 18, dtype=dtype), _feeds(dtype))
        for op in ("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd")
        for dtype in (I64, I32)
    }
    check_cases(cases, tmp_path, atol=0)


def test_reduction_axes_from_graph_input_is_a_placeholder(tmp_path):
    model = single_node_model(
        "ReduceSum",
        [("x", F32, [2, 3]), ("axes", I64, [1])],
        attrs={"keepdims": 1},
        output_shapes={"y": [None, None]},
    )
    assert unmapped_count(model, tmp_path) == 1
