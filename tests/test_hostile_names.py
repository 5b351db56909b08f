"""Names from the model never become code: hostile names convert into safe, working, honest output."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from harness import run_onnxruntime
from onnx import TensorProto, helper, numpy_helper

import mindgen
from mindgen.codegen.naming import CELL_ATTRIBUTES
from mindgen.inspect import describe_model

REPO = Path(__file__).resolve().parents[1]
PAYLOAD = "__import__('os').system('touch PWNED')"

# Cell attribute names sit where they name a layer (i % 4 == 0) or a frozen buffer (i % 4 == 2).
HOSTILE = [
    "training",
    'dq"uote',
    "cells!",
    "sq'uote",
    "construct",
    "x:0",
    "to",
    '"""triple"""',
    "'''triple'''",
    "back\\slash\\",
    "new\nline",
    "cr\rlf\x00nul",
    "# hash",
    "{{ jinja }}",
    "{% if x %}{% endif %}",
    "<script>alert(1)</script>",
    PAYLOAD,
    '"); ' + PAYLOAD + " #",
    "class",
    "def",
    "lambda",
    "None",
    "input",
    "print",
    "self",
    "ms",
    "ops",
    "Ⅹ",  # Roman numeral ten, NFKD-folds to X
    "аdd",  # Cyrillic a
    "x\u202egnp.exe",  # right-to-left override
    "\u200fmark",  # right-to-left mark
    "中文",
    "x" * 10_000,
    "a.b",
    "a_b",
    "a-b",
    "1abc",
    "123",
    "_",
]
WIDTH = 6


def _mapped_model() -> onnx.ModelProto:
    """A chain of Dense, Add, Mul and Sigmoid where every name is hostile and outputs tap it often."""
    rng = np.random.default_rng(0)
    first, second = PAYLOAD + '\n"""', "class"
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", WIDTH]) for n in (first, second)]
    nodes, weights, outputs, current = [], [], [], first
    for i, name in enumerate(HOSTILE):
        value = name if name not in (first, second) else name + "'"
        weight = f"{name}.weight"
        kind = i % 4
        if kind == 0:
            array = rng.standard_normal((WIDTH, WIDTH)).astype(np.float32) / np.sqrt(WIDTH)
            weights.append(numpy_helper.from_array(array, weight))
            nodes.append(helper.make_node("MatMul", [current, weight], [value], name=f"{name}/MatMul"))
        elif kind == 1:
            nodes.append(helper.make_node("Add", [current, second], [value], name=name, doc_string=name))
        elif kind == 2:
            weight = f"{name}!"  # sanitises to the bare name: 'cells!!' -> cells
            weights.append(numpy_helper.from_array(rng.uniform(0.5, 1.5, WIDTH).astype(np.float32), weight))
            # Node names collide after sanitising ('a.b', 'a_b', 'a-b'); ORT wants them distinct.
            nodes.append(helper.make_node("Mul", [weight, current], [value], name=HOSTILE[-1 - i]))
        else:
            nodes.append(helper.make_node("Sigmoid", [current], [value], name=""))
        current = value
        if i % 7 == 3:
            outputs.append(value)
    outputs.append(current)
    graph = helper.make_graph(
        nodes,
        '"""graph"""\n{{ name }}<script>',
        inputs,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", WIDTH]) for n in outputs],
        weights,
        doc_string='doc """ \\ \n{% raw %}' + PAYLOAD,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        ir_version=8,
        producer_name='evil"""\n<script>',
        doc_string="'''" + PAYLOAD,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


HOSTILE_DOMAIN = 'com.evil"\n#{{ x }}'
HOSTILE_OPS = ['Bad"""Op\n#{{ x }}<script>', PAYLOAD, "class", "1x", "a.b", "Unmapped_class"]


def _custom_op_model() -> onnx.ModelProto:
    """A chain of custom-domain ops (placeholders) with hostile op types, names and attribute values."""
    x = helper.make_tensor_value_info("in\"put'", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("out\nput", TensorProto.FLOAT, [2, 3])
    nodes, current = [], x.name
    for i, op_type in enumerate(HOSTILE_OPS):
        out = y.name if i == len(HOSTILE_OPS) - 1 else f"{HOSTILE[i]}:{i}"
        attrs = {
            "mode": 'va"l\n{{ x }}' + PAYLOAD,
            "axes": [1, -1],
            "alpha": 0.5,
            "tags": ["<script>", "'''"],
        }
        nodes.append(
            helper.make_node(op_type, [current], [out], name=HOSTILE[-1 - i], domain=HOSTILE_DOMAIN, **attrs)
        )
        current = out
    graph = helper.make_graph(nodes, "g", [x], [y])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(HOSTILE_DOMAIN, 1)]
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    onnx.checker.check_model(model)
    return model


RUNNER = """
import sys
import mindspore as ms
import numpy as np
from mindgen.runtime import load_network

ms.set_device("CPU")
out_dir, feeds_file, results_file = sys.argv[1:]
network = load_network(out_dir)
feeds = np.load(feeds_file)
if results_file == "-":
    try:
        network(*[ms.Tensor(feeds[k]) for k in sorted(feeds.files)])
    except NotImplementedError as error:
        print("placeholder:", error)
    sys.exit(0)
results = {}
for mode in ("pynative", "graph"):
    ms.set_context(mode=ms.PYNATIVE_MODE if mode == "pynative" else ms.GRAPH_MODE)
    outputs = network(*[ms.Tensor(feeds[k]) for k in sorted(feeds.files)])
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    results.update({f"{mode}_{i}": o.asnumpy() for i, o in enumerate(outputs)})
np.savez(results_file, **results)
"""


def _run_generated(out: Path, feeds: list[np.ndarray], tmp_path: Path, run: bool) -> dict[str, np.ndarray]:
    """Imports, loads and runs model.py in a fresh interpreter whose cwd is an empty folder."""
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    np.savez(tmp_path / "feeds.npz", **{f"x{i:02d}": f for i, f in enumerate(feeds)})
    (tmp_path / "runner.py").write_text(RUNNER)
    results = tmp_path / "results.npz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "runner.py"),
            str(out),
            str(tmp_path / "feeds.npz"),
            str(results) if run else "-",
        ],
        cwd=sandbox,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert not any(p.name == "PWNED" for p in sandbox.rglob("*"))
    if not run:
        assert "placeholder:" in completed.stdout
        return {}
    with np.load(results) as data:
        return {k: data[k] for k in data.files}


