"""The conversion engine behind `mindgen convert` and `mindgen.convert()`."""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mindgen import __version__
from mindgen.codegen.generate import GeneratedModule, generate_module
from mindgen.codegen.naming import to_class_name
from mindgen.errors import InputError
from mindgen.frontends.source import SourceModel
from mindgen.output import PRISTINE_MODEL, USER_COPY, check_output_dir, staged_directory
from mindgen.passes.pipeline import run_passes
from mindgen.report.model import ConversionReport, TensorInfo, WeightMapEntry
from mindgen.report.writer import write_report, write_weight_map
from mindgen.targets.mindspore.custom import load_mappings, mappings_record
from mindgen.targets.mindspore.emission import Emission, NodeMapping
from mindgen.targets.mindspore.mapping import map_graph
from mindgen.targets.mindspore.registry import Registry, default_registry
from mindgen.update import UpdateOutcome, apply_update, read_previous
from mindgen.weights.checkpoint import CheckpointWriter, UnsupportedDtypeError, checkpoint_type_name

Progress = Callable[[int, int], None]


def _fewer_collections(function):
    """Runs function with the garbage collector's youngest generation 70x its default size.

    A conversion builds hundreds of thousands of long-lived graph objects. With the default
    threshold (700 allocations) the collector rescans them again and again: 7% of a 20k-node
    conversion, 12% of a 100k one. The old thresholds come back afterwards, for the caller.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        first, second, third = gc.get_threshold()
        gc.set_threshold(max(first, 50_000), second, third)
        try:
            return function(*args, **kwargs)
        finally:
            gc.set_threshold(first, second, third)

    return wrapper


class _Timer:
    """Collects wall-clock seconds per phase for the report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 6)


def load_source(
    model: str | os.PathLike[str],
    *,
    shapes: Sequence[Sequence[int]] | None = None,
    input_nodes: Sequence[str] | None = None,
    output_nodes: Sequence[str] | None = None,
    layout: str | None = None,
    emit_onnx: str | os.PathLike[str] | None = None,
) -> SourceModel:
    """Reads a model file with the frontend its format needs."""
    path = Path(model)
    from mindgen.frontends.tensorflow import is_tensorflow_path

    if is_tensorflow_path(path):
        from mindgen.frontends.tensorflow.loader import load_tensorflow

        return load_tensorflow(
            path,
            shapes=shapes,
            input_names=input_nodes,
            output_names=output_nodes,
            layout=layout,
            emit_onnx=emit_onnx,
        )
    if layout is not None or emit_onnx is not None:
        raise InputError("--layout and --emit-onnx apply to TensorFlow graphs (.pb)")
    from mindgen.frontends.onnx_loader import load_onnx

    return load_onnx(path, shapes=shapes, input_names=input_nodes, output_names=output_nodes)


@_fewer_collections
def convert(
    model: str | os.PathLike[str],
    output: str | os.PathLike[str] = "mindgen_out",
    *,
    report_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    shapes: Sequence[Sequence[int]] | None = None,
    input_nodes: Sequence[str] | None = None,
    output_nodes: Sequence[str] | None = None,
    registry: Registry | None = None,
    progress: Progress | None = None,
    flat: bool = False,
    layout: str | None = None,
    emit_onnx: str | os.PathLike[str] | None = None,
    mappings: Sequence[str | os.PathLike[str]] = (),
    plugins: bool = True,
    update: bool = False,
) -> ConversionReport:
    """Converts a model file into model.py, model.ckpt, weight_map.json and the report.

    `flat=True` writes one network class instead of one class per source module.
    `mappings` names files of user mappers, registered for this conversion only over the
    built-in ones (and over installed `mindgen.mappings` entry points, unless `plugins=False`).
    `update=True` replaces a previous conversion (like `force`) and carries the user's edits
    of its model.py into the new one (report key `update`).
    """
    output_dir = Path(output)
    reports = Path(report_dir) if report_dir is not None else None
    force = force or update
    check_output_dir(output_dir, force)
    if reports is not None:
        check_output_dir(reports, force)
    timer = _Timer()
    with timer.phase("registry"):
        user = load_mappings(registry or default_registry(), mappings, entry_points=plugins)
    with timer.phase("load"):
        source = load_source(
            model,
            shapes=shapes,
            input_nodes=input_nodes,
            output_nodes=output_nodes,
            layout=layout,
            emit_onnx=emit_onnx,
        )
    with timer.phase("passes"):
        pass_records = run_passes(source.model)
    with timer.phase("mapping"):
        node_mappings = map_graph(source.model, user.registry, progress)
    class_name = to_class_name(source.path.stem, "Network")
    with timer.phase("codegen"):
        module = generate_module(source, node_mappings, class_name, flat=flat)
    outcome = None
    if update:
        with timer.phase("update"):
            previous = read_previous(output_dir, reports) if output_dir.is_dir() else None
            outcome = apply_update(previous, module.source)
    with staged_directory(output_dir, force, record_dir=reports, back_up_edited=not update) as staging:
        with timer.phase("weights"):
            weight_map, weight_bytes = _write_weights(module, staging / "model.ckpt")
        _write_model_py(staging, module.source, outcome)
        report = _build_report(source, module, mappings_count=len(node_mappings), weight_bytes=weight_bytes)
        report.update = outcome.record if outcome is not None else None
        report.mappings = mappings_record(user, _nodes_by_origin(node_mappings))
        report.warnings += user.warnings
        report.passes = [vars(r) for r in pass_records]
        # The hash of what mindgen generated: a merged model.py counts as edited by the user.
        report.model_py_sha256 = hashlib.sha256(module.source.encode("utf-8")).hexdigest()
        report.files = {
            "model": str(output_dir / "model.py"),
            "checkpoint": str(output_dir / "model.ckpt"),
            "weight_map": str((reports or output_dir) / "weight_map.json"),
            "report": str((reports or output_dir) / "report.md"),
        }
        report.timings = timer.seconds
        if reports is None:
            _write_report_files(report, weight_map, staging, timer)
    if reports is not None:
        # The network lands first; its report follows in a folder of its own (any filesystem).
        with staged_directory(reports, force) as report_staging:
            _write_report_files(report, weight_map, report_staging, timer)
    return report


