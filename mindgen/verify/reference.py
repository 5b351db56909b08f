"""Reference runners: the source model executed by onnxruntime, or by TensorFlow for a .pb."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx_ir as ir

from mindgen.errors import InputError
from mindgen.frontends.onnx_tensors import onnxruntime_options
from mindgen.frontends.source import SourceModel

Feeds = dict[str, np.ndarray]
# An input's name and recorded shape (symbolic dimensions as strings or None).
Interface = tuple[str, Sequence[object] | None]


@dataclass
class Reference:
    """Runs the source model on a batch of named inputs; says what runs it."""

    runner: str  # "onnxruntime" or "tensorflow"
    version: str
    graph: str  # "source file" or "canonical graph"
    note: str
    run: Callable[[Feeds], list[np.ndarray]]

    def describe(self) -> str:
        text = f"{self.runner} {self.version} on the {self.graph}"
        return f"{text} ({self.note})" if self.note else text

    def to_json(self) -> dict[str, str]:
        return {"runner": self.runner, "version": self.version, "graph": self.graph, "note": self.note}


def make_reference(
    model: Path, source: SourceModel, inputs: Sequence[Interface], outputs: Sequence[str]
) -> Reference:
    """The most direct reference: the file itself when a runner reads it, else the canonical graph."""
    names = [name for name, _ in inputs]
    if source.format == "onnx":
        session = _session(str(model))
        file_inputs = [i.name for i in session.get_inputs()]
        if file_inputs == names and [o.name for o in session.get_outputs()] == list(outputs):
            return _ort_reference(session, "source file", "")
        return canonical_reference(source, "the conversion cut a sub-graph")
    if not _tensorflow_available():
        return canonical_reference(source, "TensorFlow is not installed")
    runner = _tensorflow_runner(model, inputs, outputs) if model.is_file() else None
    if runner is None:
        return canonical_reference(source, "TensorFlow cannot feed the converted interface (layout or names)")
    return runner


def canonical_reference(source: SourceModel, note: str) -> Reference:
    """onnxruntime on the canonical graph the frontend produced (before mindgen's own passes)."""
    return _ort_reference(_session(serialize(source.model), source.model), "canonical graph", note)


def serialize(model: ir.Model) -> bytes:
    return ir.serde.serialize_model(model).SerializeToString()


def _session(model: str | bytes, canonical: ir.Model | None = None):
    """A CPU session on a model file, or on serialized bytes of the canonical graph (which
    must come with it, so the session finds its external data)."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(model, onnxruntime_options(canonical), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several unrelated exception types
        raise InputError(
            f"onnxruntime cannot load the reference model: {' '.join(str(exc).split())[:300]}"
        ) from None


def _ort_reference(session, graph: str, note: str) -> Reference:
    import onnxruntime as ort

    def run(feeds: Feeds) -> list[np.ndarray]:
        try:
            return [np.asarray(r) for r in session.run(None, feeds)]
        except Exception as exc:
            raise InputError(
                f"onnxruntime cannot run the reference: {' '.join(str(exc).split())[:300]}"
            ) from None

    return Reference("onnxruntime", ort.__version__, graph, note, run)


def intermediate_runner(
    source: SourceModel, names: Sequence[str]
) -> tuple[Callable[[Feeds], dict], list[str]]:
    """onnxruntime on the canonical graph with the named node outputs exposed as extra graph outputs."""
    graph = source.graph
    produced = {value.name: value for node in graph for value in node.outputs if value.name}
    exposed = [name for name in dict.fromkeys(names) if name in produced and produced[name].type is not None]
    present = {value.name for value in graph.outputs}
    for name in exposed:
        if name not in present:
            graph.outputs.append(produced[name])
    session = _session(serialize(source.model), source.model)
    output_names = [o.name for o in session.get_outputs()]

    def run(feeds: Feeds) -> dict[str, np.ndarray]:
        return dict(zip(output_names, session.run(None, feeds), strict=True))

    return run, exposed


def _tensorflow_available() -> bool:
    # TensorFlow's start-up banner (oneDNN, CUDA probes) is noise in verify's output.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def _tensorflow_runner(model: Path, inputs: Sequence[Interface], outputs: Sequence[str]) -> Reference | None:
    """TensorFlow on the frozen graph; None when the converted interface is not the graph's own."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(model.read_bytes())
    except Exception:  # a SavedModel or a text graph: the canonical graph serves instead
        return None
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    names = [name for name, _ in inputs]
    try:
        feeds = [graph.get_tensor_by_name(_tensor_name(name)) for name in names]
        fetches = [graph.get_tensor_by_name(_tensor_name(name)) for name in outputs]
    except (KeyError, ValueError):
        return None
    for tensor, (_, shape) in zip(feeds, inputs, strict=True):
        # A converted input in another layout (NCHW from NHWC) cannot be fed to TensorFlow as is.
        dims = None if shape is None else [d if isinstance(d, int) else None for d in shape]
        if not tensor.shape.is_compatible_with(tf.TensorShape(dims)):
            return None
    session = tf.compat.v1.Session(graph=graph)

    def run(batch: Feeds) -> list[np.ndarray]:
        values = session.run(
            fetches, {tensor: batch[name] for tensor, name in zip(feeds, names, strict=True)}
        )
        return [np.asarray(v) for v in values]

    return Reference("tensorflow", tf.__version__, "source file", "", run)


def _tensor_name(name: str) -> str:
    return name if ":" in name else f"{name}:0"
