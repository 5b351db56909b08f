"""User mappings: --mappings files and mindgen.mappings entry points, per conversion."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
from harness import run_network
from onnx import TensorProto, helper

import mindgen
from mindgen.cli import main
from mindgen.runtime import load_network
from mindgen.targets.mindspore.registry import (
    DuplicateMapperError,
    Registry,
    default_registry,
    register,
    registering_into,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom_op"
MAPPING = EXAMPLE / "fused_gelu_mapping.py"


def _example_module():
    spec = importlib.util.spec_from_file_location("custom_op_build_model", EXAMPLE / "build_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLE_MODEL = _example_module()


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    path = tmp_path / "fused_gelu_net.onnx"
    onnx.save(EXAMPLE_MODEL.build_model(), path)
    return path


def _report(output: Path) -> dict:
    return json.loads((output / "report.json").read_text())


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_custom_domain_op_converts_through_mappings_and_matches_numpy(model_path, tmp_path):
    output = tmp_path / "out"
    report = mindgen.convert(model_path, output, mappings=[MAPPING])
    assert report.summary["unmapped"] == 0
    assert "ops.sigmoid(1.702 * out)" in (output / "model.py").read_text()
    saved = _report(output)
    assert saved["mappings"] == [
        {
            "kind": "file",
            "source": str(MAPPING),
            "name": "fused_gelu_mapping.py",
            "ops": ["com.mycompany::FusedGelu since 1"],
            "nodes": ["/act/FusedGelu"],
        }
    ]
    row = next(r for r in saved["nodes"] if r["op_type"] == "FusedGelu")
    assert row["mapper"] == "map_fused_gelu from fused_gelu_mapping.py"
    assert "## Custom mappings" in (output / "report.md").read_text()

    network = load_network(output)
    x = np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32)
    want = EXAMPLE_MODEL.reference(onnx.load(model_path), x)
    for mode in ("pynative", "graph"):
        (got,) = run_network(network, {"x": x}, mode)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5, err_msg=mode)


def test_user_mappings_do_not_leak_into_later_conversions(model_path, tmp_path):
    mindgen.convert(model_path, tmp_path / "with", mappings=[MAPPING])
    report = mindgen.convert(model_path, tmp_path / "without")
    assert report.summary["unmapped"] == 1
    assert [(u["op_type"], u["domain"]) for u in report.unmapped] == [("FusedGelu", "com.mycompany")]
    assert report.mappings == []
    assert default_registry().lookup("FusedGelu", "com.mycompany", 1) is None
    # And the file is loaded afresh each time, so the third conversion maps it again.
    assert mindgen.convert(model_path, tmp_path / "again", mappings=[MAPPING]).summary["unmapped"] == 0


def test_the_opset_the_model_imports_selects_the_version(model_path, tmp_path):
    mapping = _write(
        tmp_path / "newer.py",
        """
        from mindgen.targets.mindspore.emission import call, expression
        from mindgen.targets.mindspore.registry import register

        @register("FusedGelu", domain="com.mycompany", since=2)
        def map_fused_gelu_v2(ctx):
            return expression(call("ops.gelu", ctx.ref(0)))
        """,
    )
    report = mindgen.convert(model_path, tmp_path / "out", mappings=[mapping])
    assert report.summary["unmapped"] == 1  # the model imports com.mycompany version 1
    assert "at opset 1" in report.unmapped[0]["reason"]


def test_an_old_opset_model_with_the_custom_domain_is_upgraded_and_mapped(tmp_path):
    model = EXAMPLE_MODEL.build_model()
    model.opset_import[0].version = 11  # MatMul/Add are the same at 11; the loader upgrades to 17
    path = tmp_path / "old.onnx"
    onnx.save(model, path)
    report = mindgen.convert(path, tmp_path / "out", mappings=[MAPPING])
    assert (report.source["source_opset"], report.source["opset"]) == (11, 17)
    assert report.summary["unmapped"] == 0 and report.warnings == []


BAD_FILES = {
    "missing": (None, "mappings file not found"),
    "syntax": ("def broken(:\n", "syntax error at line 1"),
    "raises": (
        "import math\n\nraise RuntimeError('no licence for FusedGelu')\n",
        "at line 3: RuntimeError: no licence",
    ),
    "imports_missing": ("import mycompany_secret_kernels\n", "ModuleNotFoundError"),
    "empty": ("X = 1\n", "registers no mapper"),
    "exits": ("import sys\nsys.exit(1)\n", "SystemExit"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_mappings_file_is_one_error_line_and_writes_nothing(case, model_path, tmp_path, capsys):
    text, words = BAD_FILES[case]
    mapping = tmp_path / "my_ops.py"
    if text is not None:
        mapping.write_text(text)
    output = tmp_path / "out"
    assert main(["convert", str(model_path), "--output", str(output), "--mappings", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mindgen: error: "), err
    assert words in err and "Traceback" not in err
    assert not output.exists()


def test_a_mapper_that_fails_on_a_node_is_the_users_error(model_path, tmp_path, capsys):
    mapping = _write(
        tmp_path / "buggy.py",
        """
        from mindgen.targets.mindspore.registry import register

        @register("FusedGelu", domain="com.mycompany", since=1)
        def map_fused_gelu(ctx):
            return ctx.no_such_method()
        """,
    )
    output = tmp_path / "out"
    assert main(["convert", str(model_path), "--output", str(output), "--mappings", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert "mapper map_fused_gelu from buggy.py failed on node '/act/FusedGelu': AttributeError" in err
    assert err.count("\n") == 1 and not output.exists()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('expression(call("opps.sigmoid", ctx.ref(0)))', "uses 'opps.sigmoid', but model.py imports only"),
        (
            'expression(call("ops.sigmoid", ctx.ref(0)), imports=["x = 1"])',
            "imports are `import module` lines",
        ),
        (
            'expression(call("g", ctx.ref(0)), imports=["from m import g"])',
            "imports are `import module` lines",
        ),
        ("ctx.ref(0)", "returned Ref for node '/act/FusedGelu'"),
    ],
)
def test_an_emission_model_py_could_not_run_is_refused(body, words, model_path, tmp_path, capsys):
    mapping = _write(
        tmp_path / "typo.py",
        f"""
        from mindgen.targets.mindspore.emission import call, expression
        from mindgen.targets.mindspore.registry import register

        @register("FusedGelu", domain="com.mycompany", since=1)
        def map_fused_gelu(ctx):
            return {body}
        """,
    )
    output = tmp_path / "out"
    assert main(["convert", str(model_path), "--output", str(output), "--mappings", str(mapping)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert not output.exists()


def test_registering_into_redirects_the_module_level_decorator():
    target = Registry(origin="/tmp/mine.py")
    with registering_into(target):
        register("Op", domain="com.x", since=3)(_noop)
    assert [(e.label, e.since, e.origin) for e in target.entries()] == [("com.x::Op", 3, "/tmp/mine.py")]
    assert default_registry().lookup("Op", "com.x", 3) is None
    assert target.entries()[0].name == "_noop from mine.py"


def test_a_copy_is_independent_and_override_replaces_other_origins_only():
    base = Registry()
    base.register("Op", since=1)(_noop)
    base.register("Op", since=13)(_noop)
    overlay = base.copy()
    user = Registry(origin="a.py")
    user.register("Op", since=7, override=True)(_noop)
    user.register("Op", since=15)(_noop)  # the same file may add versions without the flag
    for entry in user.entries():
        overlay.add(entry)
    assert [(e.since, e.origin) for e in overlay.entries()] == [(7, "a.py"), (15, "a.py")]
    assert overlay.lookup("Op", "", 6) is None
    assert [e.since for e in base.entries()] == [1, 13]
    other = Registry(origin="b.py")
    other.register("Op", since=7)(_noop)
    with pytest.raises(DuplicateMapperError, match="already mapped by _noop from a.py"):
        overlay.add(other.entries()[0])


def _noop(ctx):
    raise AssertionError("not called")


def _relu_model(tmp_path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="/act/Relu")],
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


RELU_MAPPING = """
from mindgen.targets.mindspore.emission import call, expression
from mindgen.targets.mindspore.registry import register

