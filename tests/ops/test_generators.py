"""Constant, ConstantOfShape, Range, EyeLike, OneHot and window functions, in both modes.

Sizes, shapes and depths are graph inputs, so the generated code computes them at run time.
"""

from __future__ import annotations

import numpy as np
from _reference import check_reference
from _single_node import check_cases, convert_model, make_model, single_node_model
from onnx import TensorProto, helper, numpy_helper

F16, F32, F64, I32, I64 = np.float16, np.float32, np.float64, np.int32, np.int64


def _constant(**attrs: object) -> object:
    return make_model([helper.make_node("Constant", [], ["y"], **attrs)], [], ["y"])


def test_constant_as_graph_output(tmp_path):
    tensor = numpy_helper.from_array(np.array([[1.5, -2.0], [0.25, 8.0]], F64))
    cases = {
        "tensor": (_constant(value=tensor), {}),
        "ints": (_constant(value_ints=[3, -1, 7]), {}),
        "float": (_constant(value_float=0.1), {}),
    }
    check_cases(cases, tmp_path, atol=0)


def test_constant_string_is_unmapped(tmp_path):
    model = helper.make_model(
        helper.make_graph(
            [helper.make_node("Constant", [], ["y"], value_strings=["a"])],
            "g",
            [],
            [helper.make_tensor_value_info("y", TensorProto.STRING, [1])],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    assert convert_model(model, tmp_path)[1]["summary"]["unmapped"] == 1


def _fill(value: np.ndarray | None) -> object:
    attrs = {} if value is None else {"value": numpy_helper.from_array(value)}
    return single_node_model("ConstantOfShape", [("s", I64, [3])], attrs=attrs)


def test_constant_of_shape(tmp_path):
    shape = {"s": np.array([2, 0, 3], I64)}, {"s": np.array([1, 4, 2], I64)}
    cases = {
        "default_zero": _fill(None),
        "float_one": _fill(np.array([1.0], F32)),
        "int32_seven": _fill(np.array([7], I32)),
        "int64_large": _fill(np.array([2**40 + 1], I64)),
        "double_tenth": _fill(np.array([0.1], F64)),
        "bool_true": _fill(np.array([True])),
    }
    check_cases(
        {name: (model, list(shape)) for name, model in cases.items()}, tmp_path, batches=(0, 1), atol=0
    )


def _range(dtype: type, opset: int = 17) -> object:
    return single_node_model("Range", [("a", dtype, []), ("b", dtype, []), ("d", dtype, [])], opset=opset)


def _bounds(dtype: type, start: float, limit: float, delta: float) -> dict[str, np.ndarray]:
    return {"a": np.array(start, dtype), "b": np.array(limit, dtype), "d": np.array(delta, dtype)}


def test_range(tmp_path):
    cases = {
        "float": (_range(F32), _bounds(F32, 0.5, 3.2, 0.25)),
        "int32_down": (_range(I32), _bounds(I32, 10, -4, -3)),
        "int64": (_range(I64), _bounds(I64, -5, 2**33, 2**31)),
        "double_empty": (_range(F64), _bounds(F64, 1.0, 0.5, 0.1)),
        "double": (_range(F64), _bounds(F64, 0.1, 1.0, 0.1)),
    }
    # The usual model pattern: positions 0, 1, ..., n - 1 for a length known at run time.
    positions = single_node_model(
        "Range", ["a", ("b", I64, []), "d"], initializers={"a": np.array(0, I64), "d": np.array(1, I64)}
    )
    cases["positions"] = (positions, {"b": np.array(6, I64)})
    check_cases(cases, tmp_path, atol=1e-6)


def test_range_low_precision(tmp_path):
    cases = {
        "half": (_range(F16, 27), _bounds(F16, 1.0, 9.0, 0.75)),
        "half_down": (_range(F16, 27), _bounds(F16, 2.0, -1.0, -0.5)),
    }
    check_reference(cases, tmp_path)


def _eye(shape: list, **attrs: object) -> object:
    return single_node_model("EyeLike", [("x", I32, shape)], attrs=attrs)


def test_eye_like(tmp_path):
    x = {"x": np.zeros((3, 5), I32)}
    cases = {
        "default": (_eye([3, 5]), x),
        "above": (_eye([3, 5], k=2), x),
        "below_double": (_eye([3, 5], k=-1, dtype=TensorProto.DOUBLE), x),
        "beyond": (_eye([3, 5], k=6, dtype=TensorProto.FLOAT), x),
        "symbolic_rows": (_eye(["N", 5], k=1, dtype=TensorProto.INT64), x),
    }
    check_cases(cases, tmp_path, atol=0)
    # onnxruntime has no bool EyeLike.
    check_reference({"bool": (_eye([3, 5], k=-2, dtype=TensorProto.BOOL), x)}, tmp_path / "bool")


def _one_hot(indices: np.ndarray, values: np.ndarray, axis: int = -1, depth_type: type = F32) -> tuple:
    inputs = [
        ("i", indices.dtype.type, list(indices.shape)),
        ("d", depth_type, []),
        ("v", values.dtype.type, [2]),
    ]
    model = single_node_model("OneHot", inputs, attrs={"axis": axis})
    return model, {"i": indices, "d": np.array(5, depth_type), "v": values}


def test_one_hot(tmp_path):
    indices = np.array([[0, -1, 4], [7, -5, -6]], I64)
    cases = {
        "last_axis": _one_hot(indices, np.array([0.5, 2.0], F32)),
        "axis0_int64_values": _one_hot(indices, np.array([-1, 3], I64), axis=0, depth_type=I64),
        "float_indices": _one_hot(np.array([1.0, 3.0, -2.0], F32), np.array([0, 1], F32)),
    }
    check_cases(cases, tmp_path, atol=0)
    # Value types onnxruntime does not implement (and MindSpore's one_hot does not take).
    others = {
        "negative_axis_double": _one_hot(indices, np.array([0.1, 0.7], F64), axis=-2),
        "int32_values": _one_hot(indices, np.array([-1, 3], I32), depth_type=I64),
        "uint8_values": _one_hot(indices, np.array([9, 200], np.uint8)),
    }
    check_reference(others, tmp_path / "others")


def _window(op: str, **attrs: object) -> object:
    return single_node_model(op, [("n", I32, [])], attrs=attrs, output_shapes={"y": ["W"]})


def test_windows(tmp_path):
    size = {"n": np.array(10, I32)}
    cases = {
        "hann": (_window("HannWindow"), size),
        "hann_symmetric": (_window("HannWindow", periodic=0), size),
        "hamming_symmetric": (_window("HammingWindow", periodic=0), size),
        "blackman": (_window("BlackmanWindow"), size),
        "blackman_double": (_window("BlackmanWindow", output_datatype=TensorProto.DOUBLE), size),
    }
    check_cases(cases, tmp_path, atol=1e-6)
