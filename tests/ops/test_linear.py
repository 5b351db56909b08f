"""Gemm and MatMul against onnxruntime, in PYNATIVE and GRAPH mode."""

from __future__ import annotations

import numpy as np
import pytest
from _single_node_conv import F16_TOLERANCE, check, single_node_model, unmapped, weights
from harness import assert_matches_onnxruntime, convert_model, run_network

from mindgen.runtime import load_network

K, N = 6, 5  # inner and output features; M (rows of A) is symbolic unless C needs it static.

# id -> (attributes, shape of C or None when absent).
GEMM_CONSTANT_B = {
    "plain_bias_vector": ({}, (N,)),
    "transB": ({"transB": 1}, (N,)),
    "transA": ({"transA": 1}, (N,)),
    "transA_transB": ({"transA": 1, "transB": 1}, (N,)),
    "alpha_beta": ({"alpha": 0.5, "beta": 2.0, "transB": 1}, (N,)),
    "alpha_beta_transA": ({"alpha": -1.5, "beta": 0.25, "transA": 1}, (N,)),
    "c_row": ({"beta": 0.5}, (1, N)),
    "c_scalar": ({"beta": 3.0, "transB": 1}, ()),
    "c_one_element": ({}, (1,)),
    "c_absent": ({"alpha": 2.0, "transB": 1}, None),
    "c_column": ({"beta": 1.5}, (4, 1)),
    "c_matrix": ({"alpha": 0.75, "beta": -0.5, "transB": 1}, (4, N)),
    "c_matrix_transA": ({"transA": 1}, (4, N)),
}


# Cases also run at a second batch size (the symbolic batch must stay dynamic in the code).
TWO_BATCH_SIZES = {
    "plain_bias_vector",
    "transA_transB",
    "alpha_beta_transA",
    "2d_left",
    "3d_left",
    "3d_batched",
}


def _a_shape(attrs: dict, rows: int | str) -> list:
    return [K, rows] if attrs.get("transA") else [rows, K]


@pytest.mark.parametrize("case", list(GEMM_CONSTANT_B))
def test_gemm_constant_b(case, tmp_path):
    attrs, c_shape = GEMM_CONSTANT_B[case]
    # A per-row C fixes M; otherwise M stays symbolic and runs at two batch sizes.
    rows = 4 if c_shape is not None and len(c_shape) == 2 and c_shape[0] != 1 else "M"
    b_shape = (N, K) if attrs.get("transB") else (K, N)
    initializers = weights(len(case), b=b_shape, c=c_shape or ())
    if c_shape is None:
        del initializers["c"]
    inputs = [("a", _a_shape(attrs, rows)), "b", *(["c"] if c_shape is not None else [])]
    batches = (4,) if rows == 4 else (2, 3) if case in TWO_BATCH_SIZES else (2,)
    check(single_node_model("Gemm", inputs, attrs, initializers), tmp_path, batches=batches)


# B from a graph input: id -> (attributes, C: None, a constant shape, or "input").
GEMM_DYNAMIC_B = {
    "no_c": ({}, None),
    "transB_alpha_bias": ({"transB": 1, "alpha": 0.5, "beta": 2.0}, (N,)),
    "transA_c_matrix": ({"transA": 1, "beta": -1.0}, (4, N)),
    "c_input": ({"alpha": 3.0, "beta": 0.5}, "input"),
}


@pytest.mark.parametrize("case", list(GEMM_DYNAMIC_B))
def test_gemm_b_from_graph_input(case, tmp_path):
    attrs, c = GEMM_DYNAMIC_B[case]
    b_shape = [N, K] if attrs.get("transB") else [K, N]
    inputs = [("a", _a_shape(attrs, 4)), ("b", b_shape)]
    initializers = {}
    if c == "input":
        inputs.append(("c", [4, N]))
    elif c is not None:
        inputs.append("c")
        initializers = weights(1, c=c)
    check(single_node_model("Gemm", inputs, attrs, initializers), tmp_path, batches=(4,))


def test_gemm_constant_b_with_c_from_graph_input(tmp_path):
    model = single_node_model("Gemm", [("a", [4, K]), "b", ("c", [N])], {"beta": 2.0}, weights(2, b=(K, N)))
    check(model, tmp_path, batches=(4,))


# id -> (left shape, constant right shape).
MATMUL_CONSTANT_WEIGHT = {
    "2d_left": (["N", K], (K, N)),
    "3d_left": (["N", 3, K], (K, N)),
    "4d_left": ([2, "S", 3, K], (K, N)),
    "1d_left": ([K], (K, N)),
    "batched_weight": ([3, "S", K], (3, K, N)),
}


