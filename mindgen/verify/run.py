"""`mindgen verify`: runs the source and the generated network on the same inputs and compares."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mindgen.errors import InputError, VerificationError
from mindgen.frontends.source import SourceModel
from mindgen.output import file_sha256
from mindgen.verify import record as records
from mindgen.verify.candidate import (
    MODE_NAMES,
    describe_failure,
    execution_mode,
    load_candidate,
    run_candidate,
)
from mindgen.verify.compare import OutputStats, tolerance_for
from mindgen.verify.inputs import (
    InputSpec,
    concrete_shapes,
    index_bounds,
    input_specs,
    load_batch,
    random_batch,
)
from mindgen.verify.reference import make_reference
from mindgen.verify.source import load_canonical, report_nodes


@dataclass
class Options:
    """What to check and how; the defaults are `mindgen verify MODEL OUT`."""

    inputs: Path | None = None
    shapes: Sequence[Sequence[int]] | None = None
    samples: int = 1
    seed: int = 0
    rtol: float | None = None
    atol: float | None = None
    modes: Sequence[str] = MODE_NAMES
    locate: bool = False
    export_mindir: bool = False
    mindir_path: Path | None = None
    train_step: bool = False


@dataclass
class VerificationResult:
    """The verdict and everything behind it; `record` is what report.json stores."""

    passed: bool
    record: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        return records.format_table(self.record)

    def summary(self) -> str:
        return records.summary(self.record)


def verify(
    model: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    report_dir: str | os.PathLike[str] | None = None,
    write_report: bool = True,
    **options: Any,
) -> VerificationResult:
    """Verifies a conversion; raises VerificationError (exit code 1) when it does not match."""
    result = run_verification(model, output, report_dir=report_dir, write_report=write_report, **options)
    if not result.passed:
        error = VerificationError(result.summary())
        error.result = result  # type: ignore[attr-defined]
        raise error
    return result


@dataclass
class _Job:
    """One verification's fixed facts: files, report, inputs and the reference's outputs."""

    model: Path
    output: Path
    report: dict
    source: SourceModel
    specs: list[InputSpec]
    batches: list[dict[str, np.ndarray]]
    expected: list[list[np.ndarray]]
    opts: Options
    # The first batch some output got wrong: the one --locate traces.
    failing: int | None = None

    def batch(self, index: int = 0) -> list[np.ndarray]:
        """A batch's arrays in the network's input order."""
        return [self.batches[index][spec.name] for spec in self.specs]


def run_verification(
    model: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    report_dir: str | os.PathLike[str] | None = None,
    write_report: bool = True,
    **options: Any,
) -> VerificationResult:
    """Verifies a conversion and returns the verdict (written into the report unless told not to)."""
    started = time.perf_counter()
    opts = Options(**options)
    _check_options(opts)
    output = Path(output)
    reports = Path(report_dir) if report_dir is not None else output
    job, record = _prepare(Path(model), output, _read_report(output, reports), opts)
    network = module = None
    try:
        network, module = load_candidate(output, job.report)
    except VerificationError as exc:
        record["failures"].append(str(exc))
    stats: list[OutputStats] = []
    actual: dict[str, list[list[np.ndarray]]] = {}
    if network is not None:
        for mode in opts.modes:
            mode_stats = [
                OutputStats(o["name"], mode, tolerance_for(want.dtype, opts.rtol, opts.atol))
                for o, want in zip(job.report["outputs"], job.expected[0], strict=True)
            ]
            stats += mode_stats
            actual[mode] = _run_mode(network, mode, job, mode_stats)
    record["outputs"] = [s.to_json() for s in stats]
    passed = not record["failures"] and all(s.passed for s in stats)
    if network is not None:
        passed = _extra_checks(job, record, network, module, stats, actual, passed)
    record["passed"] = passed
    record["seconds"] = round(time.perf_counter() - started, 3)
    if write_report:
        records.write_verification(reports, record)
    return VerificationResult(passed, record)


def _prepare(model: Path, output: Path, report: dict, opts: Options) -> tuple[_Job, dict[str, Any]]:
    """Loads the source, makes the batches, runs the reference; starts the record."""
    if not model.exists():
        raise InputError(f"model file not found: {model}")
    source = load_canonical(model, report)
    specs = input_specs(report)
    notes: list[str] = []
    if opts.inputs is not None:
        batch, cast_notes = load_batch(opts.inputs, specs)
        batches = [batch]
        notes += cast_notes
        inputs_text = f"inputs from {opts.inputs.name}"
    else:
        shapes = concrete_shapes(specs, opts.shapes)
        bounds = index_bounds(source.graph)
        batches = [random_batch(specs, shapes, bounds, opts.seed, i) for i in range(opts.samples)]
        inputs_text = f"{opts.samples} random batch{'es' if opts.samples > 1 else ''} (seed {opts.seed}"
        inputs_text += ", shapes " + ", ".join(str(tuple(s)) for s in shapes) + ")"
    outputs = [o["name"] for o in report["outputs"]]
    reference = make_reference(model, source, [(s.name, s.shape) for s in specs], outputs)
    expected = [reference.run(batch) for batch in batches]
    if any(len(found) != len(outputs) for found in expected):
        raise InputError(
            f"{model.name} gives {len(expected[0])} outputs; {output} was converted with {len(outputs)}"
        )
    if report.get("model_py_sha256") and (output / "model.py").is_file():
        if file_sha256(output / "model.py") != report["model_py_sha256"]:
            notes.append("model.py was edited since mindgen wrote it; the edited file is what was verified")
    fp32 = tolerance_for(np.dtype(np.float32), opts.rtol, opts.atol)
    record: dict[str, Any] = {
        "passed": False,
        "reference": reference.to_json(),
        "reference_text": reference.describe(),
        "tolerance": {"rtol": fp32.rtol, "atol": fp32.atol},
        "modes": list(opts.modes),
        "inputs": {
            "source": "file" if opts.inputs is not None else "random",
            "file": str(opts.inputs) if opts.inputs is not None else None,
            "seed": opts.seed if opts.inputs is None else None,
            "samples": len(batches),
            "text": inputs_text,
        },
        "outputs": [],
        "notes": notes,
        "failures": [],
        "locate": None,
        "export_mindir": None,
        "train_step": None,
    }
    return _Job(model, output, report, source, specs, batches, expected, opts), record


def _extra_checks(
    job: _Job,
    record: dict[str, Any],
    network: Any,
    module: Any,
    stats: list[OutputStats],
    actual: dict[str, list[list[np.ndarray]]],
    passed: bool,
) -> bool:
    """--locate, --export-mindir and --train-step, each recorded; returns the verdict with them."""
    opts = job.opts
    nodes: list | None = None
    if opts.locate and passed:
        record["locate"] = {"found": False, "message": "not needed, every output matches"}
        record["locate_lines"] = ["locate: not needed, every output matches"]
    elif opts.locate:
        from mindgen.verify.locate import run_locate

        nodes = report_nodes(job.model, job.report)[1]
        unoptimized = load_canonical(job.model, job.report)
        found = run_locate(
            job.output,
            job.report,
            network,
            module,
            nodes,
            unoptimized,
            job.batches[job.failing or 0],
            opts.rtol,
            opts.atol,
        )
        if (
            not found.found
            and "pynative" in opts.modes
            and all(s.passed for s in stats if s.mode == "pynative")
        ):
            found.message += (
                "; the outputs differ only in GRAPH_MODE, and locate compares nodes in PYNATIVE_MODE"
            )
        record["locate"] = found.to_json()
        record["locate_lines"] = found.lines()
    if opts.export_mindir:
        from mindgen.verify.readiness import export_mindir

        ran = next((runs[0] for runs in actual.values() if runs), job.expected[0])
        record["export_mindir"] = export_mindir(
            network, job.batch(), ran, job.expected[0], opts.rtol, opts.atol, opts.mindir_path
        )
        passed = passed and bool(record["export_mindir"]["passed"])
    if opts.train_step:
        from mindgen.verify.readiness import train_step

        nodes = nodes or report_nodes(job.model, job.report)[1]
        record["train_step"] = train_step(
            lambda: load_candidate(job.output, job.report)[0],
            job.report["nodes"],
            _layer_paths(job, network, module),
            nodes,
            job.batch(),
            seed=opts.seed,
        )
        passed = passed and bool(record["train_step"]["passed"])
    return passed


def _run_mode(network: Any, mode: str, job: _Job, stats: list[OutputStats]) -> list[list[np.ndarray]]:
    """Runs every batch in one mode and folds the errors into stats; a raise fails the mode."""
    results: list[list[np.ndarray]] = []
    with execution_mode(mode):
        for index, want in enumerate(job.expected):
            try:
                got = run_candidate(network, job.batch(index))
            except Exception as exc:  # whatever the generated code raises fails this mode
                for item in stats:
                    item.fail(f"the network raised {describe_failure(exc)}")
                return results
            if len(got) != len(want):
                for item in stats:
                    item.fail(f"the network returns {len(got)} outputs, the source {len(want)}")
                return results
            for item, a, b in zip(stats, got, want, strict=True):
                was_passing = item.passed
                item.add(a, b)
                if was_passing and not item.passed and job.failing is None:
                    job.failing = index
            results.append(got)
    return results


def _layer_paths(job: _Job, network: Any, module: Any) -> list[str]:
    """Per report.json node, the path of the cell it runs (from walking model.py; else the report's)."""
    import mindspore as ms

    from mindgen.verify.interpret import CodeMap, node_sites

    fallback = [str(row["generated"]) for row in job.report["nodes"]]
    try:
        with execution_mode("pynative"):
            inputs = [ms.Tensor(a) for a in job.batch()]
            sites = node_sites(CodeMap(job.output / "model.py"), module, network, inputs)
    except Exception:  # model.py is not followable, or raised: the plain run reported that already
        return fallback
    if len(sites) != len(fallback):
        return fallback
    return [site.member or name for site, name in zip(sites, fallback, strict=True)]


def _check_options(opts: Options) -> None:
    if opts.samples < 1:
        raise InputError("--samples must be 1 or more")
    if opts.inputs is not None and opts.samples != 1:
        raise InputError("--samples draws random batches; it cannot be combined with --inputs")
    for name in ("rtol", "atol"):
        value = getattr(opts, name)
        if value is not None and not (value >= 0 and np.isfinite(value)):
            raise InputError(f"--{name} must be a finite number >= 0")
    unknown = [m for m in opts.modes if m not in MODE_NAMES]
    if unknown or not opts.modes:
        raise InputError(f"unknown --mode {', '.join(unknown) or '(none)'}: expected pynative, graph or both")


def _read_report(output: Path, reports: Path) -> dict:
    if not output.is_dir():
        raise InputError(f"output directory not found: {output}")
    path = reports / "report.json"
    if not path.is_file():
        hint = "" if reports != output else " (if the report went elsewhere, give --report DIR)"
        raise InputError(f"no report.json in {reports}{hint}")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        for key in ("network_class", "checkpoint", "inputs", "outputs", "nodes", "summary"):
            report[key]  # noqa: B018  (a KeyError means it is not mindgen's report)
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path} is not a mindgen conversion report") from None
    return report
