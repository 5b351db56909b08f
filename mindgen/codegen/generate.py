"""Assembles mapped nodes into MindSpore network classes and renders model.py."""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx_ir as ir

from mindgen.codegen.classes import (
    ClassSpec,
    Fixed,
    Lit,
    Member,
    class_source,
    default_class_name,
    fold_classes,
)
from mindgen.codegen.format import format_source
from mindgen.codegen.naming import (
    CELL_ATTRIBUTES,
    Namespace,
    is_noise,
    safe_label,
    to_class_name,
)
from mindgen.codegen.placeholders import PlaceholderClass, dtype_name, signature
from mindgen.codegen.placeholders import class_source as placeholder_source
from mindgen.codegen.render import ExpressionRenderer, render_literal
from mindgen.codegen.scopes import Scope, build_scopes
from mindgen.codegen.templates import render_template
from mindgen.frontends.source import SourceModel
from mindgen.targets.mindspore.context import MS_DTYPES, _dim
from mindgen.targets.mindspore.emission import (
    Const,
    Emission,
    LayerCall,
    NodeMapping,
    Placeholder,
    Ref,
    Temp,
)

_WEIGHT_SUFFIXES = re.compile(
    r"\.(weight|bias|running_mean|running_var|gamma|beta|scale|moving_mean|moving_variance|kernel)$"
)

# Short variable names for values, by the op that makes them.
_SHORT_KINDS = {
    "BatchNormalization": "bn",
    "LayerNormalization": "norm",
    "GlobalAveragePool": "pooled",
    "GlobalMaxPool": "pooled",
    "MaxPool": "pooled",
    "AveragePool": "pooled",
    "MatMul": "matmul",
    "Gemm": "fc",
    "Linear": "fc",
    "Softmax": "probs",
}


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
    input_dtypes: list[str | None] = field(default_factory=list)
    output_dtypes: list[str | None] = field(default_factory=list)
    class_name: str = ""


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


def references(mapping: NodeMapping) -> list[ir.Value]:
    """The values the generated code of one node reads, in order of appearance."""
    if isinstance(mapping.result, Placeholder):
        return [v for v in mapping.node.inputs if v is not None]
    found: list[ir.Value] = []
    emission = mapping.result
    pending = [
        *(t.expr for t in emission.prelude),
        emission.expr,
        *(emission.layer.args if emission.layer else ()),
    ]
    pending += [v for _, v in emission.layer.kwargs] if emission.layer else []
    while pending:
        expr = pending.pop(0)
        if isinstance(expr, Ref):
            if expr.value not in found:
                found.append(expr.value)
            continue
        for name in ("args", "items"):
            pending[0:0] = list(getattr(expr, name, ()))
        if isinstance(expr, Temp):
            continue  # its expression is walked through the prelude
        for name in ("left", "right", "operand", "base"):
            if hasattr(expr, name):
                pending.insert(0, getattr(expr, name))
        pending[0:0] = [v for _, v in getattr(expr, "kwargs", ())]
    return found


def prune_unreferenced(mappings: Sequence[NodeMapping], outputs: Sequence[ir.Value]) -> list[NodeMapping]:
    """Drops nodes whose results no generated code reads (e.g. shape arithmetic a mapper resolved)."""
    needed = set(outputs)
    kept = []
    for mapping in reversed(mappings):
        if any(value in needed for value in mapping.node.outputs):
            kept.append(mapping)
            needed.update(references(mapping))
    return kept[::-1]


class _GraphFacts:
    """Who produces and who reads each value, by graph position; where constants live."""

    def __init__(self, graph: ir.Graph, mappings: Sequence[NodeMapping], root: Scope) -> None:
        self.mappings = mappings
        self.producer: dict[ir.Value, int] = {}
        self.users: dict[ir.Value, list[int]] = defaultdict(list)
        self.reads: list[list[ir.Value]] = []
        for position, mapping in enumerate(mappings):
            for value in mapping.node.outputs:
                self.producer[value] = position
            self.reads.append(references(mapping))
            for value in self.reads[-1]:
                self.users[value].append(position)
        self.owner: dict[int, tuple[str, ...]] = {}
        self.subtree: dict[tuple[str, ...], set[int]] = {}
        self._index(root)
        self.graph_outputs = list(graph.outputs)
        self.const_home: dict[ir.Value, tuple[str, ...]] = {}
        for value, positions in self.users.items():
            if is_constant(value):
                self.const_home[value] = _common_prefix([self.owner[p] for p in positions])
        for value in self.graph_outputs:
            if is_constant(value):
                self.const_home[value] = ()

    def _index(self, scope: Scope) -> set[int]:
        positions = {position for position, _, _ in scope.items}
        for position in positions:
            self.owner[position] = scope.path
        for child in scope.children.values():
            positions |= self._index(child)
        self.subtree[scope.path] = positions
        return positions


