"""Replaces nodes whose inputs are all known at conversion time by their results."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnx.shape_inference
import onnx_ir as ir

# Larger results stay as computations: folding them would bloat the checkpoint.
MAX_FOLDED_ELEMENTS = 1 << 20

_NOT_FOLDABLE = frozenset(
    {
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
        "Dropout",
        "If",
        "Loop",
        "Scan",
        "SequenceConstruct",
    }
)

# Ops whose outputs depend on input values but never outgrow their inputs (times their rank).
_BOUNDED_BY_INPUTS = frozenset({"NonZero", "Unique", "Compress", "StringSplit", "RegexFullMatch"})


def fold_constants(model: ir.Model) -> int:
    """Folds constant sub-expressions and static Shape/Size; returns how many nodes went."""
    graph = model.graph
    opset = model.opset_imports.get("", 1)
    folded = 0
    for node in list(graph):
        if node.domain not in ("", "ai.onnx") or node.op_type in _NOT_FOLDABLE:
            continue
        if any(out.is_graph_output() for out in node.outputs):
            continue
        results = _static_shape_results(node)
        if results is None and _all_inputs_constant(node):
            results = _evaluate(node, opset)
        if results is None:
            continue
        _replace_with_constants(graph, node, results)
        folded += 1
    return folded


def _replace_with_constants(graph: ir.Graph, node: ir.Node, results: list[np.ndarray]) -> None:
    """Swaps a node's outputs for initializers holding its results, then drops the node."""
    replacements: list[tuple[str, ir.Value]] = []
    for out, array in zip(node.outputs, results, strict=True):
        constant = ir.Value(
            name=None,
            shape=ir.Shape(array.shape),
            type=ir.TensorType(ir.DataType.from_numpy(array.dtype)),
            const_value=ir.tensor(array),
        )
        out.replace_all_uses_with(constant)
        replacements.append((out.name or "", constant))
    graph.remove(node)
    for name, constant in replacements:
        if constant.uses():
            constant.name = name
            graph.register_initializer(constant)


def _all_inputs_constant(node: ir.Node) -> bool:
    present = [v for v in node.inputs if v is not None]
    return bool(present) and all(v.const_value is not None for v in present)


def _static_shape_results(node: ir.Node) -> list[np.ndarray] | None:
    """Shape and Size of a value whose shape is fully known at conversion time."""
    if node.op_type not in ("Shape", "Size") or not node.inputs or node.inputs[0] is None:
        return None
    shape = node.inputs[0].shape
    if shape is None or not shape.is_static():
        return None
    dims = [int(d) for d in shape]
    if node.op_type == "Size":
        return [np.array(int(np.prod(dims)), dtype=np.int64)]
    start_attr, end_attr = node.attributes.get("start"), node.attributes.get("end")
    start = start_attr.as_int() if start_attr is not None else 0
    end = end_attr.as_int() if end_attr is not None else len(dims)
    return [np.array(dims[slice(start, end)], dtype=np.int64)]


def _evaluate(node: ir.Node, opset: int) -> list[np.ndarray] | None:
    """Runs one node with the ONNX reference implementation; None when it cannot."""
    arrays = [v.const_value.numpy() if v is not None else None for v in node.inputs]
    if sum(a.size for a in arrays if a is not None) > MAX_FOLDED_ELEMENTS:
        return None
    names = [f"in{i}" if a is not None else "" for i, a in enumerate(arrays)]
    proto = ir.serde.serialize_node(node)
    del proto.input[:]
    proto.input.extend(names)
    del proto.output[:]
    proto.output.extend(f"out{i}" for i in range(len(node.outputs)))
    feeds = {n: a for n, a in zip(names, arrays, strict=True) if n}
    # Sized before running: a tiny ConstantOfShape or Expand may ask for terabytes.
    if not _outputs_fit(proto, feeds, opset):
        return None
    # Imported here: onnx.reference costs ~0.1 s to import and most graphs fold nothing with it.
    from onnx.reference import ReferenceEvaluator

    try:
        evaluator = ReferenceEvaluator(proto, opsets={"": opset})
        results = evaluator.run(None, feeds)
    except Exception:  # the reference runtime lacks or rejects some cases: keep the node
        return None
    out = [np.asarray(r) for r in results]
    if any(r.dtype == object or r.size > MAX_FOLDED_ELEMENTS for r in out):
        return None
    return out


def _outputs_fit(proto: onnx.NodeProto, feeds: dict[str, np.ndarray], opset: int) -> bool:
    """Whether ONNX shape inference on the node, given its constant inputs, shows every output
    within MAX_FOLDED_ELEMENTS; an output it cannot size counts only for ops bounded by inputs."""
    try:
        schema = onnx.defs.get_schema(proto.op_type, opset, proto.domain)
        types = {
            n: onnx.helper.make_tensor_type_proto(onnx.helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in feeds.items()
        }
        data = {n: onnx.numpy_helper.from_array(a, n) for n, a in feeds.items()}
        inferred = onnx.shape_inference.infer_node_outputs(schema, proto, types, data)
    except Exception:  # no schema, a dtype ONNX cannot name, or inputs inference refuses
        return False
    for name in proto.output:
        kind = inferred.get(name)
        tensor = kind.tensor_type if kind is not None and kind.HasField("tensor_type") else None
        dims = tensor.shape.dim if tensor is not None and tensor.HasField("shape") else None
        if dims is None or not all(d.HasField("dim_value") for d in dims):
            if proto.op_type not in _BOUNDED_BY_INPUTS:
                return False
        elif any(d.dim_value < 0 for d in dims) or math.prod(d.dim_value for d in dims) > MAX_FOLDED_ELEMENTS:
            return False
    return True
