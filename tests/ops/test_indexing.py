"""Gather/Scatter by index, NonZero, Compress and ReverseSequence against onnxruntime, in both modes.

Each test checks its variants as one combined model (check_cases); a failure names the variant.
"""

from __future__ import annotations

import numpy as np
from _single_node import check_cases, single_node_model

F32, I32, I64 = np.float32, np.int32, np.int64
RNG = np.random.default_rng(0)


def _data(*shape: int) -> np.ndarray:
    return RNG.uniform(-3, 3, shape).astype(F32)


def test_gather_elements(tmp_path):
    x = _data(3, 4)
    variants = {
        "axis0": (0, np.array([[0, 2, 1, 1], [2, 0, 0, 1]], I64)),
        "axis1_negative_indices": (1, np.array([[-1, 0], [3, -4], [1, 1]], I64)),
        "axis_minus1_int32": (-1, np.array([[3], [-2], [0]], I32)),
    }
    cases = {
        name: (
            single_node_model(
                "GatherElements",
                [("x", F32, [3, 4]), ("i", idx.dtype.type, list(idx.shape))],
                attrs={"axis": axis},
            ),
            {"x": x, "i": idx},
        )
        for name, (axis, idx) in variants.items()
    }
    check_cases(cases, tmp_path, atol=0)


def test_gather_nd(tmp_path):
    data = _data(2, 3, 4)
    variants = {
        "slices": (0, np.array([[1], [0]], I64)),
        "elements_negative": (0, np.array([[1, -1, 0], [-2, 2, 3]], I64)),
        "rows": (0, np.array([[[0, 1]], [[1, -3]]], I64)),
        "batch_dims1": (1, np.array([[2], [-1]], I64)),
        "batch_dims1_elements": (1, np.array([[[0, 3], [2, -1]], [[1, 1], [0, 0]]], I64)),
        "batch_dims2": (2, np.array([[[1], [0], [3]], [[2], [-1], [0]]], I64)),
    }
    cases = {
        name: (
            single_node_model(
                "GatherND", [("d", F32, [2, 3, 4]), ("i", I64, list(i.shape))], attrs={"batch_dims": b}
            ),
            {"d": data, "i": i},
        )
        for name, (b, i) in variants.items()
    }
    constant = single_node_model(
        "GatherND", [("d", F32, [2, 3, 4]), "i"], initializers={"i": np.array([[1, 2], [0, 0]], I64)}
    )
    cases["constant_indices"] = (constant, {"d": data})
    check_cases(cases, tmp_path, atol=0)


def _scatter_elements(axis: int, reduction: str, indices: np.ndarray, opset: int = 18):
    attrs = {"axis": axis} if reduction == "none" else {"axis": axis, "reduction": reduction}
    inputs = [
        ("x", F32, [3, 4]),
        ("i", indices.dtype.type, list(indices.shape)),
        ("u", F32, list(indices.shape)),
    ]
    model = single_node_model("ScatterElements", inputs, attrs=attrs, opset=opset)
    return model, {"x": _data(3, 4), "i": indices, "u": _data(*indices.shape)}


def test_scatter_elements(tmp_path):
    unique = np.array([[1, -1, 0], [3, 2, -4]], I64)  # along axis 1 of a (3, 4) tensor
    duplicates = np.array([[1, 1, -3], [0, 2, 2]], I64)
    cases = {
        "none_axis1_negative": _scatter_elements(1, "none", unique),
        "none_axis0_int32": _scatter_elements(0, "none", np.array([[2, 0, 1, -1]], I32)),
        **{f"{r}_duplicates": _scatter_elements(1, r, duplicates) for r in ("add", "mul", "max", "min")},
        "max_axis0_int32": _scatter_elements(0, "max", np.array([[2, 0, 2, -1], [2, 1, 0, 0]], I32)),
        "min_axis_minus2": _scatter_elements(-2, "min", np.array([[0, 0, 1, -3]], I64)),
    }
    check_cases(cases, tmp_path, atol=1e-6)


def test_scatter_opset10(tmp_path):
    indices = np.array([[1, 0, 2, 2], [0, 2, 1, 0]], I64)
    model = single_node_model(
        "Scatter", [("x", F32, [3, 4]), ("i", I64, [2, 4]), ("u", F32, [2, 4])], attrs={"axis": 0}, opset=10
    )
    check_cases({"axis0": (model, {"x": _data(3, 4), "i": indices, "u": _data(2, 4)})}, tmp_path, atol=0)


def test_scatter_nd(tmp_path):
    cases = {}
    for reduction in ("none", "add", "mul", "max", "min"):
        slices = np.array([[1], [-3]], I64) if reduction == "none" else np.array([[1], [-2], [1]], I64)
        attrs = {} if reduction == "none" else {"reduction": reduction}
        inputs = [("x", F32, [3, 2, 4]), ("i", I64, list(slices.shape)), ("u", F32, [len(slices), 2, 4])]
        model = single_node_model("ScatterND", inputs, attrs=attrs, opset=18)
        cases[f"{reduction}_slices"] = (
            model,
            {"x": _data(3, 2, 4), "i": slices, "u": _data(len(slices), 2, 4)},
        )
    elements = np.array([[0, 1, -1], [2, -1, 0]], I64)
    inputs = [("x", F32, [3, 2, 4]), ("i", I64, [2, 3]), ("u", F32, [2])]
    model = single_node_model("ScatterND", inputs, attrs={"reduction": "max"}, opset=18)
    cases["max_elements"] = (model, {"x": _data(3, 2, 4), "i": elements, "u": _data(2)})
    check_cases(cases, tmp_path, atol=1e-6)


def test_nonzero(tmp_path):
    x = np.array([[0, 1.5, 0], [-2, 0, 3]], F32)
    cases = {
        "float_2d": (single_node_model("NonZero", [("x", F32, [2, 3])]), {"x": x}),
        "int_1d": (single_node_model("NonZero", [("x", I64, [5])]), {"x": np.array([0, 3, 0, 0, -1], I64)}),
        "bool_3d": (
            single_node_model("NonZero", [("x", np.bool_, [2, 2, 2])]),
            {"x": RNG.random((2, 2, 2)) > 0.5},
        ),
    }
    check_cases(cases, tmp_path, atol=0)


def test_compress(tmp_path):
    x = _data(3, 4)
    variants = {
        "axis0": ({"axis": 0}, [True, False, True]),
        "axis1_short_condition": ({"axis": 1}, [False, True, True]),
        "negative_axis": ({"axis": -1}, [True, False, False, True]),
        "flattened": ({}, [False, True, True, False, True]),
    }
    cases = {
        name: (
            single_node_model("Compress", [("x", F32, [3, 4]), ("c", np.bool_, [len(c)])], attrs=attrs),
            {"x": x, "c": np.array(c)},
        )
        for name, (attrs, c) in variants.items()
    }
    check_cases(cases, tmp_path, atol=0)


def test_reverse_sequence(tmp_path):
    x = _data(4, 3, 2)
    time_major = single_node_model(
        "ReverseSequence", [("x", F32, [4, 3, 2]), ("s", I64, [3])], attrs={"time_axis": 0, "batch_axis": 1}
    )
    batch_major = single_node_model(
        "ReverseSequence", [("x", F32, [4, 3, 2]), ("s", I64, [4])], attrs={"time_axis": 1, "batch_axis": 0}
    )
    cases = {
        "time_major": (time_major, {"x": x, "s": np.array([4, 1, 2], I64)}),
        "batch_major": (batch_major, {"x": x, "s": np.array([3, 1, 2, 3], I64)}),
    }
    check_cases(cases, tmp_path, atol=0)