def is_constant(value: ir.Value) -> bool:
    return value.const_value is not None and not value.is_graph_input()


def _common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    length = len(first)
    for path in paths[1:]:
        length = min(length, len(path))
        for i in range(length):
            if path[i] != first[i]:
                length = i
                break
    return first[:length]


class _ClassBuilder:
    """Writes one module's class: members in __init__, one line per node in construct."""

    def __init__(self, scope: Scope, facts: _GraphFacts, shared: _Shared) -> None:
        self.scope = scope
        self.facts = facts
        self.shared = shared
        self.members = Namespace(CELL_ATTRIBUTES)
        self.locals = Namespace({"self"})
        self.member_list: list[Member] = []
        # Variable names of values in construct; a dying input may lend its name (x = f(x)).
        self._vars: dict[ir.Value, str] = {}
        self._var_names: set[str] = set()  # the names in _vars, kept as they are made (not rebuilt per node)
        self.body: list[str] = []
        self._buffers: dict[ir.Value, str] = {}
        self._positions = facts.subtree[scope.path]
        self.inputs, self.outputs = self._interface()

    # Interface -------------------------------------------------------------------------------
    def _inside(self, path: tuple[str, ...]) -> bool:
        return path[: len(self.scope.path)] == self.scope.path

    def _interface(self) -> tuple[list[ir.Value], list[ir.Value]]:
        if not self.scope.path:
            graph_inputs = [v for v in self.shared.graph.inputs if not v.is_initializer()]
            return graph_inputs, list(self.facts.graph_outputs)
        inputs: list[ir.Value] = []
        outputs: list[ir.Value] = []
        for position in sorted(self._positions):
            node = self.facts.mappings[position].node
            for value in self.facts.reads[position]:
                if value in inputs or self.facts.producer.get(value) in self._positions:
                    continue
                if is_constant(value) and self._inside(self.facts.const_home[value]):
                    continue
                inputs.append(value)
            for value in node.outputs:
                outside = any(p not in self._positions for p in self.facts.users.get(value, ()))
                if outside or value.is_graph_output():
                    outputs.append(value)
        return inputs, outputs

    # Names -----------------------------------------------------------------------------------
    def ref_name(self, ref: Ref) -> str:
        value = ref.value
        if is_constant(value) and self.facts.const_home.get(value, ()) == self.scope.path:
            return f"self.{self._buffer(value)}"
        if value not in self._vars:
            raise ValueError(f"value {value.name!r} is used before it is computed")
        return self._vars[value]

    def _fresh(self, value: ir.Value, hint: str, fallback: str) -> str:
        self._vars[value] = self.locals.name(value, hint, fallback)
        self._var_names.add(self._vars[value])
        return self._vars[value]

    def _buffer(self, value: ir.Value) -> str:
        if value in self._buffers:
            return self._buffers[value]
        name = value.name or ""
        hint = "const" if is_noise(name) or "::" in name or "/" in name else name
        attr = self.members.name(("buffer", value), hint, "const")
        shape = tuple(int(d) for d in value.const_value.shape)
        member = Member(attr, "buffer", args=[Lit(shape), Fixed(MS_DTYPES.get(value.dtype, "ms.float32"))])
        binding = ParameterBinding(
            "", (value,), value.const_value.numpy, "constant tensor kept as a frozen parameter"
        )
        member.bindings.append(("", binding))
        self.member_list.append(member)
        self.shared.modules.update({"ms", "ops", "Parameter"})
        self._buffers[value] = attr
        return attr

    def _name_inputs(self) -> list[str]:
        names = []
        for index, value in enumerate(self.inputs):
            if not self.scope.path:
                names.append(self._fresh(value, value.name or "x", "x"))
                continue
            hint = (
                "x" if index == 0 or is_noise(value.name or "") or "/" in (value.name or "") else value.name
            )
            names.append(self._fresh(value, hint or "x", "x"))
        return names

    def _assign(self, position: int, values: Sequence[ir.Value], hint: str) -> list[str]:
        """Names for a node's outputs: `_` when unused, else fresh or the dying input's name."""
        node = self.facts.mappings[position].node
        used = [v for v in values if self._needed(v)]
        reusable = self._reusable_input(position, node) if len(used) == 1 and len(values) == 1 else None
        names = []
        for value in values:
            if not self._needed(value):
                names.append("_")
            elif reusable is not None and not (value.is_graph_output() and not self.scope.path):
                self._vars[value] = self._vars[reusable]
                names.append(self._vars[value])
            elif value.is_graph_output() and not self.scope.path:
                names.append(self._fresh(value, value.name or "output", "output"))
            else:
                names.append(self._fresh(value, hint, "x"))
        return names

    def _needed(self, value: ir.Value) -> bool:
        return bool(self.facts.users.get(value)) or value.is_graph_output()

    def _reusable_input(self, position: int, node: ir.Node) -> ir.Value | None:
        """The first input, when this node is its last use here: its name carries on (x = f(x))."""
        first = next((v for v in self.facts.reads[position] if not is_constant(v)), None)
        if first is None or first not in self._vars or first in self.outputs:
            return None
        if first.is_graph_output() or (first.is_graph_input() and not self.scope.path):
            return None
        here = self._entry_of(position)
        # Uses outside this module read the caller's variable, not this method's local name.
        later = [p for p in self.facts.users.get(first, ()) if p > position and p in self._positions]
        if any(self._entry_of(p) != here for p in later):
            return None
        return first

    def _entry_of(self, position: int) -> object:
        """The construct line a node belongs to: its own, or the child module call holding it."""
        owner = self.facts.owner[position]
        if owner == self.scope.path:
            return position
        return owner[: len(self.scope.path) + 1]

    # Building --------------------------------------------------------------------------------
    def build(self, child_specs: dict[str, ClassSpec]) -> ClassSpec:
        input_names = self._name_inputs()
        entries: list[tuple[int, str, object]] = [(p, "node", (m, a)) for p, m, a in self.scope.items]
        for name, child in self.scope.children.items():
            entries.append((min(self.facts.subtree[child.path]), "child", name))
        for position, kind, payload in sorted(entries, key=lambda e: e[0]):
            if kind == "node":
                mapping, attr = payload  # type: ignore[misc]
                self._add_node(position, mapping, attr)
            else:
                self._add_child(position, payload, child_specs)  # type: ignore[arg-type]
        returns = [self.ref_name(Ref(v)) for v in self.outputs]
        self.body.append("return " + ", ".join(returns) if returns else "return None")
        return ClassSpec(self.scope, self.member_list, input_names, self.body)

    def _member_attr(self, key: object, attr: str | None, hint: str, fallback: str) -> str:
        return self.members.name(key, attr if attr else hint, fallback)

    def _add_node(self, position: int, mapping: NodeMapping, attr: str | None) -> None:
        node = mapping.node
        if isinstance(mapping.result, Placeholder):
            self._add_placeholder(position, node, mapping.result, attr)
            return
        emission: Emission = mapping.result
        member_attr = None
        if emission.layer is not None:
            decl = emission.layer
            member_attr = self._member_attr(node, attr, _layer_hint(node, emission), decl.kind)
            renderer = ExpressionRenderer(self.ref_name)
            member = Member(
                member_attr,
                "layer",
                cls=decl.cls,
                args=[_arg(a, renderer) for a in decl.args],
                kwargs=[(k, _arg(v, renderer)) for k, v in decl.kwargs],
                source_name=attr or "",
            )
            for weight in decl.weights:
                member.bindings.append(
                    (weight.param, ParameterBinding("", weight.sources, weight.load, weight.note))
                )
            self.member_list.append(member)
            self.shared.modules |= renderer.modules | {decl.cls.split(".", 1)[0]}
        temp_names: dict[int, str] = {}
        renderer = ExpressionRenderer(self.ref_name, member_attr, temp_names)
        for temp in emission.prelude:
            text = renderer.render(temp.expr)
            temp_names[id(temp)] = self.locals.name(("temp", position, id(temp)), temp.hint, "tmp")
            self.body.append(f"{temp_names[id(temp)]} = {text}")
        expr = renderer.render(emission.expr)
        self.shared.modules |= renderer.modules
        outputs = list(node.outputs[: emission.results]) if emission.results > 1 else [node.outputs[0]]
        # The first chain of layer calls reads as `out`; parallel ones take their layer's name.
        hint = _kind(node.op_type)
        if member_attr and _is_chain_start(emission):
            hint = member_attr if "out" in self._var_names else "out"
        names = self._assign(position, outputs, hint)
        self.body.append(f"{', '.join(names)} = {expr}")
        where = ".".join([*self.scope.path, member_attr]) if member_attr else expr.split("(", 1)[0]
        self.shared.rows.append((position, NodeRow(node.name or "", node.op_type, where, mapping.mapper)))

    def _add_child(self, position: int, name: str, child_specs: dict[str, ClassSpec]) -> None:
        child = self.scope.children[name]
        spec = child_specs[name]
        attr = self.members.name(("child", name), name, "block")
        if spec.sequential is not None:
            member = Member(attr, "sequential", items=spec.sequential, source_name=name)
        else:
            member = Member(attr, "module", child=spec, source_name=name)
        self.member_list.append(member)
        builder = self.shared.builders[child.path]
        args = ", ".join(self.ref_name(Ref(v)) for v in builder.inputs)
        names = self._assign(position, builder.outputs, "out" if "out" not in self._var_names else attr)
        self.body.append(f"{', '.join(names)} = self.{attr}({args})")

    def _add_placeholder(
        self, position: int, node: ir.Node, placeholder: Placeholder, attr: str | None
    ) -> None:
        op_key = (node.domain or "ai.onnx", node.op_type)
        ph = self.shared.placeholder(op_key)
        ph.add_node(node)
        # Literal values reach the code through repr; names through the class's Namespace.
        attributes = {name: _attribute_literal(a) for name, a in sorted(node.attributes.items())}
        member_attr = self._member_attr(node, attr, _kind(node.op_type), "op")
        kwargs: list[tuple[str, Lit | Fixed]] = [(ph.param(k), Lit(v)) for k, v in attributes.items()]
        comment = f"Unmapped {safe_label(node.op_type)} {render_literal(node.name or '')}: {safe_label(placeholder.reason, 200)}"
        self.member_list.append(
            Member(member_attr, "placeholder", cls=ph.name, kwargs=kwargs, comment=comment)
        )
        args = ", ".join(self.ref_name(Ref(v)) if v is not None else "None" for v in node.inputs)
        names = self._assign(position, list(node.outputs), _kind(node.op_type))
        self.body.append(f"{', '.join(names)} = self.{member_attr}({args})")
        where = ".".join([*self.scope.path, member_attr])
        self.shared.rows.append((position, NodeRow(node.name or "", node.op_type, where, "placeholder")))
        record = UnmappedRecord(
            node=node.name or "",
            op_type=node.op_type,
            domain=node.domain or "ai.onnx",
            attributes=attributes,
            input_shapes=[_shape_of(v) for v in node.inputs],
            output_shapes=[_shape_of(v) for v in node.outputs],
            reason=placeholder.reason,
            hint=placeholder.hint,
            identifier=where,
            input_dtypes=[dtype_name(v) for v in node.inputs],
            output_dtypes=[dtype_name(v) for v in node.outputs],
            class_name=ph.name,
        )
        self.shared.unmapped.append((position, record))


