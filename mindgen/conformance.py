"""Operator coverage on the ONNX backend node test cases (`python -m mindgen.conformance`).

Each case is converted with mindgen, its model.py imported, its checkpoint loaded, and
its outputs compared with the case's expected outputs at the case's own tolerance. Cases
run in worker processes with a time limit, so a crash or hang costs one case, not the run.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import platform
import re
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

STATUSES = ("pass", "mismatch", "unmapped", "convert_error", "run_error", "timeout")
DEFAULT_REPORT = Path(__file__).resolve().parents[1] / "reports" / "onnx_conformance.md"


@dataclass
class CaseResult:
    """The outcome of one conformance case."""

    name: str
    op_type: str
    status: str
    reason: str = ""
    seconds: float = 0.0


# Cases ---------------------------------------------------------------------------------
def load_cases(pattern: str | None = None):
    """The onnx package's node test cases, sorted by name, optionally filtered by a regex."""
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the case generators overflow casts on purpose
        cases = collect_testcases(None)
    cases = sorted(cases, key=lambda c: c.name)
    if pattern:
        cases = [c for c in cases if re.search(pattern, c.name)]
    return cases


# Case-name prefixes that abbreviate the operator they test.
_NAME_ALIASES = {"nllloss": "NegativeLogLikelihoodLoss", "sce": "SoftmaxCrossEntropyLoss"}


def case_op_type(case, schema_names: dict[str, str]) -> str:
    """The operator a case tests: its single node's type, else the longest name match."""
    nodes = case.model.graph.node
    if len(nodes) == 1 and not case.name.endswith("_expanded"):
        return nodes[0].op_type
    first = case.name.removeprefix("test_").split("_", 1)[0]
    if first in _NAME_ALIASES:
        return _NAME_ALIASES[first]
    squashed = case.name.removeprefix("test_").replace("_", "").lower()
    matches = [op for key, op in schema_names.items() if squashed.startswith(key)]
    return max(matches, key=len) if matches else (nodes[0].op_type if nodes else "?")


def schema_names() -> dict[str, str]:
    import onnx.defs

    return {s.name.lower(): s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain == ""}


# Worker side ---------------------------------------------------------------------------
def _to_array(item):
    import numpy as np
    from onnx import numpy_helper

    if isinstance(item, np.ndarray):
        return item
    if hasattr(item, "SerializeToString"):
        return numpy_helper.to_array(item)
    if isinstance(item, (np.generic, int, float, bool)):
        return np.asarray(item)
    raise TypeError(f"{type(item).__name__} inputs (sequences, optionals) are not tensors")


def run_case(case, mode: str) -> CaseResult:
    """Converts and runs one case in this process."""
    import json as json_module

    import numpy as np
    import onnx

    import mindgen
    from mindgen.errors import MindgenError

    start = time.perf_counter()

    def result(status: str, reason: str = "") -> CaseResult:
        return CaseResult(case.name, "", status, reason[:300], round(time.perf_counter() - start, 3))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        onnx.save(case.model, path)
        try:
            mindgen.convert(path, Path(folder) / "out")
        except MindgenError as error:
            return result("convert_error", str(error))
        except Exception as error:  # a converter bug: record it, the run goes on
            return result("convert_error", f"{type(error).__name__}: {error}")
        report = json_module.loads((Path(folder) / "out" / "report.json").read_text())
        if report["unmapped"]:
            first = report["unmapped"][0]
            return result("unmapped", f"{first['op_type']}: {first['reason']}")
        try:
            import mindspore as ms

            from mindgen.runtime import load_network

            ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
            network = load_network(Path(folder) / "out")
            for inputs, expected in case.data_sets:
                arrays = [_to_array(x) for x in inputs]
                outputs = network(*[ms.Tensor(a) for a in arrays])
                outputs = outputs if isinstance(outputs, tuple) else (outputs,)
                got = [o.asnumpy() if hasattr(o, "asnumpy") else np.asarray(o) for o in outputs]
                want = [_to_array(x) for x in expected]
                problem = compare(got, want, case.rtol, case.atol)
                if problem:
                    return result("mismatch", problem)
        except Exception as error:  # MindSpore raises many types for unsupported kernels
            text = str(error).strip().splitlines()
            return result("run_error", f"{type(error).__name__}: {text[0] if text else ''}")
    return result("pass")


