"""The parts of `mindgen verify` that need no MindSpore: error figures, inputs, report sections."""

from __future__ import annotations

import json

import numpy as np
import onnx_ir as ir
import pytest
from onnx import TensorProto, helper

from mindgen.cli import build_parser
from mindgen.errors import InputError
from mindgen.verify.compare import OutputStats, Tolerance, cosine, short_number, tolerance_for
from mindgen.verify.inputs import InputSpec, concrete_shapes, index_bounds, load_batch, random_batch
from mindgen.verify.record import MARKER, markdown_section, write_verification


def _stats(**tolerance) -> OutputStats:
    return OutputStats("y", "pynative", Tolerance(tolerance.get("rtol", 1e-4), tolerance.get("atol", 1e-5)))


def test_error_figures_of_one_batch():
    want = np.array([[1.0, -2.0, 4.0], [0.5, 0.0, 3.0]], np.float32)
    got = want + np.array([[1e-6, 0, 0], [0, 2e-6, -4e-3]], np.float32)
    stats = _stats()
    stats.add(got, want)
    assert stats.max_abs_error == pytest.approx(4e-3, rel=1e-3)
    # Relative error skips the zero reference (atol governs there): 4e-3 / 3.
    assert stats.max_rel_error == pytest.approx(4e-3 / 3, rel=1e-3)
    assert stats.mean_abs_error == pytest.approx((1e-6 + 2e-6 + 4e-3) / 6, rel=1e-3)
    assert 0.999 < stats.cosine_similarity <= 1.0
    assert stats.top1_agreement == 1.0 and stats.top5_agreement is None  # 3 classes: no top-5
    assert not stats.passed  # 4e-3 > 1e-5 + 1e-4 * 3


def test_top_k_agreement_accumulates_over_batches():
    stats = _stats(rtol=1.0, atol=1.0)
    want = np.tile(np.arange(8, dtype=np.float32), (4, 1))
    swapped = want.copy()
    swapped[0] = swapped[0, ::-1]  # row 0 ranks every class the other way round
    stats.add(want, want)
    stats.add(swapped, want)
    assert stats.top1_agreement == pytest.approx(7 / 8)
    assert stats.top5_agreement is not None and stats.top5_agreement < 1.0


@pytest.mark.parametrize(
    ("got", "want", "problem"),
    [
        (np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32), "shape (2, 3)"),
        (np.zeros(3, np.int32), np.zeros(3, np.int64), "dtype int32"),
        (np.array([np.nan, 1], np.float32), np.array([0, 1], np.float32), "NaN in one result only"),
    ],
)
def test_structural_differences_fail(got, want, problem):
    stats = _stats()
    stats.add(got, want)
    assert not stats.passed and any(problem in p for p in stats.problems)


def test_nan_in_both_places_is_a_match():
    stats = _stats()
    value = np.array([np.nan, 1.0], np.float32)
    stats.add(value, value.copy())
    assert stats.passed and stats.max_abs_error == 0.0


def test_cosine_of_zero_vectors_and_half_precision_defaults():
    assert cosine(np.zeros(3), np.zeros(3)) == 1.0 and cosine(np.zeros(3), np.ones(3)) == 0.0
    assert tolerance_for(np.dtype(np.float16), None, None) == Tolerance(1e-3, 1e-3)
    assert tolerance_for(np.dtype(np.float32), None, 0.5) == Tolerance(1e-4, 0.5)