@dataclass
class _Shared:
    """State shared by the class builders of one model."""

    graph: ir.Graph
    modules: set[str] = field(default_factory=lambda: {"nn"})
    placeholder_classes: dict[tuple[str, str], PlaceholderClass] = field(default_factory=dict)
    rows: list[tuple[int, NodeRow]] = field(default_factory=list)
    unmapped: list[tuple[int, UnmappedRecord]] = field(default_factory=list)
    builders: dict[tuple[str, ...], _ClassBuilder] = field(default_factory=dict)
    # Names no placeholder class may take (the network class).
    reserved_classes: set[str] = field(default_factory=set)

    def placeholder(self, op_key: tuple[str, str]) -> PlaceholderClass:
        """One class per (domain, op type); names never repeat another class's."""
        if op_key in self.placeholder_classes:
            return self.placeholder_classes[op_key]
        taken = self.reserved_classes | {info.name for info in self.placeholder_classes.values()}
        base = to_class_name(f"Unmapped_{op_key[1]}", "Unmapped")
        name, counter = base, 1
        while name in taken:
            counter += 1
            name = f"{base}{counter}"
        label = safe_label(f"{op_key[0]}::{op_key[1]}")
        self.placeholder_classes[op_key] = PlaceholderClass(name, label)
        return self.placeholder_classes[op_key]


