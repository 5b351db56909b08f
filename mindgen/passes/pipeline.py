"""The clean-up passes, in the one order they run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import onnx_ir as ir
from onnx_ir.passes import common

from mindgen.passes.complete_shapes import complete_shapes
from mindgen.passes.fold_constants import fold_constants
from mindgen.passes.fuse_linear import fuse_linear


@dataclass(frozen=True)
class PassRecord:
    """What one pass did, for the report."""

    name: str
    nodes_before: int
    nodes_after: int


def _lift_constants(model: ir.Model) -> None:
    common.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(model)


def _remove_identities(model: ir.Model) -> None:
    common.IdentityEliminationPass()(model)


def _remove_unused(model: ir.Model) -> None:
    common.RemoveUnusedNodesPass()(model)


def _sort(model: ir.Model) -> None:
    common.TopologicalSortPass()(model)


PIPELINE: list[tuple[str, Callable[[ir.Model], object]]] = [
    ("sort_topologically", _sort),
    ("lift_constants", _lift_constants),
    ("fold_constants", fold_constants),
    ("remove_identities", _remove_identities),
    ("remove_unused", _remove_unused),
    ("complete_shapes", complete_shapes),
    ("fuse_linear", fuse_linear),
]


def run_passes(model: ir.Model) -> list[PassRecord]:
    """Runs every pass over the graph and records the node count around each."""
    records = []
    for name, run in PIPELINE:
        before = len(model.graph)
        run(model)
        records.append(PassRecord(name, before, len(model.graph)))
    return records