@register("Relu", since=1{flag})
def map_relu_clamped(ctx):
    return expression(call("ops.clamp", ctx.ref(0), 0.0))
"""


def test_replacing_a_builtin_mapper_needs_override(tmp_path, capsys):
    model = _relu_model(tmp_path)
    plain = _write(tmp_path / "plain.py", RELU_MAPPING.format(flag=""))
    assert main(["convert", str(model), "--output", str(tmp_path / "a"), "--mappings", str(plain)]) == 2
    err = capsys.readouterr().err
    assert "Relu is already mapped by mindgen (activation.map_relu)" in err and "override=True" in err

    forced = _write(tmp_path / "forced.py", RELU_MAPPING.format(flag=", override=True"))
    report = mindgen.convert(model, tmp_path / "b", mappings=[forced])
    assert "ops.clamp(x, 0.0)" in (tmp_path / "b" / "model.py").read_text()
    assert report.nodes[0]["mapper"] == "map_relu_clamped from forced.py"
    assert report.mappings[0]["ops"] == ["Relu since 1 (override)"]
    assert default_registry().lookup("Relu", "", 17).name == "activation.map_relu"


def test_two_files_mapping_the_same_op_is_an_error(model_path, tmp_path, capsys):
    second = tmp_path / "second" / "fused_gelu_mapping.py"
    second.parent.mkdir()
    shutil.copy(MAPPING, second)
    args = ["convert", str(model_path), "--output", str(tmp_path / "o"), "--mappings", str(MAPPING)]
    assert main([*args, "--mappings", os.path.relpath(MAPPING)]) == 0  # the same file twice is one
    capsys.readouterr()
    args[3] += "2"
    assert main([*args, "--mappings", str(second)]) == 2
    err = capsys.readouterr().err
    assert (
        f"mappings file {second}: com.mycompany::FusedGelu is already mapped by map_fused_gelu from {MAPPING};"
        in err
    )


def test_a_mapper_may_use_its_own_cell_from_a_module_it_imports(model_path, tmp_path, monkeypatch):
    # register_mappings(registry) is the other way to write a mappings file.
    _write(
        tmp_path / "mycompany_ms.py",
        """
        from mindspore import nn, ops

        class FusedGelu(nn.Cell):
            def __init__(self, alpha):
                super().__init__()
                self.alpha = alpha

            def construct(self, x):
                return x * ops.sigmoid(self.alpha * x)
        """,
    )
    mapping = _write(
        tmp_path / "cell_mapping.py",
        """
        from mindgen.targets.mindspore.emission import layer

        def register_mappings(registry):
            @registry.register("FusedGelu", domain="com.mycompany", since=1)
            def map_to_cell(ctx):
                alpha = 1.702
                return layer("gelu", "mycompany_ms.FusedGelu", (ctx.ref(0),), alpha, imports=["import mycompany_ms"])
        """,
    )
    output = tmp_path / "out"
    assert mindgen.convert(model_path, output, mappings=[mapping]).summary["unmapped"] == 0
    code = (output / "model.py").read_text()
    assert "import mycompany_ms\n" in code and "mycompany_ms.FusedGelu(1.702)" in code
    monkeypatch.syspath_prepend(str(tmp_path))
    network = load_network(output)
    x = np.random.default_rng(4).standard_normal((2, 8)).astype(np.float32)
    want = EXAMPLE_MODEL.reference(onnx.load(model_path), x)
    for mode in ("pynative", "graph"):
        (got,) = run_network(network, {"x": x}, mode)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5, err_msg=mode)


def test_ops_lists_the_mappings_of_a_file(tmp_path, capsys):
    assert main(["ops", "--mappings", str(MAPPING)]) == 0
    out = capsys.readouterr().out
    line = "| com.mycompany::FusedGelu | 1+ | x \\* ops.sigmoid(alpha \\* x) | map_fused_gelu from fused_gelu_mapping.py |"
    assert line.replace("\\", "") in out.replace("\\", "")
    assert main(["ops"]) == 0
    assert "FusedGelu" not in capsys.readouterr().out


def _plugin_env(tmp_path: Path) -> dict[str, str]:
    """A tmp folder on PYTHONPATH holding two plugin modules and a dist-info that declares
    them (plus one broken one) as mindgen.mappings entry points, as an installed package would."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(MAPPING, site / "mycompany_gelu.py")
    _write(
        site / "mycompany_swish.py",
        """
        from mindgen.targets.mindspore.emission import Infix, call, expression

        def register_mappings(registry):
            @registry.register("Swish", domain="com.mycompany", since=1)
            def map_swish(ctx):
                return expression(Infix("*", ctx.ref(0), call("ops.sigmoid", ctx.ref(0))))
        """,
    )
    _write(site / "mycompany_broken.py", "raise ImportError('needs the mycompany CUDA kernels')\n")
    info = site / "mycompany_mindgen-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mycompany-mindgen\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[mindgen.mappings]\n"
        "gelu = mycompany_gelu\n"
        "swish = mycompany_swish:register_mappings\n"
        "broken = mycompany_broken\n"
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def test_installed_entry_points_map_ops_and_a_broken_one_only_warns(model_path, tmp_path):
    env = _plugin_env(tmp_path)
    output = tmp_path / "out"
    command = [sys.executable, "-m", "mindgen", "convert", str(model_path), "--output", str(output)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        "mindgen: warning: entry point broken (mycompany_broken) failed to load: "
        "ImportError: needs the mycompany CUDA kernels; it was skipped"
    )
    report = _report(output)
    assert report["summary"]["unmapped"] == 0
    assert [(m["kind"], m["source"], m["nodes"]) for m in report["mappings"]] == [
        ("entry point", "mycompany_gelu", ["/act/FusedGelu"]),
        ("entry point", "mycompany_swish:register_mappings", []),
    ]
    assert any("entry point broken" in w for w in report["warnings"])
    row = next(r for r in report["nodes"] if r["op_type"] == "FusedGelu")
    assert row["mapper"] == "map_fused_gelu from entry point gelu"

    ops = subprocess.run([sys.executable, "-m", "mindgen", "ops"], env=env, capture_output=True, text=True)
    assert ops.returncode == 0
    assert re.search(
        r"^\| com\.mycompany::Swish \| 1\+ \|.*\| map_swish from entry point swish \|$", ops.stdout, re.M
    )
    assert "entry point broken" in ops.stderr

    off = [*command[:-2], "--output", str(tmp_path / "off"), "--no-plugins"]
    assert subprocess.run(off, env=env, capture_output=True, text=True).returncode == 0
    assert _report(tmp_path / "off")["summary"]["unmapped"] == 1


