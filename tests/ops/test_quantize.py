"""Linear quantization operators against onnxruntime, in both modes.

Inputs probe rounding ties (half to even), saturation, per-axis and blocked scales.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from _reference import check_reference
from _single_node import check_cases, single_node_model
from harness import convert_model

F16, F32, I8, U8, I16, U16, I32 = np.float16, np.float32, np.int8, np.uint8, np.int16, np.uint16, np.int32
RNG = np.random.default_rng(0)
# x / 0.5 lands on ties (.5) and beyond every 8- and 16-bit range.
TIES = np.array(
    [-70000.25, -200.25, -2.25, -1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 2.25, 300.25, 70000.25], F32
)


def _quantize(x, scale, point, **attrs):
    inputs = [("x", x.dtype.type, list(x.shape)), ("s", scale.dtype.type, list(scale.shape))]
    inputs += [("z", point.dtype.type, list(point.shape))] if point is not None else []
    model = single_node_model("QuantizeLinear", inputs, attrs=attrs, opset=21)
    return model, {"x": x, "s": scale, **({"z": point} if point is not None else {})}


def _dequantize(x, scale, point, **attrs):
    inputs = [("x", x.dtype.type, list(x.shape)), ("s", scale.dtype.type, list(scale.shape))]
    inputs += [("z", point.dtype.type, list(point.shape))] if point is not None else []
    model = single_node_model("DequantizeLinear", inputs, attrs=attrs, opset=21)
    return model, {"x": x, "s": scale, **({"z": point} if point is not None else {})}


def test_quantize_linear(tmp_path):
    x4 = RNG.uniform(-40, 40, (2, 3, 4, 5)).astype(F32)
    cases = {
        "uint8": _quantize(TIES, np.array(0.5, F32), np.array(7, U8)),
        "int8": _quantize(TIES, np.array(0.5, F32), np.array(-3, I8)),
        "int16": _quantize(TIES, np.array(0.5, F32), np.array(100, I16)),
        "uint16": _quantize(TIES, np.array(0.5, F32), np.array(1000, U16)),
        "no_zero_point": _quantize(TIES, np.array(0.5, F32), None),
        "float16": _quantize(TIES[1:-1].astype(F16), np.array(0.5, F16), np.array(5, I8)),
        "per_axis": _quantize(x4, np.array([0.2, 0.5, 1.0], F32), np.array([0, 10, -10], I8)),
        "last_axis": _quantize(x4, RNG.uniform(0.1, 1, 5).astype(F32), np.full(5, 128, U8), axis=-1),
        "blocked": _quantize(
            x4,
            RNG.uniform(0.1, 1, (2, 3, 2, 5)).astype(F32),
            np.full((2, 3, 2, 5), 9, U8),
            axis=2,
            block_size=2,
        ),
        "blocked_ragged": _quantize(
            x4,
            RNG.uniform(0.1, 1, (2, 3, 4, 2)).astype(F32),
            np.zeros((2, 3, 4, 2), I8),
            axis=3,
            block_size=3,
        ),
    }
    check_cases(cases, tmp_path, atol=0)
    # onnxruntime has no bfloat16 QuantizeLinear on CPU.
    bf16 = ml_dtypes.bfloat16
    model = single_node_model("QuantizeLinear", [("x", bf16, [10]), ("s", bf16, []), ("z", I8, [])], opset=21)
    feeds = {"x": TIES[1:-1].astype(bf16), "s": np.array(0.5, bf16), "z": np.array(3, I8)}
    check_reference({"bfloat16": (model, feeds)}, tmp_path / "bfloat16")


def test_dequantize_linear(tmp_path):
    u8 = RNG.integers(0, 256, (2, 3, 4)).astype(U8)
    cases = {
        "uint8": _dequantize(u8, np.array(0.25, F32), np.array(128, U8)),
        "int8_no_zero_point": _dequantize(RNG.integers(-128, 128, 7).astype(I8), np.array(0.1, F32), None),
        "int32_bias": _dequantize(RNG.integers(-(2**20), 2**20, 6).astype(I32), np.array(1e-3, F32), None),
        "int16": _dequantize(RNG.integers(-3000, 3000, 6).astype(I16), np.array(0.5, F32), np.array(-7, I16)),
        "uint16": _dequantize(RNG.integers(0, 60000, 6).astype(U16), np.array(0.5, F32), np.array(7, U16)),
        "per_axis": _dequantize(u8, np.array([0.1, 0.2, 0.3], F32), np.array([1, 2, 3], U8)),
        "float16_scale": _dequantize(u8, np.array(0.125, F16), np.array(3, U8)),
        "blocked": _dequantize(
            u8, RNG.uniform(0.1, 1, (2, 3, 2)).astype(F32), np.full((2, 3, 2), 100, U8), axis=-1, block_size=3
        ),
    }
    check_cases(cases, tmp_path, atol=1e-6)


def test_dynamic_quantize_linear(tmp_path):
    def case(x):
        model = single_node_model(
            "DynamicQuantizeLinear", [("x", F32, list(x.shape))], ["y", "s", "z"], opset=11
        )
        return model, {"x": x}

    cases = {
        "mixed": case(RNG.uniform(-3, 5, (3, 4)).astype(F32)),
        "positive": case(RNG.uniform(1, 2, 6).astype(F32)),
        "negative": case(RNG.uniform(-7, -1, 6).astype(F32)),
    }
    check_cases(cases, tmp_path, atol=0)
    # An all-zero input: the ONNX reference takes scale 1/255, onnxruntime 1; mindgen follows ONNX.
    check_reference({"zeros": case(np.zeros(5, F32))}, tmp_path / "zeros")


def test_integer_matmuls(tmp_path):
    a, b = RNG.integers(0, 256, (2, 4, 6)).astype(U8), RNG.integers(0, 256, (6, 3)).astype(U8)
    a8, b8 = RNG.integers(-128, 128, (4, 6)).astype(I8), RNG.integers(-128, 128, (6, 3)).astype(I8)

    def integer(a, b, a_point, b_point):
        inputs = [("a", a.dtype.type, list(a.shape)), ("b", b.dtype.type, list(b.shape))]
        inputs += [
            ("az", a_point.dtype.type, list(a_point.shape)),
            ("bz", b_point.dtype.type, list(b_point.shape)),
        ]
        model = single_node_model("MatMulInteger", inputs, opset=10)
        return model, {"a": a, "b": b, "az": a_point, "bz": b_point}

    def qlinear(a, b, dtype, scale_type):
        names = ["a", "as", "az", "b", "bs", "bz", "ys", "yz"]
        values = [a, np.array([0.05], scale_type), np.array([3], dtype), b]
        values += [np.array([0.02], scale_type), np.array([-2 if dtype == I8 else 250], dtype)]
        values += [np.array([0.4], scale_type), np.array([1], dtype)]
        inputs = [(n, v.dtype.type, list(v.shape)) for n, v in zip(names, values, strict=True)]
        return single_node_model("QLinearMatMul", inputs, opset=10), dict(zip(names, values, strict=True))

    check_cases(
        {
            "integer_uint8": integer(a, b, np.array(12, U8), np.array(200, U8)),
            "integer_per_column": integer(a[0], b, np.array([1], U8), np.array([5, 6, 7], U8)),
            "qlinear_uint8": qlinear(a, b, U8, F32),
            "qlinear_int8": qlinear(a8, b8, I8, F32),
        },
        tmp_path,
        atol=0,
    )


def _qlinear_conv(x_shape, w_shape, per_channel: bool, **attrs):
    channels = w_shape[0]
    names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "bias"]
    w_scale = RNG.uniform(0.01, 0.05, channels if per_channel else 1).astype(F32)
    values = [RNG.integers(0, 256, x_shape).astype(U8), np.array(0.05, F32), np.array(120, U8)]
    values += [RNG.integers(0, 256, w_shape).astype(U8), w_scale, np.full(w_scale.shape, 128, U8)]
    values += [np.array(0.7, F32), np.array(100, U8), RNG.integers(-500, 500, channels).astype(I32)]
    inputs = [(n, v.dtype.type, list(v.shape)) for n, v in zip(names, values, strict=True)]
    return single_node_model("QLinearConv", inputs, attrs=attrs, opset=10), dict(
        zip(names, values, strict=True)
    )


def test_qlinear_conv(tmp_path):
    cases = {
        "per_tensor": _qlinear_conv((1, 3, 7, 7), (4, 3, 3, 3), False, pads=[1, 0, 1, 2], strides=[2, 1]),
        "per_channel_grouped": _qlinear_conv((2, 4, 5, 6), (6, 2, 3, 3), True, group=2),
    }
    check_cases(cases, tmp_path, atol=0)


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (_qlinear_conv((1, 64, 5, 5), (2, 64, 3, 3), False)[0], "float32 sums could round"),
        (_quantize(TIES, np.array(0.5, F32), None, output_dtype=22)[0], "INT4"),
    ],
    ids=["qlinear_conv_long_sums", "int4"],
)
def test_variants_without_an_exact_mapping_are_refused(tmp_path, model, reason):
    _, report = convert_model(model, tmp_path)
    assert reason in report["unmapped"][0]["reason"]
