"""Concat, Split, Slice, Gather, Pad, Cast, Shape and Constant against onnxruntime, in both modes."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from _single_node import check_cases, make_model, single_node_model, unmapped_count
from harness import assert_matches_onnxruntime
from onnx import helper

F32, I64, I32 = np.float32, np.int64, np.int32
INT64_MAX, INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def test_concat(tmp_path):
    three = [("a", F32, [2, 3]), ("b", F32, [2, 3]), ("c", F32, [2, 3])]
    cases: dict = {
        f"graph_inputs_axis_{a}": single_node_model("Concat", three, attrs={"axis": a}) for a in (0, 1, -1)
    }
    for axis, shape in {1: (1, 4, 3), -1: (1, 2, 6)}.items():
        constant = np.arange(12, dtype=F32).reshape(shape)
        cases[f"constant_first_axis_{axis}"] = single_node_model(
            "Concat", ["c", ("x", F32, [1, 2, 3])], attrs={"axis": axis}, initializers={"c": constant}
        )
    cases["int64_symbolic_batch"] = single_node_model(
        "Concat", [("a", I64, ["N", 2]), ("b", I64, ["N", 1])], attrs={"axis": -1}
    )
    check_cases(cases, tmp_path, batches=(1, 4), atol=0)


# Split: (width of the (N, width) input, split sizes as input/attribute, num_outputs, axis, outputs).
SPLITS = {
    11: {"sizes_attribute": (6, [2, 4], None, 1, 2), "equal": (6, None, None, -1, 3)},
    13: {
        "sizes_input": (6, [1, 3, 2], None, 1, 3),
        "sizes_input_negative_axis": (6, [4, 2], None, -1, 2),
        "equal": (6, None, None, 1, 3),
        "equal_negative_axis": (6, None, None, -1, 2),
        "one_output": (6, None, None, 1, 1),
        "equal_on_symbolic_batch": (6, None, None, 0, 2),
    },
    18: {
        "num_outputs_even": (6, None, 3, 1, 3),
        "num_outputs_uneven": (7, None, 3, 1, 3),
        "num_outputs_uneven_negative_axis": (7, None, 4, -1, 4),
        "sizes_input": (7, [3, 4], None, 1, 2),
    },
}


@pytest.mark.parametrize("opset", sorted(SPLITS))
def test_split(opset, tmp_path):
    cases = {}
    for name, (width, sizes, num_outputs, axis, count) in SPLITS[opset].items():
        inputs: list = [("x", F32, ["N", width])]
        attrs: dict = {"axis": axis}
        constants = {}
        if sizes is not None and opset >= 13:
            inputs.append("s")
            constants["s"] = np.array(sizes, I64)
        elif sizes is not None:
            attrs["split"] = sizes
        if num_outputs is not None:
            attrs["num_outputs"] = num_outputs
        outputs = [f"y{i}" for i in range(count)]
        cases[name] = single_node_model(
            "Split", inputs, outputs, attrs=attrs, initializers=constants, opset=opset
        )
    # Batches 2 and 4 so that the split of the symbolic batch is even.
    check_cases(cases, tmp_path, batches=(2, 4), atol=0)


# Slice variants on an input of shape (N, 5, 6): (starts, ends, axes or None, steps or None).
SLICES = {
    "basic": ([1], [4], [1], None),
    "negative_start_end": ([-4], [-1], [2], None),
    "int64_max_end": ([2], [INT64_MAX], [1], None),
    "axes_omitted": ([0, 1], [1, 3], None, None),
    "negative_axes": ([1, 0], [3, 4], [-1, -2], None),
    "step_2": ([0], [6], [2], [2]),
    "negative_step": ([4], [0], [1], [-1]),
    "negative_step_to_start": ([-1], [INT64_MIN], [2], [-2]),
    "reverse_all": ([INT64_MAX], [INT64_MIN], [1], [-1]),
    "end_past_dim": ([3], [100], [2], None),
    "start_below_minus_dim_negative_step": ([-9], [INT64_MIN], [1], [-1]),
    "several_axes_with_steps": ([0, 5, 1], [INT64_MAX, 0, 6], [0, 2, 1], [1, -2, 3]),
}


def test_slice(tmp_path):
    cases = {}
    for name, (starts, ends, axes, steps) in SLICES.items():
        inputs: list = [("x", F32, ["N", 5, 6]), "starts", "ends"]
        constants = {"starts": np.array(starts, I64), "ends": np.array(ends, I64)}
        if axes is not None or steps is not None:
            inputs.append("axes" if axes is not None else "")
            constants |= {"axes": np.array(axes, I64)} if axes is not None else {}
        if steps is not None:
            inputs.append("steps")
            constants["steps"] = np.array(steps, I64)
        cases[name] = single_node_model("Slice", inputs, initializers=constants)
    check_cases(cases, tmp_path, batches=(2, 3), atol=0)


def test_slice_opset9_attributes(tmp_path):
    attrs = {"starts": [1, -3], "ends": [3, 100], "axes": [0, 1]}
    check_cases(
        {"attributes": single_node_model("Slice", [("x", F32, [4, 5])], attrs=attrs, opset=9)},
        tmp_path,
        atol=0,
    )


# Gather variants on data of shape (4, 5, 3): (indices, axis).
GATHERS = {
    "scalar": (np.array(2), 0),
    "scalar_negative": (np.array(-1), 1),
    "vector": (np.array([3, 0, 1]), 0),
    "vector_negative": (np.array([-1, 0, -4]), 1),
    "matrix": (np.array([[0, 2], [1, 1]]), 1),
    "axis_minus_one": (np.array([2, 0]), -1),
    "scalar_axis_minus_one": (np.array(1), -1),
    "int32_indices": (np.array([1, -2], I32), 0),
}


def test_gather(tmp_path):
    cases: dict = {
        f"constant_{name}": single_node_model(
            "Gather", [("x", F32, [4, 5, 3]), "i"], attrs={"axis": axis}, initializers={"i": i}
        )
        for name, (i, axis) in GATHERS.items()
    }
    data = np.arange(36, dtype=F32).reshape(3, 4, 3)
    for label, indices in {"scalar": np.array(-2, I64), "matrix": np.array([[1, -1], [0, 2]], I64)}.items():
        for axis in (0, 1, -1):
            model = single_node_model(
                "Gather", [("x", F32, [3, 4, 3]), ("i", I64, list(indices.shape))], attrs={"axis": axis}
            )
            cases[f"graph_input_{label}_axis_{axis}"] = (
                model,
                {"x": data, "i": indices},
            )
    check_cases(cases, tmp_path, atol=0)


# Pad on an input of shape (2, 3, 4, 5): (mode, pads, constant value).
PADS = {
    "constant_zero": ("constant", [0, 0, 1, 2, 0, 0, 3, 1], None),
    "constant_value": ("constant", [0, 1, 1, 0, 1, 0, 0, 2], 1.5),
    "constant_negative": ("constant", [0, 0, -1, 2, 0, 0, 1, -2], None),
    "reflect_hw": ("reflect", [0, 0, 1, 2, 0, 0, 2, 1], None),
    "reflect_w_only": ("reflect", [0, 0, 0, 2, 0, 0, 0, 3], None),
    "edge_hw": ("edge", [0, 0, 2, 1, 0, 0, 1, 3], None),
    "edge_chw": ("edge", [0, 1, 2, 1, 0, 2, 1, 0], None),
    "wrap_hw": ("wrap", [0, 0, 1, 2, 0, 0, 3, 1], None),
    "wrap_w_only": ("wrap", [0, 0, 0, 1, 0, 0, 0, 2], None),
}


def _pad_model(mode, pads, value=None, axes=None, shape=(2, 3, 4, 5), dtype=F32, opset=17):
    inputs: list = [("x", dtype, list(shape)), "pads"]
    constants = {"pads": np.array(pads, I64)}
    if value is not None or axes is not None:
        inputs.append("value" if value is not None else "")
        constants |= {"value": np.array(value, dtype)} if value is not None else {}
    if axes is not None:
        inputs.append("axes")
        constants["axes"] = np.array(axes, I64)
    return single_node_model("Pad", inputs, attrs={"mode": mode}, initializers=constants, opset=opset)


def test_pad(tmp_path):
    cases = {name: _pad_model(*case) for name, case in PADS.items()}
    for mode in ("reflect", "edge", "wrap"):
        cases[f"{mode}_rank1"] = _pad_model(mode, [2, 1], shape=[6])
        cases[f"{mode}_rank2"] = _pad_model(mode, [1, 2, 2, 1], shape=[4, 5])
        cases[f"{mode}_rank3_all_axes"] = (
            _pad_model(mode, [1, 0, 2, 0, 1, 1], shape=[3, 4, 5]) if mode != "reflect" else None
        )
    cases["int64_value"] = _pad_model("constant", [1, 0, 0, 2], -7, shape=[2, 3], dtype=I64)
    check_cases({k: v for k, v in cases.items() if v is not None}, tmp_path, atol=0)


def test_pad_opset18_axes_input(tmp_path):
    cases = {
        "constant": _pad_model("constant", [1, 2, 3, 0], 2.0, axes=[1, -1], opset=18),
        "reflect": _pad_model("reflect", [1, 2, 2, 1], axes=[-2, -1], opset=18),
        "edge_one_axis": _pad_model("edge", [2, 1], axes=[2], opset=18),
    }
    check_cases(cases, tmp_path, atol=0)


def test_pad_opset2_attributes(tmp_path):
    model = single_node_model(
        "Pad", [("x", F32, [1, 2, 3])], attrs={"pads": [0, 0, 1, 0, 1, 2], "value": 0.5}, opset=2
    )
    check_cases({"constant": model}, tmp_path, atol=0)


CASTS = {
    "float_to_int64": (F32, 7, np.array([-2.7, -0.5, 0.0, 0.4, 1.5, 2.99], F32)),
    "float_to_int32": (F32, 6, np.array([-2.7, -0.5, 0.0, 0.4, 1.5, 2.99], F32)),
    "int64_to_float": (I64, 1, np.array([-3, -1, 0, 2, 5, 100], I64)),
    "float_to_bool": (F32, 9, np.array([-2.7, 0.0, 0.4, -0.0, 1.5, 0.0], F32)),
    "int64_to_bool": (I64, 9, np.array([-3, 0, 0, 2, 5, 0], I64)),
    "bool_to_float": (np.bool_, 1, np.array([True, False, True, True, False, False])),
    "float_to_double": (F32, 11, np.array([-2.7, -0.5, 0.0, 0.4, 1.5, 2.99], F32)),
    "int64_to_int32": (I64, 6, np.array([-3, -1, 0, 2, 5, 100], I64)),
}


def test_cast(tmp_path):
    cases = {
        name: (
            single_node_model("Cast", [("x", dtype, [2, 3])], attrs={"to": to}),
            {"x": values.reshape(2, 3)},
        )
        for name, (dtype, to, values) in CASTS.items()
    }
    check_cases(cases, tmp_path, atol=0)


def test_shape_of_symbolic_batch(tmp_path):
    variants = {
        "whole": {},
        "start_1": {"start": 1},
        "end_minus_1": {"end": -1},
        "start_minus_2_end_3": {"start": -2, "end": 3},
    }
    cases = {}
    for name, attrs in variants.items():
        # Cast to float so that the graph output is a tensor computed from the shape.
        nodes = [
            helper.make_node("Shape", ["x"], ["s"], **attrs),
            helper.make_node("Cast", ["s"], ["y"], to=1),
        ]
        cases[name] = make_model(nodes, [("x", F32, ["N", 3, 4, 5])], ["y"])
    cases["as_graph_output"] = single_node_model("Shape", [("x", F32, ["N", 3])], attrs={"start": 0})
    check_cases(cases, tmp_path, batches=(1, 6), atol=0)


def test_constant_node_feeding_add(tmp_path):
    constants = {
        "tensor": helper.make_node(
            "Constant", [], ["c"], value=helper.make_tensor("v", 1, [3], [0.5, -1.0, 2.0])
        ),
        "value_float": helper.make_node("Constant", [], ["c"], value_float=1.25),
        "value_floats": helper.make_node("Constant", [], ["c"], value_floats=[1.0, 2.0, -3.0]),
    }
    cases = {
        name: make_model([node, helper.make_node("Add", ["x", "c"], ["y"])], [("x", F32, ["N", 3])], ["y"])
        for name, node in constants.items()
    }
    check_cases(cases, tmp_path)


PLACEHOLDERS = {
    "cast_from_float8": lambda: single_node_model(
        "Cast", [("x", ml_dtypes.float8_e4m3fn, [4])], attrs={"to": 1}
    ),
    "slice_starts_from_graph_input": lambda: single_node_model(
        "Slice",
        [("x", F32, [4, 5]), ("s", I64, [1]), "e"],
        initializers={"e": np.array([3], I64)},
        output_shapes={"y": [4, 5]},
    ),
    "reflect_pad_pads_from_graph_input": lambda: single_node_model(
        "Pad",
        [("x", F32, [2, 4, 5]), ("p", I64, [6])],
        attrs={"mode": "reflect"},
        output_shapes={"y": [2, 5, 6]},
    ),
    "reflect_pad_on_every_axis_of_rank4": lambda: single_node_model(
        "Pad", [("x", F32, [2, 3, 4, 5]), "p"], attrs={"mode": "reflect"}, initializers={"p": np.ones(8, I64)}
    ),
    "split_6_into_4_leaves_an_empty_piece": lambda: single_node_model(
        "Split", [("x", F32, [6])], ["a", "b", "c", "d"], attrs={"num_outputs": 4}, opset=18
    ),
    "split_num_outputs_on_symbolic_axis": lambda: single_node_model(
        "Split", [("x", F32, ["N", 3])], ["a", "b"], attrs={"axis": 0, "num_outputs": 2}, opset=18
    ),
}


@pytest.mark.parametrize("build", PLACEHOLDERS.values(), ids=PLACEHOLDERS.keys())
def test_unmappable_variant_is_a_placeholder(build, tmp_path):
    assert unmapped_count(build(), tmp_path) == 1


def test_pad_with_pads_and_value_computed_at_run_time(tmp_path):
    model = single_node_model(
        "Pad", [("x", F32, [2, 3, 4]), ("p", I64, [6]), ("v", F32, [])], output_shapes={"y": [2, 3, 5]}
    )
    feeds = {
        "x": np.random.default_rng(0).standard_normal((2, 3, 4)).astype(F32),
        "p": np.array([0, 1, 0, 0, -1, 1], I64),  # pads one row in front, crops one row, pads one column
        "v": np.array(2.5, F32),
    }
    assert_matches_onnxruntime(model, tmp_path, feeds, atol=0)
