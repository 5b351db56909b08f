"""CastLike (against onnxruntime) and BitCast (against the ONNX reference), in both modes."""

from __future__ import annotations

import numpy as np
from _reference import check_reference
from _single_node import check_cases, convert_model, single_node_model
from onnx import TensorProto, helper

F16, F32, F64, I8, U8, I32, I64 = np.float16, np.float32, np.float64, np.int8, np.uint8, np.int32, np.int64


def _cast_like(source: type, like: type, shape=(2, 3)) -> object:
    return single_node_model("CastLike", [("x", source, list(shape)), ("like", like, [1])], opset=21)


def test_cast_like(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.uniform(-100, 100, (2, 3))
    cases = {
        "float_to_half": (_cast_like(F32, F16), {"x": values.astype(F32), "like": np.zeros(1, F16)}),
        "double_to_float": (_cast_like(F64, F32), {"x": values, "like": np.zeros(1, F32)}),
        "float_to_int32": (_cast_like(F32, I32), {"x": values.astype(F32), "like": np.zeros(1, I32)}),
        "int64_to_float": (_cast_like(I64, F32), {"x": values.astype(I64), "like": np.zeros(1, F32)}),
        "bool_to_uint8": (_cast_like(np.bool_, U8), {"x": values > 0, "like": np.zeros(1, U8)}),
        "symbolic_batch": (
            _cast_like(F32, F64, ("N", 3)),
            {"x": values.astype(F32), "like": np.zeros(1, F64)},
        ),
    }
    # The pattern of function bodies: a constant cast to the type of a graph input.
    constant = single_node_model(
        "CastLike", ["c", ("like", F16, [2])], initializers={"c": np.array(0.5, F32)}, opset=21
    )
    cases["constant_to_input_type"] = (constant, {"like": np.zeros(2, F16)})
    check_cases(cases, tmp_path, atol=0)


def test_cast_like_refuses_types_mindspore_lacks(tmp_path):
    node = helper.make_node("CastLike", ["x", "like"], ["y"])
    for source, target in [
        (TensorProto.FLOAT, TensorProto.FLOAT8E4M3FN),
        (TensorProto.INT4, TensorProto.FLOAT),
    ]:
        graph = helper.make_graph(
            [node],
            "g",
            [
                helper.make_tensor_value_info("x", source, [3]),
                helper.make_tensor_value_info("like", target, [1]),
            ],
            [helper.make_tensor_value_info("y", target, [3])],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
        report = convert_model(model, tmp_path, name=f"m{source}")[1]
        assert report["summary"]["unmapped"] == 1
        assert "dtype" in report["unmapped"][0]["reason"]


def _bit_cast(source: type, to: int, shape=(4,)) -> object:
    return single_node_model("BitCast", [("x", source, list(shape))], attrs={"to": to}, opset=26)


def test_bit_cast_between_integers_of_one_width(tmp_path):
    cases = {
        "int8_to_uint8": (_bit_cast(I8, TensorProto.UINT8), {"x": np.array([-128, -1, 0, 127], I8)}),
        "uint16_to_int16": (
            _bit_cast(np.uint16, TensorProto.INT16),
            {"x": np.array([65535, 32768, 1, 0], np.uint16)},
        ),
        "int64_to_uint64": (
            _bit_cast(I64, TensorProto.UINT64, (2, 2)),
            {"x": np.array([[-1, 5], [-(2**62), 0]], I64)},
        ),
        "bool_to_uint8": (_bit_cast(np.bool_, TensorProto.UINT8), {"x": np.array([True, False, True, True])}),
        "same_type": (_bit_cast(F32, TensorProto.FLOAT), {"x": np.array([1.5, -2.0, 0.0, 3.0], F32)}),
    }
    check_reference(cases, tmp_path)


def test_bit_cast_of_float_bits_is_unmapped(tmp_path):
    report = convert_model(_bit_cast(F32, TensorProto.INT32), tmp_path)[1]
    assert report["summary"]["unmapped"] == 1
    assert "PyNative" in report["unmapped"][0]["reason"]
