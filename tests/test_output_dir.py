"""No lost work: edited code is kept, and a failed or killed conversion leaves the old output alone."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from model_zoo import mlp
from onnx import TensorProto, helper, numpy_helper

import mindgen
from mindgen import output as output_module
from mindgen.errors import InputError, OutputExistsError
from mindgen.weights.checkpoint import CheckpointWriter

REPO = Path(__file__).resolve().parents[1]
GENERATED = {"model.py", "model.ckpt", "weight_map.json", "report.md", "report.json", ".mindgen"}


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def previous(tmp_path):
    """A finished conversion of the MLP in tmp_path/out, plus the model file."""
    model = tmp_path / "mlp.onnx"
    onnx.save(mlp(), model)
    mindgen.convert(model, tmp_path / "out")
    return model, tmp_path / "out"


def _big_model(path: Path, size: int = 2896, layers: int = 2) -> None:
    """A MatMul chain with 32 MB weights: conversion takes long enough to be killed midway."""
    rng = np.random.default_rng(0)
    nodes, weights, current = [], [], "x"
    for i in range(layers):
        weights.append(numpy_helper.from_array(rng.standard_normal((size, size), dtype=np.float32), f"w{i}"))
        nodes.append(helper.make_node("MatMul", [current, f"w{i}"], [f"h{i}"]))
        current = f"h{i}"
    graph = helper.make_graph(
        nodes,
        "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", size])],
        [helper.make_tensor_value_info(current, TensorProto.FLOAT, ["N", size])],
        weights,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


def test_edited_model_py_is_kept_as_orig(previous):
    model, out = previous
    edited = (out / "model.py").read_text() + "\n# my fix\n"
    (out / "model.py").write_text(edited)
    mindgen.convert(model, out, force=True)
    assert (out / "model.py.orig").read_text() == edited
    assert "# my fix" not in (out / "model.py").read_text()
    report = json.loads((out / "report.json").read_text())
    assert report["model_py_sha256"] == hashlib.sha256((out / "model.py").read_bytes()).hexdigest()


def test_unedited_model_py_is_simply_replaced(previous):
    model, out = previous
    mindgen.convert(model, out, force=True)
    assert {p.name for p in out.iterdir()} == GENERATED


def test_earlier_backups_survive_a_second_edit(previous):
    model, out = previous
    (out / "model.py").write_text("# first edit\n")
    mindgen.convert(model, out, force=True)
    (out / "model.py").write_text("# second edit\n")
    mindgen.convert(model, out, force=True)
    assert (out / "model.py.orig").read_text() == "# second edit\n"
    assert (out / "model.py.orig.2").read_text() == "# first edit\n"
    mindgen.convert(model, out, force=True)  # unedited now: the backups just travel along
    assert {p.name for p in out.iterdir()} == GENERATED | {"model.py.orig", "model.py.orig.2"}


def test_failed_conversion_with_force_leaves_previous_output(previous, tmp_path):
    _, out = previous
    before = _hashes(out)
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07" + bytes(100))
    with pytest.raises(InputError):
        mindgen.convert(tmp_path / "broken.onnx", out, force=True)
    assert _hashes(out) == before and _hidden(tmp_path) == []


def test_checkpoint_writer_failing_midway_changes_nothing(previous, tmp_path, monkeypatch):
    model, out = previous
    (out / "model.py").write_text("# edited\n")
    before = _hashes(out)
    real_add = CheckpointWriter.add

    def add_then_fail(self, name, array):
        if self.names:
            raise OSError(28, "No space left on device")
        real_add(self, name, array)

    monkeypatch.setattr(CheckpointWriter, "add", add_then_fail)
    with pytest.raises(OSError, match="No space"):
        mindgen.convert(model, out, force=True)
    assert _hashes(out) == before and _hidden(tmp_path) == []


def test_failure_in_a_new_nested_folder_removes_the_folders_it_made(tmp_path, monkeypatch):
    onnx.save(mlp(), tmp_path / "mlp.onnx")
    monkeypatch.setattr(
        CheckpointWriter, "add", lambda self, name, array: (_ for _ in ()).throw(OSError("full"))
    )
    with pytest.raises(OSError):
        mindgen.convert(tmp_path / "mlp.onnx", tmp_path / "a" / "b" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.onnx"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two_renames"])
def test_swap_replaces_and_a_failed_swap_restores(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(output_module, "_rename_exchange", lambda first, second: False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.py").write_text("old")
    with output_module.staged_directory(out, force=True) as staging:
        (staging / "model.py").write_text("new")
    assert (out / "model.py").read_text() == "new" and _hidden(tmp_path) == []

    real_replace = os.replace

    def replace_failing_on_staging(src, dst):
        if ".mindgen-" in str(src) and "old-" not in str(src):
            raise OSError(5, "I/O error")
        real_replace(src, dst)

    monkeypatch.setattr(output_module, "_rename_exchange", lambda first, second: False)
    monkeypatch.setattr(os, "replace", replace_failing_on_staging)
    with pytest.raises(OSError), output_module.staged_directory(out, force=True) as staging:
        (staging / "model.py").write_text("newer")
    monkeypatch.undo()
    assert (out / "model.py").read_text() == "new" and _hidden(tmp_path) == []


def test_killed_conversion_leaves_previous_output(previous, tmp_path):
    _, out = previous
    before = _hashes(out)
    _big_model(tmp_path / "big.onnx")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "mindgen", "convert", "big.onnx", "--output", "out", "--force", "-q"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it as soon as it starts writing: the staging folder appears beside the output.
    deadline = time.monotonic() + 60
    while not _hidden(tmp_path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "conversion finished before it could be killed"
    assert _hashes(out) == before
    leftovers = _hidden(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(f".out.mindgen-{process.pid}-")
    # The next conversion there clears what the killed one left.
    mindgen.convert(tmp_path / "mlp.onnx", out, force=True)
    assert _hidden(tmp_path) == []


def test_leftover_from_a_swap_killed_between_renames_is_restored(tmp_path):
    dead_pid = 2**22 + 12345  # above the default pid_max, so no live process has it
    retired = tmp_path / f".out.mindgen-old-{dead_pid}-abcd"
    retired.mkdir()
    (retired / "model.py").write_text("previous")
    with pytest.raises(OutputExistsError), output_module.staged_directory(tmp_path / "out", force=False):
        assert (tmp_path / "out" / "model.py").read_text() == "previous"
    assert (tmp_path / "out" / "model.py").read_text() == "previous" and _hidden(tmp_path) == []


def test_leftovers_of_live_processes_are_left_alone(tmp_path):
    live = tmp_path / f".out.mindgen-{os.getpid()}-xyz"
    live.mkdir()
    with output_module.staged_directory(tmp_path / "out", force=False) as staging:
        (staging / "model.py").write_text("x")
    assert live.is_dir()


def test_force_never_deletes_files_mindgen_did_not_write(previous, tmp_path):
    model, out = previous
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="notes.txt"):
        mindgen.convert(model, out, force=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_pycache_from_importing_model_py_does_not_block_force(previous):
    model, out = previous
    (out / "__pycache__").mkdir()
    (out / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"")
    mindgen.convert(model, out, force=True)
    assert {p.name for p in out.iterdir()} == GENERATED


def test_symlinked_output_is_replaced_behind_its_link(previous, tmp_path):
    model, out = previous
    link = tmp_path / "link"
    link.symlink_to(out, target_is_directory=True)
    (out / "model.py").write_text("# edited\n")
    mindgen.convert(model, link, force=True)
    assert link.is_symlink() and (out / "model.py.orig").read_text() == "# edited\n"
    assert _hidden(tmp_path) == []


def test_current_directory_is_never_the_output(tmp_path, monkeypatch):
    onnx.save(mlp(), tmp_path / "mlp.onnx")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(OutputExistsError, match="current directory"):
        mindgen.convert(tmp_path / "mlp.onnx", ".", force=True)
    assert list(work.iterdir()) == []


def test_report_folder_keeps_the_same_guarantees(tmp_path):
    onnx.save(mlp(), tmp_path / "mlp.onnx")
    mindgen.convert(tmp_path / "mlp.onnx", tmp_path / "code", report_dir=tmp_path / "docs")
    (tmp_path / "docs" / "mine.txt").write_text("x")
    with pytest.raises(OutputExistsError, match="mine.txt"):
        mindgen.convert(tmp_path / "mlp.onnx", tmp_path / "code", report_dir=tmp_path / "docs", force=True)
    assert (tmp_path / "code" / "model.py").is_file()


def test_unedited_model_py_with_separate_report_folder_is_replaced(tmp_path):
    onnx.save(mlp(), tmp_path / "mlp.onnx")
    for _ in range(2):
        mindgen.convert(tmp_path / "mlp.onnx", tmp_path / "code", report_dir=tmp_path / "docs", force=True)
    assert {p.name for p in (tmp_path / "code").iterdir()} == {"model.py", "model.ckpt", ".mindgen"}
