"""`convert --update`: re-conversion carries the user's edits of model.py over (libcst 3-way merge)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import libcst as cst
import numpy as np
import onnx
import pytest
from harness import run_network
from onnx import TensorProto, helper, numpy_helper

import mindgen
import mindgen.cli
from mindgen.runtime import load_network

ALPHA = 1.702
USER_IMPORT = "import mindspore.ops as user_ops"


def build_model(seed: int = 0, extra_layer: bool = False) -> onnx.ModelProto:
    """MatMul + Add -> com.mycompany::FusedGelu -> MatMul [-> Relu -> MatMul]."""
    rng = np.random.default_rng(seed)
    weights = {
        "fc1.weight": rng.standard_normal((8, 16)).astype(np.float32) * 0.5,
        "fc1.bias": rng.standard_normal(16).astype(np.float32) * 0.1,
        "fc2.weight": rng.standard_normal((16, 4)).astype(np.float32) * 0.5,
    }
    last = "h" if extra_layer else "y"
    nodes = [
        helper.make_node("MatMul", ["x", "fc1.weight"], ["fc1_mm"], name="/fc1/MatMul"),
        helper.make_node("Add", ["fc1_mm", "fc1.bias"], ["fc1_out"], name="/fc1/Add"),
        helper.make_node(
            "FusedGelu", ["fc1_out"], ["act_out"], name="/act/FusedGelu", domain="com.mycompany", alpha=ALPHA
        ),
        helper.make_node("MatMul", ["act_out", "fc2.weight"], [last], name="/fc2/MatMul"),
    ]
    if extra_layer:
        weights["fc3.weight"] = rng.standard_normal((4, 3)).astype(np.float32) * 0.5
        nodes += [
            helper.make_node("Relu", ["h"], ["h_relu"], name="/act2/Relu"),
            helper.make_node("MatMul", ["h_relu", "fc3.weight"], ["y"], name="/fc3/MatMul"),
        ]
    graph = helper.make_graph(
        nodes,
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3 if extra_layer else 4])],
        [numpy_helper.from_array(value, name) for name, value in weights.items()],
        value_info=[helper.make_tensor_value_info("act_out", TensorProto.FLOAT, ["batch", 16])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.mycompany", 1)]
    return helper.make_model(graph, opset_imports=opsets)


def reference(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """What the model computes, in numpy (FusedGelu(h) = h * sigmoid(1.702 h))."""
    w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    h = x @ w["fc1.weight"] + w["fc1.bias"]
    y = (h / (1.0 + np.exp(-ALPHA * h))) @ w["fc2.weight"]
    return np.maximum(y, 0) @ w["fc3.weight"] if "fc3.weight" in w else y


class _Implement(cst.CSTTransformer):
    """Replaces the body of the FusedGelu placeholder's construct, whatever its parameters are called."""

    def __init__(self, body: str) -> None:
        self.body, self.in_placeholder, self.done = body, False, False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.in_placeholder = "FusedGelu" in node.name.value

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if not (self.in_placeholder and updated.name.value == "construct"):
            return updated
        params = updated.params
        first = f"{params.star_arg.name.value}[0]" if not params.params[1:] else params.params[1].name.value
        self.done = True
        statements = cst.parse_module(self.body.format(first=first)).body
        return updated.with_changes(body=cst.IndentedBlock(body=statements))


def implement_placeholder(model_py: Path, body: str | None = None, helper_code: str = "") -> str:
    """Writes a hand implementation of FusedGelu into model.py (adds an import, maybe a helper)."""
    body = body or "x = {first}\nreturn x * user_ops.sigmoid(1.702 * x)\n"
    transformer = _Implement(body)
    module = cst.parse_module(model_py.read_text()).visit(transformer)
    assert transformer.done, "no FusedGelu placeholder with a construct method in model.py"
    statements = list(module.body)
    last_import = max(i for i, s in enumerate(statements) if _is_import(s))
    statements.insert(last_import + 1, cst.parse_statement(USER_IMPORT + "\n"))
    if helper_code:
        statements[last_import + 2 : last_import + 2] = list(cst.parse_module(helper_code).body)
    text = module.with_changes(body=statements).code
    model_py.write_text(text)
    return text


def _is_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and isinstance(
        statement.body[0], (cst.Import, cst.ImportFrom)
    )