def _check_code(out: Path) -> str:
    """model.py parses, compiles and passes ruff's undefined/unused-name checks."""
    source = (out / "model.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    members = {
        target.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    }
    assert not members & CELL_ATTRIBUTES, members & CELL_ATTRIBUTES
    # The payload may sit in string literals and comments, never in code.
    assert not any(isinstance(n, ast.Name) and n.id == "__import__" for n in ast.walk(tree))
    assert not any(isinstance(n, ast.Attribute) and n.attr == "system" for n in ast.walk(tree))
    compile(source, str(out / "model.py"), "exec")  # also catches what only the compiler sees
    lint = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "F,E9",
            str(out / "model.py"),
        ],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    return source


def _check_markdown(out: Path) -> None:
    """No raw HTML, and every table row stays on one line."""
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in text
    lines = text.splitlines()
    for previous, line in zip(lines, lines[1:], strict=False):
        if previous.startswith("|") and line:
            assert line.startswith("|") and line.endswith("|"), line[:200]


def _convert(model: onnx.ModelProto, tmp_path: Path, file_name: str) -> tuple[Path, dict]:
    path = tmp_path / file_name
    onnx.save(model, path)
    out = tmp_path / "out"
    mindgen.convert(path, out)
    return out, json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_hostile_names_in_a_mapped_model(tmp_path):
    model = _mapped_model()
    out, report = _convert(model, tmp_path, f'{PAYLOAD} "é\u202e.onnx')
    assert report["summary"]["unmapped"] == 0
    source = _check_code(out)
    assert f"class {report['network_class']}(nn.Cell)" in source

    feeds = {
        v.name: np.random.default_rng(1).standard_normal((3, WIDTH)).astype(np.float32)
        for v in model.graph.input
    }
    expected = run_onnxruntime(model, feeds)
    actual = _run_generated(out, list(feeds.values()), tmp_path, run=True)
    assert len(actual) == 2 * len(expected)  # distinct identifiers: every output is its own tensor
    for mode in ("pynative", "graph"):
        for i, want in enumerate(expected):
            np.testing.assert_allclose(actual[f"{mode}_{i}"], want, atol=1e-5, rtol=0, err_msg=f"{mode} {i}")

    _check_markdown(out)
    # report.json and weight_map.json keep every name exactly as the model spells it.
    assert [t["name"] for t in report["inputs"]] == [v.name for v in model.graph.input]
    assert [t["name"] for t in report["outputs"]] == [v.name for v in model.graph.output]
    weight_map = json.loads((out / "weight_map.json").read_text(encoding="utf-8"))
    sources = sorted(name for e in weight_map for name in [e["source_weight"]["name"]])
    assert sources == sorted(t.name for t in model.graph.initializer)
    assert report["source"]["producer"] == 'evil"""\n<script>'
    assert not any(p.name == "PWNED" for p in tmp_path.rglob("*"))


