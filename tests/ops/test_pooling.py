"""MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool against onnxruntime, in both modes."""

from __future__ import annotations

import numpy as np
import pytest
from _single_node import check_cases, make_model, unmapped_count
from _single_node import single_node_model as node_model
from _single_node_conv import check, single_node_model, unmapped
from onnx import helper

# id -> (input shape, attributes). "N" is a symbolic batch.
MAX_POOL = {
    "1d_k3_s2": (["N", 3, 11], {"kernel_shape": [3], "strides": [2]}),
    "1d_pads": (["N", 3, 11], {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    "1d_asymmetric_pads": (["N", 3, 11], {"kernel_shape": [3], "strides": [2], "pads": [0, 2]}),
    "1d_ceil_mode": (["N", 3, 10], {"kernel_shape": [3], "strides": [2], "ceil_mode": 1}),
    "1d_dilation2": (["N", 3, 11], {"kernel_shape": [3], "dilations": [2], "pads": [2, 2]}),
    "2d_k2_s2": (["N", 3, 8, 8], {"kernel_shape": [2, 2], "strides": [2, 2]}),
    "2d_default_stride": (["N", 3, 7, 6], {"kernel_shape": [3, 2]}),
    "2d_pads": (["N", 3, 9, 8], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    "2d_pads_per_axis": (["N", 3, 9, 8], {"kernel_shape": [3, 3], "strides": [2, 1], "pads": [1, 0, 1, 0]}),
    "2d_asymmetric_pads": (["N", 3, 8, 7], {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [0, 1, 1, 2]}),
    "2d_ceil_mode": (["N", 3, 8, 9], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    "2d_ceil_mode_pads": (
        ["N", 3, 7, 8],
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4, "ceil_mode": 1},
    ),
    # The last ceil window would start inside the end padding: it is dropped (as in PyTorch).
    "2d_ceil_mode_window_in_pad": (
        ["N", 3, 5, 5],
        {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1] * 4, "ceil_mode": 1},
    ),
    "2d_ceil_mode_asymmetric_pads": (
        ["N", 3, 7, 8],
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 1, 1], "ceil_mode": 1},
    ),
    "2d_dilations": (["N", 3, 9, 9], {"kernel_shape": [2, 3], "dilations": [2, 2], "strides": [1, 2]}),
    "2d_dilations_pads_ceil": (
        ["N", 3, 9, 8],
        {"kernel_shape": [2, 2], "dilations": [2, 2], "strides": [2, 2], "pads": [1] * 4, "ceil_mode": 1},
    ),
    "2d_same_upper": (["N", 3, 9, 8], {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    "2d_same_lower": (["N", 3, 9, 8], {"kernel_shape": [2, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    "2d_valid": (["N", 3, 9, 8], {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "VALID"}),
    "3d_k2_s2": (["N", 2, 4, 6, 5], {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]}),
    "3d_pads": (["N", 2, 5, 6, 5], {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "pads": [1] * 6}),
    "3d_asymmetric_pads": (["N", 2, 5, 6, 5], {"kernel_shape": [2, 2, 2], "pads": [0, 1, 0, 1, 0, 1]}),
    "3d_ceil_mode": (["N", 2, 5, 6, 5], {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2], "ceil_mode": 1}),
}


# Cases also run at a second batch size (the symbolic batch must stay dynamic in the code).
TWO_BATCH_SIZES = {
    "max_1d_asymmetric_pads",
    "max_2d_asymmetric_pads",
    "max_2d_ceil_mode_pads",
    "max_3d_pads",
    "average_2d_pads_exclude",
    "average_2d_asymmetric_pads_include",
}


@pytest.mark.parametrize("case", list(MAX_POOL))
def test_max_pool(case, tmp_path):
    shape, attrs = MAX_POOL[case]
    batches = (2, 3) if f"max_{case}" in TWO_BATCH_SIZES else (2,)
    check(single_node_model("MaxPool", [("x", shape)], attrs), tmp_path, batches=batches)


AVERAGE_POOL = {
    "1d_k3_s2": (["N", 3, 11], {"kernel_shape": [3], "strides": [2]}),
    "1d_pads_exclude": (["N", 3, 11], {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    "1d_pads_include": (["N", 3, 11], {"kernel_shape": [3], "pads": [1, 1], "count_include_pad": 1}),
    "2d_k2_s2": (["N", 3, 8, 8], {"kernel_shape": [2, 2], "strides": [2, 2]}),
    "2d_pads_exclude": (["N", 3, 9, 8], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4}),
    "2d_pads_include": (
        ["N", 3, 9, 8],
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4, "count_include_pad": 1},
    ),
    "2d_pads_per_axis": (
        ["N", 3, 9, 8],
        {"kernel_shape": [3, 3], "pads": [1, 0, 1, 0], "count_include_pad": 1},
    ),
    "2d_asymmetric_pads_include": (
        ["N", 3, 8, 7],
        {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [0, 1, 1, 2], "count_include_pad": 1},
    ),
    "2d_ceil_mode": (["N", 3, 8, 9], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    "2d_ceil_mode_asymmetric_pads_include": (
        ["N", 3, 8, 7],
        {
            "kernel_shape": [3, 3],
            "strides": [2, 2],
            "pads": [1, 0, 0, 1],
            "ceil_mode": 1,
            "count_include_pad": 1,
        },
    ),
    "2d_ceil_mode_pads_exclude": (
        ["N", 3, 7, 8],
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4, "ceil_mode": 1},
    ),
    "2d_ceil_mode_pads_include": (
        ["N", 3, 7, 8],
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4, "ceil_mode": 1, "count_include_pad": 1},
    ),
    "2d_same_upper": (["N", 3, 9, 8], {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    "2d_same_upper_include": (
        ["N", 3, 9, 8],
        {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER", "count_include_pad": 1},
    ),
    "2d_same_lower_include": (
        ["N", 3, 9, 8],
        {"kernel_shape": [2, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER", "count_include_pad": 1},
    ),
    "2d_valid": (["N", 3, 9, 8], {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "VALID"}),
    "3d_pads_exclude": (
        ["N", 2, 5, 6, 5],
        {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "pads": [1] * 6},
    ),
    "3d_pads_include": (
        ["N", 2, 5, 6, 5],
        {"kernel_shape": [3, 3, 3], "strides": [2, 2, 2], "pads": [1] * 6, "count_include_pad": 1},
    ),
}


@pytest.mark.parametrize("case", list(AVERAGE_POOL))
def test_average_pool(case, tmp_path):
    shape, attrs = AVERAGE_POOL[case]
    batches = (2, 3) if f"average_{case}" in TWO_BATCH_SIZES else (2,)
    check(single_node_model("AveragePool", [("x", shape)], attrs), tmp_path, batches=batches)


GLOBAL_SHAPES = {"1d": ["N", 3, 7], "2d": ["N", 3, 5, 6], "3d": ["N", 2, 3, 4, 5]}


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("spatial", list(GLOBAL_SHAPES))
def test_global_pool(op, spatial, tmp_path):
    check(single_node_model(op, [("x", GLOBAL_SHAPES[spatial])]), tmp_path, batches=(1, 3))


def test_global_pool_over_symbolic_spatial_size(tmp_path):
    check(single_node_model("GlobalAveragePool", [("x", [2, 3, "H", "W"])]), tmp_path, batches=(4, 5))


# Variants without an exact MindSpore mapping: id -> (op, attributes, opset, words in the reason).
UNMAPPED = {
    # onnxruntime drops the last window (it starts in the end padding); after explicit padding
    # MindSpore could not tell it from input. (ONNX shape inference keeps it: 4 against ORT's 3.)
    "max_pool_ceil_asymmetric_window_in_pad": (
        "MaxPool",
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 0, 2, 2], "ceil_mode": 1},
        17,
        "last window",
    ),
}


@pytest.mark.parametrize("case", list(UNMAPPED))
def test_pool_variant_is_reported(case, tmp_path):
    op, attrs, opset, words = UNMAPPED[case]
    model = single_node_model(op, [("x", [1, 3, 6, 6])], attrs, opset=opset)
    [entry] = unmapped(model, tmp_path)
    assert entry["op_type"] == op
    assert words in entry["reason"]


# MaxPool's Indices output: id -> (input shape, attributes).
MAX_POOL_INDICES = {
    "1d_pads": ([2, 3, 11], {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    "2d_asymmetric_pads": ([2, 3, 8, 7], {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [0, 1, 1, 2]}),
    "2d_ceil_dilation": (
        [2, 3, 9, 8],
        {"kernel_shape": [2, 2], "dilations": [2, 2], "strides": [2, 2], "ceil_mode": 1},
    ),
    "2d_column_major": ([2, 3, 7, 6], {"kernel_shape": [3, 2], "strides": [2, 2], "storage_order": 1}),
    "2d_column_major_pads": (
        [2, 3, 7, 6],
        {"kernel_shape": [3, 3], "pads": [0, 1, 2, 1], "storage_order": 1},
    ),
    "3d": ([1, 2, 5, 6, 5], {"kernel_shape": [2, 3, 2], "strides": [2, 2, 2], "pads": [1, 1, 0, 1, 1, 0]}),
}


def test_max_pool_indices(tmp_path):
    cases = {
        name: node_model("MaxPool", [("x", np.float32, shape)], outputs=("y", "indices"), attrs=attrs)
        for name, (shape, attrs) in MAX_POOL_INDICES.items()
    }
    check_cases(cases, tmp_path, atol=0)


def test_max_unpool(tmp_path):
    # Indices from a real MaxPool, so that the scatter targets are what MaxUnpool expects.
    pool = helper.make_node(
        "MaxPool", ["x"], ["p", "i"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
    )
    unpool = helper.make_node(
        "MaxUnpool", ["p", "i"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
    )
    overlapping = make_model([pool, unpool], [("x", np.float32, [2, 3, 7, 7])], ["y"])
    plain = node_model(
        "MaxUnpool",
        [("v", np.float32, [1, 2, 2, 3]), ("i", np.int64, [1, 2, 2, 3]), "shape"],
        attrs={"kernel_shape": [2, 2], "strides": [2, 2]},
        initializers={"shape": np.array([1, 2, 4, 6], np.int64)},
        output_shapes={"y": [1, 2, 4, 6]},
    )
    indices = np.stack([np.random.default_rng(c).permutation(24)[:6] + 24 * c for c in range(2)]).reshape(
        1, 2, 2, 3
    )
    feeds = {"v": np.random.default_rng(1).uniform(-3, 3, (1, 2, 2, 3)).astype(np.float32), "i": indices}
    check_cases({"overlapping": overlapping, "with_output_shape": (plain, feeds)}, tmp_path, atol=0)


# AveragePool variants computed as window sums (convolutions with ones) over counts.
AVERAGE_BY_WINDOW_SUMS = {
    "2d_dilations_ceil": (
        [2, 3, 7, 8],
        {"kernel_shape": [2, 3], "dilations": [2, 2], "strides": [2, 1], "ceil_mode": 1},
    ),
    "2d_asymmetric_pads_exclude": (
        ["N", 3, 8, 7],
        {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [0, 1, 1, 2]},
    ),
    "2d_same_lower_exclude": (
        [2, 3, 9, 8],
        {"kernel_shape": [2, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER"},
    ),
    "2d_pads_over_half_kernel": ([2, 3, 6, 6], {"kernel_shape": [3, 3], "pads": [2, 2, 2, 2]}),
    "1d_dilations_include": (
        [2, 3, 11],
        {"kernel_shape": [3], "dilations": [2], "pads": [1, 2], "count_include_pad": 1},
    ),
    "3d_dilations_ceil": (
        [1, 2, 7, 6, 7],
        {"kernel_shape": [2, 2, 3], "dilations": [2, 1, 2], "strides": [2, 2, 2], "ceil_mode": 1},
    ),
}


def test_average_pool_by_window_sums(tmp_path):
    cases = {
        name: node_model("AveragePool", [("x", np.float32, shape)], attrs=attrs, opset=19)
        for name, (shape, attrs) in AVERAGE_BY_WINDOW_SUMS.items()
    }
    check_cases(cases, tmp_path, batches=(2, 3))


LP_POOL = {
    "1d_p1": ([2, 3, 9], {"kernel_shape": [3], "strides": [2], "p": 1}),
    "2d_p2_pads": ([2, 3, 7, 8], {"kernel_shape": [3, 2], "pads": [1, 0, 2, 1]}),
    "2d_p3_dilations": ([2, 3, 7, 8], {"kernel_shape": [2, 2], "dilations": [2, 3], "p": 3}),
    "2d_same_upper": (
        [2, 3, 7, 8],
        {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER", "p": 4},
    ),
    "3d_p2": ([1, 2, 4, 5, 4], {"kernel_shape": [2, 2, 2], "strides": [1, 2, 1]}),
}


def test_lp_pool(tmp_path):
    cases = {
        name: node_model("LpPool", [("x", np.float32, shape)], attrs=attrs, opset=18)
        for name, (shape, attrs) in LP_POOL.items()
    }
    for p in (2, 3):
        cases[f"global_p{p}"] = node_model(
            "GlobalLpPool", [("x", np.float32, ["N", 3, 4, 5])], attrs={"p": p}, opset=18
        )
    check_cases(cases, tmp_path, atol=1e-4)


def test_max_unpool_with_other_output_shape_is_reported(tmp_path):
    model = node_model(
        "MaxUnpool",
        [("v", np.float32, [1, 1, 2, 2]), ("i", np.int64, [1, 1, 2, 2]), "shape"],
        attrs={"kernel_shape": [2, 2], "strides": [2, 2]},
        initializers={"shape": np.array([1, 1, 5, 5], np.int64)},
        output_shapes={"y": [1, 1, 5, 5]},
    )
    assert unmapped_count(model, tmp_path) == 1
