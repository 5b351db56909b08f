"""The CLI's start-up and the ONNX convert path must not import heavy modules they do not need (issue 8)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("mindspore", "onnxruntime", "tensorflow", "torch", "sympy", "libcst")

_PROBE = """
import json, sys
import mindgen.cli
try:
    mindgen.cli.main(sys.argv[1:])
except SystemExit:
    pass
# vars(), not getattr: mindgen's deferred stand-ins (no __file__ until first use) import on getattr.
loaded = [m for m in {heavy!r} if m in sys.modules and "__file__" in vars(sys.modules[m])]
print(json.dumps(sorted(loaded)))
"""


def _heavy_modules_after(*argv: str) -> list[str]:
    """The heavy modules present in a fresh interpreter after running the CLI with argv."""
    probe = _PROBE.format(heavy=HEAVY)
    completed = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True, timeout=300
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_help_imports_no_heavy_module() -> None:
    assert _heavy_modules_after("--help") == []


def test_converting_the_example_imports_no_heavy_module(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _heavy_modules_after("convert", "--example", "-o", str(out), "-q") == []
    assert (out / "model.py").is_file() and (out / "model.ckpt").is_file()


def test_onnx_ir_symbolic_dims_still_work_after_deferring_sympy() -> None:
    code = (
        "import mindgen.converter, onnx_ir as ir, sympy\n"
        "print(ir.SymbolicDim('N') * 2, ir.SymbolicDim('N + 1').simplify())\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["2*N", "N", "+", "1"]
