"""Elementwise arithmetic and math functions against onnxruntime, in PYNATIVE and GRAPH mode.

Each test checks its variants as one combined model (check_cases): one conversion and one
GRAPH compile per test keeps the suite fast; a failure names the variant.
"""

from __future__ import annotations

import numpy as np
import pytest
from _single_node import check_cases, single_node_model

F32, I64, I32 = np.float32, np.int64, np.int32

# Unary op -> input values inside its domain, away from poles, with results below ~10: the
# kernels differ by a few ulp (exp(3) = 20.09 is off by 1.3e-5), the tolerance is absolute.
UNARY_INPUTS = {
    "Abs": np.linspace(-3, 3, 12),
    "Acos": np.linspace(-0.95, 0.95, 12),
    "Acosh": np.linspace(1.05, 4, 12),
    "Asin": np.linspace(-0.95, 0.95, 12),
    "Asinh": np.linspace(-3, 3, 12),
    "Atan": np.linspace(-3, 3, 12),
    "Atanh": np.linspace(-0.9, 0.9, 12),
    "Ceil": np.linspace(-3.3, 3.3, 12),
    "Cos": np.linspace(-3, 3, 12),
    "Cosh": np.linspace(-2.5, 2.5, 12),
    "Erf": np.linspace(-3, 3, 12),
    "Exp": np.linspace(-3, 2, 12),
    "Floor": np.linspace(-3.3, 3.3, 12),
    "Log": np.linspace(0.05, 5, 12),
    "Neg": np.linspace(-3, 3, 12),
    "Reciprocal": np.linspace(0.25, 3, 12) * np.repeat([-1, 1], 6),
    "Round": np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.2, 0.7, 3.49, -3.51, 0.0, 4.5]),
    "Sign": np.array([-2.0, -0.5, 0.0, 0.5, 2.0, 0.0, -1e-3, 1e-3, 3, -3, 1, -1]),
    "Sin": np.linspace(-3, 3, 12),
    "Sinh": np.linspace(-2.5, 2.5, 12),
    "Sqrt": np.linspace(0.0, 5, 12),
    "Tan": np.linspace(-1.2, 1.2, 12),
}


def test_unary_functions(tmp_path):
    cases = {
        op: (single_node_model(op, [("x", F32, ["N", 4])]), {"x": values.reshape(3, 4).astype(F32)})
        for op, values in UNARY_INPUTS.items()
    }
    check_cases(cases, tmp_path)


def test_unary_functions_on_int64(tmp_path):
    values = {"x": np.array([[-5, 0, 7], [3, -1, 9]], I64)}
    cases = {op: (single_node_model(op, [("x", I64, [2, 3])]), values) for op in ("Abs", "Neg", "Sign")}
    check_cases(cases, tmp_path, atol=0)


BINARY = ["Add", "Sub", "Mul", "Div"]


def _graph_input_cases(op: str) -> dict:
    cases: dict = {}
    for dtype in (F32, I64, I32):
        name = np.dtype(dtype).name
        cases[f"broadcast_{name}"] = single_node_model(op, [("a", dtype, ["N", 1, 4]), ("b", dtype, [3, 1])])
        cases[f"rank0_{name}"] = (
            single_node_model(op, [("a", dtype, []), ("b", dtype, [])]),
            {"a": np.array(-7, dtype), "b": np.array(2, dtype)},
        )
    cases["rank0_with_matrix"] = (
        single_node_model(op, [("a", F32, [3, 2]), ("b", F32, [])]),
        {"a": np.arange(-3, 3, dtype=F32).reshape(3, 2), "b": np.array(1.5, F32)},
    )
    return cases


@pytest.mark.parametrize("op", BINARY)
def test_binary_graph_inputs_with_broadcasting(op, tmp_path):
    check_cases(_graph_input_cases(op), tmp_path, batches=(1, 3))


# Where a constant operand sits and what shape it has: (constant first?, shape).
CONSTANT_OPERANDS = {
    "scalar_right": (False, ()),
    "scalar_left": (True, ()),
    "one_element_right": (False, (1,)),
    "vector_right": (False, (4,)),
    "vector_left": (True, (4,)),
    "higher_rank_right": (False, (2, 1, 4)),
}


