"""Tiny ONNX models (one node under test, fed by graph inputs), random feeds, and check_cases:
many such variants checked against onnxruntime as one combined model, one GRAPH compile per test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import harness
import numpy as np
import onnx
import onnx.compose
from harness import convert_model
from onnx import helper, numpy_helper

# A graph input: (name, numpy dtype, shape); str dims are symbolic (fed with `batch`).
InputSpec = tuple[str, type, Sequence[int | str]]


def make_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[InputSpec],
    outputs: Sequence[str],
    initializers: Mapping[str, np.ndarray] | None = None,
    opset: int = 17,
    output_shapes: Mapping[str, Sequence[int | str]] | None = None,
) -> onnx.ModelProto:
    """A checked model; output types come from shape inference unless output_shapes gives them."""
    graph_inputs = [
        helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), list(shape))
        for name, dtype, shape in inputs
    ]
    tensors = [numpy_helper.from_array(np.asarray(v), k) for k, v in (initializers or {}).items()]
    graph = helper.make_graph(
        list(nodes), "single_node", graph_inputs, [helper.make_empty_tensor_value_info(o) for o in outputs]
    )
    graph.initializer.extend(tensors)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    known = {v.name: v for v in inferred.graph.value_info}
    known.update({v.name: v for v in inferred.graph.output if v.type.HasField("tensor_type")})
    first = graph.input[0] if graph.input else None
    del model.graph.output[:]
    for name in outputs:
        if name in (output_shapes or {}):
            elem_type = (
                known[name].type.tensor_type.elem_type if name in known else first.type.tensor_type.elem_type
            )
            known[name] = helper.make_tensor_value_info(name, elem_type, list(output_shapes[name]))
        elif name not in known:  # e.g. Mish, which ONNX infers only through its function body
            known[name] = onnx.ValueInfoProto(name=name, type=first.type)
        model.graph.output.append(known[name])
    onnx.checker.check_model(model)
    return model


def single_node_model(
    op_type: str,
    inputs: Sequence[str | InputSpec],
    outputs: Sequence[str] = ("y",),
    attrs: Mapping[str, object] | None = None,
    initializers: Mapping[str, np.ndarray] | None = None,
    opset: int = 17,
    output_shapes: Mapping[str, Sequence[int | str]] | None = None,
) -> onnx.ModelProto:
    """One `op_type` node. Tuple inputs are graph inputs; strings name initializers ('' = omitted)."""
    names = [i if isinstance(i, str) else i[0] for i in inputs]
    specs = [i for i in inputs if not isinstance(i, str)]
    node = helper.make_node(op_type, names, list(outputs), name=f"{op_type}_0", **(attrs or {}))
    return make_model([node], specs, outputs, initializers, opset, output_shapes)


def random_feeds(model: onnx.ModelProto, seed: int = 0, batch: int = 2) -> dict[str, np.ndarray]:
    """Random values for every graph input: floats in [-3, 3), integers in [-9, 9] without 0."""
    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor_type = value.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        shape = [d.dim_value if d.HasField("dim_value") else batch for d in tensor_type.shape.dim]
        if np.issubdtype(dtype, np.floating):
            array = rng.uniform(-3, 3, shape)
        elif dtype == np.bool_:
            array = rng.integers(0, 2, shape)
        else:
            array = rng.choice([*range(-9, 0), *range(1, 10)], shape)
        feeds[value.name] = np.asarray(array).astype(dtype)
    return feeds


def unmapped_count(model: onnx.ModelProto, tmp_path) -> int:
    """How many nodes the conversion left as placeholders."""
    return convert_model(model, tmp_path)[1]["summary"]["unmapped"]


# A variant to check: a model, or (model, feeds) with feeds one dict or one dict per batch.
Case = onnx.ModelProto | tuple[onnx.ModelProto, dict[str, np.ndarray] | list[dict[str, np.ndarray]]]


def check_cases(
    cases: Mapping[str, Case], tmp_path: Path, batches: Sequence[int] = (2,), **options: object
) -> Path:
    """Checks many variants as one model (one conversion, one GRAPH compile); names them on failure."""
    models = {name: case if isinstance(case, onnx.ModelProto) else case[0] for name, case in cases.items()}
    combined = combine(models)
    runs: list[dict[str, np.ndarray]] = [{} for _ in batches]
    for name, case in cases.items():
        given = None if isinstance(case, onnx.ModelProto) else case[1]
        for index, batch in enumerate(batches):
            if given is None:
                feeds = random_feeds(models[name], seed=index, batch=batch)
            else:
                feeds = given if isinstance(given, dict) else given[index]
            runs[index].update({f"{name}__{k}": v for k, v in feeds.items()})
    try:
        return harness.assert_matches_onnxruntime(combined, tmp_path, runs, **options)
    except AssertionError as failure:
        names = [o.name.split("__", 1)[0] for o in combined.graph.output]
        raise AssertionError(f"{failure}\noutputs by index: {list(enumerate(names))}") from None


def combine(models: Mapping[str, onnx.ModelProto]) -> onnx.ModelProto:
    """One model holding every given model side by side, each name prefixed with `<case>__`."""
    opsets = {m.opset_import[0].version for m in models.values()}
    if len(opsets) != 1:
        raise ValueError(f"cases of one check must share an opset, got {sorted(opsets)}")
    nodes, inputs, outputs, tensors = [], [], [], []
    for name, model in models.items():
        prefixed = onnx.compose.add_prefix(model, f"{name}__")
        for value in [*prefixed.graph.input, *prefixed.graph.output]:
            for dim in value.type.tensor_type.shape.dim:
                if dim.HasField("dim_param"):
                    dim.dim_param = f"{name}__{dim.dim_param}"
        nodes += prefixed.graph.node
        inputs += prefixed.graph.input
        outputs += prefixed.graph.output
        tensors += prefixed.graph.initializer
    graph = helper.make_graph(nodes, "cases", inputs, outputs, initializer=tensors)
    combined = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opsets.pop())])
    combined.ir_version = 8
    onnx.checker.check_model(combined)
    return combined
