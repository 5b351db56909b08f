"""TF nodes without a translation, kept as nodes of the 'tf' domain with their attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from onnx import numpy_helper

from mindgen.frontends.tensorflow.context import SOURCE
from mindgen.frontends.tensorflow.graph import Ref, TfNode
from mindgen.frontends.tensorflow.tensors import onnx_type, shape_dims, to_numpy, type_name

if TYPE_CHECKING:
    from mindgen.frontends.tensorflow.translate import Translation

TF_DOMAIN = "tf"
# Number of outputs of multi-output ops whose NodeDef does not say it directly.
_FIXED_OUTPUTS = {"FusedBatchNorm": 5, "FusedBatchNormV2": 5, "FusedBatchNormV3": 6, "Unique": 2, "TopKV2": 2}


def emit_placeholder(tr: Translation, node: TfNode, graph_outputs: list[Ref]) -> None:
    """A 'tf'-domain node carrying the TF op type and attributes, its outputs typed where known."""
    b = tr.builder
    scope = node.name.rpartition("/")[0]
    inputs = [tr.request(ref, SOURCE, scope) for ref in node.inputs]
    count = output_count(tr, node, graph_outputs)
    attrs = {
        name: value
        for name, raw in node.attrs.items()
        if not name.startswith("_") and (value := onnx_attribute(raw)) is not None
    }
    names = b.emit(node.op, inputs, [node.name] * count, scope=scope, domain=TF_DOMAIN, attributes=attrs)
    shapes = node.attr("_output_shapes") or []
    types = _output_types(node, count)
    for port, name in enumerate(names):
        shape = shapes[port] if port < len(shapes) else None
        b.set_type(name, types[port], None if shape is None else [d if d >= 0 else None for d in shape])
        tr.bind(Ref(node.name, port), name)


def output_count(tr: Translation, node: TfNode, graph_outputs: list[Ref]) -> int:
    """How many outputs a node has, from its readers, its _output_shapes or its op."""
    used = [ref.port for ref in tr.consumers if ref.node == node.name] + [
        ref.port for ref in graph_outputs if ref.node == node.name
    ]
    shapes = node.attr("_output_shapes")
    known = _FIXED_OUTPUTS.get(node.op, 1)
    for name in ("num_split", "num", "N"):
        if node.op in ("Split", "SplitV", "Unpack") and isinstance(node.attr(name), int):
            known = node.attr(name)
    return max([known, len(shapes) if isinstance(shapes, list) else 0, *(p + 1 for p in used)])


def _output_types(node: TfNode, count: int) -> list[int]:
    listed = node.attr("output_types") or node.attr("Tout") or node.attr("out_types")
    if isinstance(listed, list) and len(listed) >= count:
        return [onnx_type(t) for t in listed[:count]]
    for name in ("T", "dtype", "out_type", "DstT"):
        value = node.attr(name)
        if isinstance(value, int):
            return [onnx_type(value)] * count
    return [0] * count


def onnx_attribute(raw) -> object | None:
    """A TF AttrValue as an ONNX attribute value, or None when ONNX cannot hold it."""
    kind = raw.WhichOneof("value") if hasattr(raw, "WhichOneof") else None
    if kind is None:
        return None
    if kind == "type":
        return type_name(raw.type)
    if kind == "shape":
        dims = shape_dims(raw.shape)
        return None if dims is None or not dims else dims
    if kind == "tensor":
        try:
            return numpy_helper.from_array(np.ascontiguousarray(to_numpy(raw.tensor, "attribute")))
        except Exception:  # strings and other types ONNX attributes cannot hold
            return None
    if kind == "list":
        values = raw.list
        if len(values.type):
            return [type_name(t) for t in values.type]
        for name in ("i", "f", "s", "b"):
            entries = list(getattr(values, name))
            if entries:
                if name == "s":
                    return [_text(e) for e in entries]
                return [int(e) for e in entries] if name == "b" else entries
        return None
    if kind == "func":
        return raw.func.name
    value = getattr(raw, kind)
    if kind == "s":
        return _text(value)
    return int(value) if kind == "b" else value


def _text(value: bytes) -> str:
    """TF string attributes are bytes, ONNX's must be UTF-8: anything else is escaped."""
    return value.decode("utf-8", errors="backslashreplace")