def test_the_examples_readme_commands_work(tmp_path):
    readme = (EXAMPLE / "README.md").read_text()
    block = re.search(r"Run from this folder.*?```\n(.*?)```", readme, re.S).group(1)
    commands = [line.split() for line in block.splitlines() if line.strip()]
    assert [c[0] for c in commands] == ["python", "mindgen", "mindgen", "python"]
    work = tmp_path / "custom_op"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    outputs = []
    for command in commands:
        argv = [sys.executable, *command[1:]] if command[0] == "python" else [sys.executable, "-m", *command]
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
        outputs.append(done.stdout)
    assert "1 unmapped" in outputs[1] and "0 unmapped" in outputs[2]
    assert re.search(r"^graph: max abs error", outputs[3], re.M)
    construct = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert construct in (work / "fused_gelu_out" / "model.py").read_text()


def test_the_readme_example_mapping_converts_the_example_model(model_path, tmp_path):
    section = (ROOT / "README.md").read_text().split("## Custom mappings", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) <= 10
    mapping = _write(tmp_path / "my_ops.py", code)
    report = mindgen.convert(model_path, tmp_path / "out", mappings=[mapping])
    assert report.summary["unmapped"] == 0
    assert "out * ops.sigmoid(1.702 * out)" in (tmp_path / "out" / "model.py").read_text()
