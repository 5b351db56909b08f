"""Each clean-up pass on its own small graph."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir
import pytest
from memory import traced_peak
from onnx import TensorProto, helper, numpy_helper

from mindgen.passes.complete_shapes import complete_shapes
from mindgen.passes.fold_constants import fold_constants
from mindgen.passes.fuse_linear import MINDGEN_DOMAIN, fuse_linear
from mindgen.passes.pipeline import PIPELINE, run_passes


def _model(nodes, inputs, outputs, initializers=(), opset=17) -> ir.Model:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    proto = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    return ir.serde.deserialize_model(proto)


def _vi(name, dims, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, dims)


def test_fold_constants_evaluates_constant_subgraphs_and_static_shapes():
    model = _model(
        [
            helper.make_node("Shape", ["x"], ["shape"]),
            helper.make_node("Gather", ["shape", "one"], ["channels"], axis=0),
            helper.make_node("Mul", ["c", "c"], ["c2"]),
            helper.make_node("Add", ["x", "c2"], ["y"]),
            helper.make_node("Cast", ["channels"], ["channels_f"], to=TensorProto.FLOAT),
            helper.make_node("Add", ["y", "channels_f"], ["z"]),
        ],
        [_vi("x", [2, 3])],
        [_vi("z", [2, 3])],
        [
            numpy_helper.from_array(np.array(1, np.int64), "one"),
            numpy_helper.from_array(np.full(3, 2.0, np.float32), "c"),
        ],
    )
    folded = fold_constants(model)
    assert folded == 4
    assert [n.op_type for n in model.graph] == ["Add", "Add"]
    constants = {v.name: v.const_value.numpy() for v in model.graph.initializers.values()}
    np.testing.assert_array_equal(constants["c2"], np.full(3, 4.0, np.float32))
    np.testing.assert_array_equal(constants["channels_f"], np.float32(3.0))


def test_fold_constants_keeps_dynamic_shapes_and_random_ops():
    model = _model(
        [
            helper.make_node("Shape", ["x"], ["shape"]),
            helper.make_node("RandomNormal", [], ["noise"], shape=[2]),
            helper.make_node("Cast", ["shape"], ["shape_f"], to=TensorProto.FLOAT),
            helper.make_node("Add", ["shape_f", "noise"], ["y"]),
        ],
        [_vi("x", ["N", 3])],
        [_vi("y", [2])],
    )
    assert fold_constants(model) == 0
    assert len(model.graph) == 4


@pytest.mark.parametrize(
    "op, inputs",
    [
        ("ConstantOfShape", {"shape": np.array([10**6, 10**6], np.int64)}),
        # Small enough to allocate (200 MB): would show in the peak if evaluated first.
        ("ConstantOfShape", {"shape": np.array([5 * 10**7], np.int64)}),
        ("Expand", {"one": np.ones(1, np.float32), "shape": np.array([10**6, 10**6], np.int64)}),
        ("Tile", {"row": np.ones((1, 1000), np.float32), "reps": np.array([10**9, 1], np.int64)}),
        (
            "Range",
            {
                "start": np.array(0, np.int64),
                "stop": np.array(10**12, np.int64),
                "step": np.array(1, np.int64),
            },
        ),
    ],
)
def test_fold_constants_sizes_huge_outputs_before_evaluating(op, inputs):
    initializers = [numpy_helper.from_array(a, n) for n, a in inputs.items()]
    # A graph output is never folded: the result feeds a Neg first.
    nodes = [helper.make_node(op, list(inputs), ["big"]), helper.make_node("Neg", ["big"], ["y"])]
    model = _model(nodes, [], [_vi("y", None)], initializers)
    folded, peak = traced_peak(lambda: fold_constants(model))
    assert folded == 0 and [n.op_type for n in model.graph] == [op, "Neg"]
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_fuse_linear_merges_matmul_and_bias_add_only_for_last_axis_bias():
    w = numpy_helper.from_array(np.ones((4, 5), np.float32), "w")
    b = numpy_helper.from_array(np.ones(5, np.float32), "b")
    b_wrong = numpy_helper.from_array(np.ones((3, 1), np.float32), "b_wrong")
    model = _model(
        [
            helper.make_node("MatMul", ["x", "w"], ["p"], name="/fc/MatMul"),
            helper.make_node("Add", ["b", "p"], ["y"], name="/fc/Add"),
            helper.make_node("MatMul", ["x", "w"], ["q"]),
            helper.make_node("Add", ["q", "b_wrong"], ["z"]),
        ],
        [_vi("x", ["N", 3, 4])],
        [_vi("y", ["N", 3, 5]), _vi("z", ["N", 3, 5])],
        [w, b, b_wrong],
    )
    assert fuse_linear(model) == 1
    kinds = [(n.domain, n.op_type) for n in model.graph]
    assert kinds == [(MINDGEN_DOMAIN, "Linear"), ("", "MatMul"), ("", "Add")]
    linear = next(iter(model.graph))
    assert linear.name == "/fc/MatMul"
    assert linear.outputs[0].name == "y" and linear.outputs[0].is_graph_output()
    assert [v.name for v in linear.inputs] == ["x", "w", "b"]


def test_complete_shapes_runs_onnxruntime_for_unknown_shapes_and_keeps_batch_dynamic():
    model = _model(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Flatten", ["r"], ["y"], axis=1)],
        [_vi("x", ["N", 3, 4])],
        [_vi("y", ["N", 12])],
    )
    relu = next(iter(model.graph))
    relu.outputs[0].shape = None
    assert complete_shapes(model) == 1
    assert list(relu.outputs[0].shape) == [None, 3, 4]
    assert [v.name for v in model.graph.outputs] == ["y"]


def test_pipeline_records_node_counts_per_pass():
    model = _model(
        [helper.make_node("Identity", ["x"], ["i"]), helper.make_node("Relu", ["i"], ["y"])],
        [_vi("x", [2])],
        [_vi("y", [2])],
    )
    records = run_passes(model)
    assert [r.name for r in records] == [name for name, _ in PIPELINE]
    identity = next(r for r in records if r.name == "remove_identities")
    assert (identity.nodes_before, identity.nodes_after) == (2, 1)