@pytest.mark.parametrize("case", list(MATMUL_CONSTANT_WEIGHT))
def test_matmul_constant_weight(case, tmp_path):
    left, right = MATMUL_CONSTANT_WEIGHT[case]
    model = single_node_model("MatMul", [("a", left), "w"], {}, weights(len(case), w=right))
    check(model, tmp_path, batches=(2, 3) if case in TWO_BATCH_SIZES else (2,))


def test_matmul_constant_left_operand(tmp_path):
    model = single_node_model("MatMul", ["w", ("b", ["N", K, 3])], {}, weights(3, w=(4, K)))
    check(model, tmp_path)


# id -> (left shape, right shape): both operands are graph inputs.
MATMUL_DYNAMIC = {
    "2d": (["M", K], [K, N]),
    "3d_batched": (["N", 4, K], ["N", K, N]),
    "4d_batched": (["N", 2, 4, K], ["N", 2, K, N]),
    "4d_broadcast": ([2, 1, 4, K], [3, K, N]),
    "3d_by_2d": (["N", 4, K], [K, N]),
    "1d_by_2d": ([K], [K, N]),
    "2d_by_1d": (["M", K], [K]),
    "1d_by_1d": ([K], [K]),
    "1d_by_3d": ([K], ["N", K, N]),
}


@pytest.mark.parametrize("case", list(MATMUL_DYNAMIC))
def test_matmul_two_graph_inputs(case, tmp_path):
    left, right = MATMUL_DYNAMIC[case]
    batches = (2, 3) if case in TWO_BATCH_SIZES else (2,)
    check(single_node_model("MatMul", [("a", left), ("b", right)]), tmp_path, batches=batches)


# Other element types: id -> (op, attributes, dtype, tolerance). Dense takes float16 and
# float64 parameters; integers go through ops.matmul.
OTHER_TYPES = {
    "gemm_float16": ("Gemm", {"transB": 1, "alpha": 0.5}, np.float16, F16_TOLERANCE),
    "gemm_float64": ("Gemm", {"transB": 1, "alpha": 0.5, "beta": 2.0}, np.float64, {"atol": 1e-12}),
    "matmul_float16": ("MatMul", {}, np.float16, F16_TOLERANCE),
    "matmul_float64": ("MatMul", {}, np.float64, {"atol": 1e-12}),
    "matmul_int32": ("MatMul", {}, np.int32, {"atol": 0}),
}


@pytest.mark.parametrize("case", list(OTHER_TYPES))
def test_element_type(case, tmp_path):
    op, attrs, dtype, tolerance = OTHER_TYPES[case]
    b_shape = (N, K) if attrs.get("transB") else (K, N)
    initializers = {k: (v * 4).astype(dtype) for k, v in weights(7, b=b_shape, c=(N,)).items()}
    if op == "MatMul":
        del initializers["c"]
    inputs = [("a", ["M", K]), "b", *(["c"] if "c" in initializers else [])]
    model = single_node_model(op, inputs, attrs, initializers, dtype=dtype)
    feeds = [{"a": np.random.default_rng(b).uniform(-3, 3, (b, K)).astype(dtype)} for b in (2, 3)]
    assert_matches_onnxruntime(model, tmp_path, feeds, **tolerance)


def test_integer_gemm_is_matmul_plus_c(tmp_path):
    # onnxruntime has no integer Gemm kernel: compare with numpy.
    rng = np.random.default_rng(0)
    b, c = rng.integers(-9, 9, (N, K)), rng.integers(-9, 9, (N,))
    model = single_node_model(
        "Gemm", [("a", ["M", K]), "b", "c"], {"transB": 1}, {"b": b, "c": c}, dtype=np.int64
    )
    output, report = convert_model(model, tmp_path)
    assert report["summary"]["unmapped"] == 0
    network = load_network(output)
    a = rng.integers(-9, 9, (3, K))
    for mode in ("pynative", "graph"):
        np.testing.assert_array_equal(run_network(network, {"a": a}, mode)[0], a @ b.T + c)


def test_integer_gemm_with_alpha_is_reported(tmp_path):
    model = single_node_model(
        "Gemm", [("a", [4, K]), "b"], {"alpha": 2.0}, {"b": np.ones((K, N))}, dtype=np.int64
    )
    [entry] = unmapped(model, tmp_path)
    assert (entry["op_type"], entry["reason"]) == ("Gemm", "integer Gemm with alpha or beta other than 1")
