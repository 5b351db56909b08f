"""Bad input through the real command line: exit 2, one error line, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from memory import traced_peak
from model_zoo import mlp, resnet_like
from onnx import TensorProto, helper

REPO = Path(__file__).resolve().parents[1]


def run_mindgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs `python -m mindgen ARGS` in cwd, with this checkout importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("MINDGEN_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "mindgen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _relu_model(opsets: list[onnx.OperatorSetIdProto], op: str = "Relu", domain: str = "") -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    graph = helper.make_graph([helper.make_node(op, ["x"], ["y"], domain=domain)], "g", [x], [y])
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def _good(work: Path) -> Path:
    path = work / "good.onnx"
    onnx.save(mlp(), path)
    return path


def _write(name: str, data: bytes) -> Callable[[Path], list[str]]:
    def setup(work: Path) -> list[str]:
        (work / name).write_bytes(data)
        return ["convert", name, "--output", "out"]

    return setup


def _save(model: onnx.ModelProto) -> Callable[[Path], list[str]]:
    def setup(work: Path) -> list[str]:
        # Saved as bytes: onnx.save would refuse some of these models.
        (work / "bad.onnx").write_bytes(model.SerializeToString())
        return ["convert", "bad.onnx", "--output", "out"]

    return setup


def _truncated(work: Path) -> list[str]:
    data = _good(work).read_bytes()
    (work / "half.onnx").write_bytes(data[: len(data) // 2])
    return ["convert", "half.onnx", "--output", "out"]


def _directory(work: Path) -> list[str]:
    (work / "model_dir.onnx").mkdir()
    return ["convert", "model_dir.onnx", "--output", "out"]


def _non_empty_output(work: Path) -> list[str]:
    _good(work)
    (work / "out").mkdir()
    (work / "out" / "notes.txt").write_text("mine")
    return ["convert", "good.onnx", "--output", "out"]


def _foreign_files_with_force(work: Path) -> list[str]:
    _good(work)
    (work / "out").mkdir()
    (work / "out" / "model.py").write_text("# mine")
    (work / "out" / "train.py").write_text("# mine too")
    return ["convert", "good.onnx", "--output", "out", "--force"]


def _output_is_file(work: Path) -> list[str]:
    _good(work)
    (work / "out").write_text("a file")
    return ["convert", "good.onnx", "--output", "out", "--force"]


def _output_under_file(work: Path) -> list[str]:
    _good(work)
    (work / "blocker").write_text("a file")
    return ["convert", "good.onnx", "--output", "blocker/sub/out"]


def _good_with(*extra: str) -> Callable[[Path], list[str]]:
    def setup(work: Path) -> list[str]:
        _good(work)
        return ["convert", "good.onnx", "--output", "out", *extra]

    return setup


def _open_cut(work: Path) -> list[str]:
    onnx.save(resnet_like(), work / "resnet.onnx")
    # The residual Add also reads the block's input, which the cut leaves out.
    start, end = "/layer1/layer1.0/relu/Relu_output_0", "/layer1/layer1.0/relu_1/Relu_output_0"
    return ["convert", "resnet.onnx", "--output", "out", "--input_nodes", start, "--output_nodes", end]


def _external_data_outside(work: Path) -> list[str]:
    (work / "secret.bin").write_bytes(bytes(16))
    model_dir = work / "models"
    model_dir.mkdir()
    model = _relu_model([helper.make_opsetid("", 17)])
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], [0.0] * 4)
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="../secret.bin")
    model.graph.initializer.append(weight)
    (model_dir / "m.onnx").write_bytes(model.SerializeToString())
    return ["convert", "models/m.onnx", "--output", "out"]


def _inspect_truncated(work: Path) -> list[str]:
    _truncated(work)
    return ["inspect", "half.onnx"]


def _mlp_weight_cut(edit: Callable[[onnx.TensorProto], None]) -> Callable[[Path], list[str]]:
    """The mlp model with its first initializer edited so its data no longer matches its dims."""

    def setup(work: Path) -> list[str]:
        model = mlp()
        edit(model.graph.initializer[0])
        (work / "bad.onnx").write_bytes(model.SerializeToString())
        return ["convert", "bad.onnx", "--output", "out"]

    return setup


def _raw_short(tensor: onnx.TensorProto) -> None:
    data = onnx.numpy_helper.to_array(tensor).tobytes()
    tensor.ClearField("float_data")
    tensor.raw_data = data[:-4]


def _typed_long(tensor: onnx.TensorProto) -> None:
    values = onnx.numpy_helper.to_array(tensor).reshape(-1).tolist()
    tensor.ClearField("raw_data")
    tensor.float_data[:] = [*values, 0.0]


def _external_short(work: Path) -> list[str]:
    model = mlp()
    tensor = model.graph.initializer[0]
    data = onnx.numpy_helper.to_array(tensor).tobytes()
    (work / "w.bin").write_bytes(data[: len(data) // 2])
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="w.bin")
    (work / "bad.onnx").write_bytes(model.SerializeToString())
    return ["convert", "bad.onnx", "--output", "out"]


def _if_branch_short(work: Path) -> list[str]:
    """An If whose then-branch Constant reads 16 bytes from a file of 12 (the ONNX checker
    does not open external files; before, the body's tensors were not checked at all)."""
    (work / "c.bin").write_bytes(b"\0" * 12)
    short = TensorProto(name="c", data_type=TensorProto.FLOAT, dims=[4], data_location=TensorProto.EXTERNAL)
    short.external_data.add(key="location", value="c.bin")
    branches = {
        name: helper.make_graph(
            [helper.make_node("Constant", [], [f"{name}_out"], value=tensor)],
            name,
            [],
            [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [4])],
        )
        for name, tensor in (
            ("then", short),
            ("else", helper.make_tensor("d", TensorProto.FLOAT, [4], [0.0] * 4)),
        )
    }
    graph = helper.make_graph(
        [
            helper.make_node(
                "If",
                ["flag"],
                ["y"],
                name="choose",
                then_branch=branches["then"],
                else_branch=branches["else"],
            )
        ],
        "g",
        [helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    (work / "bad.onnx").write_bytes(model.SerializeToString())
    return ["convert", "bad.onnx", "--output", "out"]


def _huge_constant_of_shape(work: Path) -> list[str]:
    """A 10**12-element ConstantOfShape: sized before folding, never allocated (4 TB as float32)."""
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [10**6, 10**6])
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["big"]),
        helper.make_node("Add", ["x", "big"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x], [y], [shape]), opset_imports=[helper.make_opsetid("", 17)]
    )
    (work / "big.onnx").write_bytes(model.SerializeToString())
    return ["convert", "big.onnx", "--output", "out"]


