"""The verification in words: the printed table, and its place in report.json and report.md."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mindgen.report.writer import markdown_escape
from mindgen.verify.compare import Tolerance

# report.md's verification section starts here; a later run replaces everything from it on.
MARKER = "<!-- mindgen verify -->"
_COLUMNS = ("output", "mode", "max abs", "max rel", "mean abs", "cosine", "top-1", "top-5", "verdict")


def table_rows(outputs: Sequence[dict]) -> list[list[str]]:
    """One row of text cells per output and mode."""
    rows = []
    for item in outputs:
        rows.append(
            [
                str(item["name"]),
                str(item["mode"]),
                _number(item["max_abs_error"]),
                _number(item["max_rel_error"]),
                _number(item["mean_abs_error"]),
                "-" if item["cosine_similarity"] is None else f"{item['cosine_similarity']:.7f}",
                _share(item["top1_agreement"]),
                _share(item["top5_agreement"]),
                "ok" if item["passed"] else "MISMATCH",
            ]
        )
    return rows


def format_table(record: dict) -> str:
    """The console account: header line, error table, problems, findings and the verdict."""
    rows = [list(_COLUMNS), *table_rows(record["outputs"])]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [_headline(record)]
    lines += [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    for item in record["outputs"]:
        for problem in item["problems"]:
            lines.append(f"  {item['name']} ({item['mode']}): {problem}")
    lines += [f"  {note}" for note in record["notes"]]
    lines += [f"  {failure}" for failure in record["failures"]]
    if record.get("locate"):
        lines += record["locate_lines"]
    if record.get("export_mindir"):
        lines.append(_mindir_line(record["export_mindir"]))
    if record.get("train_step"):
        lines += _train_lines(record["train_step"])
    lines.append(verdict_line(record))
    return "\n".join(lines)


def verdict_line(record: dict) -> str:
    checked = ", ".join(sorted({str(o["mode"]) for o in record["outputs"]}, reverse=True))
    count = len({o["name"] for o in record["outputs"]})
    if record["passed"]:
        return f"Verified: {count} output(s) match the reference within {_tolerance(record)} ({checked})."
    return f"NOT verified: {summary(record)}"


def summary(record: dict) -> str:
    """One line saying what failed (the error message of a failed verification)."""
    bad: dict[str, list[dict]] = {}
    for item in record["outputs"]:
        if not item["passed"]:
            bad.setdefault(str(item["name"]), []).append(item)
    parts = []
    if bad:
        shown = [
            f"{name} ({', '.join(str(i['mode']) for i in items)}: {_failure(items)})"
            for name, items in bad.items()
        ]
        parts.append(f"{len(bad)} output(s) do not match at {_tolerance(record)}: " + "; ".join(shown[:4]))
    parts += record["failures"][:2]
    for check in ("export_mindir", "train_step"):
        found = record.get(check)
        if found and not found.get("passed"):
            parts.append(f"{check.replace('_', ' ')} failed")
    locate = record.get("locate")
    if locate and locate.get("found"):
        parts.append(f"first diverging node {locate['node']} ({locate['op_type']})")
    return "; ".join(parts) or "verification failed"


def _failure(items: list[dict]) -> str:
    errors = [i["max_abs_error"] for i in items if i["max_abs_error"] is not None]
    if errors and not any(i["problems"] for i in items):
        return f"max abs error {_number(max(errors))}"
    return next((p for i in items for p in i["problems"]), "no result")


def write_verification(report_dir: Path, record: dict) -> None:
    """Adds the "verification" key to report.json and a section to report.md, each file replaced atomically."""
    json_path = report_dir / "report.json"
    data = json.loads(json_path.read_text(encoding="utf-8"))
    data["verification"] = {k: v for k, v in record.items() if k != "locate_lines"}
    _replace(json_path, json.dumps(data, indent=2) + "\n")
    md_path = report_dir / "report.md"
    if md_path.is_file():
        text = md_path.read_text(encoding="utf-8")
        text = text.split(MARKER, 1)[0].rstrip("\n") + "\n\n"
        _replace(md_path, text + markdown_section(record))


def markdown_section(record: dict) -> str:
    """The report.md section: verdict, reference, inputs, the error table and the findings."""
    esc = markdown_escape
    lines = [MARKER, "## Verification", ""]
    verdict = "**Passed**" if record["passed"] else "**Failed**"
    lines.append(
        f"{verdict}: compared with {esc(record['reference_text'])}; {esc(record['inputs']['text'])}; {_tolerance(record)}."
    )
    lines += ["", "| " + " | ".join(_COLUMNS) + " |", "|---|---|" + "---:|" * 6 + "---|"]
    for row in table_rows(record["outputs"]):
        lines.append("| " + " | ".join(esc(cell) for cell in row) + " |")
    extra = [f"{o['name']} ({o['mode']}): {p}" for o in record["outputs"] for p in o["problems"]]
    extra += record["notes"] + record["failures"]
    if extra:
        lines.append("")
        lines += [f"- {esc(item)}" for item in extra]
    if record.get("locate"):
        lines += ["", "### First diverging node", "", "```", *record["locate_lines"], "```"]
    if record.get("export_mindir"):
        lines += ["", "### MINDIR export", "", esc(_mindir_line(record["export_mindir"]).strip())]
    if record.get("train_step"):
        lines += ["", "### Train step", ""] + [
            f"- {esc(line.strip())}" for line in _train_lines(record["train_step"])
        ]
    return "\n".join(lines) + "\n"


def _headline(record: dict) -> str:
    return f"Verifying against {record['reference_text']}; {record['inputs']['text']}; {_tolerance(record)}"


def _tolerance(record: dict) -> str:
    return Tolerance(record["tolerance"]["rtol"], record["tolerance"]["atol"]).text()


def _mindir_line(found: dict) -> str:
    if not found.get("passed"):
        return f"MINDIR export: FAILED ({found.get('problem', '')})"
    where = found["file"] or "a temporary file"
    return (
        f"MINDIR export: {where} ({found['bytes']:,} bytes) reloads with nn.GraphCell; "
        f"max abs error {_number(found['max_abs_vs_network'])} vs the network, "
        f"{_number(found['max_abs_vs_reference'])} vs the reference"
    )


def _train_lines(found: dict) -> list[str]:
    lines = []
    if "loss_after" in found:
        dead = found.get("parameters_without_gradient", [])
        lines.append(
            f"Train step: {found['steps']} SGD steps, loss {found['loss_before']:.6g} -> {found['loss_after']:.6g}; "
            f"gradients reach {found.get('parameters', 0) - len(dead)} of {found.get('parameters', 0)} trainable parameters"
        )
    for bn in found.get("batchnorm", []):
        lines.append(
            f"  BatchNorm {bn['cell']}: momentum {bn['momentum']:.6g} (source {bn['source_momentum']:.6g}), "
            f"eps {bn['epsilon']:.6g} (source {bn['source_epsilon']:.6g}), moving mean updated with it: "
            f"{'yes' if bn['statistics_update'] else 'NO'}"
        )
    for drop in found.get("dropout", []):
        if drop.get("p") is None:
            lines.append(f"  Dropout {drop['node']}: not an nn.Dropout")
            continue
        lines.append(
            f"  nn.Dropout {drop['cell']}: p {drop['p']:g} (source ratio {drop['source_ratio']}), "
            f"drops {drop['dropped_in_training']:.0%} in training"
        )
    if "loss_after" in found:
        absent = [
            op
            for op, key in (("BatchNormalization", "batchnorm"), ("Dropout", "dropout"))
            if not found.get(key)
        ]
        if absent:
            lines.append(f"  (no {' or '.join(absent)} in the source graph)")
    lines += [f"  problem: {p}" for p in found.get("problems", [])]
    return lines


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _replace(path: Path, text: str) -> None:
    """Writes beside the file, then renames over it: readers see the old or the new file, never half."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
