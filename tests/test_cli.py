"""Successful runs of the real command line: convert (and its MindConverter flags), inspect, ops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from harness import run_network, run_onnxruntime
from model_zoo import mlp, random_inputs, resnet_like
from onnx import TensorProto, helper

import mindgen
from mindgen.cli import one_line, parse_shape
from mindgen.errors import InputError
from mindgen.runtime import load_network

REPO = Path(__file__).resolve().parents[1]
GENERATED = {"model.py", "model.ckpt", "weight_map.json", "report.md", "report.json", ".mindgen"}


def run_mindgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs `python -m mindgen ARGS` in cwd, with this checkout importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "mindgen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_convert_example_then_force_replaces_it(tmp_path):
    out = _ok(run_mindgen("convert", "--example", "--output", "ex", cwd=tmp_path))
    for name in ("model.py", "model.ckpt", "weight_map.json", "report.md"):
        assert f"ex/{name}" in out
    assert "Converted tiny_resnet.onnx" in out and "0 unmapped" in out
    assert _files(tmp_path / "ex") == GENERATED
    # The folder gets ordinary permissions, like one made with mkdir.
    (tmp_path / "plain").mkdir()
    assert (tmp_path / "ex").stat().st_mode == (tmp_path / "plain").stat().st_mode
    first = json.loads((tmp_path / "ex" / "report.json").read_text())
    (tmp_path / "ex" / "report.md").write_text("stale")

    _ok(run_mindgen("convert", "--example", "--output", "ex", "--force", "-q", cwd=tmp_path))
    assert _files(tmp_path / "ex") == GENERATED  # unedited model.py: replaced, no .orig
    assert (tmp_path / "ex" / "report.md").read_text() != "stale"
    second = json.loads((tmp_path / "ex" / "report.json").read_text())
    assert second["model_py_sha256"] == first["model_py_sha256"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_model_file_alias_and_separate_report_folder(tmp_path):
    onnx.save(mlp(), tmp_path / "mlp.onnx")
    out = _ok(
        run_mindgen(
            "convert", "--model_file", "mlp.onnx", "--output", "code", "--report", "docs", cwd=tmp_path
        )
    )
    assert _files(tmp_path / "code") == {"model.py", "model.ckpt", ".mindgen"}
    assert _files(tmp_path / "docs") == {"report.md", "report.json", "weight_map.json"}
    assert "docs/report.md" in out and "code/model.py" in out
    report = json.loads((tmp_path / "docs" / "report.json").read_text())
    assert Path(report["source"]["path"]).name == "mlp.onnx"
    assert report["files"]["weight_map"] == str(Path("docs") / "weight_map.json")


def test_shape_fills_the_symbolic_batch(tmp_path):
    onnx.save(mlp(batch="N"), tmp_path / "mlp.onnx")
    _ok(run_mindgen("convert", "mlp.onnx", "-o", "out", "--shape", "3,32", cwd=tmp_path))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["inputs"] == [{"name": "input", "shape": [3, 32], "dtype": "float32"}]
    assert report["outputs"][0]["shape"] == [3, 10]


def test_shape_gives_a_cut_input_of_unknown_rank_its_shape(tmp_path):
    # Reshape to a runtime shape of unknown length: its output has no known rank.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [6])
    s = helper.make_tensor_value_info("s", TensorProto.INT64, ["K"])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["A", "B"])
    nodes = [helper.make_node("Reshape", ["x", "s"], ["y"]), helper.make_node("Relu", ["y"], ["z"])]
    graph = helper.make_graph(nodes, "g", [x, s], [z])
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8),
        tmp_path / "m.onnx",
    )
    report = mindgen.convert(tmp_path / "m.onnx", tmp_path / "out", shapes=[[2, 3]], input_nodes=["y"])
    assert report.inputs[0].shape == [2, 3] and report.outputs[0].shape == [2, 3]


def test_input_and_output_nodes_cut_a_subgraph_that_matches_onnxruntime(tmp_path):
    model = resnet_like()
    onnx.save(model, tmp_path / "resnet.onnx")
    start, end = "/maxpool/MaxPool_output_0", "/layer1/layer1.0/relu_1/Relu_output_0"
    names = {o for node in model.graph.node for o in node.output}
    assert {start, end} <= names
    _ok(
        run_mindgen(
            "convert", "resnet.onnx", "-o", "cut", "--input_nodes", start, "--output_nodes", end, cwd=tmp_path
        )
    )
    report = json.loads((tmp_path / "cut" / "report.json").read_text())
    assert [t["name"] for t in report["inputs"]] == [start]
    assert [t["name"] for t in report["outputs"]] == [end]
    assert report["summary"]["unmapped"] == 0
    onnx.utils.extract_model(str(tmp_path / "resnet.onnx"), str(tmp_path / "sub.onnx"), [start], [end])
    sub = onnx.load(tmp_path / "sub.onnx")
    assert report["summary"]["nodes"] <= len(sub.graph.node) < len(model.graph.node)
    feeds = random_inputs(sub, seed=5, batch=2)
    expected = run_onnxruntime(sub, feeds)
    (actual,) = run_network(load_network(tmp_path / "cut"), feeds, "pynative")
    np.testing.assert_allclose(actual, expected[0], atol=1e-5, rtol=0)


def test_inspect_prints_inputs_outputs_opset_and_histogram(tmp_path):
    onnx.save(resnet_like(), tmp_path / "resnet.onnx")
    out = _ok(run_mindgen("inspect", "resnet.onnx", cwd=tmp_path))
    assert "opset:    17" in out
    assert "inputs:\n  'input'  [N, 3, 32, 32]  float32" in out
    assert "outputs:\n  'output'  [N, 10]  float32" in out
    histogram = {
        line.split()[1]: int(line.split()[0]) for line in out.splitlines() if "mapped" in line.lower()
    }
    assert histogram["'Conv'"] == 6 and histogram["'BatchNormalization'"] == 6
    assert "every operator type has a mapper" in out


def test_ops_lists_the_registry(tmp_path):
    out = _ok(run_mindgen("ops", cwd=tmp_path))
    for op in ("Conv", "Gemm", "BatchNormalization", "Relu", "Softmax"):
        assert op in out


@pytest.mark.parametrize("args", [["--help"], []], ids=["help", "no_command"])
def test_help_lists_the_commands(args, tmp_path):
    out = _ok(run_mindgen(*args, cwd=tmp_path))
    assert "usage: mindgen" in out
    for command in ("convert", "inspect", "ops"):
        assert command in out


def test_version(tmp_path):
    assert _ok(run_mindgen("--version", cwd=tmp_path)).strip() == f"mindgen {mindgen.__version__}"


def test_report_folder_equal_to_output_is_one_folder(tmp_path, monkeypatch, capsys):
    from mindgen.cli import main

    onnx.save(mlp(), tmp_path / "mlp.onnx")
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "mlp.onnx", "-o", "out", "--report", "./out", "-q"]) == 0
    assert _files(tmp_path / "out") == GENERATED
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("text", "dims"),
    [("1,3,224,224", [1, 3, 224, 224]), ("1x3x8", [1, 3, 8]), (" 2 , 5 ", [2, 5]), ("7", [7])],
)
def test_parse_shape(text, dims):
    assert parse_shape(text) == dims


@pytest.mark.parametrize("text", ["", ",", "1,,2", "1,a", "0,3", "-1,3", "1.5", "²", "1;2"])
def test_parse_shape_rejects(text):
    with pytest.raises(InputError, match="--shape"):
        parse_shape(text)


def test_one_line_escapes_control_characters():
    assert one_line("a\nb\r\tc\u202ed\x00é中") == "a\\nb\\r\\tc\\u202ed\\x00é中"


def test_closed_pipe_is_not_an_error(tmp_path):
    """`mindgen inspect model.onnx | head -1`: the reader leaving early is not a crash."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    onnx.save(resnet_like(), tmp_path / "resnet.onnx")
    process = subprocess.Popen(
        [sys.executable, "-m", "mindgen", "inspect", "resnet.onnx"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()
    assert process.wait(timeout=120) == 0
    assert process.stderr.read() == b""
    process.stderr.close()


def test_tensorflow_graph_with_nchw_layout_and_emitted_onnx(tmp_path):
    import numpy as np
    import onnx
    import onnxruntime as ort

    from mindgen.runtime import load_network

    fixture = Path(__file__).parent / "fixtures" / "tf" / "resnet.pb"
    _ok(
        run_mindgen(
            "convert",
            str(fixture),
            "-o",
            "out",
            "--layout",
            "nchw",
            "--emit-onnx",
            "canonical.onnx",
            cwd=tmp_path,
        )
    )
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["summary"]["transposes"] == 0, "an NCHW interface needs no layout change inside"
    canonical = onnx.load(tmp_path / "canonical.onnx")
    onnx.checker.check_model(canonical, full_check=True)
    session = ort.InferenceSession(canonical.SerializeToString(), providers=["CPUExecutionProvider"])
    (source_input,) = session.get_inputs()
    shape = [d if isinstance(d, int) else 2 for d in source_input.shape]
    assert shape[1] < shape[2], "--layout nchw puts channels second"
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    (expected,) = session.run(None, {source_input.name: x})
    import mindspore as ms

    got = load_network(tmp_path / "out")(ms.Tensor(x))
    np.testing.assert_allclose(got.asnumpy(), expected, atol=1e-4)
