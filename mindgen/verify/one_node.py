"""One source node as a model of its own, run by onnxruntime: the reference `mindgen check` uses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx_ir as ir

Runner = Callable[[list[np.ndarray | None]], list[np.ndarray]]


def attribute_values(node: ir.Node) -> dict[str, object]:
    """The node's attributes by their ONNX names, as Python and numpy values."""
    values: dict[str, object] = {}
    for name, attr in node.attributes.items():
        values[name] = _plain(attr.value)
    return values


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "numpy") and hasattr(value, "shape"):
        return value.numpy()  # type: ignore[union-attr]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def one_node_model(node: ir.Node, opsets: dict[str, int], ir_version: int) -> tuple[bytes, list[int]]:
    """The node alone: its constant inputs as initializers, the others graph inputs (by position)."""
    import onnx
    from onnx import helper

    proto = ir.serde.serialize_node(node)
    inputs, initializers, fed, seen = [], [], [], set()
    for index, value in enumerate(node.inputs):
        if value is None or value.name in seen:
            continue  # absent, or the same tensor twice (Mul(x, x)): one graph input
        seen.add(value.name)
        if value.const_value is not None:
            initializers.append(ir.serde.serialize_tensor(value.const_value))
            initializers[-1].name = value.name or ""
            continue
        elem = value.dtype.value if value.dtype is not None else 0
        inputs.append(helper.make_tensor_value_info(value.name or "", elem, None))
        fed.append(index)
    outputs = []
    for value in node.outputs:
        elem = value.dtype.value if value.dtype is not None else 0
        outputs.append(helper.make_tensor_value_info(value.name or "", elem, None))
    graph = helper.make_graph([proto], "one_node", inputs, outputs, initializers)
    imports = [helper.make_opsetid(domain, version) for domain, version in sorted(opsets.items())]
    model = helper.make_model(graph, opset_imports=imports, ir_version=ir_version)
    return onnx.ModelProto.SerializeToString(model), fed


def one_node_runner(node: ir.Node, opsets: dict[str, int], ir_version: int) -> tuple[Runner | None, str]:
    """onnxruntime on the node alone, or None and why it cannot run it."""
    import onnxruntime as ort

    data, fed = one_node_model(node, opsets, ir_version)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several unrelated exception types
        return None, " ".join(str(exc).split())[:200]
    names = [i.name for i in session.get_inputs()]

    def run(arrays: list[np.ndarray | None]) -> list[np.ndarray]:
        feeds = {name: arrays[index] for name, index in zip(names, fed, strict=True)}
        return [np.asarray(r) for r in session.run(None, feeds)]

    return run, ""