def _write_model_py(staging: Path, generated: str, outcome: UpdateOutcome | None) -> None:
    """Writes model.py (merged on update), its pristine base, and the user's copy on conflict."""
    (staging / PRISTINE_MODEL).parent.mkdir()
    (staging / PRISTINE_MODEL).write_text(generated, encoding="utf-8")
    (staging / "model.py").write_text(outcome.text if outcome else generated, encoding="utf-8")
    if outcome is not None and outcome.user_copy is not None:
        (staging / USER_COPY).write_bytes(outcome.user_copy)


def _nodes_by_origin(node_mappings: Sequence[NodeMapping]) -> dict[str, list[str]]:
    """The source nodes each user mappings source turned into code."""
    found: dict[str, list[str]] = {}
    for mapping in node_mappings:
        if mapping.origin and isinstance(mapping.result, Emission):
            found.setdefault(mapping.origin, []).append(mapping.node.name or "")
    return found


def _write_report_files(
    report: ConversionReport, weight_map: list[WeightMapEntry], folder: Path, timer: _Timer
) -> None:
    with timer.phase("report"):
        write_weight_map(weight_map, folder)
        write_report(report, folder)


def _write_weights(module: GeneratedModule, path: Path) -> tuple[list[WeightMapEntry], int]:
    """Streams every bound parameter into the checkpoint and records its weight-map entry."""
    entries: list[WeightMapEntry] = []
    with CheckpointWriter(path) as writer:
        for binding in module.parameters:
            array = np.asarray(binding.load())
            try:
                type_name = checkpoint_type_name(array.dtype)
            except UnsupportedDtypeError:
                raise InputError(
                    f"weight {binding.sources[0].name!r} has dtype {array.dtype}, which a MindSpore checkpoint cannot hold"
                ) from None
            writer.add(binding.name, array)
            source = binding.sources[0]
            entries.append(
                WeightMapEntry(
                    converted_weight={
                        "name": binding.name,
                        "shape": list(array.shape),
                        "data_type": type_name,
                    },
                    source_weight={
                        "name": source.name or "",
                        "shape": [int(d) for d in source.const_value.shape]
                        if source.const_value is not None
                        else None,
                        "data_type": source.dtype.name if source.dtype is not None else "UNDEFINED",
                    },
                    note=binding.note,
                )
            )
        return entries, writer.bytes_written


def _build_report(
    source: SourceModel, module: GeneratedModule, *, mappings_count: int, weight_bytes: int
) -> ConversionReport:
    graph = source.graph
    unmapped = [
        {
            "node": u.node,
            "op_type": u.op_type,
            "domain": u.domain,
            "attributes": u.attributes,
            "input_shapes": u.input_shapes,
            "output_shapes": u.output_shapes,
            "reason": u.reason,
            "hint": u.hint,
            "identifier": u.identifier,
            "input_dtypes": u.input_dtypes,
            "output_dtypes": u.output_dtypes,
            "class_name": u.class_name,
        }
        for u in module.unmapped
    ]
    return ConversionReport(
        network_class=module.class_name,
        checkpoint="model.ckpt",
        source={
            "path": str(source.path),
            "format": source.format,
            "opset": source.opset,
            "source_opset": source.source_opset,
            "producer": source.producer,
        },
        inputs=[TensorInfo.of(v) for v in graph.inputs if not v.is_initializer()],
        outputs=[TensorInfo.of(v) for v in graph.outputs],
        summary={
            "nodes": mappings_count,
            "mapped": mappings_count - len(unmapped),
            "unmapped": len(unmapped),
            "parameters": len(module.parameters),
            "parameter_bytes": weight_bytes,
            # Layout changes left in the graph (a TF graph's NHWC interface costs one each way).
            "transposes": sum(node.op_type == "Transpose" for node in graph),
        },
        unmapped=unmapped,
        nodes=[vars(row) for row in module.rows],
        passes=[],
        warnings=list(source.warnings),
        timings={},
        mindgen_version=__version__,
    )
