"""The mapper registry: one entry per (op, since), lookups by opset, the generated op table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mindgen.targets.mindspore.optable import operator_table
from mindgen.targets.mindspore.registry import DuplicateMapperError, Registry, default_registry

REQUIRED_OPS = """Conv ConvTranspose Gemm MatMul Add Sub Mul Div Pow Sqrt Erf Relu LeakyRelu Sigmoid Tanh Clip
HardSigmoid HardSwish Softmax BatchNormalization LayerNormalization MaxPool AveragePool GlobalAveragePool
Flatten Reshape Transpose Concat Split Slice Squeeze Unsqueeze Gather Pad ReduceMean Cast Shape Dropout
Identity""".split()

ROOT = Path(__file__).resolve().parents[1]


def _mapper(ctx):
    raise AssertionError("not called")


def test_lookup_picks_newest_entry_not_newer_than_the_opset():
    registry = Registry()
    registry.register("Op", since=1)(_mapper)
    registry.register("Op", since=13)(_mapper)
    assert registry.lookup("Op", "", 12).since == 1
    assert registry.lookup("Op", "", 13).since == 13
    assert registry.lookup("Op", "ai.onnx", 20).since == 13
    assert registry.lookup("Op", "com.other", 20) is None
    assert registry.lookup("Missing", "", 20) is None


def test_registering_the_same_op_and_version_twice_is_an_error():
    registry = Registry()
    registry.register("Op", since=7)(_mapper)
    with pytest.raises(DuplicateMapperError):
        registry.register("Op", since=7)(_mapper)


def test_every_operator_of_the_foundation_set_has_a_mapper_at_opset_17():
    registry = default_registry()
    missing = [op for op in REQUIRED_OPS if registry.lookup(op, "", 17) is None]
    assert not missing


def test_checked_in_operator_table_matches_the_registry():
    expected = operator_table() + "\n"
    assert (ROOT / "reports" / "operators.md").read_text() == expected, (
        "reports/operators.md is stale: run `python -m mindgen ops > reports/operators.md`"
    )


def test_ops_command_prints_the_table():
    out = subprocess.run([sys.executable, "-m", "mindgen", "ops"], capture_output=True, text=True, check=True)
    assert out.stdout == operator_table() + "\n"
