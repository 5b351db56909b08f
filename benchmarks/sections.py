"""Each benchmark owns one section of reports/benchmarks.md and rewrites only that section."""

from __future__ import annotations

from pathlib import Path

_HEADER = (
    "# Benchmarks\n\n"
    "Written by the benchmark scripts (see README.md, Benchmarks); each rewrites only its own section.\n"
)


def write_section(path: Path, name: str, text: str) -> None:
    """Puts text between the section's markers in path, keeping every other section as it is."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.strip()}\n{end}\n"
    current = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        updated = head + block + ("\n" + tail if tail else "")
    else:
        updated = current.rstrip("\n") + "\n\n" + block
    path.write_text(updated, encoding="utf-8")
