"""The checked-in frozen graphs (tests/fixtures/tf) converted where TensorFlow is not installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fixtures.make_tf_fixtures import FIXTURES, MODELS
from harness import run_network

import mindgen
from mindgen.cli import main
from mindgen.runtime import load_network

ROOT = Path(__file__).resolve().parents[2]
ATOL = 1e-4


def _fixture(name: str) -> tuple[Path, dict[str, np.ndarray]]:
    arrays = np.load(FIXTURES / f"{name}.npz")
    return FIXTURES / f"{name}.pb", {key: arrays[key] for key in arrays.files}


def test_every_model_has_a_fixture():
    assert sorted(p.stem for p in FIXTURES.glob("*.pb")) == sorted(MODELS)
    assert sorted(p.stem for p in FIXTURES.glob("*.npz")) == sorted(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fixture_converts_and_matches_tensorflow(tmp_path, name):
    path, arrays = _fixture(name)
    report = mindgen.convert(path, tmp_path / "out")
    assert report.summary["unmapped"] == 0, report.unmapped
    inputs = {k: v for k, v in arrays.items() if k.startswith("x")}
    wanted = [arrays[k] for k in sorted(k for k in arrays if k.startswith("y"))]
    got = run_network(load_network(tmp_path / "out"), inputs, "pynative")
    for actual, expected in zip(got, wanted, strict=True):
        assert actual.shape == expected.shape
        assert float(np.abs(actual - expected).max()) <= ATOL


def test_nchw_interface_from_the_cli(tmp_path, capsys):
    path, arrays = _fixture("resnet")
    assert main(["convert", str(path), "--output", str(tmp_path / "out"), "--quiet"]) == 0
    report = mindgen.convert(path, tmp_path / "nchw", layout="nchw")
    assert report.inputs[0].shape == ["batch", 3, 16, 16]
    got = run_network(load_network(tmp_path / "nchw"), {"x": arrays["x0"].transpose(0, 3, 1, 2)}, "pynative")
    assert float(np.abs(got[0] - arrays["y0"]).max()) <= ATOL


def test_conversion_runs_with_tensorflow_not_importable(tmp_path):
    path, _ = _fixture("mobilenet_v2")
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["tensorflow"] = None  # any `import tensorflow` now raises ImportError
        import mindgen
        report = mindgen.convert({str(path)!r}, {str(tmp_path / "out")!r}, emit_onnx={str(tmp_path / "m.onnx")!r})
        assert report.summary["unmapped"] == 0
        loaded = [m for m, module in sys.modules.items() if module is not None and m.split(".")[0] in ("tensorflow", "keras")]
        print("LOADED", loaded)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "LOADED []" in result.stdout
    assert (tmp_path / "out" / "model.py").is_file() and (tmp_path / "m.onnx").is_file()
