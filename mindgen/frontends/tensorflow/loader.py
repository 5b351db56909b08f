"""Loads a frozen TensorFlow GraphDef into the canonical graph (ONNX semantics, onnx-ir)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import onnx
import onnx_ir as ir

from mindgen.errors import InputError
from mindgen.frontends.source import CANONICAL_OPSET, SourceModel
from mindgen.frontends.tensorflow.control_flow import resolve_constant_conditions
from mindgen.frontends.tensorflow.functions import inline_functions
from mindgen.frontends.tensorflow.fuse_batch_norm import fuse_keras_batch_norm
from mindgen.frontends.tensorflow.fuse_layer_norm import fuse_keras_layer_norm
from mindgen.frontends.tensorflow.fuse_tensordot import fuse_tensordot
from mindgen.frontends.tensorflow.placeholder import TF_DOMAIN
from mindgen.frontends.tensorflow.reader import read_graph
from mindgen.frontends.tensorflow.select import default_outputs, parse_names, select
from mindgen.frontends.tensorflow.translate import LAYOUTS, translate_graph


def load_tensorflow(
    path: str | os.PathLike[str],
    *,
    shapes: Sequence[Sequence[int]] | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    layout: str | None = None,
    emit_onnx: str | os.PathLike[str] | None = None,
) -> SourceModel:
    """Reads, translates and normalises a frozen graph; optionally saves the canonical ONNX model."""
    path = Path(path)
    layout = layout or "source"
    if layout not in LAYOUTS:
        raise InputError(f"unknown --layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    graph = read_graph(path)
    inline_functions(graph)
    # Outputs first: the rewrite leaves the nodes it replaced without readers, not as outputs.
    outputs = parse_names(graph, output_names, "--output_nodes") if output_names else default_outputs(graph)
    resolve_constant_conditions(graph)
    fuse_keras_batch_norm(graph)
    fuse_keras_layer_norm(graph)
    fuse_tensordot(graph)
    selection = select(graph, input_names, outputs, str(path))
    producer = f"TensorFlow GraphDef (producer {graph.producer})" if graph.producer else "TensorFlow GraphDef"
    translated = translate_graph(graph, selection, shapes=shapes, layout_mode=layout, producer=producer)
    warnings = list(translated.warnings)
    if selection.unused_placeholders:
        warnings.append(
            f"placeholders that no output depends on were left out: {', '.join(selection.unused_placeholders)}"
        )
    proto = normalise(translated.model, warnings)
    if emit_onnx is not None:
        save_atomically(proto, Path(emit_onnx))
    return SourceModel(
        path=path,
        format="tensorflow",
        model=ir.serde.deserialize_model(proto),
        source_opset=CANONICAL_OPSET,
        producer=producer,
        warnings=warnings,
    )


def normalise(proto: onnx.ModelProto, warnings: list[str]) -> onnx.ModelProto:
    """The ONNX loader's checks on a translated model: the checker, then full shape inference."""
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        # Untranslated TF ops may leave an output without a known rank, which the checker
        # refuses; without them, a model that fails the checker is a bug in this frontend.
        if not any(node.domain == TF_DOMAIN for node in proto.graph.node):
            raise
        warnings.append(f"the canonical graph fails onnx.checker ({' '.join(str(exc).split())[:200]})")
    try:
        return onnx.shape_inference.infer_shapes(proto, data_prop=True)
    except Exception as exc:  # inference errors are C++ exceptions of several kinds
        warnings.append(f"shape inference stopped early: {' '.join(str(exc).split())[:300]}")
        return proto


def save_atomically(proto: onnx.ModelProto, target: Path) -> None:
    """Writes the ONNX file next to its destination, then renames it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        onnx.save(proto, temporary)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
