"""--locate: the first source node whose generated code disagrees with the reference.

Every node's outputs are compared in topological order with the reference's values for
the same tensors (onnxruntime on the canonical graph, each node output exposed as an
extra graph output). Each node is computed from the reference's values of its inputs
(teacher forcing), so an earlier node's rounding cannot make a later, correct node look
wrong; a second, free-running pass says where the end-to-end error first exceeds tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx_ir as ir

from mindgen.frontends.source import SourceModel
from mindgen.verify.candidate import describe_failure, execution_mode, to_numpy
from mindgen.verify.compare import max_abs_difference, tolerance_for
from mindgen.verify.interpret import CodeMap, Interpreter, NotInterpretable, Site
from mindgen.verify.reference import intermediate_runner

# Further diverging nodes listed after the first one.
MORE_SHOWN = 5


@dataclass
class NodeCheck:
    """One source node's outputs against the reference."""

    index: int
    node: str
    op_type: str
    site: Site
    errors: list[float] = field(default_factory=list)
    compared: bool = False
    diverged: bool = False
    problem: str = ""


@dataclass
class LocateResult:
    """What --locate found (or why it could not)."""

    found: bool
    message: str
    node: str = ""
    op_type: str = ""
    mapper: str = ""
    input_shapes: list[object] = field(default_factory=list)
    output_shapes: list[object] = field(default_factory=list)
    max_abs_error: float | None = None
    free_run_error: float | None = None
    tolerance: str = ""
    site: Site | None = None
    first_free_run_divergence: str = ""
    also_diverging: list[str] = field(default_factory=list)
    nodes_compared: int = 0
    nodes_total: int = 0

    def lines(self) -> list[str]:
        """The printed account."""
        if not self.found:
            return [f"locate: {self.message}"]
        shown = [
            f"First diverging node: {self.node} ({self.op_type}, mapper {self.mapper})",
            f"  inputs  {_shapes(self.input_shapes)}",
            f"  outputs {_shapes(self.output_shapes)}",
        ]
        if self.max_abs_error is not None:
            error = f"  max abs error {self.max_abs_error:.3g} from the reference's inputs ({self.tolerance})"
            if self.free_run_error is not None:
                error += f", {self.free_run_error:.3g} end to end"
            shown.append(error)
        if self.message:
            shown.append(f"  {self.message}")
        if self.site is not None:
            shown.append(f"  {self.site.describe()}")
        if self.also_diverging:
            shown.append(f"  also diverging: {', '.join(self.also_diverging)}")
        return shown

    def to_json(self) -> dict[str, object]:
        result = {k: v for k, v in vars(self).items() if k != "site"}
        result["site"] = self.site.to_json() if self.site else None
        return result


def run_locate(
    output: Path,
    report: dict,
    network: Any,
    module: ModuleType,
    nodes: Sequence[ir.Node | None],
    unoptimized: SourceModel,
    batch: dict[str, np.ndarray],
    rtol: float | None,
    atol: float | None,
) -> LocateResult:
    """Locates on one batch: `nodes` are the graph nodes behind report.json's rows (after mindgen's
    passes), `unoptimized` the frontend's graph, which onnxruntime runs with every node output exposed."""
    names = [value.name or "" for node in nodes if node is not None for value in node.outputs]
    try:
        run, _ = intermediate_runner(unoptimized, names)
        reference = run(batch)
    except Exception as exc:  # InputError, or whatever onnxruntime raises on the widened graph
        return LocateResult(
            False, f"onnxruntime cannot expose the intermediate values: {describe_failure(exc)}"
        )
    reference.update(batch)
    code_map = CodeMap(output / "model.py")
    ordered = [batch[item["name"]] for item in report["inputs"]]
    return locate(code_map, module, network, report["nodes"], nodes, reference, ordered, rtol, atol)


