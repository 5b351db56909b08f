"""Assembles mapped nodes into one MindSpore network class and renders model.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx_ir as ir

from mindgen.codegen.format import format_source
from mindgen.codegen.naming import (
    CELL_ATTRIBUTES,
    Namespace,
    is_noise,
    safe_label,
    scope_hint,
    to_class_name,
    to_identifier,
)
from mindgen.codegen.render import ExpressionRenderer, render_literal
from mindgen.codegen.templates import render_template
from mindgen.frontends.source import SourceModel
from mindgen.targets.mindspore.context import MS_DTYPES, _dim
from mindgen.targets.mindspore.emission import Emission, NodeMapping, Placeholder, Ref

_WEIGHT_SUFFIXES = re.compile(
    r"\.(weight|bias|running_mean|running_var|gamma|beta|scale|moving_mean|moving_variance|kernel)$"
)


@dataclass(frozen=True)
class ParameterBinding:
    """A checkpoint entry and the source tensor(s) it is made from."""

    name: str
    sources: tuple[ir.Value, ...]
    load: Callable[[], np.ndarray]
    note: str = ""


@dataclass(frozen=True)
class UnmappedRecord:
    """An operator left for a person to finish, with everything known about it."""

    node: str
    op_type: str
    domain: str
    attributes: dict[str, object]
    input_shapes: list[list[int | str | None] | None]
    output_shapes: list[list[int | str | None] | None]
    reason: str
    hint: str
    identifier: str


@dataclass(frozen=True)
class NodeRow:
    """Where one source node ended up in the generated code."""

    node: str
    op_type: str
    generated: str
    mapper: str


@dataclass
class GeneratedModule:
    """The rendered model.py and everything derived from the same bindings."""

    source: str
    class_name: str
    parameters: list[ParameterBinding] = field(default_factory=list)
    rows: list[NodeRow] = field(default_factory=list)
    unmapped: list[UnmappedRecord] = field(default_factory=list)


class _Builder:
    """Holds the namespaces and lines while one network class is written."""

    def __init__(self, source: SourceModel) -> None:
        self.source = source
        self.members = Namespace(CELL_ATTRIBUTES)
        self.locals = Namespace({"self"})
        self.init_lines: list[str] = []
        self.body_lines: list[str] = []
        self.modules: set[str] = {"nn"}
        self.result = GeneratedModule(source="", class_name="")
        self.placeholder_classes: dict[str, dict[str, object]] = {}
        self._buffers: dict[ir.Value, str] = {}

    # Names -------------------------------------------------------------------------------
    def ref_name(self, ref: Ref) -> str:
        value = ref.value
        if value.const_value is not None and not value.is_graph_input():
            return f"self.{self._buffer(value)}"
        if value not in self.locals:
            raise ValueError(f"value {value.name!r} is used before it is computed")
        return self.locals.name(value, "")

    def _buffer(self, value: ir.Value) -> str:
        if value in self._buffers:
            return self._buffers[value]
        name = value.name or ""
        hint = "const" if is_noise(name) or "::" in name else name
        attr = self.members.name(("buffer", value), hint, "const")
        array_dtype = MS_DTYPES.get(value.dtype, "ms.float32")
        shape = tuple(int(d) for d in value.const_value.shape)
        self.modules.update({"ms", "ops", "Parameter"})
        self.init_lines.append(
            f"self.{attr} = Parameter(ops.zeros({render_literal(shape)}, {array_dtype}), requires_grad=False)"
        )
        self.result.parameters.append(
            ParameterBinding(attr, (value,), value.const_value.numpy, "constant tensor kept as a frozen parameter")
        )
        self._buffers[value] = attr
        return attr

    def _output_names(self, node: ir.Node) -> list[str]:
        names = []
        for out in node.outputs:
            if not (out.uses() or out.is_graph_output()):
                names.append("_")
                continue
            if out.is_graph_output():
                hint, fallback = out.name or "output", "output"
            else:
                hint = fallback = _kind(node.op_type)
            names.append(self.locals.name(out, hint, fallback))
        return names

    # Nodes -------------------------------------------------------------------------------
    def add_inputs(self, inputs: Sequence[ir.Value]) -> list[str]:
        return [self.locals.name(v, v.name or "x", "x") for v in inputs]

    def add_mapping(self, mapping: NodeMapping) -> None:
        node = mapping.node
        if isinstance(mapping.result, Placeholder):
            self._add_placeholder(node, mapping.result)
            return
        emission: Emission = mapping.result
        layer_attr = None
        if emission.layer is not None:
            layer_attr = self.members.name(node, _layer_hint(node, emission), emission.layer.kind)
            self._declare_layer(layer_attr, emission)
        renderer = ExpressionRenderer(self.ref_name, layer_attr)
        expr = renderer.render(emission.expr)
        self.modules |= renderer.modules
        targets = self._output_names(node)
        if emission.results == 1 and len(targets) > 1:
            targets = targets[:1]
        self.body_lines.append(f"{_assign_target(targets, emission.results)} = {expr}")
        generated = f"self.{layer_attr}" if layer_attr else expr.split("(", 1)[0]
        self.result.rows.append(NodeRow(node.name or "", node.op_type, generated, mapping.mapper))

    def _declare_layer(self, attr: str, emission: Emission) -> None:
        decl = emission.layer
        assert decl is not None
        renderer = ExpressionRenderer(self.ref_name)
        self.init_lines.append(f"self.{attr} = {decl.cls}({renderer.render_args(decl.args, decl.kwargs)})")
        self.modules |= renderer.modules | {decl.cls.split(".", 1)[0]}
        for weight in decl.weights:
            self.result.parameters.append(
                ParameterBinding(f"{attr}.{weight.param}", weight.sources, weight.load, weight.note)
            )

    def _add_placeholder(self, node: ir.Node, placeholder: Placeholder) -> None:
        class_name = to_class_name(f"Unmapped_{node.op_type}", "Unmapped")
        attributes = {name: _attribute_literal(attr) for name, attr in sorted(node.attributes.items())}
        label = safe_label(f"{node.domain or 'ai.onnx'}::{node.op_type}")
        # One class per op type; the instances carry the per-node facts.
        self.placeholder_classes.setdefault(
            class_name,
            {
                "name": class_name,
                "label": label,
                "message": render_literal(f"{class_name}: {label} is not implemented yet"),
            },
        )
        attr = self.members.name(node, scope_hint(node.name or "", node.op_type) or _kind(node.op_type), "op")
        input_shapes = [_shape_of(v) for v in node.inputs]
        output_shapes = [_shape_of(v) for v in node.outputs]
        kwargs = [f"{_safe_kwarg(k)}={render_literal(v)}" for k, v in attributes.items()]
        kwargs.append(f"input_shape={render_literal(tuple(_tuple_or_none(s) for s in input_shapes))}")
        kwargs.append(f"output_shape={render_literal(tuple(_tuple_or_none(s) for s in output_shapes))}")
        self.init_lines.append(f"# Unmapped {safe_label(node.op_type)} {render_literal(node.name or '')}: {safe_label(placeholder.reason, 200)}")
        self.init_lines.append(f"self.{attr} = {class_name}({', '.join(kwargs)})")
        args = ", ".join(self.ref_name(Ref(v)) if v is not None else "None" for v in node.inputs)
        targets = self._output_names(node)
        self.body_lines.append(f"{_assign_target(targets, len(targets))} = self.{attr}({args})")
        self.result.rows.append(NodeRow(node.name or "", node.op_type, f"self.{attr}", "placeholder"))
        self.result.unmapped.append(
            UnmappedRecord(
                node=node.name or "",
                op_type=node.op_type,
                domain=node.domain or "ai.onnx",
                attributes=attributes,
                input_shapes=input_shapes,
                output_shapes=output_shapes,
                reason=placeholder.reason,
                hint=placeholder.hint,
                identifier=f"self.{attr}",
            )
        )


def generate_module(
    source: SourceModel, mappings: Sequence[NodeMapping], class_name: str, *, formatter: bool = True
) -> GeneratedModule:
    """Writes the network class for the mapped graph; returns code plus its bindings."""
    builder = _Builder(source)
    graph = source.graph
    inputs = [v for v in graph.inputs if not v.is_initializer()]
    arg_names = builder.add_inputs(inputs)
    for mapping in mappings:
        builder.add_mapping(mapping)
    returns = [builder.ref_name(Ref(v)) for v in graph.outputs]
    return_line = "return " + (returns[0] if len(returns) == 1 else ", ".join(returns))
    module_names = builder.modules
    imports = []
    if "ms" in module_names:
        imports.append("import mindspore as ms")
    from_names = sorted(n for n in ("Parameter", "nn", "ops") if n in module_names)
    imports.append(f"from mindspore import {', '.join(from_names)}")
    text = render_template(
        "mindspore/model.py.j2",
        source_name=safe_label(source.path.name),
        source_format=source.format.upper(),
        opset=source.opset,
        imports=imports,
        placeholders=sorted(builder.placeholder_classes.values(), key=lambda c: str(c["name"])),
        class_name=class_name,
        init_lines=builder.init_lines,
        args=", ".join(["self", *arg_names]),
        body_lines=[*builder.body_lines, return_line],
    )
    result = builder.result
    result.source = format_source(text) if formatter else text
    result.class_name = class_name
    return result


def _kind(op_type: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", op_type).lower()


def _layer_hint(node: ir.Node, emission: Emission) -> str:
    """The source module path of a layer: from node scopes, else its weight names."""
    hint = scope_hint(node.name or "", node.op_type)
    if hint:
        return hint
    for weight in emission.layer.weights if emission.layer else ():
        for value in weight.sources:
            name = value.name or ""
            if _WEIGHT_SUFFIXES.search(name) and not is_noise(name) and "::" not in name:
                return _WEIGHT_SUFFIXES.sub("", name)
    name = node.name or ""
    return "" if is_noise(name) else name


def _assign_target(targets: list[str], results: int) -> str:
    if results == 1:
        return targets[0]
    return ", ".join(targets)


def _shape_of(value: ir.Value | None) -> list[int | str | None] | None:
    if value is None or value.shape is None:
        return None
    return [_dim(d) for d in value.shape]


def _tuple_or_none(shape: list[int | str | None] | None) -> tuple | None:
    return None if shape is None else tuple(shape)


def _safe_kwarg(name: str) -> str:
    """Attribute names come from the model: anything not a plain identifier is renamed."""
    ident = to_identifier(name, "attr")
    return ident if ident not in ("input_shape", "output_shape") else f"attr_{ident}"


def _attribute_literal(attr: ir.Attr) -> object:
    """An attribute as a plain literal for the placeholder's keyword arguments."""
    value = attr.value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str, bytes)) for v in value):
        return tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value)
    if hasattr(value, "shape") and hasattr(value, "numpy"):
        return f"<tensor {tuple(value.shape)}>"
    return f"<{attr.type.name.lower()}>"
