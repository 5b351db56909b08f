"""Translates the selected TF nodes into one ONNX graph, layouts resolved as values are requested."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx

from mindgen.errors import InputError
from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.builder import Dim, GraphBuilder
from mindgen.frontends.tensorflow.context import SOURCE, NodeContext
from mindgen.frontends.tensorflow.graph import Ref, TfGraph, TfNode
from mindgen.frontends.tensorflow.layout import Perm
from mindgen.frontends.tensorflow.placeholder import emit_placeholder
from mindgen.frontends.tensorflow.registry import TRANSLATORS, Untranslatable
from mindgen.frontends.tensorflow.select import Selection
from mindgen.frontends.tensorflow.symbolic import constant_shape
from mindgen.frontends.tensorflow.tensors import onnx_type

TRANSLATOR_MODULES = (
    "translate_basic",
    "translate_math",
    "translate_nn",
    "translate_conv",
    "translate_matmul",
    "translate_reduce",
    "translate_array",
    "translate_tensor",
    "translate_slice",
    "translate_image",
)
for _module in TRANSLATOR_MODULES:
    importlib.import_module(f"mindgen.frontends.tensorflow.{_module}")

LAYOUTS = ("source", "nchw")


@dataclass
class TranslatedGraph:
    """The canonical graph as an ONNX model, with what the translation noticed on the way."""

    model: onnx.ModelProto
    warnings: list[str] = field(default_factory=list)


class Translation:
    """Every TF tensor translated so far, held in one or more layouts."""

    def __init__(self, graph: TfGraph, consumers: dict[Ref, list[str]]) -> None:
        self.graph = graph
        self.builder = GraphBuilder()
        self.consumers = consumers
        self.tensors: dict[Ref, dict[Perm, str]] = {}
        self.warnings: list[str] = []

    def home(self, ref: Ref) -> tuple[str, Perm]:
        """The layout a layout-agnostic op should read: one made for a convolution if any (the
        tensor is likely on its way into another), else the one it was produced in."""
        forms = self.tensors.get(ref)
        if not forms:
            raise Untranslatable(f"input {ref}, which has no translated value")
        perm, name = next(((p, n) for p, n in forms.items() if p != SOURCE), next(iter(forms.items())))
        return name, perm

    def shape_of(self, ref: Ref) -> tuple[Dim, ...] | None:
        """The TF-layout shape of a translated tensor, when known."""
        forms = self.tensors.get(ref)
        if not forms:
            return None
        perm, name = next(iter(forms.items()))
        shape = self.builder.type_of(name).shape
        return shape if shape is None or perm == SOURCE else tuple(layout.source_shape(shape, perm))

    def rank_of(self, ref: Ref) -> int | None:
        shape = self.shape_of(ref)
        return None if shape is None else len(shape)

    def bind(self, ref: Ref, name: str, perm: Perm = SOURCE) -> None:
        if ref not in self.tensors:  # a graph input cut at this tensor keeps its binding
            self.tensors[ref] = {SOURCE if layout.is_identity(perm) else tuple(perm): name}

    def alias(self, ref: Ref, source: Ref) -> None:
        if ref not in self.tensors:
            self.home(source)
            self.tensors[ref] = self.tensors[source]  # shared: a layout made for one serves both

    def request(self, ref: Ref, perm: Perm, scope: str) -> str:
        """The tensor in layout `perm`: held already, a transposed constant, or a new Transpose."""
        perm = SOURCE if layout.is_identity(perm) else tuple(perm)
        forms = self.tensors.get(ref)
        if forms is None:
            raise Untranslatable(f"input {ref}, which has no translated value")
        if perm in forms:
            return forms[perm]
        held, name = next(iter(forms.items()))
        rank = len(held or perm)
        order = layout.between(held or layout.identity(rank), perm or layout.identity(rank))
        array = self.builder.const(name)
        if array is not None:
            forms[perm] = self.builder.add_const(np.transpose(array, order), name)
            return forms[perm]
        b = self.builder
        shape = b.type_of(name).shape
        target = None
        if shape is not None and layout.moves_only_unit_axes(shape, order):
            target = constant_shape(layout.held_shape(shape, order), shape)
        if target is not None and not target[1]:
            # (N, 1, 1, C) <-> (N, C, 1, 1): no data moves, so a reshape says it better.
            dims = b.add_const(np.asarray(target[0], np.int64), f"{name}/shape")
            forms[perm] = b.emit("Reshape", [name, dims], [name], scope=scope)[0]
        else:
            forms[perm] = b.emit("Transpose", [name], [name], scope=scope, perm=list(order))[0]
        return forms[perm]


def translate_graph(
    graph: TfGraph,
    selection: Selection,
    *,
    shapes: Sequence[Sequence[int]] | None,
    layout_mode: str,
    producer: str,
) -> TranslatedGraph:
    """Runs every node's translator in order; refusals and unknown ops become 'tf' placeholders."""
    if layout_mode not in LAYOUTS:
        raise InputError(f"unknown layout {layout_mode!r}: expected one of {', '.join(LAYOUTS)}")
    consumers = graph.consumers()
    for ref in selection.outputs:
        consumers.setdefault(ref, []).append("")  # a graph output counts as a reader
    tr = Translation(graph, consumers)
    output_names = [tr.builder.fresh(_display(ref)) for ref in selection.outputs]
    _add_inputs(tr, selection.inputs, shapes, layout_mode)
    for node in selection.order:
        if node.op == "Placeholder":
            continue
        translator = TRANSLATORS.lookup(node.op)
        reason = f"TensorFlow op {node.op} has no translation"
        if translator is not None:
            try:
                translator(NodeContext(tr, node))
                continue
            except Untranslatable as refusal:
                reason = refusal.reason
        try:
            emit_placeholder(tr, node, selection.outputs)
        except Untranslatable as missing:  # it reads an output its producer does not have
            raise InputError(f"{node.op} node {node.name!r} reads {missing.reason}") from None
        tr.warnings.append(f"{node.op} node {node.name!r} kept as a placeholder: {reason}")
    taken: list[str] = []
    finals = [
        _finish_output(tr, ref, name, layout_mode, taken)
        for ref, name in zip(selection.outputs, output_names, strict=True)
    ]
    return TranslatedGraph(tr.builder.model(finals, producer), tr.warnings)


