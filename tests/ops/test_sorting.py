"""TopK, ArgMax, ArgMin, Hardmax and Unique against onnxruntime, in both modes.

Each test checks its variants as one combined model (check_cases); a failure names the variant.
"""

from __future__ import annotations

import harness
import numpy as np
from _single_node import check_cases, combine, single_node_model, unmapped_count
from onnx.reference import ReferenceEvaluator

F16, F32, I32, I64 = np.float16, np.float32, np.int32, np.int64
RNG = np.random.default_rng(0)
# Few distinct values, so ties are common.
TIED = RNG.integers(0, 3, (3, 4, 5)).astype(F32)


def test_top_k(tmp_path):
    variants = {
        "largest_axis_last": ({}, 3, F32),
        "smallest_axis1": ({"axis": 1, "largest": 0}, 2, F32),
        "axis0": ({"axis": 0}, 2, F32),
        "int64_negative_axis": ({"axis": -2}, 4, I64),
    }
    cases = {}
    for name, (attrs, k, dtype) in variants.items():
        model = single_node_model(
            "TopK", [("x", dtype, [3, 4, 5]), "k"], ["v", "i"], attrs, {"k": np.array([k], I64)}
        )
        cases[name] = (model, {"x": TIED.astype(dtype)})
    runtime_k = single_node_model(
        "TopK",
        [("x", F32, [3, 4, 5]), ("k", I64, [1])],
        ["v", "i"],
        output_shapes={"v": [3, 4, 2], "i": [3, 4, 2]},
    )
    cases["k_graph_input"] = (runtime_k, {"x": TIED, "k": np.array([2], I64)})
    check_cases(cases, tmp_path, atol=0)


def _check_reference(cases: dict, tmp_path) -> None:
    """Like check_cases, but against onnx.reference, for types onnxruntime lacks (unsigned TopK)."""
    combined = combine({name: model for name, (model, _) in cases.items()})
    feeds = {f"{name}__{k}": v for name, (_, given) in cases.items() for k, v in given.items()}
    output, report = harness.convert_model(combined, tmp_path)
    assert report["summary"]["unmapped"] == 0, report["unmapped"]
    network = harness.load_network(output)
    expected = ReferenceEvaluator(combined).run(None, feeds)
    for mode in ("pynative", "graph"):
        actual = harness.run_network(network, feeds, mode)
        for output_info, want, got in zip(combined.graph.output, expected, actual, strict=True):
            assert got.dtype == want.dtype, f"{mode} {output_info.name}"
            np.testing.assert_array_equal(got, want, err_msg=f"{mode} {output_info.name}")


def test_unsigned_top_k_and_unique(tmp_path):
    big = np.array([2**64 - 1, 5, 2**63, 0, 5, 2**63 - 1, 2**63, 7], np.uint64).reshape(2, 4)
    cases = {}
    # Values past the signed range of each type, and ties.
    unsigned = {
        np.uint16: np.array([[3, 60000, 3, 0], [40000, 1, 1, 2]], np.uint16),
        np.uint32: np.array([[3, 4000000000, 3, 0], [3000000000, 1, 1, 2]], np.uint32),
        np.uint64: big,
    }
    for dtype, x in unsigned.items():
        for largest in (0, 1):
            model = single_node_model(
                "TopK",
                [("x", dtype, [2, 4]), "k"],
                ["v", "i"],
                {"largest": largest},
                {"k": np.array([3], I64)},
            )
            cases[f"{dtype.__name__}_largest{largest}"] = (model, {"x": x})
    unique = single_node_model("Unique", [("x", np.uint64, [2, 4])], ["y", "indices", "inverse", "counts"])
    cases["unique_uint64"] = (unique, {"x": big})
    _check_reference(cases, tmp_path)


def test_top_k_opset1_attribute(tmp_path):
    model = single_node_model("TopK", [("x", F32, [3, 4, 5])], ["v", "i"], {"k": 2, "axis": 1}, opset=9)
    check_cases({"k2": (model, {"x": TIED})}, tmp_path, atol=0)


def test_arg_max_min(tmp_path):
    cases = {}
    for op in ("ArgMax", "ArgMin"):
        for name, attrs in {
            "default": {},
            "axis2_no_keepdims": {"axis": 2, "keepdims": 0},
            "negative_axis_last_index": {"axis": -2, "select_last_index": 1},
            "last_index_no_keepdims": {"axis": 0, "keepdims": 0, "select_last_index": 1},
        }.items():
            cases[f"{op}_{name}"] = (single_node_model(op, [("x", F32, [3, 4, 5])], attrs=attrs), {"x": TIED})
        int_model = single_node_model(op, [("x", I32, [3, 4, 5])], attrs={"axis": 1, "select_last_index": 1})
        cases[f"{op}_int32"] = (int_model, {"x": TIED.astype(I32)})
    check_cases(cases, tmp_path, atol=0)


def test_arg_max_symbolic_axis_size(tmp_path):
    model = single_node_model("ArgMax", [("x", F32, [3, "N"])], attrs={"axis": 1, "select_last_index": 1})
    check_cases(
        {"dynamic": (model, [{"x": TIED[0, :3]}, {"x": TIED[1, :3, :4]}])}, tmp_path, batches=(5, 4), atol=0
    )


def test_hardmax(tmp_path):
    cases = {
        f"axis{axis}": (
            single_node_model("Hardmax", [("x", F32, [3, 4, 5])], attrs={"axis": axis}),
            {"x": TIED},
        )
        for axis in (0, 1, -1)
    }
    cases["float16"] = (single_node_model("Hardmax", [("x", F16, [3, 4, 5])]), {"x": TIED.astype(F16)})
    check_cases(cases, tmp_path, atol=0)


def test_hardmax_opset11_last_axis(tmp_path):
    model = single_node_model("Hardmax", [("x", F32, [3, 4, 5])], attrs={"axis": 2}, opset=11)
    check_cases({"axis2": (model, {"x": TIED})}, tmp_path, atol=0)


def test_hardmax_opset11_flattens_from_the_axis(tmp_path):
    model = single_node_model("Hardmax", [("x", F32, [3, 4, 5])], attrs={"axis": 1}, opset=11)
    check_cases({"axis1": (model, {"x": TIED})}, tmp_path, atol=0)


def test_unique(tmp_path):
    outputs = ["y", "indices", "inverse", "counts"]
    values = np.array([[2.0, -1.0, 2.0], [0.5, -1.0, 3.0]], F32)
    cases = {
        "sorted": (single_node_model("Unique", [("x", F32, [2, 3])], outputs), {"x": values}),
        "unsorted": (
            single_node_model("Unique", [("x", F32, [2, 3])], outputs, {"sorted": 0}),
            {"x": values},
        ),
        "int64_values_only": (
            single_node_model("Unique", [("x", I64, [7])], ["y"]),
            {"x": np.array([5, 3, 5, -2, 3, 3, 9], I64)},
        ),
    }
    check_cases(cases, tmp_path, atol=0)


def test_unique_along_an_axis_is_a_placeholder(tmp_path):
    model = single_node_model(
        "Unique", [("x", F32, [3, 2])], ["y"], {"axis": 0}, output_shapes={"y": ["U", 2]}
    )
    assert unmapped_count(model, tmp_path) == 1
