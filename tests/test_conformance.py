"""The ONNX conformance suite: coverage may only go up, and the checked-in report is current."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "onnx_conformance.md"
THRESHOLD = ROOT / "reports" / "conformance_threshold.json"


def _per_operator_rows(markdown: str) -> dict[str, str]:
    """Operator -> 'passed / cases', the part of the report that must not drift."""
    rows = re.findall(r"^\| (\S+) \| (\d+ / \d+) \|", markdown, flags=re.MULTILINE)
    return dict(rows)


@pytest.mark.slow
def test_conformance_pass_count_never_drops_and_report_is_current(tmp_path):
    report, results = tmp_path / "conformance.md", tmp_path / "results.json"
    minimum = json.loads(THRESHOLD.read_text())["min_pass"]
    completed = subprocess.run(
        [sys.executable, "-m", "mindgen.conformance", "--report", str(report), "--json", str(results)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    cases = json.loads(results.read_text())
    passed = sum(case["status"] == "pass" for case in cases)
    assert passed >= minimum, f"{passed} cases pass, below the recorded minimum {minimum}"
    assert not [c for c in cases if c["status"] == "convert_error" and "Error:" in c["reason"]], (
        "the converter raised an unexpected exception (a bug, not an unmapped operator)"
    )
    fresh, checked_in = _per_operator_rows(report.read_text()), _per_operator_rows(REPORT.read_text())
    # A case that hit the time limit or lost its worker says something about the machine,
    # not about mindgen: its operator's row is not held against the checked-in report.
    unsettled = {c["op_type"] for c in cases if c["status"] == "timeout" or "worker process" in c["reason"]}
    drift = {
        op: (checked_in.get(op), fresh.get(op))
        for op in (fresh.keys() | checked_in.keys()) - unsettled
        if fresh.get(op) != checked_in.get(op)
    }
    assert not drift, (
        f"reports/onnx_conformance.md is stale (checked in, now): {drift}; run python -m mindgen.conformance"
    )
