"""Fills shapes that ONNX shape inference left unknown by running onnxruntime twice."""

from __future__ import annotations

import math

import numpy as np
import onnx_ir as ir

from mindgen.frontends.onnx_tensors import onnxruntime_options

# Two different sizes for every symbolic input dimension: an output dimension that comes
# out equal in both runs is static, one that differs depends on the input and stays dynamic.
_PROBE_SIZES = (2, 3)
# Probe inputs larger than this are not made up: a declared size must not cost gigabytes.
MAX_PROBE_ELEMENTS = 1 << 24


def complete_shapes(model: ir.Model) -> int:
    """Gives unknown-shaped values their rank and static dims; returns how many it filled."""
    graph = model.graph
    missing = [
        out for node in graph for out in node.outputs if out.name and (out.shape is None or out.type is None)
    ]
    if not missing:
        return 0
    runs = [_run(model, missing, size) for size in _PROBE_SIZES]
    if any(run is None for run in runs):
        return 0
    filled = 0
    for index, value in enumerate(missing):
        first, second = runs[0][index], runs[1][index]
        if first.ndim != second.ndim:
            continue
        dims = [a if a == b else None for a, b in zip(first.shape, second.shape, strict=True)]
        value.shape = ir.Shape(dims)
        if value.type is None:
            value.type = ir.TensorType(ir.DataType.from_numpy(first.dtype))
        filled += 1
    return filled


def _run(model: ir.Model, values: list[ir.Value], size: int) -> list[np.ndarray] | None:
    """Runs the graph with the given values as extra outputs; None when onnxruntime cannot."""
    import onnxruntime as ort  # only imported for the rare models that need it

    graph = model.graph
    feeds = {}
    for value in graph.inputs:
        if value.is_initializer():
            continue
        if value.shape is None or value.dtype is None:
            return None
        dims = [d if isinstance(d, int) else size for d in value.shape]
        if any(d < 0 for d in dims) or math.prod(dims) > MAX_PROBE_ELEMENTS:
            return None  # a probe that large (or impossible) is not worth a guessed shape
        rng = np.random.default_rng(0)
        try:
            dtype = value.dtype.numpy()
        except TypeError:  # a type numpy cannot hold: nothing to probe with
            return None
        feeds[value.name] = (
            rng.standard_normal(dims).astype(dtype) if dtype.kind == "f" else np.ones(dims, dtype)
        )
    extra = [v for v in values if not v.is_graph_output()]
    graph.outputs.extend(extra)
    try:
        proto = ir.serde.serialize_model(model)
        # onnxruntime 1.31 reads IR versions up to 13; shapes do not depend on newer ones.
        proto.ir_version = min(proto.ir_version, 13)
        options = onnxruntime_options(model)
        session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
        results = session.run([v.name for v in values], feeds)
    except Exception:  # onnxruntime refuses models in many ways; shapes then stay unknown
        return None
    finally:
        for _ in extra:
            graph.outputs.pop()
    return [np.asarray(r) for r in results]
