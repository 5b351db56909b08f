"""Formats generated source with ruff and checks that it parses."""

from __future__ import annotations

import subprocess
import sys


def _ruff_command() -> list[str]:
    """The ruff binary itself when it can be found: `python -m ruff` costs an interpreter start."""
    try:
        from ruff.__main__ import find_ruff_bin

        return [find_ruff_bin()]
    except (ImportError, FileNotFoundError):
        return [sys.executable, "-m", "ruff"]


def format_source(text: str) -> str:
    """Returns text formatted by `ruff format` (line length 100); the input must parse."""
    # A generator bug must surface here, not in the user's editor. compile() rather than
    # ast.parse(): no Python AST objects, whose garbage-collector scans cost ~2 s at 20k nodes.
    compile(text, "model.py", "exec", dont_inherit=True)
    try:
        completed = subprocess.run(
            [*_ruff_command(), "format", "--line-length", "100", "--stdin-filename", "model.py", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return text
    return completed.stdout