@pytest.fixture
def converted(tmp_path: Path) -> tuple[Path, Path]:
    """A first conversion of the model, with the placeholder implemented by hand."""
    model, out = tmp_path / "net.onnx", tmp_path / "out"
    onnx.save(build_model(), model)
    report = mindgen.convert(model, out)
    assert [u["op_type"] for u in report.unmapped] == ["FusedGelu"]
    implement_placeholder(out / "model.py")
    return model, out


def _check_network(out: Path, model: onnx.ModelProto, modes=("pynative",)) -> None:
    x = np.random.default_rng(7).standard_normal((2, 8)).astype(np.float32)
    network = load_network(out)
    for mode in modes:
        (got,) = run_network(network, {"x": x}, mode)
        np.testing.assert_allclose(got, reference(model, x), atol=1e-5, rtol=1e-5)


def _update_record(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())["update"]


def test_new_weights_keep_the_implementation(converted):
    model, out = converted
    retrained = build_model(seed=1)
    onnx.save(retrained, model)
    report = mindgen.convert(model, out, update=True)
    text = (out / "model.py").read_text()
    assert "user_ops.sigmoid(1.702 * x)" in text and USER_IMPORT in text
    assert report.update["conflicts"] == []
    assert {"unit": f"import: {USER_IMPORT}", "change": "added"} in report.update["carried_over"]
    assert any(
        c["unit"].endswith(".construct") and c["change"] == "edited" for c in report.update["carried_over"]
    )
    assert "## Update: your edits of model.py" in (out / "report.md").read_text()
    _check_network(out, retrained, modes=("pynative", "graph"))


def test_an_added_layer_appears_and_the_implementation_stays(converted):
    model, out = converted
    grown = build_model(seed=2, extra_layer=True)
    onnx.save(grown, model)
    mindgen.convert(model, out, update=True)
    text = (out / "model.py").read_text()
    assert "user_ops.sigmoid(1.702 * x)" in text and "fc3" in text
    assert _update_record(out)["conflicts"] == []
    _check_network(out, grown)
    # The merged file is the user's now: a second update with no change keeps it as it is.
    mindgen.convert(model, out, update=True)
    assert (out / "model.py").read_text() == text
    assert not (out / "model.py.orig").exists()  # merged, not backed up: updates do not pile up copies


