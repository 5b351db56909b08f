"""The checked-in sample report of the bundled example is what the documented command writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "reports" / "example"
# Values that differ from run to run or machine to machine.
VOLATILE_KEYS = ("timings", "files")


def _stable_json(path: Path) -> dict:
    data = json.loads(path.read_text())
    for key in VOLATILE_KEYS:
        data.pop(key)
    data["source"].pop("path")
    return data


def _stable_markdown(path: Path) -> str:
    text = path.read_text()
    text = re.sub(r"^Source: .*?\(", "Source: (", text, flags=re.MULTILINE)
    return re.sub(r"## Timings \(seconds\).*?\n## ", "## ", text, flags=re.DOTALL)


def test_sample_report_is_up_to_date(tmp_path):
    # The command README.md documents, with a temporary target instead of reports/example.
    subprocess.run(
        [sys.executable, "-m", "mindgen", "convert", "--example", "--output", str(tmp_path / "out"),
         "--report", str(tmp_path / "report"), "--quiet"],
        check=True,
    )
    hint = "reports/example is stale: regenerate it with the command in README.md"
    assert _stable_json(tmp_path / "report" / "report.json") == _stable_json(SAMPLE / "report.json"), hint
    assert (tmp_path / "report" / "weight_map.json").read_text() == (SAMPLE / "weight_map.json").read_text(), hint
    assert _stable_markdown(tmp_path / "report" / "report.md") == _stable_markdown(SAMPLE / "report.md"), hint
