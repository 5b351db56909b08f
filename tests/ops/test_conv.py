"""Conv and ConvTranspose (1-D, 2-D, 3-D) against onnxruntime, in PYNATIVE and GRAPH mode."""

from __future__ import annotations

import numpy as np
import pytest
from _reference import check_reference
from _single_node import check_cases, unmapped_count
from _single_node import single_node_model as node_model
from _single_node_conv import F16_TOLERANCE, check, single_node_model, unmapped, weights

# id -> (input shape, weight shape, attributes, has bias). "N" is a symbolic batch.
CONV = {
    # 1-D
    "1d_bias": (["N", 4, 11], (6, 4, 3), {}, True),
    "1d_stride2_pads1_nobias": (["N", 4, 11], (6, 4, 3), {"strides": [2], "pads": [1, 1]}, False),
    "1d_asymmetric_pads": (["N", 4, 11], (6, 4, 3), {"pads": [2, 1]}, True),
    "1d_asymmetric_pads_stride2": (["N", 4, 10], (6, 4, 4), {"pads": [0, 3], "strides": [2]}, True),
    "1d_dilation2": (["N", 4, 11], (6, 4, 3), {"dilations": [2], "pads": [1, 1]}, True),
    "1d_groups2": (["N", 4, 11], (6, 2, 3), {"group": 2}, True),
    "1d_depthwise": (["N", 4, 11], (4, 1, 3), {"group": 4, "pads": [1, 1]}, True),
    "1d_valid": (["N", 4, 11], (6, 4, 3), {"auto_pad": "VALID", "strides": [2]}, True),
    "1d_same_upper": (["N", 4, 11], (6, 4, 4), {"auto_pad": "SAME_UPPER"}, True),
    "1d_same_lower": (["N", 4, 11], (6, 4, 4), {"auto_pad": "SAME_LOWER"}, True),
    "1d_same_lower_stride2": (["N", 4, 10], (6, 4, 3), {"auto_pad": "SAME_LOWER", "strides": [2]}, True),
    # 2-D
    "2d_nobias": (["N", 3, 8, 8], (5, 3, 3, 3), {}, False),
    "2d_bias_kernel_shape": (["N", 3, 8, 8], (5, 3, 3, 3), {"kernel_shape": [3, 3]}, True),
    "2d_stride2_pads1": (["N", 3, 9, 9], (5, 3, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    "2d_asymmetric_pads": (["N", 3, 8, 7], (5, 3, 3, 3), {"pads": [1, 0, 2, 1]}, True),
    "2d_pads_per_axis": (["N", 3, 8, 7], (5, 3, 3, 3), {"pads": [2, 1, 2, 1]}, True),
    "2d_pads_beyond_kernel": (["N", 3, 6, 5], (5, 3, 3, 2), {"pads": [3, 2, 4, 3]}, True),
    "2d_rect_kernel_stride": (["N", 3, 9, 8], (5, 3, 3, 2), {"strides": [2, 1], "pads": [1, 0, 1, 0]}, True),
    "2d_dilation2": (["N", 3, 9, 9], (5, 3, 3, 3), {"dilations": [2, 2], "pads": [2, 2, 2, 2]}, True),
    "2d_dilation_2_1": (["N", 3, 9, 9], (5, 3, 3, 3), {"dilations": [2, 1]}, True),
    "2d_groups2": (["N", 4, 8, 8], (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}, True),
    "2d_depthwise": (
        ["N", 4, 8, 8],
        (4, 1, 3, 3),
        {"group": 4, "strides": [2, 1], "pads": [1, 1, 1, 1]},
        True,
    ),
    "2d_depthwise_multiplier2": (["N", 4, 8, 8], (8, 1, 3, 3), {"group": 4, "pads": [1, 1, 1, 1]}, True),
    "2d_pointwise": (["N", 4, 5, 6], (7, 4, 1, 1), {}, True),
    "2d_valid": (["N", 3, 9, 8], (5, 3, 3, 3), {"auto_pad": "VALID", "strides": [2, 2]}, True),
    "2d_same_upper": (["N", 3, 9, 8], (5, 3, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, True),
    "2d_same_upper_even_kernel": (["N", 3, 7, 8], (5, 3, 4, 2), {"auto_pad": "SAME_UPPER"}, True),
    "2d_same_lower_odd_total": (
        ["N", 3, 8, 8],
        (5, 3, 3, 3),
        {"auto_pad": "SAME_LOWER", "strides": [2, 2]},
        True,
    ),
    "2d_same_lower_even_kernel": (["N", 3, 7, 8], (5, 3, 4, 2), {"auto_pad": "SAME_LOWER"}, True),
    # 3-D
    "3d_bias": (["N", 2, 5, 6, 5], (4, 2, 3, 3, 3), {}, True),
    "3d_pads_stride": (["N", 2, 5, 6, 5], (4, 2, 3, 3, 3), {"pads": [1] * 6, "strides": [2, 1, 2]}, False),
    "3d_asymmetric_pads": (["N", 2, 5, 6, 5], (4, 2, 3, 2, 3), {"pads": [1, 0, 2, 0, 1, 1]}, True),
    "3d_groups2_dilation2": (["N", 4, 6, 6, 6], (6, 2, 2, 2, 2), {"group": 2, "dilations": [2, 2, 2]}, True),
    "3d_depthwise": (["N", 3, 4, 5, 5], (6, 1, 3, 3, 3), {"group": 3, "pads": [1] * 6}, True),
    "3d_same_upper": (
        [1, 2, 5, 6, 5],
        (4, 2, 3, 3, 2),
        {"auto_pad": "SAME_UPPER", "strides": [2, 2, 2]},
        True,
    ),
    "3d_same_lower": ([1, 2, 5, 6, 5], (4, 2, 2, 3, 2), {"auto_pad": "SAME_LOWER"}, True),
    "3d_valid": ([1, 2, 5, 6, 5], (4, 2, 3, 3, 3), {"auto_pad": "VALID"}, True),
}


# Cases also run at a second batch size (the symbolic batch must stay dynamic in the code).
TWO_BATCH_SIZES = {
    "1d_bias",
    "1d_asymmetric_pads",
    "1d_same_lower_stride2",
    "2d_asymmetric_pads",
    "2d_depthwise",
    "2d_same_lower_odd_total",
    "3d_asymmetric_pads",
    "transpose_2d_output_padding",
    "transpose_2d_same_lower",
    "transpose_1d_asymmetric_pads_output_padding",
}


@pytest.mark.parametrize("case", list(CONV))
def test_conv(case, tmp_path):
    x_shape, w_shape, attrs, has_bias = CONV[case]
    initializers = weights(len(case), w=w_shape, b=w_shape[:1])
    if not has_bias:
        del initializers["b"]
    inputs = [("x", x_shape), "w", *(["b"] if has_bias else [])]
    batches = (2, 3) if case in TWO_BATCH_SIZES else (2,)
    check(single_node_model("Conv", inputs, attrs, initializers), tmp_path, batches=batches)


# id -> (input shape, weight shape (in, out/group, k...), attributes, has bias).
CONV_TRANSPOSE = {
    "2d_stride2_bias": (["N", 4, 5, 5], (4, 3, 3, 3), {"strides": [2, 2]}, True),
    "2d_stride2_pads": (["N", 4, 5, 6], (4, 3, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    "2d_asymmetric_pads": (["N", 4, 5, 6], (4, 3, 3, 3), {"strides": [2, 2], "pads": [1, 0, 0, 2]}, False),
    "2d_output_padding": (
        ["N", 4, 5, 5],
        (4, 3, 3, 3),
        {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1]},
        True,
    ),
    "2d_output_padding_one_axis": (
        ["N", 4, 5, 5],
        (4, 3, 4, 3),
        {"strides": [2, 3], "pads": [1, 1, 1, 1], "output_padding": [0, 2]},
        True,
    ),
    "2d_output_padding_no_pads": (
        ["N", 4, 4, 5],
        (4, 3, 3, 3),
        {"strides": [2, 2], "output_padding": [1, 1]},
        True,
    ),
    "2d_groups2": (["N", 4, 5, 5], (4, 3, 3, 3), {"group": 2, "strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    "2d_depthwise": (["N", 4, 5, 5], (4, 1, 3, 3), {"group": 4, "strides": [2, 2]}, True),
    "2d_dilation2": (["N", 4, 5, 5], (4, 3, 3, 3), {"dilations": [2, 2], "pads": [1, 1, 1, 1]}, True),
    "2d_same_upper": (["N", 4, 5, 6], (4, 3, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, True),
    "2d_same_upper_even_kernel": (
        ["N", 4, 5, 6],
        (4, 3, 4, 4),
        {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
        True,
    ),
    "2d_same_lower": (["N", 4, 5, 6], (4, 3, 3, 3), {"auto_pad": "SAME_LOWER", "strides": [2, 2]}, True),
    "2d_same_lower_dilation": (
        ["N", 4, 5, 6],
        (4, 3, 3, 2),
        {"auto_pad": "SAME_LOWER", "dilations": [2, 3]},
        True,
    ),
    "2d_same_upper_dilation": (
        ["N", 4, 5, 6],
        (4, 3, 3, 2),
        {"auto_pad": "SAME_UPPER", "dilations": [2, 3]},
        True,
    ),
    "2d_valid": (["N", 4, 5, 6], (4, 3, 3, 3), {"auto_pad": "VALID", "strides": [2, 2]}, True),
    "2d_valid_output_padding": (
        ["N", 4, 5, 6],
        (4, 3, 3, 3),
        {"auto_pad": "VALID", "strides": [2, 3], "output_padding": [1, 2]},
        True,
    ),
    "2d_output_padding_dilation": (
        ["N", 4, 5, 6],
        (4, 3, 2, 2),
        {"strides": [2, 3], "dilations": [1, 2], "pads": [0, 1, 0, 0], "output_padding": [1, 2]},
        True,
    ),
    "1d_stride2": (["N", 4, 7], (4, 3, 3), {"strides": [2]}, True),
    "1d_pads_output_padding": (
        ["N", 4, 7],
        (4, 3, 3),
        {"strides": [2], "pads": [1, 1], "output_padding": [1]},
        True,
    ),
    "1d_asymmetric_pads": (["N", 4, 7], (4, 3, 3), {"strides": [2], "pads": [2, 1]}, True),
    "1d_asymmetric_pads_output_padding": (
        ["N", 4, 7],
        (4, 3, 4),
        {"strides": [3], "pads": [0, 1], "output_padding": [2]},
        True,
    ),
    "1d_groups2_dilation2": (["N", 4, 7], (4, 2, 3), {"group": 2, "dilations": [2]}, False),
    "1d_same_upper": (["N", 4, 7], (4, 3, 4), {"auto_pad": "SAME_UPPER", "strides": [2]}, True),
    "1d_valid": (["N", 4, 7], (4, 3, 3), {"auto_pad": "VALID", "strides": [3]}, True),
    "1d_same_lower": (["N", 4, 7], (4, 3, 4), {"auto_pad": "SAME_LOWER", "strides": [3]}, True),
    "3d_stride2_pads": (["N", 2, 3, 4, 3], (2, 3, 3, 3, 3), {"strides": [2, 2, 2], "pads": [1] * 6}, True),
    "3d_output_padding": (
        ["N", 2, 3, 4, 3],
        (2, 3, 3, 3, 3),
        {"strides": [2, 2, 2], "pads": [1] * 6, "output_padding": [1, 0, 1]},
        True,
    ),
}


@pytest.mark.parametrize("case", list(CONV_TRANSPOSE))
def test_conv_transpose(case, tmp_path):
    x_shape, w_shape, attrs, has_bias = CONV_TRANSPOSE[case]
    group = attrs.get("group", 1)
    initializers = weights(len(case), w=w_shape, b=(w_shape[1] * group,))
    if not has_bias:
        del initializers["b"]
    inputs = [("x", x_shape), "w", *(["b"] if has_bias else [])]
    batches = (2, 3) if f"transpose_{case}" in TWO_BATCH_SIZES else (2,)
    check(single_node_model("ConvTranspose", inputs, attrs, initializers), tmp_path, batches=batches)


def test_conv_with_run_time_weight_of_unknown_shape_is_reported(tmp_path):
    model = single_node_model(
        "Conv", [("x", [1, 3, 6, 6]), ("w", [4, 3, "k", "k"])], {"kernel_shape": [3, 3]}
    )
    [entry] = unmapped(model, tmp_path)
    assert entry["op_type"] == "Conv"
    assert "weight" in entry["reason"]


def test_conv_same_lower_with_unknown_spatial_size_is_reported(tmp_path):
    attrs = {"auto_pad": "SAME_LOWER", "strides": [2, 2]}
    model = single_node_model("Conv", [("x", ["N", 3, "H", "W"]), "w"], attrs, weights(0, w=(4, 3, 3, 3)))
    [entry] = unmapped(model, tmp_path)
    assert (entry["op_type"], entry["reason"]) == ("Conv", "auto_pad=SAME_LOWER needs static spatial sizes")


# ConvTranspose variants without an exact mapping: id -> (attributes, words in the reason).
CONV_TRANSPOSE_UNMAPPED = {
    # onnxruntime makes the output 10 long; ONNX shape inference says 11.
    "same_upper_output_padding": (
        {"strides": [2, 2], "auto_pad": "SAME_UPPER", "output_padding": [1, 1]},
        "disagree",
    ),
    "same_stride_beyond_kernel": ({"strides": [4, 4], "auto_pad": "SAME_LOWER"}, "stride larger"),
}


@pytest.mark.parametrize("case", list(CONV_TRANSPOSE_UNMAPPED))
def test_conv_transpose_variant_is_reported(case, tmp_path):
    attrs, words = CONV_TRANSPOSE_UNMAPPED[case]
    model = single_node_model("ConvTranspose", [("x", [1, 4, 5, 5]), "w"], attrs, weights(0, w=(4, 3, 3, 3)))
    [entry] = unmapped(model, tmp_path)
    assert entry["op_type"] == "ConvTranspose"
    assert words in entry["reason"]


@pytest.mark.parametrize("op", ["Conv", "ConvTranspose"])
def test_float16_layer(op, tmp_path):
    attrs = {"strides": [2, 2], "pads": [1, 0, 1, 1]}
    initializers = weights(5, w=(4, 4, 3, 3), b=(4,))
    model = single_node_model(op, [("x", ["N", 4, 6, 6]), "w", "b"], attrs, initializers, dtype=np.float16)
    check(model, tmp_path, batches=(2, 3), **F16_TOLERANCE)


def test_float64_conv_is_reported(tmp_path):
    model = single_node_model(
        "Conv", [("x", [1, 3, 6, 6]), "w"], {}, weights(0, w=(4, 3, 3, 3)), dtype=np.float64
    )
    [entry] = unmapped(model, tmp_path)
    assert (entry["op_type"], entry["reason"]) == (
        "Conv",
        "Conv on DOUBLE input: MindSpore's CPU layer has no such kernel",
    )


# Weights fed at run time (as every ONNX conformance case has them): ops.conv*d and the primitives.
RUNTIME_CONV = {
    "1d_asymmetric_pads_stride": ([2, 4, 11], [6, 4, 3], {"pads": [2, 1], "strides": [2]}),
    "2d_groups_dilation": (
        [2, 4, 9, 8],
        [6, 2, 3, 2],
        {"group": 2, "dilations": [2, 1], "pads": [1, 1, 1, 1]},
    ),
    "2d_asymmetric_pads": ([2, 3, 7, 5], [4, 3, 3, 3], {"pads": [1, 0, 2, 1], "strides": [2, 2]}),
    "2d_same_upper": ([2, 3, 9, 8], [4, 3, 3, 3], {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    "2d_same_lower": ([2, 3, 8, 8], [4, 3, 3, 3], {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
    "3d_pads": ([1, 2, 5, 6, 5], [4, 2, 3, 2, 3], {"pads": [1, 0, 1, 1, 0, 1]}),
}
RUNTIME_CONV_TRANSPOSE = {
    "1d_pads_output_padding": ([2, 4, 7], [4, 3, 3], {"strides": [2], "pads": [2, 1], "output_padding": [1]}),
    "2d_groups_dilation": ([2, 4, 5, 5], [4, 3, 3, 2], {"group": 2, "dilations": [2, 1], "strides": [2, 3]}),
    "2d_output_padding": (
        [2, 4, 5, 6],
        [4, 3, 3, 3],
        {"strides": [2, 3], "pads": [1, 0, 0, 2], "output_padding": [1, 2]},
    ),
    "2d_same_lower": ([2, 4, 5, 6], [4, 3, 3, 3], {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
    "2d_dynamic_batch": (["N", 4, 5, 6], [4, 3, 3, 3], {"strides": [2, 2], "pads": [1, 1, 0, 0]}),
    "2d_output_shape_wider": ([1, 4, 3, 3], [4, 2, 3, 3], {"strides": [3, 2], "output_shape": [10, 8]}),
    "2d_output_shape_cropped": ([1, 4, 3, 3], [4, 2, 3, 3], {"strides": [3, 2], "output_shape": [8, 6]}),
    "3d_output_padding": (
        [1, 2, 3, 4, 3],
        [2, 3, 3, 3, 3],
        {"strides": [2, 2, 2], "pads": [1] * 6, "output_padding": [1, 0, 1]},
    ),
}


def _runtime_conv(op, x_shape, w_shape, attrs, bias=True):
    out_channels = w_shape[0] if op == "Conv" else w_shape[1] * attrs.get("group", 1)
    inputs = [("x", np.float32, x_shape), ("w", np.float32, w_shape)]
    if bias:
        inputs.append(("b", np.float32, [out_channels]))
    return node_model(op, inputs, attrs=attrs)


def test_conv_with_run_time_weights(tmp_path):
    cases = {f"conv_{k}": _runtime_conv("Conv", *v, bias=k != "3d_pads") for k, v in RUNTIME_CONV.items()}
    cases.update(
        {f"transpose_{k}": _runtime_conv("ConvTranspose", *v) for k, v in RUNTIME_CONV_TRANSPOSE.items()}
    )
    check_cases(cases, tmp_path, batches=(2, 3), atol=1e-4)


def test_conv_transpose_output_shape_with_constant_weight(tmp_path):
    attrs = {"strides": [2, 2], "output_shape": [10, 10]}
    model = single_node_model(
        "ConvTranspose", [("x", ["N", 4, 5, 5]), "w"], attrs, weights(0, w=(4, 3, 3, 3))
    )
    check(model, tmp_path, batches=(2, 3))


def _conv_integer(x_type, w_type, w_shape, attrs, per_channel=True):
    x_shape = [1, w_shape[1] * attrs.get("group", 1), 6, 5]
    zero_shape = [w_shape[0]] if per_channel else []
    inputs = [("x", x_type, x_shape), ("w", w_type, w_shape), ("xz", x_type, []), ("wz", w_type, zero_shape)]
    model = node_model("ConvInteger", inputs, attrs=attrs, opset=10)
    low, high = np.iinfo(x_type).min, np.iinfo(x_type).max
    rng = np.random.default_rng(len(w_shape) + w_shape[1])
    feeds = {
        "x": rng.integers(low, high + 1, x_shape).astype(x_type),
        "w": rng.integers(np.iinfo(w_type).min, np.iinfo(w_type).max + 1, w_shape).astype(w_type),
        "xz": np.array(rng.integers(low, high + 1), x_type),
        "wz": rng.integers(np.iinfo(w_type).min, np.iinfo(w_type).max + 1, zero_shape).astype(w_type),
    }
    return model, feeds


def test_conv_integer(tmp_path):
    # onnxruntime takes per-tensor zero points only; per-channel ones are checked on the reference.
    cases = {
        "uint8_strides": _conv_integer(np.uint8, np.uint8, [2, 4, 2, 2], {"strides": [2, 1]}, False),
        # 32 channels x 3 x 3 = 288 products per output: summed as two base-16 digit convolutions.
        "uint8_wide": _conv_integer(np.uint8, np.uint8, [2, 32, 3, 3], {"pads": [1, 1, 1, 1]}, False),
    }
    check_cases(cases, tmp_path, atol=0)
    per_channel = {
        "int8_pads": _conv_integer(np.int8, np.int8, [3, 2, 3, 3], {"pads": [1, 0, 1, 2]}),
        "uint8_groups": _conv_integer(np.uint8, np.uint8, [4, 2, 2, 2], {"group": 2}),
    }
    check_reference(per_channel, tmp_path / "per_channel")


def test_conv_integer_too_wide_for_float32_is_reported(tmp_path):
    model, _ = _conv_integer(np.uint8, np.uint8, [2, 512, 3, 3], {})
    assert unmapped_count(model, tmp_path) == 1
