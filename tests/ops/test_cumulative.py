"""CumSum and CumProd against onnxruntime, in both modes.

Each test checks its variants as one combined model (check_cases); a failure names the variant.
"""

from __future__ import annotations

import numpy as np
from _single_node import check_cases, single_node_model

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
RNG = np.random.default_rng(0)
FLAGS = {
    "plain": {},
    "exclusive": {"exclusive": 1},
    "reverse": {"reverse": 1},
    "both": {"exclusive": 1, "reverse": 1},
}


def _cases(op: str, opset: int) -> dict:
    x = RNG.uniform(0.5, 1.5, (3, 4)).astype(F32)
    cases = {}
    for name, flags in FLAGS.items():
        for axis in (0, -1):
            model = single_node_model(
                op,
                [("x", F32, [3, 4]), "a"],
                attrs=flags,
                initializers={"a": np.array(axis, I64)},
                opset=opset,
            )
            cases[f"{name}_axis{axis}"] = (model, {"x": x})
    # The axis as a graph input (a 0-d int32 tensor), as in the ONNX backend tests.
    runtime_axis = single_node_model(
        op, [("x", F64, [3, 4]), ("a", I32, [])], attrs={"reverse": 1}, opset=opset
    )
    cases["runtime_axis_float64"] = (runtime_axis, {"x": x.astype(F64), "a": np.array(1, I32)})
    ints = single_node_model(
        op, [("x", I32, [5]), "a"], attrs={"exclusive": 1}, initializers={"a": np.array(0, I32)}, opset=opset
    )
    cases["int32"] = (ints, {"x": np.array([1, 2, -3, 4, 2], I32)})
    return cases


def test_cumsum(tmp_path):
    check_cases(_cases("CumSum", 14), tmp_path, atol=1e-6)


def test_cumprod(tmp_path):
    check_cases(_cases("CumProd", 26), tmp_path, atol=1e-6)
