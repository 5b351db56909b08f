"""BatchNormalization and LayerNormalization against onnxruntime, in PYNATIVE and GRAPH mode."""

from __future__ import annotations

import numpy as np
import pytest
from _single_node_conv import F16_TOLERANCE, check, single_node_model, unmapped, weights


def batch_norm_statistics(channels: int, seed: int) -> dict[str, np.ndarray]:
    """Scale, bias and running statistics far from the identity (variance in [0.3, 2))."""
    stats = weights(seed, scale=(channels,), bias=(channels,), mean=(channels,))
    stats["var"] = np.random.default_rng(seed).uniform(0.3, 2.0, channels).astype(np.float32)
    return stats


BN_INPUTS = [("x", None), "scale", "bias", "mean", "var"]

# id -> (input shape, attributes, opset, batch sizes).
BATCH_NORM = {
    "rank2": (["N", 6], {}, 17, (2, 5)),
    "rank3": (["N", 6, 7], {"epsilon": 1e-3}, 17, (2, 3)),
    "rank4": (["N", 6, 5, 4], {}, 17, (1, 3)),
    "rank4_eps_momentum": ([2, 6, 5, 4], {"epsilon": 1e-2, "momentum": 0.99}, 17, (2,)),
    "rank4_training_mode_0_opset15": (["N", 6, 5, 4], {"training_mode": 0, "momentum": 0.8}, 15, (2,)),
    "rank4_opset9": ([2, 6, 5, 4], {"epsilon": 1e-4}, 9, (2,)),
    "rank5": (["N", 6, 3, 4, 5], {"epsilon": 2e-5}, 17, (2, 3)),
}


@pytest.mark.parametrize("case", list(BATCH_NORM))
def test_batch_norm(case, tmp_path):
    shape, attrs, opset, batches = BATCH_NORM[case]
    inputs = [("x", shape), *BN_INPUTS[1:]]
    model = single_node_model(
        "BatchNormalization", inputs, attrs, batch_norm_statistics(6, len(case)), opset=opset
    )
    check(model, tmp_path, batches=batches)


def test_batch_norm_in_training_mode_is_reported(tmp_path):
    inputs = [("x", [2, 6, 5, 4]), *BN_INPUTS[1:]]
    attrs = {"training_mode": 1}
    outputs = ("y", "running_mean", "running_var")
    model = single_node_model(
        "BatchNormalization", inputs, attrs, batch_norm_statistics(6, 0), outputs=outputs
    )
    [entry] = unmapped(model, tmp_path)
    assert (entry["op_type"], entry["reason"]) == (
        "BatchNormalization",
        "BatchNormalization in training mode (running statistics as outputs)",
    )


def test_batch_norm_with_statistics_from_graph_inputs_is_reported(tmp_path):
    inputs = [("x", [2, 6, 5]), ("scale", [6]), "bias", "mean", "var"]
    initializers = batch_norm_statistics(6, 0)
    del initializers["scale"]
    [entry] = unmapped(single_node_model("BatchNormalization", inputs, {}, initializers), tmp_path)
    assert entry["op_type"] == "BatchNormalization"


# id -> (input shape, attributes, has bias, batch sizes).
LAYER_NORM = {
    "axis_last": (["N", 5, 8], {}, True, (2, 3)),
    "axis_last_no_bias": (["N", 5, 8], {"epsilon": 1e-3}, False, (2,)),
    "axis_minus2": (["N", 4, 5, 6], {"axis": -2}, True, (1, 3)),
    "axis_minus2_no_bias": (["N", 4, 5, 6], {"axis": -2, "epsilon": 1e-4}, False, (2,)),
    "axis_1_of_3": (["N", 5, 8], {"axis": 1}, True, (2, 3)),
    "axis_2_of_4": ([2, 4, 5, 6], {"axis": 2}, True, (2,)),
    "axis_0_static": ([3, 4, 5], {"axis": 0}, True, (3,)),
    "rank2": (["N", 16], {"axis": 1}, True, (2,)),
}


@pytest.mark.parametrize("case", list(LAYER_NORM))
def test_layer_norm(case, tmp_path):
    shape, attrs, has_bias, batches = LAYER_NORM[case]
    rank = len(shape)
    axis = attrs.get("axis", -1) % rank
    normalized = [3 if d == "N" else d for d in shape[axis:]]
    initializers = weights(len(case), scale=normalized, bias=normalized)
    if not has_bias:
        del initializers["bias"]
    inputs = [("x", shape), "scale", *(["bias"] if has_bias else [])]
    check(single_node_model("LayerNormalization", inputs, attrs, initializers), tmp_path, batches=batches)


def test_layer_norm_over_the_symbolic_batch_axis_is_reported(tmp_path):
    model = single_node_model(
        "LayerNormalization", [("x", ["N", 4]), "scale"], {"axis": 0}, weights(0, scale=(1, 4))
    )
    [entry] = unmapped(model, tmp_path)
    assert (entry["op_type"], entry["reason"]) == (
        "LayerNormalization",
        "LayerNormalization over dimensions unknown at conversion time",
    )


def test_layer_norm_with_mean_output_used_is_reported(tmp_path):
    outputs = ("y", "mean", "inv_std_dev")
    model = single_node_model(
        "LayerNormalization", [("x", [2, 4]), "scale"], {}, weights(0, scale=(4,)), outputs
    )
    [entry] = unmapped(model, tmp_path)
    assert entry["op_type"] == "LayerNormalization"
    assert "Mean/InvStdDev" in entry["reason"]


# Other float types: id -> (op, dtype, tolerance).
OTHER_TYPES = {
    "batch_norm_float16": ("BatchNormalization", np.float16, F16_TOLERANCE),
    "layer_norm_float16": ("LayerNormalization", np.float16, F16_TOLERANCE),
    # MindSpore's LayerNorm kernel computes in float32 even for float64 tensors.
    "layer_norm_float64": ("LayerNormalization", np.float64, {"atol": 1e-6}),
}


@pytest.mark.parametrize("case", list(OTHER_TYPES))
def test_other_float_types(case, tmp_path):
    op, dtype, tolerance = OTHER_TYPES[case]
    if op == "BatchNormalization":
        inputs, initializers = [("x", ["N", 6, 5, 4]), *BN_INPUTS[1:]], batch_norm_statistics(6, 3)
    else:
        inputs, initializers = [("x", ["N", 5, 6]), "scale", "bias"], weights(3, scale=(6,), bias=(6,))
    model = single_node_model(op, inputs, {}, initializers, dtype=dtype)
    check(model, tmp_path, batches=(2, 3), **tolerance)


def test_float64_batch_norm_is_reported(tmp_path):
    inputs = [("x", [2, 6, 5]), *BN_INPUTS[1:]]
    model = single_node_model("BatchNormalization", inputs, {}, batch_norm_statistics(6, 0), dtype=np.float64)
    [entry] = unmapped(model, tmp_path)
    assert entry["reason"] == "BatchNormalization on DOUBLE input: MindSpore's CPU layer has no such kernel"