RNG_BYTES = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()

CASES: dict[str, Callable[[Path], list[str]]] = {
    "missing_file": lambda work: ["convert", "nowhere.onnx", "--output", "out"],
    "directory": _directory,
    "empty_file": _write("empty.onnx", b""),
    "truncated": _truncated,
    "png": _write("image.onnx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(64)),
    "random_bytes": _write("noise.onnx", RNG_BYTES),
    "text_file": _write("notes.onnx", b"ir_version: 8\ngraph {\n  name: 'g'\n}\n"),
    "checker_undefined_input": _save(
        helper.make_model(
            helper.make_graph(
                [helper.make_node("Add", ["x", "missing"], ["y"])],
                "g",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
            ),
            opset_imports=[helper.make_opsetid("", 17)],
            ir_version=8,
        )
    ),
    "checker_unknown_op": _save(_relu_model([helper.make_opsetid("", 17)], op="NotAnOnnxOp")),
    "opset_99": _save(_relu_model([helper.make_opsetid("", 99)])),
    "no_default_opset": _save(_relu_model([helper.make_opsetid("com.example", 1)])),
    "output_not_empty": _non_empty_output,
    "force_over_foreign_files": _foreign_files_with_force,
    "output_is_file": _output_is_file,
    "output_under_file": _output_under_file,
    "shape_not_numbers": _good_with("--shape", "1,a"),
    "shape_zero": _good_with("--shape", "0,32"),
    "shape_empty_dim": _good_with("--shape", "1,,32"),
    "shape_too_many_inputs": _good_with("--shape", "1,32", "1,32"),
    "shape_wrong_rank": _good_with("--shape", "1,32,1"),
    "shape_conflicts_with_model": _good_with("--shape", "1,31"),
    "input_nodes_unknown": _good_with("--input_nodes", "no_such_tensor"),
    "output_nodes_unknown": _good_with("--output_nodes", "no_such_tensor"),
    "cut_is_open": _open_cut,
    "external_data_outside_folder": _external_data_outside,
    "report_inside_output": _good_with("--report", "out/report"),
    "model_and_model_file_differ": _good_with("--model_file", "other.onnx"),
    "no_model": lambda work: ["convert", "--output", "out"],
    "inspect_truncated": _inspect_truncated,
    "raw_data_shorter_than_dims": _mlp_weight_cut(_raw_short),
    "typed_data_longer_than_dims": _mlp_weight_cut(_typed_long),
    "external_data_shorter_than_dims": _external_short,
    "if_branch_constant_shorter_than_dims": _if_branch_short,
}


def _snapshot(work: Path) -> dict[str, bytes | None]:
    """Every path under work with its bytes (None for folders)."""
    return {
        str(p.relative_to(work)): (p.read_bytes() if p.is_file() else None) for p in sorted(work.rglob("*"))
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_error_line_and_writes_nothing(case, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    args = CASES[case](work)
    before = _snapshot(work)
    result = run_mindgen(*args, cwd=work)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mindgen: error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # Nothing written, nothing changed: no output folder, no hidden staging folders.
    assert _snapshot(work) == before


@pytest.mark.parametrize(
    "args",
    [["convert", "good.onnx", "--no-such-flag"], ["convert", "good.onnx", "--shape"], ["frobnicate"]],
    ids=["unknown_flag", "flag_without_value", "unknown_command"],
)
def test_usage_errors_exit_2_without_traceback(args, tmp_path):
    result = run_mindgen(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "error:" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing_file", ["nowhere.onnx", "not found"]),
        ("opset_99", ["opset 99"]),
        ("no_default_opset", ["default ONNX operator set"]),
        ("checker_undefined_input", ["checker", "missing"]),
        ("shape_wrong_rank", ["rank 3", "rank 2"]),
        ("shape_too_many_inputs", ["2 shape(s)", "1 input(s)"]),
        ("output_nodes_unknown", ["no_such_tensor"]),
        ("cut_is_open", ["--input_nodes"]),
        ("external_data_outside_folder", ["outside", "../secret.bin"]),
        ("force_over_foreign_files", ["train.py"]),
        ("output_under_file", ["blocker"]),
        ("raw_data_shorter_than_dims", ["fc1.weight", "bytes"]),
        ("typed_data_longer_than_dims", ["fc1.weight", "float_data"]),
        ("external_data_shorter_than_dims", ["fc1.weight", "w.bin"]),
        ("if_branch_constant_shorter_than_dims", ["then_out", "c.bin"]),
    ],
)
def test_error_messages_in_process(case, words, tmp_path, capsys, monkeypatch):
    from mindgen.cli import main

    work = tmp_path / "work"
    work.mkdir()
    args = CASES[case](work)
    monkeypatch.chdir(work)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mindgen: error: ")
    for word in words:
        assert word in err


def test_error_line_escapes_newlines_in_names(tmp_path, capsys):
    from mindgen.cli import main

    assert main(["convert", str(tmp_path / "two\nlines\u202e.onnx"), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "two\\nlines\\u202e.onnx" in err


def test_huge_constant_of_shape_converts_or_fails_cleanly_without_allocating(tmp_path, capsys, monkeypatch):
    from mindgen.cli import main

    args = _huge_constant_of_shape(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, peak = traced_peak(lambda: main(args))
    err = capsys.readouterr().err
    assert code == 0 or (code == 2 and err.count("\n") == 1 and err.startswith("mindgen: error: ")), err
    assert peak < 512 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_running_out_of_memory_is_exit_2_and_leaves_no_output(tmp_path, capsys, monkeypatch):
    """A model too big for the machine is a limit of the input, not a bug: exit 2, one line."""
    from mindgen.cli import main
    from mindgen.weights.checkpoint import CheckpointWriter

    written: list[str] = []

    def add_then_run_out(self, name, array):
        if written:  # the first weight is on disk in the staging folder when memory runs out
            raise MemoryError
        written.append(name)
        original_add(self, name, array)

    original_add = CheckpointWriter.add
    monkeypatch.setattr(CheckpointWriter, "add", add_then_run_out)
    monkeypatch.delenv("MINDGEN_DEBUG", raising=False)
    model = _good(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["convert", str(model), "--output", "out"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mindgen: error: out of memory"), err
    assert written and sorted(p.name for p in tmp_path.iterdir()) == ["good.onnx"]