def _gather_graph() -> ir.Graph:
    nodes = [
        helper.make_node("Cast", ["ids"], ["ids64"], to=TensorProto.INT64),
        helper.make_node("Gather", ["table", "ids64"], ["emb"], axis=0),
        helper.make_node("Add", ["emb", "mask"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT32, ["N", 4]),
            helper.make_tensor_value_info("mask", TensorProto.INT64, ["N", 4, 1]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        [helper.make_tensor("table", TensorProto.FLOAT, [30, 1], np.zeros(30, np.float32))],
    )
    return ir.serde.deserialize_graph(graph)


def test_token_ids_stay_inside_the_table_they_index():
    bounds = index_bounds(_gather_graph())
    assert bounds == {"ids": 30}
    specs = [
        InputSpec("ids", ("N", 4), np.dtype(np.int32)),
        InputSpec("mask", ("N", 4, 1), np.dtype(np.int64)),
    ]
    shapes = concrete_shapes(specs, None)
    assert shapes == [(1, 4), (1, 4, 1)]
    batches = [random_batch(specs, [(64, 4), (64, 4, 1)], bounds, 0, i) for i in range(2)]
    ids = batches[0]["ids"]
    assert ids.dtype == np.int32 and ids.min() >= 0 and ids.max() < 30 and ids.max() > 1
    assert set(np.unique(batches[0]["mask"])) <= {0, 1}
    assert not np.array_equal(batches[0]["ids"], batches[1]["ids"])  # one seed, distinct samples
    again = random_batch(specs, [(64, 4), (64, 4, 1)], bounds, 0, 0)
    assert np.array_equal(again["ids"], ids)


def test_loading_inputs(tmp_path):
    specs = [InputSpec("a:0", ("N", 2), np.dtype(np.float32)), InputSpec("b", (3,), np.dtype(np.int64))]
    np.savez(tmp_path / "named.npz", **{"a:0": np.ones((5, 2)), "b": np.arange(3)})
    batch, notes = load_batch(tmp_path / "named.npz", specs)
    assert batch["a:0"].dtype == np.float32 and batch["a:0"].shape == (5, 2) and notes
    np.savez(tmp_path / "positional.npz", np.ones((1, 2), np.float32), np.arange(3))
    assert load_batch(tmp_path / "positional.npz", specs)[0]["b"].tolist() == [0, 1, 2]
    np.savez(tmp_path / "shape.npz", **{"a:0": np.ones((5, 3), np.float32), "b": np.arange(3)})
    with pytest.raises(InputError, match="fixes"):
        load_batch(tmp_path / "shape.npz", specs)
    np.savez(tmp_path / "kind.npz", **{"a:0": np.ones((5, 2), np.float32), "b": np.ones(3)})
    with pytest.raises(InputError, match="is float64"):
        load_batch(tmp_path / "kind.npz", specs)
    np.save(tmp_path / "one.npy", np.ones((1, 2)))
    with pytest.raises(InputError, match="use a .npz"):
        load_batch(tmp_path / "one.npy", specs)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read"):
        load_batch(tmp_path / "junk.npz", specs)


def _record(passed: bool) -> dict:
    output = {
        "name": "y|1",
        "mode": "graph",
        "max_abs_error": 1e-7,
        "max_rel_error": 2e-7,
        "mean_abs_error": 1e-8,
        "cosine_similarity": 1.0,
        "top1_agreement": None,
        "top5_agreement": None,
        "passed": passed,
        "problems": [],
    }
    return {
        "passed": passed,
        "reference_text": "onnxruntime 1.0 on the source file",
        "inputs": {"text": "1 random batch"},
        "tolerance": {"rtol": 1e-4, "atol": 1e-5},
        "outputs": [output],
        "notes": [],
        "failures": [],
        "locate": None,
        "export_mindir": None,
        "train_step": None,
    }


def test_report_section_is_replaced_not_repeated(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"network_class": "Net"}))
    (tmp_path / "report.md").write_text("# Conversion report\n\nbody\n")
    write_verification(tmp_path, _record(False))
    write_verification(tmp_path, _record(True))
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith("# Conversion report\n\nbody\n\n" + MARKER)
    assert markdown.count(MARKER) == 1 and "**Passed**" in markdown and "y\\|1" in markdown
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["network_class"] == "Net" and data["verification"]["passed"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]
    assert "| y\\|1 | graph | 1.00e-07 |" in markdown_section(_record(True))


def test_report_rows_match_unnamed_nodes_by_position(tmp_path):
    import onnx
    from model_zoo import softmax_opset9

    import mindgen
    from mindgen.verify.source import report_nodes

    # The opset upgrade adds nameless Flatten/Reshape nodes around the Softmax (and a pruned Shape).
    path = tmp_path / "softmax.onnx"
    onnx.save(softmax_opset9(), path)
    report = mindgen.convert(path, tmp_path / "out").to_json()
    _, nodes = report_nodes(path, report)
    rows = report["nodes"]
    assert [r["node"] for r in rows].count("") == 2
    assert [(n.name, n.op_type) for n in nodes] == [(r["node"], r["op_type"]) for r in rows]
    assert nodes[-1].outputs[0].name == "output" and nodes[0].op_type == "Flatten"


def test_tolerances_read_as_written_and_verify_is_a_command():
    assert [short_number(v) for v in (1e-5, 1e-4, 3e-6, 0.5, 0.0, 1.5e-5)] == [
        "1e-5",
        "1e-4",
        "3e-6",
        "0.5",
        "0",
        "1.5e-05",
    ]
    args = build_parser().parse_args(["verify", "m.onnx", "out", "--locate", "--export-mindir"])
    assert args.locate and args.export_mindir is True and args.mode == "both"
    args = build_parser().parse_args(["convert", "m.onnx", "--verify", "--flat"])
    assert args.verify and args.flat
