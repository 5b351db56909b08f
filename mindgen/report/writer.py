"""Writes report.json, report.md and weight_map.json."""

from __future__ import annotations

import json
from pathlib import Path

from mindgen.codegen.templates import render_template
from mindgen.report.model import ConversionReport, WeightMapEntry

# HTML's three specials and Markdown's, all escaped in one str.translate pass (the same result
# as replacing & first, then < and >, then backslash-escaping the Markdown specials).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", **{c: "\\" + c for c in "\\`*_[]|~#"}})


def markdown_escape(value: object) -> str:
    """Text from the model made inert in Markdown and HTML: one line, specials escaped."""
    text = " ".join(str(value).split())
    if len(text) > 200:
        text = text[:197] + "..."
    if not text.isprintable():
        text = visible(text)
    return text.translate(_ESCAPES)


def visible(text: str) -> str:
    """Control, format and bidi characters (NUL, ESC, U+202E, ...) spelt as Python escapes, so they show."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def write_report(report: ConversionReport, directory: Path) -> None:
    """Writes report.json and report.md into directory."""
    (directory / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    markdown = render_template(
        "report.md.j2", report=report, esc=markdown_escape, shape=_shape_text, shapes=_shapes_text
    )
    (directory / "report.md").write_text(markdown, encoding="utf-8")


def write_weight_map(entries: list[WeightMapEntry], directory: Path) -> None:
    """Writes weight_map.json: one entry per checkpoint parameter, in checkpoint order."""
    payload = []
    for entry in entries:
        item: dict[str, object] = {
            "converted_weight": entry.converted_weight,
            "source_weight": entry.source_weight,
        }
        if entry.note:
            item["note"] = entry.note
        payload.append(item)
    (directory / "weight_map.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _shape_text(shape: object) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"  # type: ignore[union-attr]


def _shapes_text(shapes: list[object]) -> str:
    return ", ".join(_shape_text(s) for s in shapes)
