"""Compiled templates are cached between runs like .pyc files, and a cache that cannot be used changes nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def _convert_example(out: Path, cache_home: Path, *, write_bytecode: bool = True) -> None:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    subprocess.run(
        [sys.executable, "-m", "mindgen", "convert", "--example", "-o", str(out), "-q"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


_TIMING_ROW = re.compile(r"^\| \w+ \| [0-9.]+ \|$", re.MULTILINE)


def _outputs(out: Path) -> tuple[bytes, str]:
    """model.py's bytes and report.md's text without its timings, which differ from run to run."""
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| codegen |" in report  # the pattern below still matches the timing rows
    return (out / "model.py").read_bytes(), _TIMING_ROW.sub("", report)


def test_second_run_reads_the_cache_and_writes_the_same_files(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _convert_example(tmp_path / "first", cache)
    entries = sorted((cache / "mindgen").glob("templates-*/*.cache"))
    assert len(entries) == 2  # model.py.j2 and report.md.j2
    stamps = [entry.stat().st_mtime_ns for entry in entries]
    _convert_example(tmp_path / "second", cache)
    assert [entry.stat().st_mtime_ns for entry in entries] == stamps  # read, not rewritten
    assert _outputs(tmp_path / "first") == _outputs(tmp_path / "second")


def test_cache_folder_that_is_a_file_is_skipped(tmp_path: Path) -> None:
    _convert_example(tmp_path / "reference", tmp_path / "fresh_cache")
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    _convert_example(tmp_path / "out", cache)
    assert _outputs(tmp_path / "out") == _outputs(tmp_path / "reference")


def test_unreadable_cache_entries_are_skipped(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh_cache"
    _convert_example(tmp_path / "reference", fresh)
    # The same entry names as folders: reading and replacing them both fail with OSError.
    for entry in fresh.glob("mindgen/templates-*/*.cache"):
        (tmp_path / "cache" / entry.relative_to(fresh)).mkdir(parents=True)
    _convert_example(tmp_path / "out", tmp_path / "cache")
    assert _outputs(tmp_path / "out") == _outputs(tmp_path / "reference")


def test_no_cache_is_written_when_bytecode_writing_is_off(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _convert_example(tmp_path / "out", cache, write_bytecode=False)
    assert not cache.exists()