def compare(got, want, rtol: float, atol: float) -> str:
    """'' when outputs match (shape-exact, NaN-equal), else why not."""
    import numpy as np

    if len(got) != len(want):
        return f"{len(got)} outputs, expected {len(want)}"
    for index, (g, w) in enumerate(zip(got, want, strict=True)):
        # MindSpore and onnx each bring their own bfloat16 type, which numpy cannot cast
        # between: compare both through float32, which holds every bfloat16 exactly.
        if "bfloat16" in (g.dtype.name, w.dtype.name):
            if g.dtype.name != w.dtype.name:
                return f"output {index}: dtype {g.dtype} vs {w.dtype}"
            g, w = g.astype(np.float32), w.astype(np.float32)
        if g.shape != w.shape:
            return f"output {index}: shape {g.shape}, expected {w.shape}"
        if w.dtype.kind in "fc":
            g64, w64 = g.astype(np.float64), w.astype(np.float64)
            if not np.allclose(g64, w64, rtol=rtol, atol=atol, equal_nan=True):
                error = np.nanmax(np.abs(g64 - w64)) if g.size else 0.0
                return f"output {index}: max abs error {error:.3g} (rtol {rtol}, atol {atol})"
        elif not np.array_equal(g.astype(w.dtype), w) or g.dtype.kind != w.dtype.kind:
            return f"output {index}: values or dtype differ ({g.dtype} vs {w.dtype})"
    return ""


def _worker(connection, mode: str) -> None:
    import os
    import warnings

    warnings.simplefilter("ignore")
    os.environ.setdefault("GLOG_v", "3")
    cases = {c.name: c for c in load_cases()}
    import mindspore as ms

    ms.set_device("CPU")
    while True:
        name = connection.recv()
        if name is None:
            return
        try:
            outcome = run_case(cases[name], mode)
        except BaseException as error:  # keep the worker alive for the next case
            outcome = CaseResult(name, "", "run_error", f"{type(error).__name__}: {error}"[:300])
            traceback.print_exc(file=sys.stderr)
        connection.send(asdict(outcome))


# Parent side ---------------------------------------------------------------------------
class _Slot:
    """One worker process and the case it is running."""

    def __init__(self, context, mode: str) -> None:
        self.parent, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, mode), daemon=True)
        self.process.start()
        self.case: str | None = None
        self.started = 0.0

    def submit(self, name: str) -> None:
        self.case, self.started = name, time.monotonic()
        self.parent.send(name)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


def run_all(names: list[str], *, mode: str, workers: int, timeout: float, progress: bool) -> list[dict]:
    """Runs the named cases in worker processes; a hung or dead worker is replaced."""
    context = multiprocessing.get_context("spawn")
    pending = collections.deque(names)
    slots = [_Slot(context, mode) for _ in range(min(workers, len(names)) or 1)]
    results: list[dict] = []
    # Importing MindSpore and collecting cases take a while in each fresh worker.
    startup_grace = 120.0
    try:
        while pending or any(s.case for s in slots):
            for index, slot in enumerate(slots):
                if slot.case is None and pending:
                    slot.submit(pending.popleft())
                if slot.case is None:
                    continue
                if slot.parent.poll(0.01):
                    try:
                        results.append(slot.parent.recv())
                    except EOFError:
                        results.append(asdict(CaseResult(slot.case, "", "run_error", "worker process died")))
                        slot.stop()
                        slots[index] = _Slot(context, mode)
                        continue
                    slot.case = None
                elif not slot.process.is_alive():
                    results.append(asdict(CaseResult(slot.case, "", "run_error", "worker process crashed")))
                    slots[index] = _Slot(context, mode)
                elif time.monotonic() - slot.started > timeout + startup_grace * (len(results) < len(slots)):
                    results.append(asdict(CaseResult(slot.case, "", "timeout", f"no result within {timeout:.0f} s")))
                    slot.stop()
                    slots[index] = _Slot(context, mode)
                else:
                    continue
                if progress:
                    print(f"\r{len(results)}/{len(names)} cases", end="", file=sys.stderr, flush=True)
            time.sleep(0.005)
    finally:
        for slot in slots:
            try:
                slot.parent.send(None)
            except (BrokenPipeError, OSError):
                pass
            slot.process.join(timeout=2)
            slot.stop()
    if progress:
        print(file=sys.stderr)
    return results


