"""Flatten, Reshape, Transpose, Squeeze, Unsqueeze and Expand against onnxruntime, in both modes.

Each test checks its variants as one combined model (check_cases); a failure names the variant.
Symbolic-batch variants run at two batch sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
from _single_node import check_cases, make_model, single_node_model, unmapped_count
from onnx import helper

F32, I64 = np.float32, np.int64


def test_flatten(tmp_path):
    cases = {}
    for label, shape in {"static": [2, 3, 4, 5], "symbolic_batch": ["N", 3, 4, 5], "rank1": ["N"]}.items():
        for axis in (0, 1, 2, 3, 4, -1, -3) if label != "rank1" else (0, 1):
            cases[f"{label}_axis_{axis}"] = single_node_model(
                "Flatten", [("x", F32, shape)], attrs={"axis": axis}
            )
    check_cases(cases, tmp_path, batches=(1, 3), atol=0)


# Constant target shapes for an input of shape (N, 3, 4): (shape, allowzero).
RESHAPES = {
    "minus_one": ([-1, 12], 0),
    "zero_copies": ([0, -1], 0),
    "zero_and_minus_one": ([0, 3, -1, 2], 0),
    "zero_middle": ([-1, 0, 2, 2], 0),
    "allowzero_no_zero": ([-1, 4, 3], 1),
    "to_rank1": ([-1], 0),
}


def test_reshape_constant_shape(tmp_path):
    cases: dict = {
        name: single_node_model(
            "Reshape",
            [("x", F32, ["N", 3, 4]), "s"],
            attrs={"allowzero": z},
            initializers={"s": np.array(s, I64)},
        )
        for name, (s, z) in RESHAPES.items()
    }
    empty = single_node_model(
        "Reshape",
        [("x", F32, [0, 3]), "s"],
        attrs={"allowzero": 1},
        initializers={"s": np.array([3, 0], I64)},
    )
    cases["allowzero_to_empty"] = (empty, {"x": np.zeros((0, 3), F32)})
    check_cases(cases, tmp_path, batches=(1, 3), atol=0)


def test_reshape_to_shape_computed_from_symbolic_batch(tmp_path):
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "zero_axis"], ["batch_1d"]),
        helper.make_node("Concat", ["batch_1d", "rest"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
    ]
    constants = {"zero": np.array(0, I64), "zero_axis": np.array([0], I64), "rest": np.array([-1], I64)}
    model = make_model(nodes, [("x", F32, ["N", 3, 4, 5])], ["y"], constants)
    output = check_cases({"flatten_per_sample": model}, tmp_path, batches=(1, 8), atol=0)
    # The batch is read from the input at run time, not fixed at conversion time.
    assert ".shape[0], -1)" in (output / "model.py").read_text()


def test_transpose(tmp_path):
    perms = {"default": None, "swap_middle": [0, 2, 1, 3], "mixed": [3, 0, 2, 1], "identity": [0, 1, 2, 3]}
    cases = {
        name: single_node_model(
            "Transpose", [("x", F32, ["N", 3, 4, 5])], attrs={} if p is None else {"perm": p}
        )
        for name, p in perms.items()
    }
    check_cases(cases, tmp_path, batches=(1, 2), atol=0)


SQUEEZES = {"none": None, "one": [1], "negative": [-1], "several": [1, -1], "unordered": [3, 1]}


@pytest.mark.parametrize("opset", [11, 13])
def test_squeeze(opset, tmp_path):
    cases = {}
    for name, axes in SQUEEZES.items():
        x = ("x", F32, [2, 1, 3, 1])
        if axes is None:
            cases[name] = single_node_model("Squeeze", [x], opset=opset)
        elif opset >= 13:
            cases[name] = single_node_model(
                "Squeeze", [x, "a"], initializers={"a": np.array(axes, I64)}, opset=opset
            )
        else:
            cases[name] = single_node_model("Squeeze", [x], attrs={"axes": axes}, opset=opset)
    check_cases(cases, tmp_path, atol=0)


UNSQUEEZES = {
    "front": [0],
    "last": [-1],
    "several": [0, 3],
    "negative_several": [-1, 1],
    "unordered": [4, 0, 2],
}


@pytest.mark.parametrize("opset", [11, 13])
def test_unsqueeze(opset, tmp_path):
    cases: dict = {}
    for name, axes in UNSQUEEZES.items():
        x = ("x", F32, ["N", 3])
        if opset >= 13:
            cases[name] = single_node_model(
                "Unsqueeze", [x, "a"], initializers={"a": np.array(axes, I64)}, opset=opset
            )
        else:
            cases[name] = single_node_model("Unsqueeze", [x], attrs={"axes": axes}, opset=opset)
    if opset >= 13:
        rank0 = single_node_model(
            "Unsqueeze", [("x", F32, []), "a"], initializers={"a": np.array([0], I64)}, opset=opset
        )
        cases["rank0"] = (rank0, {"x": np.array(2.5, F32)})
    check_cases(cases, tmp_path, batches=(1, 2), atol=0)


# Expand: (input shape, requested shape).
EXPANDS = {
    "same_rank": ([3, 1], [3, 4]),
    "new_leading_dims": ([3, 1], [2, 1, 6]),
    "request_ones_keep_input": ([2, 3], [1, 1]),
    "symbolic_batch": (["N", 1, 4], [1, 5, 4]),
    "symbolic_batch_request_one": (["N", 1], [2, 1, 3]),
}


def test_expand(tmp_path):
    cases = {
        name: single_node_model(
            "Expand", [("x", F32, shape), "s"], initializers={"s": np.array(requested, I64)}
        )
        for name, (shape, requested) in EXPANDS.items()
    }
    check_cases(cases, tmp_path, batches=(1, 3), atol=0)


def test_squeeze_with_axes_from_graph_input_is_a_placeholder(tmp_path):
    model = single_node_model("Squeeze", [("x", F32, [2, 1]), ("a", I64, [1])], output_shapes={"y": [2]})
    assert unmapped_count(model, tmp_path) == 1