def _build_specs(scope: Scope, facts: _GraphFacts, shared: _Shared, specs: list[ClassSpec]) -> ClassSpec:
    """Builds the specs of a scope's children, then its own (children first in `specs`)."""
    builder = _ClassBuilder(scope, facts, shared)
    shared.builders[scope.path] = builder
    child_specs = {name: _build_specs(child, facts, shared, specs) for name, child in scope.children.items()}
    spec = builder.build(child_specs)
    spec.sequential = _sequential_items(spec, builder) if scope.path else None
    if spec.sequential is None:
        specs.append(spec)
    else:
        _renumber_rows(shared, scope.path, spec.sequential)
    return spec


def _renumber_rows(shared: _Shared, path: tuple[str, ...], items: list[Member]) -> None:
    """Members of an nn.SequentialCell are reached by index: the report's paths say so."""
    for index, member in enumerate(items):
        old, new = ".".join([*path, member.attr]), ".".join([*path, str(index)])
        for i, (position, row) in enumerate(shared.rows):
            if row.generated == old or row.generated.startswith(old + "."):
                shared.rows[i] = (
                    position,
                    dataclasses.replace(row, generated=new + row.generated[len(old) :]),
                )
        for i, (position, record) in enumerate(shared.unmapped):
            if record.identifier == old or record.identifier.startswith(old + "."):
                moved = new + record.identifier[len(old) :]
                shared.unmapped[i] = (position, dataclasses.replace(record, identifier=moved))


