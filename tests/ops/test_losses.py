"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against onnxruntime, in both modes.

Each test checks its variants as one combined model (check_cases); a failure names the variant.
"""

from __future__ import annotations

import numpy as np
from _single_node import check_cases, single_node_model

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
RNG = np.random.default_rng(0)
C = 5


def _targets(shape: tuple[int, ...], ignored: int | None = None, dtype: type = I64) -> np.ndarray:
    target = RNG.integers(0, C, shape)
    if ignored is not None:
        target.reshape(-1)[::3] = ignored  # every third target is the ignored class
    return target.astype(dtype)


# name: (input shape, reduction, ignore_index, weighted, target dtype, float dtype)
VARIANTS = {
    "NC_none": ((4, C), "none", None, False, I64, F32),
    "NC_mean_weight_ii": ((4, C), "mean", 2, True, I64, F32),
    "NCd1_sum_weight_int32": ((3, C, 6), "sum", None, True, I32, F32),
    "NCd1d2_mean_negative_ii": ((2, C, 3, 4), "mean", -1, False, I64, F32),
    "NCd1d2_none_weight_high_ii": ((2, C, 3, 2), "none", 10, True, I64, F32),
    "NCd1_mean_weight_float64": ((3, C, 4), "mean", 0, True, I64, F64),
}


def _loss_cases(op: str, outputs: tuple[str, ...]) -> dict:
    cases = {}
    for name, (shape, reduction, ignore_index, weighted, tdtype, fdtype) in VARIANTS.items():
        target_shape = (shape[0], *shape[2:])
        attrs: dict[str, object] = {"reduction": reduction}
        if ignore_index is not None:
            attrs["ignore_index"] = ignore_index
        inputs = [("x", fdtype, list(shape)), ("t", tdtype, list(target_shape))]
        feeds = {
            "x": RNG.uniform(-3, 3, shape).astype(fdtype),
            "t": _targets(target_shape, ignore_index, tdtype),
        }
        if weighted:
            inputs.append(("w", fdtype, [C]))
            feeds["w"] = RNG.uniform(0.2, 2, C).astype(fdtype)
        cases[name] = (single_node_model(op, inputs, list(outputs), attrs, opset=13), feeds)
    return cases


def test_negative_log_likelihood_loss(tmp_path):
    cases = _loss_cases("NegativeLogLikelihoodLoss", ("loss",))
    # A constant weight becomes a frozen parameter of the network.
    constant_weight = single_node_model(
        "NegativeLogLikelihoodLoss",
        [("x", F32, [4, C]), ("t", I64, [4]), "w"],
        ["loss"],
        initializers={"w": RNG.uniform(0.2, 2, C).astype(F32)},
        opset=13,
    )
    cases["constant_weight"] = (
        constant_weight,
        {"x": RNG.uniform(-3, 3, (4, C)).astype(F32), "t": _targets((4,))},
    )
    check_cases(cases, tmp_path, atol=1e-5, rtol=1e-5)


def test_softmax_cross_entropy_loss(tmp_path):
    cases = _loss_cases("SoftmaxCrossEntropyLoss", ("loss", "log_prob"))
    loss_only = single_node_model(
        "SoftmaxCrossEntropyLoss", [("x", F32, [4, C]), ("t", I64, [4])], ["loss"], opset=13
    )
    cases["loss_only_default_mean"] = (
        loss_only,
        {"x": RNG.uniform(-3, 3, (4, C)).astype(F32), "t": _targets((4,))},
    )
    check_cases(cases, tmp_path, atol=1e-5, rtol=1e-5)