def _display(ref: Ref) -> str:
    """A graph input or output's name: the op name for port 0, 'name:port' otherwise."""
    return ref.node if ref.port == 0 else str(ref)


def _add_inputs(
    tr: Translation, inputs: list[Ref], shapes: Sequence[Sequence[int]] | None, layout_mode: str
) -> None:
    if shapes and len(shapes) != len(inputs):
        raise InputError(f"--shape gives {len(shapes)} shape(s) but the graph has {len(inputs)} input(s)")
    for index, ref in enumerate(inputs):
        node = tr.graph.nodes[ref.node]
        dtype = _input_dtype(node, ref.port)
        elem = onnx_type(dtype)
        if not elem:
            raise InputError(f"input {_display(ref)!r} has a type ONNX cannot hold ({dtype})")
        dims = _input_shape(node, ref.port)
        if shapes:
            dims = _apply_shape(_display(ref), dims, list(shapes[index]))
        if dims is None:
            raise InputError(f"the graph records no shape for input {str(ref)!r}; give it with --shape")
        shape: list[Dim] = [
            d if d >= 0 else ("batch" if i == 0 and len(dims) > 1 else None) for i, d in enumerate(dims)
        ]
        perm: Perm = SOURCE
        if layout_mode == "nchw" and len(shape) in (4, 5):
            perm = layout.channels_first(len(shape))
            shape = layout.held_shape(shape, perm)
        tr.bind(ref, tr.builder.add_input(_display(ref), elem, shape), perm)


def _input_dtype(node: TfNode, port: int) -> int:
    for name in ("dtype", "T", "out_type"):
        value = node.attr(name)
        if isinstance(value, int):
            return value
    types = node.attr("output_types") or node.attr("Tout")
    if isinstance(types, list) and port < len(types):
        return int(types[port])
    return 1  # DT_FLOAT, what nearly every model input is


def _input_shape(node: TfNode, port: int) -> list[int] | None:
    if node.op == "Placeholder" and node.has_attr("shape"):
        shape = node.attr("shape")
    else:
        shapes = node.attr("_output_shapes")
        shape = shapes[port] if isinstance(shapes, list) and port < len(shapes) else None
    if shape is not None and not (isinstance(shape, list) and all(isinstance(d, int) for d in shape)):
        raise InputError(
            f"input {node.name!r} records a shape that is not a list of sizes: {str(shape)[:60]}"
        )
    return shape


def _apply_shape(name: str, dims: list[int] | None, given: list[int]) -> list[int]:
    """--shape fills unknown dimensions; the dimensions the graph fixes must agree."""
    if dims is None:
        return given
    if len(dims) != len(given):
        raise InputError(
            f"--shape {','.join(map(str, given))} has rank {len(given)} but input {name!r} has rank {len(dims)}"
        )
    for known, size in zip(dims, given, strict=True):
        if known >= 0 and known != size:
            raise InputError(f"--shape sets a dimension of {name!r} to {size}, the graph fixes it at {known}")
    return given


def _finish_output(tr: Translation, ref: Ref, name: str, layout_mode: str, taken: list[str]) -> str:
    """Gives the output value its reserved name, in the interface layout that was asked for."""
    b = tr.builder
    try:
        held, _ = tr.home(ref)
    except Untranslatable:
        raise InputError(f"output {_display(ref)!r} is not produced by the graph") from None
    rank = b.type_of(held).rank
    wanted: Perm = SOURCE
    if layout_mode == "nchw" and rank in (4, 5):
        wanted = layout.channels_first(rank)
    scope = tr.graph.nodes[ref.node].scope
    value = tr.request(ref, wanted, scope)
    if b.is_node_output(value) and value not in taken:
        b.rename(value, name)
        forms = tr.tensors[ref]
        for perm, held_name in forms.items():
            if held_name == value:
                forms[perm] = name
    else:
        # A graph input, a constant or another output's value: an Identity gives it its own name.
        b.add_node("Identity", [value], [name], scope=scope)
    taken.append(name)
    return name