def _sequential_items(spec: ClassSpec, builder: _ClassBuilder) -> list[Member] | None:
    """Members named 0..n-1 applied one after another to one value: an nn.SequentialCell."""
    members = spec.members
    if not members or [m.source_name for m in members] != [str(i) for i in range(len(members))]:
        return None
    if len(builder.inputs) != 1 or len(builder.outputs) != 1:
        return None
    if any(m.kind not in ("layer", "module", "sequential") for m in members):
        return None
    chain = [f"x = self.{m.attr}(x)" for m in members]
    if spec.inputs != ["x"] or spec.body != [*chain, "return x"]:
        return None
    return members


def generate_module(
    source: SourceModel,
    mappings: Sequence[NodeMapping],
    class_name: str,
    *,
    flat: bool = False,
    formatter: bool = True,
) -> GeneratedModule:
    """Writes the network (and one class per distinct sub-module); returns code and bindings."""
    mappings = prune_unreferenced(mappings, list(source.graph.outputs))
    root = build_scopes(mappings, flat=flat)
    facts = _GraphFacts(source.graph, mappings, root)
    shared = _Shared(source.graph, reserved_classes={class_name})
    specs: list[ClassSpec] = []
    root_spec = _build_specs(root, facts, shared, specs)
    placeholder_names = {info.name for info in shared.placeholder_classes.values()}
    groups = fold_classes(
        specs,
        lambda group: (
            class_name if group.instances[0] is root_spec else _module_class_name(group, class_name)
        ),
        reserved=placeholder_names,
    )
    result = GeneratedModule(source="", class_name=class_name)
    _collect_parameters(root_spec.members, "", result.parameters)
    result.rows = [row for _, row in sorted(shared.rows, key=lambda item: item[0])]
    result.unmapped = [record for _, record in sorted(shared.unmapped, key=lambda item: item[0])]
    imports = []
    if "ms" in shared.modules:
        imports.append("import mindspore as ms")
    from_names = sorted(n for n in ("Parameter", "nn", "ops") if n in shared.modules)
    imports.append(f"from mindspore import {', '.join(from_names)}")
    # Lines a user's mapper asked for (its own Cells or helpers), after mindspore's.
    imports += sorted({line for m in mappings if isinstance(m.result, Emission) for line in m.result.imports})
    label = safe_label(source.path.name)
    classes = [
        class_source(
            group, f"Converted from {label}." if group.instances[0] is root_spec else _class_doc(group)
        )
        for group in groups
    ]
    text = render_template(
        "mindspore/model.py.j2",
        source_name=label,
        source_format=source.format.upper(),
        opset=source.opset,
        imports=imports,
        placeholders=_placeholder_sources(shared.placeholder_classes.values(), result.unmapped),
        classes=classes,
    )
    result.source = format_source(text) if formatter else text
    return result