# Report --------------------------------------------------------------------------------
def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("mindgen", "onnx", "onnxruntime", "mindspore"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    found["python"] = platform.python_version()
    return found


# Why a case is beyond MindSpore 2.10 on CPU rather than not done yet: element types it has
# no tensors or kernels for, non-tensor values, and operator domains outside inference.
_OUT_OF_REACH = re.compile(
    r"float8|float4|e8m0|\bu?int[24]\b|int4|uint4|int2|uint2|string|bfloat16|MindSpore has no dtype"
    r"|Unsupported data type|unregistered|not support|no CPU kernel|sequences, optionals|Sequence|Optional"
    r"|ai\.onnx\.ml|ai\.onnx\.preview|training",
    re.IGNORECASE,
)
_TRAINING_CASES = re.compile(r"^test_(adagrad|adam|momentum|nesterov_momentum|ai_onnx_ml_)")


def failure_cause(result: dict) -> str:
    """'out of reach' for what MindSpore on CPU cannot express, else 'not yet done'."""
    if _TRAINING_CASES.match(result["name"]) or _OUT_OF_REACH.search(result["reason"]):
        return "out of reach"
    return "not yet done"


def write_report(results: list[dict], path: Path, mode: str) -> str:
    """Writes the Markdown report (headline, per-operator table) and returns it."""
    by_op: dict[str, list[dict]] = collections.defaultdict(list)
    for item in results:
        by_op[item["op_type"]].append(item)
    passed = sum(r["status"] == "pass" for r in results)
    full_ops = sum(all(r["status"] == "pass" for r in items) for items in by_op.values())
    counts = collections.Counter(r["status"] for r in results)
    versions = _versions()
    lines = [
        "# ONNX backend node tests: mindgen conformance",
        "",
        f"**{passed} of {len(results)} cases pass**; {full_ops} of {len(by_op)} operator types pass every case.",
        "",
        "Regenerate with `python -m mindgen.conformance` (about 3 minutes on 2 idle cores).",
        f"Mode: {mode.upper()}. Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "| status | cases |",
        "|---|---:|",
    ]
    lines += [f"| {status} | {counts.get(status, 0)} |" for status in STATUSES]
    causes = collections.Counter(failure_cause(r) for r in results if r["status"] != "pass")
    lines += [
        "",
        f"Of the {len(results) - passed} cases that do not pass, **{causes['out of reach']} are out of MindSpore's "
        f"reach** on CPU (element types it has no tensors or kernels for: float8/float4/int4/int2/string and most "
        f"bfloat16 math; sequence and optional values; ai.onnx.ml and training operators) and "
        f"**{causes['not yet done']} are not done yet** (the per-operator table names the first reason).",
    ]
    lines += ["", "| operator | passed / cases | status | first failure |", "|---|---:|---|---|"]
    for op in sorted(by_op):
        items = sorted(by_op[op], key=lambda r: r["name"])
        ok = sum(r["status"] == "pass" for r in items)
        failing = [r for r in items if r["status"] != "pass"]
        status = "all pass" if not failing else ("none pass" if ok == 0 else "partial")
        reason = ""
        if failing:
            first = failing[0]
            text = " ".join(first["reason"].split()).replace("|", "/")
            reason = f"{first['name']}: {first['status']}" + (f" ({text[:140]})" if text else "")
        lines.append(f"| {op} | {ok} / {len(items)} | {status} | {reason} |")
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mindgen.conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--filter", help="only cases whose name matches this regex")
    parser.add_argument("--mode", choices=("pynative", "graph"), default="pynative")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="Markdown report to write")
    parser.add_argument("--json", type=Path, help="also write every case result as JSON")
    parser.add_argument("--min-pass", type=int, default=0, help="exit 1 when fewer cases pass")
    parser.add_argument("--from-json", type=Path, help="rewrite the report from saved results instead of running")
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
        write_report(results, args.report, args.mode)
        return 0
    cases = load_cases(args.filter)
    names = schema_names()
    op_of = {c.name: case_op_type(c, names) for c in cases}
    started = time.perf_counter()
    results = run_all(
        [c.name for c in cases], mode=args.mode, workers=args.workers, timeout=args.timeout, progress=sys.stderr.isatty()
    )
    for item in results:
        item["op_type"] = op_of[item["name"]]
    results.sort(key=lambda r: r["name"])
    write_report(results, args.report, args.mode)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    passed = sum(r["status"] == "pass" for r in results)
    print(f"{passed} of {len(results)} cases pass ({time.perf_counter() - started:.0f} s); report: {args.report}")
    return 1 if passed < args.min_pass else 0


if __name__ == "__main__":
    sys.exit(main())
