"""BatchNormalization and LayerNormalization against onnxruntime, in PYNATIVE and GRAPH mode."""

from __future__ import annotations

import numpy as np
import pytest
from _single_node import check_cases, unmapped_count
from _single_node import single_node_model as node_model
from _single_node_conv import F16_TOLERANCE, check, single_node_model, unmapped, weights
from onnx import TensorProto, helper


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


def _fresh(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    return folder


def test_batch_norm_written_out_with_ops(tmp_path):
    # Training mode (batch statistics, updated running statistics) and statistics fed at run time.
    stats = batch_norm_statistics(6, 0)
    training = single_node_model(
        "BatchNormalization",
        [("x", [2, 6, 5, 4]), *BN_INPUTS[1:]],
        {"training_mode": 1, "momentum": 0.8},
        stats,
        outputs=("y", "running_mean", "running_var"),
        opset=15,
    )
    check(training, tmp_path, atol=1e-4)
    del stats["scale"]
    fed = single_node_model(
        "BatchNormalization", [("x", [2, 6, 5]), ("scale", [6]), "bias", "mean", "var"], {}, stats
    )
    check(fed, _fresh(tmp_path, "fed"), atol=1e-4)


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


def test_layer_norm_written_out_with_ops(tmp_path):
    # Mean and InvStdDev outputs, a run-time scale, and a normalized symbolic batch axis.
    outputs = ("y", "mean", "inv_std_dev")
    with_statistics = single_node_model(
        "LayerNormalization",
        [("x", ["N", 3, 4]), "scale", "bias"],
        {"axis": 1},
        weights(0, scale=(3, 4), bias=(4,)),
        outputs,
    )
    check(with_statistics, tmp_path, batches=(2, 3), atol=1e-5)
    fed = single_node_model("LayerNormalization", [("x", [2, 5, 4]), ("scale", [4])], {"epsilon": 1e-3})
    check(fed, _fresh(tmp_path, "fed"), atol=1e-5)
    over_batch = single_node_model(
        "LayerNormalization", [("x", ["N", 4]), "scale"], {"axis": 0}, weights(0, scale=(1, 4))
    )
    check(over_batch, _fresh(tmp_path, "over_batch"), batches=(2, 3), atol=1e-5)


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


def _norm_case(op, shape, attrs, channels_from=None, constant=False, opset=13, params=2):
    """A normalization whose scale and bias are graph inputs, or constants when `constant`."""
    size = channels_from or shape[1]
    rng = np.random.default_rng(len(shape) + size)
    values = {
        "scale": rng.uniform(0.5, 1.5, size).astype(np.float32),
        "bias": rng.uniform(-1, 1, size).astype(np.float32),
    }
    names = ["scale", "bias"][:params]
    inputs = [("x", np.float32, shape)] + (names if constant else [(n, np.float32, [size]) for n in names])
    model = node_model(op, inputs, attrs=attrs, initializers=values if constant else None, opset=opset)
    feeds = {"x": rng.uniform(-3, 3, shape).astype(np.float32)}
    if not constant:
        feeds.update({n: values[n] for n in names})
    return model, feeds


def test_instance_and_group_norm(tmp_path):
    cases = {
        "instance_rank3": _norm_case("InstanceNormalization", [2, 3, 7], {}),
        "instance_rank4_eps": _norm_case("InstanceNormalization", [2, 3, 4, 5], {"epsilon": 1e-2}),
        "instance_rank5": _norm_case("InstanceNormalization", [2, 3, 2, 3, 4], {}),
        "instance_constant": _norm_case("InstanceNormalization", [2, 3, 4, 5], {}, constant=True),
    }
    check_cases(cases, tmp_path, atol=1e-4)
    groups = {
        "group_rank4": _norm_case("GroupNormalization", [2, 6, 4, 5], {"num_groups": 3}, opset=21),
        "group_rank3_eps": _norm_case(
            "GroupNormalization", [2, 4, 7], {"num_groups": 2, "epsilon": 1e-2}, opset=21
        ),
        "group_constant": _norm_case(
            "GroupNormalization", [2, 6, 3, 4], {"num_groups": 2}, constant=True, opset=21
        ),
    }
    check_cases(groups, tmp_path, atol=1e-4, name="groups")


def _mean_variance_case(shape, axes):
    # Built by hand: strict shape inference trips over the function body of this op (an onnx issue).
    attrs = {} if axes is None else {"axes": axes}
    node = helper.make_node("MeanVarianceNormalization", ["x"], ["y"], **attrs)
    info = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("x", "y")]
    model = helper.make_model(
        helper.make_graph([node], "mvn", info[:1], info[1:]), opset_imports=[helper.make_opsetid("", 13)]
    )
    model.ir_version = 8
    return model, {"x": np.random.default_rng(len(attrs)).uniform(-3, 3, shape).astype(np.float32)}


def test_lrn_lp_and_mean_variance_normalization(tmp_path):
    x = [2, 6, 4, 5]
    cases = {
        "lrn_size3": _norm_case("LRN", x, {"size": 3}, params=0),
        "lrn_size5": _norm_case("LRN", x, {"size": 5, "alpha": 2e-3, "beta": 0.5, "bias": 2.0}, params=0),
        "lp_p2": _norm_case("LpNormalization", x, {}, params=0),
        "lp_p1_axis1": _norm_case("LpNormalization", x, {"p": 1, "axis": 1}, params=0),
        "mvn_default": _mean_variance_case(x, None),
        "mvn_axes": _mean_variance_case(x, [1, 3]),
    }
    check_cases(cases, tmp_path, atol=1e-4)


def test_lrn_with_even_size_is_reported(tmp_path):
    model, _ = _norm_case("LRN", [1, 4, 3, 3], {"size": 4}, params=0)
    assert unmapped_count(model, tmp_path) == 1
