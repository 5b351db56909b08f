"""If, Loop and Scan: refused with the exact reason; their sub-graph bodies are neither mapped nor emitted."""

from __future__ import annotations

import onnx_ir as ir

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Emission, Unmappable
from mindgen.targets.mindspore.registry import register

# Mappers see top-level nodes only: sub-graph nodes get no shapes, constants or mappers, and no
# emission holds an `if` / `for` block.
_WHY = "mindgen maps top-level nodes only and emits no if/for blocks for sub-graph bodies"

_HOW = {
    "If": "write `if cond:` / `else:` in construct with each branch's nodes, assigning the same outputs in both",
    "Loop": "write `for i in range(trip_count):` (break on cond) carrying the loop values; stack scan outputs",
    "Scan": "write `for t in range(length):` over the scan axis carrying the states; ops.stack the outputs",
}


def _size(ctx: MappingContext, name: str) -> str:
    graph = ctx.attr(name)
    return f"{len(graph)}-node {name}" if isinstance(graph, ir.Graph) else f"missing {name}"


def _refuse(op: str, bodies: tuple[str, ...]):
    def map_control_flow(ctx: MappingContext) -> Emission:
        shown = ", ".join(_size(ctx, name) for name in bodies)
        raise Unmappable(f"{op} runs sub-graphs ({shown}); {_WHY}", hint=_HOW[op])

    map_control_flow.__name__ = f"map_{op.lower()}"
    return map_control_flow


register("If", since=1, target="not mapped: sub-graph branches need block emission")(
    _refuse("If", ("then_branch", "else_branch"))
)
register("Loop", since=1, target="not mapped: the sub-graph body needs block emission")(
    _refuse("Loop", ("body",))
)
register("Scan", since=8, target="not mapped: the sub-graph body needs block emission")(
    _refuse("Scan", ("body",))
)
