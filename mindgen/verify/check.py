"""`mindgen check`: a unit test per hand-finished placeholder, against its source operator alone."""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx_ir as ir

from mindgen.errors import InputError, VerificationError
from mindgen.verify.candidate import describe_failure, execution_mode, load_candidate, to_numpy
from mindgen.verify.compare import max_abs_difference, short_number, tolerance_for
from mindgen.verify.inputs import InputSpec, random_batch
from mindgen.verify.one_node import Runner, attribute_values, one_node_runner
from mindgen.verify.run import _read_report
from mindgen.verify.source import report_nodes

STATUSES = ("unfinished", "ok", "MISMATCH", "raises", "no reference")


@dataclass
class OpCheck:
    """The verdict on one placeholder instance (one source node)."""

    op: str
    node: str
    identifier: str
    class_name: str
    status: str
    max_abs_error: float | None = None
    detail: str = ""


@dataclass
class CheckResult:
    """Every placeholder's verdict; passed when all are implemented and match."""

    checks: list[OpCheck] = field(default_factory=list)
    reference_note: str = ""

    @property
    def passed(self) -> bool:
        return all(c.status == "ok" for c in self.checks)

    def table(self) -> str:
        return format_table(self)

    def summary(self) -> str:
        bad = [c for c in self.checks if c.status != "ok"]
        shown = "; ".join(f"{_printable(c.identifier)} {c.status}" for c in bad[:6])
        more = f"; and {len(bad) - 6} more" if len(bad) > 6 else ""
        return f"{len(bad)} of {len(self.checks)} placeholder(s) not finished or not matching: {shown}{more}"


def run_check(
    output: str | os.PathLike[str],
    *,
    report_dir: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
    reference: str | os.PathLike[str] | None = None,
    samples: int = 1,
    seed: int = 0,
    rtol: float | None = None,
    atol: float | None = None,
) -> CheckResult:
    """Checks each placeholder of a conversion: unfinished, or its outputs against the source operator."""
    if samples < 1:
        raise InputError("--samples must be 1 or more")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and not (value >= 0 and np.isfinite(value)):
            raise InputError(f"--{name} must be a finite number >= 0")
    output = Path(output)
    report = _read_report(output, Path(report_dir) if report_dir is not None else output)
    references = _load_references(Path(reference)) if reference is not None else None
    result = CheckResult()
    entries = report.get("unmapped") or []
    if not entries:
        return result
    nodes, opsets = _source_nodes(report, model)
    network, _ = load_candidate(output, report)
    with execution_mode("pynative"):
        for entry in entries:
            node = nodes.get(str(entry["identifier"]))
            check = OpCheck(
                op=f"{entry['domain']}::{entry['op_type']}",
                node=str(entry["node"]),
                identifier=str(entry["identifier"]),
                class_name=str(entry.get("class_name", "")),
                status="raises",
            )
            reference_for = functools.partial(_reference, node, references, opsets) if node else None
            _check_one(check, entry, node, network, reference_for, samples, seed, (rtol, atol))
            result.checks.append(check)
    return result


def _source_nodes(
    report: dict, model: str | os.PathLike[str] | None
) -> tuple[dict[str, ir.Node], tuple[dict[str, int], int]]:
    """The source node behind each placeholder, by the identifier report.json gives it; the opsets."""
    path = Path(model) if model is not None else Path(str(report.get("source", {}).get("path", "")))
    if not path.is_file():
        raise InputError(f"source model not found: {path} (give it with --model FILE)")
    source, nodes = report_nodes(path, report)
    opsets = (dict(source.model.opset_imports), max(int(source.model.ir_version or 8), 7))
    return {
        str(row["generated"]): node
        for row, node in zip(report["nodes"], nodes, strict=True)
        if node is not None and row.get("mapper") == "placeholder"
    }, opsets


def _check_one(
    check: OpCheck,
    entry: dict,
    node: ir.Node | None,
    network: Any,
    reference_for: Callable[[], tuple[Runner | None, str]] | None,
    samples: int,
    seed: int,
    tolerance: tuple[float | None, float | None],
) -> None:
    """Fills in one verdict: NotImplementedError means unfinished; else compare every sample."""
    try:
        cell = member(network, check.identifier)
    except AttributeError:
        check.detail = f"the network has no member {check.identifier!r}"
        return
    if reference_for is None:
        check.status, check.detail = "no reference", "the source node was not found in the model"
    reference_run: Runner | None = None
    worst = 0.0
    for sample in range(samples):
        arrays = _inputs(entry, node, seed, sample)
        try:
            got = _call(cell, arrays)
        except NotImplementedError:
            check.status, check.detail = "unfinished", "construct still raises NotImplementedError"
            return
        except Exception as exc:  # the user's code, whatever it raises
            check.status, check.detail = "raises", describe_failure(exc)
            return
        if reference_for is None:
            return
        if reference_run is None:
            reference_run, problem = reference_for()
            if reference_run is None:
                check.status, check.detail = "no reference", problem
                return
        try:
            want = reference_run(arrays)
        except Exception as exc:  # a reference function or onnxruntime failing on these inputs
            check.status, check.detail = "no reference", f"the reference fails: {describe_failure(exc)}"
            return
        problem, error = _compare(got, want, entry, tolerance)
        worst = max(worst, error)
        check.max_abs_error = worst
        if problem:
            check.status, check.detail = "MISMATCH", f"sample {sample}: {problem}"
            return
    check.status = "ok"


def member(network: Any, identifier: str) -> Any:
    """The sub-cell at a dotted attribute path ('blocks.0.act'; indices reach into SequentialCells)."""
    cell = network
    for part in identifier.split("."):
        if hasattr(cell, part):
            cell = getattr(cell, part)
        elif part.isdigit():
            try:
                cell = cell[int(part)]
            except (TypeError, IndexError, KeyError):
                raise AttributeError(part) from None
        else:
            raise AttributeError(part)
    return cell