@pytest.mark.parametrize("op", BINARY)
def test_binary_with_constant_operand(op, tmp_path):
    rng = np.random.default_rng(3)
    cases = {}
    for dtype in (F32, I64):
        for placement, (first, shape) in CONSTANT_OPERANDS.items():
            constant = rng.choice([-7, -3, -2, 2, 3, 5], shape).astype(dtype)
            if dtype == F32:
                constant = constant + np.float32(0.25)
            inputs = ["c", ("x", dtype, ["N", 4])] if first else [("x", dtype, ["N", 4]), "c"]
            cases[f"{placement}_{np.dtype(dtype).name}"] = single_node_model(
                op, inputs, initializers={"c": constant}
            )
    check_cases(cases, tmp_path)


def test_integer_div_truncates_toward_zero(tmp_path):
    dividends, divisors = [7, -7, 7, -7, 1, -1, 0, 9], [2, 2, -2, -2, 3, 3, -5, -4]
    cases: dict = {
        np.dtype(dtype).name: (
            single_node_model("Div", [("a", dtype, [8]), ("b", dtype, [8])]),
            {"a": np.array(dividends, dtype), "b": np.array(divisors, dtype)},
        )
        for dtype in (I64, I32)
    }
    for name, divisor in {
        "scalar_constant": np.array(-3),
        "vector_constant": np.array([2, -2, 3, -3]),
    }.items():
        model = single_node_model("Div", [("a", I64, ["N", 4]), "d"], initializers={"d": divisor.astype(I64)})
        cases[name] = (model, {"a": np.array([[7, -7, 8, -8], [1, -1, 0, 5]], I64)})
    check_cases(cases, tmp_path, atol=0)


def test_pow(tmp_path):
    positive = np.linspace(0.2, 2.5, 6, dtype=F32).reshape(2, 3)
    cases = {
        "tensor_exponent": (
            single_node_model("Pow", [("x", F32, [2, 3]), ("e", F32, [3])]),
            {"x": positive, "e": np.array([0.5, 2, -1.5], F32)},
        ),
        "int64_tensor_exponent": (
            single_node_model("Pow", [("x", F32, [2, 3]), ("e", I64, [3])]),
            {"x": positive - 1.2, "e": np.array([2, 3, -1], I64)},
        ),
        "int32_base_float_exponent": (
            single_node_model("Pow", [("x", I32, [3]), ("e", F32, [3])]),
            {"x": np.array([1, 2, 3], I32), "e": np.array([4, 5, 6], F32)},
        ),
        "float64_tensor_exponent": (
            single_node_model("Pow", [("x", F32, [3]), ("e", np.float64, [3])]),
            {"x": np.array([1.5, -2, 3], F32), "e": np.array([4, 5, 0.5], np.float64)},
        ),
        "int32_tensor_exponent_on_int64": (
            single_node_model("Pow", [("x", I64, [3]), ("e", I32, [3])]),
            {"x": np.array([3, -2, 7], I64), "e": np.array([4, 5, 0], I32)},
        ),
        "int64_base": (
            single_node_model("Pow", [("x", I64, [4]), "e"], initializers={"e": np.array(3, I64)}),
            {"x": np.array([-3, -1, 2, 5], I64)},
        ),
    }
    exponents = {
        "square": np.array(2.0, F32),
        "sqrt": np.array(0.5, F32),
        "cube_one_element": np.array([3.0], F32),
        "int64_cube": np.array(3, I64),
        "vector": np.array([2.0, 1.0, 3.0], F32),
    }
    for name, exponent in exponents.items():
        model = single_node_model("Pow", [("x", F32, ["N", 3]), "e"], initializers={"e": exponent})
        # Whole exponents are defined for negative bases too.
        cases[f"constant_{name}"] = (model, {"x": positive - 1.2 if np.all(exponent % 1 == 0) else positive})
    check_cases(cases, tmp_path)