def _placeholder_sources(classes: Iterable[PlaceholderClass], unmapped: list[UnmappedRecord]) -> list[str]:
    """Each placeholder class's source, its docstring listing the nodes it stands for."""
    sources = []
    for ph in sorted(classes, key=lambda c: c.name):
        seen = [
            (
                u.identifier,
                signature(ph.input_params, u.input_shapes, u.input_dtypes),
                signature([], u.output_shapes, u.output_dtypes),
            )
            for u in unmapped
            if u.class_name == ph.name
        ]
        sources.append(placeholder_source(ph, seen))
    return sources


def _module_class_name(group, network_class: str) -> str:
    """A sub-module's class name, never the network's own (the report and users refer to it)."""
    name = default_class_name(group)
    return f"{name}Module" if name == network_class else name


def _class_doc(group) -> str:
    paths = [".".join(spec.scope.path) for spec in group.instances]
    shown = ", ".join(safe_label(p) for p in paths[:4]) + (", ..." if len(paths) > 4 else "")
    return f"Source module{'s' if len(paths) > 1 else ''} {shown}."


def _collect_parameters(members: list[Member], prefix: str, out: list[ParameterBinding]) -> None:
    """Checkpoint names follow attribute paths, as MindSpore names the parameters."""
    for member in members:
        path = f"{prefix}{member.attr}"
        for suffix, binding in member.bindings:
            name = f"{path}.{suffix}" if suffix else path
            out.append(ParameterBinding(name, binding.sources, binding.load, binding.note))  # type: ignore[union-attr]
        if member.kind == "sequential":
            for index, item in enumerate(member.items):
                _collect_parameters([_renamed(item, str(index))], f"{path}.", out)
        elif member.child is not None:
            _collect_parameters(member.child.members, f"{path}.", out)


def _renamed(member: Member, attr: str) -> Member:
    return dataclasses.replace(member, attr=attr)


def _arg(expr, renderer: ExpressionRenderer) -> Lit | Fixed:
    return Lit(expr.value) if isinstance(expr, Const) else Fixed(renderer.render(expr))


def _is_chain_start(emission: Emission) -> bool:
    return isinstance(emission.expr, LayerCall)


def _kind(op_type: str) -> str:
    return _SHORT_KINDS.get(op_type) or re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", op_type).lower()


def _layer_hint(node: ir.Node, emission: Emission) -> str:
    """A layer's name when its node has no module path: from its weight names, else its kind."""
    for weight in emission.layer.weights if emission.layer else ():
        for value in weight.sources:
            name = value.name or ""
            if _WEIGHT_SUFFIXES.search(name) and not is_noise(name) and "::" not in name:
                return _WEIGHT_SUFFIXES.sub("", name)
    name = node.name or ""
    return "" if is_noise(name) or "/" in name else name


def _shape_of(value: ir.Value | None) -> list[int | str | None] | None:
    if value is None or value.shape is None:
        return None
    return [_dim(d) for d in value.shape]


def _tuple_or_none(shape: list[int | str | None] | None) -> tuple | None:
    return None if shape is None else tuple(shape)


def _attribute_literal(attr: ir.Attr) -> object:
    """An attribute as a plain literal for the placeholder's keyword arguments."""
    value = attr.value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float):
        return _float32(value)
    if isinstance(value, (int, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str, bytes)) for v in value):
        return tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else _float32(v) for v in value)
    if hasattr(value, "shape") and hasattr(value, "numpy"):
        return f"<tensor {tuple(value.shape)}>"
    return f"<{attr.type.name.lower()}>"


def _float32(value: object) -> object:
    """ONNX float attributes are float32: written as the shortest text that reads back the same (1.702)."""
    if isinstance(value, float) and np.isfinite(value):
        return float(str(np.float32(value)))
    return value