def _inputs(entry: dict, node: ir.Node | None, seed: int, sample: int) -> list[np.ndarray | None]:
    """The node's inputs: the model's own constants, seeded random arrays of the recorded shapes."""
    shapes, dtypes = entry.get("input_shapes") or [], entry.get("input_dtypes") or []
    arrays: list[np.ndarray | None] = []
    specs, positions = [], []
    for index, (shape, dtype) in enumerate(zip(shapes, dtypes, strict=False)):
        value = node.inputs[index] if node is not None and index < len(node.inputs) else None
        if value is not None and value.const_value is not None:
            arrays.append(value.const_value.numpy())
            continue
        if dtype is None or (node is not None and value is None):
            arrays.append(None)
            continue
        if shape is None:
            raise InputError(
                f"the shape of input {index} of {entry['identifier']} is unknown; nothing to feed"
            )
        specs.append(InputSpec(str(index), tuple(shape), np.dtype(dtype)))
        positions.append(index)
        arrays.append(None)
    concrete = [tuple(d if isinstance(d, int) else 1 for d in spec.shape or ()) for spec in specs]
    batch = random_batch(specs, concrete, {}, seed, sample)
    for index, spec in zip(positions, specs, strict=True):
        arrays[index] = batch[spec.name]
    return arrays


def _call(cell: Any, arrays: Sequence[np.ndarray | None]) -> list[np.ndarray]:
    import mindspore as ms

    results = cell(*[None if a is None else ms.Tensor(a) for a in arrays])
    results = results if isinstance(results, (tuple, list)) else (results,)
    return [to_numpy(r) for r in results]


def _reference(
    node: ir.Node, references: ModuleType | None, opsets: tuple[dict[str, int], int]
) -> tuple[Runner | None, str]:
    """The user's numpy function named after the op type, else onnxruntime on the node alone."""
    function = getattr(references, node.op_type, None) if references is not None else None
    if callable(function):
        attributes = attribute_values(node)

        def run(arrays: list[np.ndarray | None]) -> list[np.ndarray]:
            results = function(*arrays, **attributes)
            results = results if isinstance(results, (tuple, list)) else (results,)
            return [np.asarray(r) for r in results]

        return run, ""
    runner, problem = one_node_runner(node, *opsets)
    if runner is None:
        hint = f"; give --reference FILE defining {_printable(node.op_type)}(...)"
        return None, f"onnxruntime cannot run it ({problem}){hint}"
    return runner, ""


def _compare(
    got: list[np.ndarray], want: list[np.ndarray], entry: dict, tolerance: tuple[float | None, float | None]
) -> tuple[str, float]:
    """The first problem ('' when none) and the largest error over the outputs."""
    if len(got) < len(want):
        return f"returns {len(got)} output(s); the operator has {len(want)}", float("inf")
    dtypes = entry.get("output_dtypes") or []
    worst = 0.0
    for index, expected in enumerate(want):
        recorded = dtypes[index] if index < len(dtypes) else None
        expected = (
            expected.astype(recorded) if recorded and expected.dtype != np.dtype(recorded) else expected
        )
        actual = got[index]
        error = max_abs_difference(actual, expected)
        worst = max(worst, error)
        if actual.shape != expected.shape:
            return f"output {index} has shape {actual.shape}; the operator gives {expected.shape}", worst
        if actual.dtype != expected.dtype:
            return f"output {index} is {actual.dtype}; the operator gives {expected.dtype}", worst
        limit = tolerance_for(expected.dtype, *tolerance)
        if not limit.allows(actual, expected):
            return f"output {index}: max abs error {short_number(error)} exceeds {limit.text()}", worst
    return "", worst


def _load_references(path: Path) -> ModuleType:
    """Imports the --reference file: numpy functions named after op types."""
    if not path.is_file():
        raise InputError(f"reference file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"mindgen_check_reference_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        raise InputError(f"cannot import the reference file {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # anything the user's file raises while it loads
        raise InputError(f"the reference file {path} does not load: {describe_failure(exc)}") from None
    return module


def format_table(result: CheckResult) -> str:
    """The verdicts as an aligned table, then a line per problem."""
    if not result.checks:
        return "No placeholders: mindgen mapped every operator."
    rows = [["op", "node", "member", "status", "max abs err"]]
    for c in result.checks:
        error = "" if c.max_abs_error is None else f"{c.max_abs_error:.2e}"
        rows.append([_printable(c.op), _printable(c.node) or "-", _printable(c.identifier), c.status, error])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for c in result.checks:
        if c.status != "ok" and c.detail:
            lines.append(
                f"{_printable(c.identifier)} ({c.class_name}): {c.status}: {_printable(c.detail, 400)}"
            )
    unfinished = [c for c in result.checks if c.status == "unfinished"]
    if unfinished:
        classes = ", ".join(dict.fromkeys(c.class_name for c in unfinished))
        lines.append(f"Unfinished: {classes} (implement construct in model.py)")
    if result.passed:
        lines.append(
            f"All {len(result.checks)} placeholder(s) implemented and matching their source operators."
        )
    return "\n".join(lines)


def _printable(text: str, limit: int = 60) -> str:
    """Model text on one line: control characters escaped, long names cut."""
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def check(output: str | os.PathLike[str], **options: Any) -> CheckResult:
    """run_check that raises VerificationError (exit code 1) unless every placeholder passes."""
    result = run_check(output, **options)
    if not result.passed:
        raise VerificationError(result.summary())
    return result


__all__ = ["CheckResult", "OpCheck", "STATUSES", "check", "member", "run_check"]
