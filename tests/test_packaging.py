"""The package as users get it: the wheel ships templates and the example, the CLI works."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_declared_packages_match_source_tree():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "mindgen").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert declared == found | {"mindgen.templates"}


def test_cli_help_does_not_import_heavy_frameworks():
    code = (
        "import sys, mindgen.cli\n"
        "try:\n    mindgen.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('mindspore', 'onnxruntime', 'tensorflow', 'torch') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


@pytest.mark.slow
def test_wheel_ships_templates_and_converts_example_outside_checkout(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("mindgen-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "mindgen/templates/mindspore/model.py.j2" in names
    assert "mindgen/templates/report.md.j2" in names
    assert "mindgen/examples/tiny_resnet.onnx" in names
    assert not any(name.startswith("tests/") for name in names)

    # Dependencies come from the test environment; the wheel itself is installed fresh.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import mindgen; print(mindgen.__file__)"],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(env_dir) in where, where
    result = subprocess.run(
        [str(env_dir / "bin" / "mindgen"), "convert", "--example", "--output", "out"],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for name in ("model.py", "model.ckpt", "weight_map.json", "report.md", "report.json"):
        assert (work / "out" / name).is_file()