def locate(
    code_map: CodeMap,
    module: ModuleType,
    network: Any,
    rows: Sequence[dict],
    nodes: Sequence[ir.Node | None],
    reference: dict[str, np.ndarray],
    batch: Sequence[np.ndarray],
    rtol: float | None,
    atol: float | None,
) -> LocateResult:
    """Walks model.py twice (teacher-forced, then free running) and names the first wrong node."""
    try:
        forced, forced_error = _trace(
            code_map, module, network, rows, nodes, reference, batch, rtol, atol, True
        )
        free, _ = _trace(code_map, module, network, rows, nodes, reference, batch, rtol, atol, False)
    except NotInterpretable as exc:
        return LocateResult(False, f"cannot follow model.py node by node: {exc}")
    compared = sum(check.compared for check in forced)
    if forced_error is None and len(forced) != len(rows):
        return LocateResult(
            False,
            f"model.py runs {len(forced)} node statements but report.json lists {len(rows)} nodes "
            "(edited by hand?); cannot match them",
        )
    diverging = [check for check in forced if check.diverged]
    free_first = next((check for check in free if check.diverged), None)
    free_text = f"{free_first.node} ({free_first.op_type})" if free_first else ""
    if not diverging:
        message = (
            f"every node matches the reference from its inputs ({compared} of {len(rows)} nodes compared)"
        )
        if free_first is not None:
            message += f"; rounding accumulates past tolerance first at {free_text}"
        return LocateResult(
            False,
            message,
            first_free_run_divergence=free_text,
            nodes_compared=compared,
            nodes_total=len(rows),
        )
    culprit = diverging[0]
    node = nodes[culprit.index] if culprit.index < len(nodes) else None
    free_check = free[culprit.index] if culprit.index < len(free) else None
    tolerance = tolerance_for(np.float32, rtol, atol)
    return LocateResult(
        True,
        culprit.problem,
        node=culprit.node,
        op_type=culprit.op_type,
        mapper=str(rows[culprit.index].get("mapper", "")),
        input_shapes=[_shape_of(v, reference) for v in node.inputs] if node is not None else [],
        output_shapes=[_shape_of(v, reference) for v in node.outputs] if node is not None else [],
        max_abs_error=max(culprit.errors) if culprit.errors else None,
        free_run_error=max(free_check.errors) if free_check and free_check.errors else None,
        tolerance=tolerance.text(),
        site=culprit.site,
        first_free_run_divergence=free_text,
        also_diverging=[f"{c.node} ({c.op_type})" for c in diverging[1 : 1 + MORE_SHOWN]],
        nodes_compared=compared,
        nodes_total=len(rows),
    )


def _trace(
    code_map: CodeMap,
    module: ModuleType,
    network: Any,
    rows: Sequence[dict],
    nodes: Sequence[ir.Node | None],
    reference: dict[str, np.ndarray],
    batch: Sequence[np.ndarray],
    rtol: float | None,
    atol: float | None,
    force: bool,
) -> tuple[list[NodeCheck], str | None]:
    """One interpretation of model.py; returns a check per visited node and the error it stopped at."""
    import mindspore as ms

    checks: list[NodeCheck] = []

    def visit(site: Site, values: list[Any]) -> list[Any]:
        index = len(checks)
        row = rows[index] if index < len(rows) else {"node": "?", "op_type": "?"}
        check = NodeCheck(index, str(row["node"]), str(row["op_type"]), site)
        checks.append(check)
        node = nodes[index] if index < len(nodes) else None
        if node is None:
            return values
        outputs = list(node.outputs[: len(values)])
        replaced = []
        for value, candidate in zip(outputs, values, strict=False):
            want = reference.get(value.name or "") if candidate is not None else None
            if want is None:
                replaced.append(candidate)
                continue
            got = to_numpy(candidate)
            check.compared = True
            tolerance = tolerance_for(want.dtype, rtol, atol)
            if got.shape != want.shape:
                check.diverged = True
                check.problem = f"output {value.name!r} has shape {got.shape}; the source gives {want.shape}"
                check.errors.append(float("inf"))
                replaced.append(candidate)
                continue
            check.errors.append(max_abs_difference(got, want))
            if not tolerance.allows(got, want):
                check.diverged = True
            # Feed the reference's value onwards, in the dtype the generated code chose.
            replaced.append(
                ms.Tensor(want.astype(got.dtype)) if force and isinstance(candidate, ms.Tensor) else candidate
            )
        replaced += values[len(replaced) :]
        return replaced

    interpreter = Interpreter(code_map, module, visit)
    with execution_mode("pynative"):
        try:
            interpreter.run(network, [ms.Tensor(array) for array in batch])
        except NotInterpretable:
            raise
        except Exception as exc:  # the generated code failed at a node: that node is the answer
            failure = describe_failure(exc)
            index = len(checks)
            row = rows[index] if index < len(rows) else {"node": "?", "op_type": "?"}
            site = interpreter.current or Site("?", 0, "", "")
            checks.append(
                NodeCheck(
                    index,
                    str(row["node"]),
                    str(row["op_type"]),
                    site,
                    diverged=True,
                    problem=f"raised {failure}",
                )
            )
            return checks, failure
    return checks, None


def _shape_of(value: ir.Value | None, reference: dict[str, np.ndarray]) -> object:
    if value is None:
        return None
    if (value.name or "") in reference:
        return list(reference[value.name or ""].shape)
    if value.const_value is not None:
        return list(value.const_value.shape)
    return None if value.shape is None else [d if isinstance(d, int) else str(d) for d in value.shape]


def _shapes(shapes: Sequence[object]) -> str:
    if not shapes:
        return "-"
    return ", ".join("?" if s is None else "(" + ", ".join(map(str, s)) + ")" for s in shapes)  # type: ignore[union-attr]
