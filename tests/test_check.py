"""Finishing by hand: placeholders made for it, and `mindgen check` as the unit test of each one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from harness import run_network
from onnx import TensorProto, helper, numpy_helper

import mindgen
from mindgen.cli import main
from mindgen.runtime import load_network
from mindgen.targets.mindspore.registry import Registry, default_registry
from mindgen.verify.check import run_check

REPO = Path(__file__).resolve().parents[1]
ALPHA = 1.702

REFERENCES = """
import numpy as np


def FusedGelu(x, *, alpha=None, approximate=None):
    return x / (1 + np.exp(-(1.702 if alpha is None else alpha) * x))
"""
RIGHT = """    def construct(self, h0):
        alpha = 1.702 if self.alpha is None else self.alpha
        return h0 * mops.sigmoid(alpha * h0)
"""
WRONG = """    def construct(self, h0):
        return h0 * mops.sigmoid(h0)
"""


def _weights() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal((8, 8)).astype(np.float32) / np.sqrt(8) for _ in range(2)]


def _gelu_model() -> onnx.ModelProto:
    """Two blocks of MatMul and the custom com.mycompany::FusedGelu (x * sigmoid(1.702 x))."""
    w0, w1 = _weights()
    nodes = [
        helper.make_node("MatMul", ["x", "w0"], ["h0"], name="/blocks.0/fc/MatMul"),
        helper.make_node("FusedGelu", ["h0"], ["g0"], name="/blocks.0/act/FusedGelu", domain="com.mycompany"),
        helper.make_node("MatMul", ["g0", "w1"], ["h1"], name="/blocks.1/fc/MatMul"),
        helper.make_node(
            "FusedGelu",
            ["h1"],
            ["y"],
            name="/blocks.1/act/FusedGelu",
            domain="com.mycompany",
            alpha=ALPHA,
            approximate="none",
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "gelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])],
        [numpy_helper.from_array(w0, "w0"), numpy_helper.from_array(w1, "w1")],
        value_info=[
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 8]) for name in ("h0", "g0", "h1")
        ],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.mycompany", 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gelu")
    onnx.save(_gelu_model(), folder / "gelu.onnx")
    mindgen.convert(folder / "gelu.onnx", folder / "out")
    (folder / "refs.py").write_text(REFERENCES)
    return folder / "out"


@pytest.fixture
def converted(pristine, tmp_path) -> Path:
    """A fresh copy of the conversion for each test to edit (report.json names the source absolutely)."""
    shutil.copytree(pristine, tmp_path / "out")
    shutil.copy(pristine.parent / "refs.py", tmp_path / "refs.py")
    return tmp_path / "out"


def _implement(out: Path, class_name: str, construct: str) -> None:
    """Replaces the construct method of one placeholder class, as a user edits model.py."""
    path = out / "model.py"
    text = path.read_text()
    start = text.index(f"class {class_name}(nn.Cell):")
    method = text.index("    def construct(", start)
    end = text.index("\n\n\n", method)
    text = text[:method] + construct.rstrip("\n") + text[end:]
    if "import mindspore.ops as mops" not in text:
        text = text.replace("from mindspore import", "import mindspore.ops as mops\nfrom mindspore import", 1)
    path.write_text(text)


def _sigmoid_gelu(x: np.ndarray) -> np.ndarray:
    return x / (1 + np.exp(-ALPHA * x))


def test_custom_op_becomes_a_placeholder_made_for_finishing(converted):
    code = (converted / "model.py").read_text()
    report = json.loads((converted / "report.json").read_text())
    (cls,) = re.findall(r"class (Unmapped\w+)\(nn.Cell\)", code)
    assert cls == "UnmappedFusedGelu"
    block = code[
        code.index("class UnmappedFusedGelu") : code.index("\n\n\nclass ", code.index("class Unmapped"))
    ]
    # Attributes by name, the union over both nodes; named inputs; shapes and dtypes as seen.
    assert "def __init__(self, alpha=None, approximate=None):" in block
    assert "self.alpha = alpha" in block and "self.approximate = approximate" in block
    assert "def construct(self, h0):" in block
    assert "com.mycompany::FusedGelu, which mindgen could not map" in block
    assert block.count("h0: float32 (N, 8) -> float32 (N, 8)") == 3  # two docstring lines, the error
    assert "Attributes: alpha (float), approximate (str)." in block
    assert "raise NotImplementedError(" in block
    assert "UnmappedFusedGelu()" in code and 'UnmappedFusedGelu(alpha=1.702, approximate="none")' in code
    entries = report["unmapped"]
    assert [e["class_name"] for e in entries] == ["UnmappedFusedGelu"] * 2
    assert [e["input_dtypes"] for e in entries] == [["float32"]] * 2
    assert [e["output_dtypes"] for e in entries] == [["float32"]] * 2
    assert [e["input_shapes"] for e in entries] == [[["N", 8]]] * 2
    assert entries[1]["attributes"] == {"alpha": pytest.approx(ALPHA), "approximate": "none"}
    for entry in entries:
        assert f"  {entry['identifier']}  h0: float32" in block  # the docstring names each instance
    network = load_network(converted)
    with pytest.raises(NotImplementedError, match=r"FusedGelu.*h0: float32 \(N, 8\)"):
        run_network(network, {"x": np.ones((2, 8), np.float32)}, "pynative")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "mindgen", "check", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_check_lists_unfinished_placeholders_and_exits_1(converted):
    completed = _cli(str(converted))
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.count("unfinished") >= 2
    assert "Unfinished: UnmappedFusedGelu" in completed.stdout
    assert "2 of 2 placeholder(s) not finished" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_hand_implementation_passes_check_and_the_network_matches(converted):
    refs = converted.parent / "refs.py"
    # Without a reference onnxruntime cannot run a custom domain: no verdict, exit 1.
    _implement(converted, "UnmappedFusedGelu", RIGHT)
    result = run_check(converted)
    assert [c.status for c in result.checks] == ["no reference"] * 2
    assert "--reference" in result.checks[0].detail
    result = run_check(converted, reference=refs, samples=3)
    assert [c.status for c in result.checks] == ["ok", "ok"], result.table()
    assert all(c.max_abs_error is not None and c.max_abs_error < 1e-5 for c in result.checks)
    completed = _cli(str(converted), "--reference", str(refs))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "All 2 placeholder(s) implemented and matching" in completed.stdout
    # The finished network computes the model: numpy on the same weights.
    x = np.random.default_rng(5).standard_normal((3, 8)).astype(np.float32)
    w0, w1 = _weights()
    want = _sigmoid_gelu(_sigmoid_gelu(x @ w0) @ w1)
    for mode in ("pynative", "graph"):
        (got,) = run_network(load_network(converted), {"x": x}, mode)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_wrong_implementation_fails_check_with_the_error(converted):
    _implement(converted, "UnmappedFusedGelu", WRONG)
    result = run_check(converted, reference=converted.parent / "refs.py")
    assert [c.status for c in result.checks] == ["MISMATCH"] * 2
    assert all(c.max_abs_error > 1e-2 for c in result.checks)
    table = result.table()
    assert "MISMATCH" in table and "max abs error" in table and "exceeds rtol 1e-4, atol 1e-5" in table
    _implement(
        converted, "UnmappedFusedGelu", "    def construct(self, h0):\n        return h0.no_such_method()\n"
    )
    result = run_check(converted, reference=converted.parent / "refs.py")
    assert [c.status for c in result.checks] == ["raises"] * 2
    assert "AttributeError" in result.checks[0].detail


def test_standard_op_left_unmapped_is_checked_against_onnxruntime(tmp_path):
    registry = Registry()
    for entry in default_registry().entries():
        if entry.op_type != "Softsign":
            registry.add(entry)
    graph = helper.make_graph(
        [helper.make_node("Softsign", ["x"], ["s"], name="soft"), helper.make_node("Relu", ["s"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, tmp_path / "m.onnx")
    mindgen.convert(tmp_path / "m.onnx", tmp_path / "out", registry=registry)
    assert "class UnmappedSoftsign(nn.Cell)" in (tmp_path / "out" / "model.py").read_text()
    assert [c.status for c in run_check(tmp_path / "out").checks] == ["unfinished"]
    construct = "    def construct(self, x):\n        return x / (1 + mops.abs(x))\n"
    _implement(tmp_path / "out", "UnmappedSoftsign", construct)
    (check,) = run_check(tmp_path / "out", samples=2).checks
    assert check.status == "ok" and check.max_abs_error < 1e-6
    _implement(
        tmp_path / "out", "UnmappedSoftsign", "    def construct(self, x):\n        return x / (1 + x)\n"
    )
    (check,) = run_check(tmp_path / "out").checks
    assert check.status == "MISMATCH" and check.op == "ai.onnx::Softsign"


def test_check_bad_input_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing")]) == 2
    assert "output directory not found" in capsys.readouterr().err
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.json").write_text(json.dumps(_fake_report(tmp_path / "gone.onnx")))
    assert main(["check", str(tmp_path / "out")]) == 2
    assert "--model FILE" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "out"), "--samples", "x"]) == 2


def _fake_report(source: Path) -> dict:
    unmapped = [
        {"node": "n", "op_type": "Foo", "domain": "d", "identifier": "foo", "class_name": "UnmappedFoo"}
    ]
    return {
        "network_class": "Net",
        "checkpoint": "model.ckpt",
        "inputs": [],
        "outputs": [],
        "nodes": [],
        "summary": {"unmapped": 1},
        "source": {"path": str(source)},
        "unmapped": unmapped,
    }
