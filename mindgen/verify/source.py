"""The source as the conversion saw it: the canonical graph, and the node behind each report row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx_ir as ir

from mindgen.errors import InputError
from mindgen.frontends.source import SourceModel


def load_canonical(model: Path, report: dict) -> SourceModel:
    """The canonical graph as the conversion saw it: same cut, same filled-in shapes, same layout."""
    from mindgen.converter import load_source

    names = [i["name"] for i in report["inputs"]]
    outputs = [o["name"] for o in report["outputs"]]
    shapes = [i["shape"] for i in report["inputs"]]
    fixed = shapes if all(s is not None and all(isinstance(d, int) for d in s) for s in shapes) else None
    tried = []
    for attempt in _load_options(report, names, outputs, fixed):
        try:
            source = load_source(model, **attempt)
        except InputError as exc:
            tried.append(str(exc))
            continue
        if _interface(source) == (names, outputs) and _shapes_fit(source, shapes):
            return source
        tried.append("inputs " + ", ".join(_interface(source)[0]))
    raise InputError(f"{model} does not have the interface the conversion recorded ({'; '.join(tried[-1:])})")


def _load_options(report: dict, names: list[str], outputs: list[str], fixed: list | None) -> list[dict]:
    """Plain load first; then the sub-graph cut and --shape the report implies; then NCHW for TF."""
    cut: dict[str, Any] = {"input_nodes": names, "output_nodes": outputs}
    attempts: list[dict[str, Any]] = [{}, cut]
    if fixed:
        # Shapes first: with --shape at conversion, folding may have used the filled-in dims.
        attempts = [{"shapes": fixed}, {**cut, "shapes": fixed}, *attempts]
    if report.get("source", {}).get("format") == "tensorflow":
        attempts += [{**a, "layout": "nchw"} for a in list(attempts)]
    return attempts


def _interface(source: SourceModel) -> tuple[list[str], list[str]]:
    graph = source.graph
    inputs = [v.name or "" for v in graph.inputs if not v.is_initializer()]
    return inputs, [v.name or "" for v in graph.outputs]


def _shapes_fit(source: SourceModel, shapes: list) -> bool:
    graph_inputs = [v for v in source.graph.inputs if not v.is_initializer()]
    for value, recorded in zip(graph_inputs, shapes, strict=True):
        if value.shape is None or recorded is None:
            continue
        if len(value.shape) != len(recorded):
            return False
        for dim, want in zip(value.shape, recorded, strict=True):
            if isinstance(dim, int) and isinstance(want, int) and dim != want:
                return False
    return True


def report_nodes(model: Path, report: dict) -> tuple[SourceModel, list[ir.Node | None]]:
    """The graph after mindgen's passes, and per row of report.json "nodes" the node it names."""
    from mindgen.passes.pipeline import run_passes

    source = load_canonical(model, report)
    run_passes(source.model)
    return source, match_rows(source.model, report["nodes"])


def match_rows(model: ir.Model, rows: list[dict]) -> list[ir.Node | None]:
    """Rows name nodes by name and op type, which need not be unique (version-converter nodes
    have no name), so they are matched by position: the rows are the mapped graph minus the
    nodes whose results no generated line reads, exactly as the code generator prunes them."""
    from mindgen.codegen.generate import prune_unreferenced
    from mindgen.targets.mindspore.mapping import map_graph
    from mindgen.targets.mindspore.registry import default_registry

    keys = [(str(row["node"]), str(row["op_type"])) for row in rows]
    kept = prune_unreferenced(map_graph(model, default_registry()), list(model.graph.outputs))
    if [(m.node.name or "", m.node.op_type) for m in kept] == keys:
        return [m.node for m in kept]
    # Made with another registry: the rows are still a subsequence of the graph order.
    nodes, found, index = list(model.graph), [], 0
    for key in keys:
        while index < len(nodes) and (nodes[index].name or "", nodes[index].op_type) != key:
            index += 1
        found.append(nodes[index] if index < len(nodes) else None)
        index += 1
    return found