def test_a_conflict_writes_mindgens_version_and_keeps_the_users_file(converted):
    model, out = converted
    text = (out / "model.py").read_text().replace("return y", "return y * 1.0  # my tweak")
    assert "# my tweak" in text
    (out / "model.py").write_text(text)
    user_bytes = (out / "model.py").read_bytes()
    grown = build_model(extra_layer=True)
    onnx.save(grown, model)
    result = subprocess.run(
        [sys.executable, "-m", "mindgen", "convert", str(model), "--output", str(out), "--update"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "CONFLICT" in result.stdout
    conflicts = _update_record(out)["conflicts"]
    assert [c["unit"] for c in conflicts] == ["Net.construct"]
    assert (out / "model.py.user").read_bytes() == user_bytes
    merged = (out / "model.py").read_text()
    assert "# my tweak" not in merged and "self.fc3" in merged
    assert "user_ops.sigmoid(1.702 * x)" in merged  # the placeholder did not conflict: still carried over
    assert "Net.construct" in (out / "report.md").read_text()
    _check_network(out, grown)
    mindgen.convert(model, out, update=True)  # no conflict this time: the user's copy stays anyway
    assert (out / "model.py.user").read_bytes() == user_bytes


def test_added_import_and_helper_function_are_carried_over(tmp_path):
    model, out = tmp_path / "net.onnx", tmp_path / "out"
    onnx.save(build_model(), model)
    mindgen.convert(model, out)
    helper_code = "\n\ndef fused_gelu(x):\n    return x * user_ops.sigmoid(1.702 * x)\n"
    implement_placeholder(out / "model.py", body="return fused_gelu({first})\n", helper_code=helper_code)
    retrained = build_model(seed=3)
    onnx.save(retrained, model)
    mindgen.convert(model, out, update=True)
    text = (out / "model.py").read_text()
    assert text.index(USER_IMPORT) < text.index("def fused_gelu") < text.index("class Net")
    carried = {c["unit"]: c["change"] for c in _update_record(out)["carried_over"]}
    assert carried[f"import: {USER_IMPORT}"] == "added" and carried["function fused_gelu"] == "added"
    _check_network(out, retrained)


def test_an_unedited_output_is_simply_regenerated(tmp_path):
    model, out = tmp_path / "net.onnx", tmp_path / "out"
    onnx.save(build_model(), model)
    mindgen.convert(model, out)
    onnx.save(build_model(extra_layer=True), model)
    report = mindgen.convert(model, out, update=True)
    fresh = tmp_path / "fresh"
    mindgen.convert(model, fresh)
    assert (out / "model.py").read_text() == (fresh / "model.py").read_text()
    assert (out / ".mindgen" / "model.py").read_text() == (fresh / "model.py").read_text()
    assert report.update == {"carried_over": [], "conflicts": [], "user_file": None}
    assert {p.name for p in out.iterdir()} == {p.name for p in fresh.iterdir()}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failed_update_leaves_the_output_byte_for_byte(converted, capsys):
    model, out = converted
    before = _snapshot(out)
    model.write_bytes(b"not an onnx file")
    assert mindgen.cli.main(["convert", str(model), "--output", str(out), "--update", "-q"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert _snapshot(out) == before


def test_update_without_a_previous_conversion(tmp_path, capsys):
    model = tmp_path / "net.onnx"
    onnx.save(build_model(), model)
    report = mindgen.convert(model, tmp_path / "new", update=True)  # a new folder: a plain conversion
    assert report.update["carried_over"] == [] and (tmp_path / "new" / "model.py").is_file()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert mindgen.cli.main(["convert", str(model), "--output", str(mine), "--update", "-q"]) == 2
    assert "did not write ('notes.txt')" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_without_the_pristine_copy_the_whole_file_is_a_conflict(converted):
    model, out = converted
    user_bytes = (out / "model.py").read_bytes()
    (out / ".mindgen" / "model.py").unlink()
    (out / ".mindgen").rmdir()
    report = mindgen.convert(model, out, update=True)
    assert [c["unit"] for c in report.update["conflicts"]] == ["model.py (whole file)"]
    assert (out / "model.py.user").read_bytes() == user_bytes
    assert "NotImplementedError" in (out / "model.py").read_text()


BASE = '''"""doc"""

from mindspore import nn


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.fc = nn.Dense(2, 2)

    def construct(self, x):
        return self.fc(x)


def unused():
    return 1
'''


def _merge(user: str, new: str):
    from mindgen.merge import merge_modules, parse

    result = merge_modules(parse(BASE, "base"), parse(user, "user"), parse(new, "new"))
    return result.module.code, result.carried_over, result.conflicts


def test_merge_keeps_a_deletion_and_takes_the_generators_change_elsewhere():
    user = BASE.replace("\n\ndef unused():\n    return 1\n", "")
    new = BASE.replace("nn.Dense(2, 2)", "nn.Dense(2, 3)")
    code, carried, conflicts = _merge(user, new)
    assert "def unused" not in code and "nn.Dense(2, 3)" in code and conflicts == []
    assert carried == [{"unit": "function unused", "change": "deleted"}]


def test_merge_reports_what_it_will_not_guess():
    user = BASE.replace("return 1", "return 2").replace("nn.Dense(2, 2)", "nn.Dense(2, 5)")
    new = BASE.replace("\n\ndef unused():\n    return 1\n", "").replace("nn.Dense(2, 2)", "nn.Dense(2, 3)")
    code, _, conflicts = _merge(user, new)
    assert [c["unit"] for c in conflicts] == ["Net.__init__", "function unused"]
    assert "nn.Dense(2, 3)" in code and "def unused" not in code  # the generator's side, every time


def test_merge_carries_a_changed_class_header_and_refuses_a_file_that_does_not_parse():
    from mindgen.merge import MergeRefused, parse

    code, carried, _ = _merge(BASE.replace("class Net(nn.Cell):", "@my_decorator\nclass Net(nn.Cell):"), BASE)
    assert "@my_decorator\nclass Net" in code and {"unit": "class Net header", "change": "edited"} in carried
    with pytest.raises(MergeRefused, match="model.py does not parse"):
        parse("def broken(:\n", "model.py")


def test_merge_places_an_added_method_after_its_neighbour_in_the_class():
    user = BASE.replace(
        "    def construct(self, x):",
        "    def extra(self, x):\n        return x\n\n    def construct(self, x):",
    )
    new = BASE.replace("nn.Dense(2, 2)", "nn.Dense(2, 3)")
    code, carried, conflicts = _merge(user, new)
    assert code.index("def __init__") < code.index("def extra") < code.index("def construct")
    assert carried == [{"unit": "Net.extra", "change": "added"}] and conflicts == []