def test_hostile_custom_op_types_become_safe_placeholders(tmp_path):
    model = _custom_op_model()
    out, report = _convert(model, tmp_path, "custom.onnx")
    assert report["summary"]["unmapped"] == len(HOSTILE_OPS)
    _check_code(out)
    _run_generated(out, [np.zeros((2, 3), np.float32)], tmp_path, run=False)
    _check_markdown(out)
    assert [u["op_type"] for u in report["unmapped"]] == HOSTILE_OPS
    assert {u["domain"] for u in report["unmapped"]} == {HOSTILE_DOMAIN}
    assert [u["node"] for u in report["unmapped"]] == [n.name for n in model.graph.node]
    assert report["unmapped"][0]["attributes"]["mode"] == 'va"l\n{{ x }}' + PAYLOAD
    assert [t["name"] for t in report["outputs"]] == ["out\nput"]
    assert not any(p.name == "PWNED" for p in tmp_path.rglob("*"))


def test_inspect_prints_hostile_names_on_one_line_each(tmp_path):
    model = _custom_op_model()
    onnx.save(model, tmp_path / "custom.onnx")
    text = describe_model(tmp_path / "custom.onnx")
    lines = text.splitlines()
    # 4 header lines, inputs:, 1 input, outputs:, 1 output, histogram title, op types, verdict.
    assert len(lines) == 4 + 2 + 2 + 1 + len(HOSTILE_OPS) + 1
    assert "'in\"put\\''" in text and "'out\\nput'" in text


def _placeholder_model(attributes: dict[str, object], op_type: str = "Foo") -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    node = helper.make_node(op_type, ["x"], ["y"], domain="com.example", **attributes)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    return helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=opsets, ir_version=8)


def test_plain_placeholder_constructs(tmp_path):
    out, _ = _convert(_placeholder_model({"alpha": 1, "attributes": 2}), tmp_path, "m.onnx")
    _check_code(out)
    _run_generated(out, [np.zeros((2, 3), np.float32)], tmp_path, run=False)


@pytest.mark.parametrize(
    "attributes",
    [{"self": 1}, {"class": 1}, {"a.b": 1, "a_b": 2}, {"input_shape": 1, "attr_input_shape": 2}],
    ids=["self", "class", "a.b+a_b", "input_shape+attr_input_shape"],
)
def test_hostile_attribute_names_on_placeholders(attributes, tmp_path):
    out, _ = _convert(_placeholder_model(attributes), tmp_path, "m.onnx")
    _check_code(out)
    _run_generated(out, [np.zeros((2, 3), np.float32)], tmp_path, run=False)


def test_network_class_never_shadows_a_placeholder_class(tmp_path):
    out, _ = _convert(_placeholder_model({}), tmp_path, "unmapped_foo.onnx")
    _check_code(out)


def test_hostile_symbolic_dimension_names_in_report(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N\n<script>|", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N\n<script>|", 3])
    model = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
        opset_imports=[helper.make_opsetid("", 17)],
        ir_version=8,
    )
    out, report = _convert(model, tmp_path, "m.onnx")
    assert report["inputs"][0]["shape"] == ["N\n<script>|", 3]
    _check_markdown(out)
