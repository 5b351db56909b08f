"""The canonical graph as every frontend hands it to the passes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import onnx_ir as ir

# Models older than this are brought up to it; newer models keep their own opset.
CANONICAL_OPSET = 17


@dataclass
class SourceModel:
    """A loaded model in ONNX semantics, with where it came from."""

    path: Path
    format: str
    model: ir.Model
    source_opset: int
    producer: str
    warnings: list[str] = field(default_factory=list)

    @property
    def graph(self) -> ir.Graph:
        return self.model.graph

    @property
    def opset(self) -> int:
        """Version of the default ONNX domain the graph now follows."""
        return self.model.opset_imports.get("", self.source_opset)
