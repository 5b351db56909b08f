"""One-node ONNX models for the conv, pooling, normalization and linear op tests, and how to check them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from harness import assert_matches_onnxruntime, convert_model
from onnx import helper, numpy_helper

F32 = np.float32

# A graph input: (name, shape); str dims are symbolic and fed at every batch size in `check`.
Input = tuple[str, Sequence[int | str]]


def single_node_model(
    op_type: str,
    inputs: Sequence[str | Input],
    attrs: Mapping[str, object] | None = None,
    initializers: Mapping[str, np.ndarray] | None = None,
    outputs: Sequence[str] = ("y",),
    opset: int = 17,
    dtype: type = F32,
) -> onnx.ModelProto:
    """One node on `dtype` tensors; tuple inputs are graph inputs, strings name initializers ('' = omitted)."""
    names = [i if isinstance(i, str) else i[0] for i in inputs]
    elem_type = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    graph_inputs = [
        helper.make_tensor_value_info(i[0], elem_type, list(i[1])) for i in inputs if not isinstance(i, str)
    ]
    node = helper.make_node(op_type, names, list(outputs), name=f"{op_type}_0", **(attrs or {}))
    graph = helper.make_graph([node], "single_node", graph_inputs, [])
    graph.initializer.extend(
        numpy_helper.from_array(np.asarray(v, dtype), k) for k, v in (initializers or {}).items()
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    known = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]}
    model.graph.output.extend(known[o] for o in outputs)
    onnx.checker.check_model(model, full_check=True)
    return model


def weights(seed: int, **shapes: Sequence[int]) -> dict[str, np.ndarray]:
    """Random float32 tensors by name, in [-1, 1): non-trivial weights and biases."""
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-1, 1, shape).astype(F32) for name, shape in shapes.items()}


def feeds_for(model: onnx.ModelProto, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs in [-3, 3) for every graph input; symbolic dims take the value `batch`."""
    rng = np.random.default_rng(seed + batch)
    result = {}
    for value in model.graph.input:
        tensor_type = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else batch for d in tensor_type.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        result[value.name] = rng.uniform(-3, 3, shape).astype(dtype)
    return result


def check(
    model: onnx.ModelProto,
    tmp_path: Path,
    *,
    batches: Sequence[int] = (2,),
    atol: float = 1e-5,
    rtol: float = 0.0,
) -> Path:
    """Converts model and compares it with onnxruntime in both modes at each batch size."""
    feeds = [feeds_for(model, b) for b in batches]
    return assert_matches_onnxruntime(model, tmp_path, feeds, atol=atol, rtol=rtol)


# float16 keeps 11 significant bits: where two libraries round their sums at different points,
# results differ by an ulp or two (2**-10 relative; 0.016 near 16).
F16_TOLERANCE = {"atol": 4e-3, "rtol": 2e-3}


def unmapped(model: onnx.ModelProto, tmp_path: Path) -> list[dict]:
    """The report's unmapped entries after converting model (the code must still be written)."""
    output, report = convert_model(model, tmp_path)
    assert (output / "model.py").exists()
    assert report["summary"]["unmapped"] == len(report["unmapped"])
    return report["unmapped"]
