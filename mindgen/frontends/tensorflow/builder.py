"""The ONNX graph under construction: values with types, constants, nodes, per-node inference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from mindgen.frontends.source import CANONICAL_OPSET
from mindgen.frontends.tensorflow.naming import nest_layers
from mindgen.frontends.tensorflow.symbolic import Entries, const_entries, propagate

Dim = int | str | None

# Constants up to this many elements are folded and shown to shape inference as data.
_FOLD_LIMIT = 1 << 22
_DATA_LIMIT = 4096
# The IR version of the opset-17 era, which every onnxruntime of the last years reads.
_IR_VERSION = 8
# Nodes never folded, although every input is constant.
_NO_FOLD = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial"}
)


@dataclass(frozen=True)
class ValueType:
    """Element type (onnx.TensorProto code, 0 when unknown) and shape (None: unknown rank)."""

    elem: int
    shape: tuple[Dim, ...] | None

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)


class GraphBuilder:
    """Collects nodes, inputs and constants; infers each node's output types as it is added."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.types: dict[str, ValueType] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.domains: set[str] = set()
        self._names: set[str] = set()
        self._node_names: set[str] = set()
        # Per base name, the suffix count to probe from (all lower ones are taken): without it,
        # 100k 'Relu' nodes of one scope probed Relu_1, Relu_2, ... anew each time (quadratic).
        self._probe_from: dict[tuple[bool, str], int] = {}
        self._derived: dict[str, str] = {}  # constant -> the constant it was rearranged from
        self._entries: dict[str, Entries] = {}  # shape vectors computed at run time

    # Names -----------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A value name not used yet: the hint itself, else hint_1, hint_2, ..."""
        return self._unique(hint, self._names, False, first=hint or "value")

    def node_name(self, scope: str, op_type: str) -> str:
        """'scope/OpType' (then _1, _2): the convention the module tree reads scopes from."""
        return self._unique(f"{scope}/{op_type}" if scope else op_type, self._node_names, True)

    def _unique(self, base: str, taken: set[str], nodes: bool, first: str | None = None) -> str:
        """The first of base (or first), base_1, base_2, ... not in taken, which it joins."""
        count = self._probe_from.get((nodes, base), 0)
        name = (first or base) if count == 0 else f"{base}_{count}"
        while name in taken:
            count += 1
            name = f"{base}_{count}"
        self._probe_from[(nodes, base)] = count
        taken.add(name)
        return name

    def _release_node_name(self, name: str) -> None:
        """Gives a folded node's name back, so the next node of its base takes it as before."""
        self._node_names.discard(name)
        base, _, count = name.rpartition("_")
        for key, start in ((name, 0), (base, int(count) if count.isdigit() else None)):
            if start is not None and (True, key) in self._probe_from:
                self._probe_from[(True, key)] = min(self._probe_from[(True, key)], start)

    # Values ----------------------------------------------------------------------------------
    def add_input(self, hint: str, elem: int, shape: Sequence[Dim] | None) -> str:
        name = self.fresh(hint)
        self.inputs.append(helper.make_tensor_value_info(name, elem, None if shape is None else list(shape)))
        self.types[name] = ValueType(elem, None if shape is None else tuple(shape))
        return name

    def add_const(self, array: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        if name != hint and hint in self.consts:
            self._derived[name] = hint
        array = np.asarray(array)
        self.consts[name] = array
        self.types[name] = ValueType(helper.np_dtype_to_tensor_dtype(array.dtype), tuple(array.shape))
        return name

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)

    def entries(self, name: str) -> Entries | None:
        """A small integer tensor entry by entry (ints, dim symbols, None), if it is a shape."""
        array = self.consts.get(name)
        if array is not None:
            return const_entries(array)
        return self._entries.get(name)

    def type_of(self, name: str) -> ValueType:
        return self.types.get(name, ValueType(0, None))

    def set_type(self, name: str, elem: int, shape: Sequence[Dim] | None) -> None:
        """Records a type that inference cannot give (outputs of nodes in a custom domain)."""
        self.types[name] = ValueType(elem, None if shape is None else tuple(shape))

    # Nodes -----------------------------------------------------------------------------------
    def emit(
        self,
        op_type: str,
        inputs: Sequence[str],
        outputs: Sequence[str],
        *,
        scope: str,
        domain: str = "",
        attributes: dict[str, object] | None = None,
        **attrs: object,
    ) -> list[str]:
        """Adds a node (or folds it, when every input is a small constant); returns output names.

        `attributes` holds attributes named by the source (a TF attr may be called 'self' or 'name').
        """
        names = [self.fresh(hint) for hint in outputs]
        node = helper.make_node(
            op_type, list(inputs), names, name=self.node_name(scope, op_type), domain=domain, **attrs
        )
        node.attribute.extend(helper.make_attribute(k, v) for k, v in sorted((attributes or {}).items()))
        if domain:
            self.domains.add(domain)
        elif self._fold(node):
            self._release_node_name(node.name)
            return names
        self.nodes.append(node)
        if not domain:
            self._infer(node)
            self._follow_entries(node)
        return names

    def _follow_entries(self, node: onnx.NodeProto) -> None:
        """Tracks shape vectors, and gives Reshape to such a vector its shape when inference cannot."""
        entries = propagate(node, self.entries, lambda name: self.type_of(name).shape)
        if entries is not None and any(e is not None for e in entries):
            self._entries[node.output[0]] = entries
        if node.op_type == "Reshape" and self.type_of(node.output[0]).shape is None:
            target = self.entries(node.input[1])
            if target is not None and all(
                isinstance(e, str) or (isinstance(e, int) and e > 0) for e in target
            ):
                self.types[node.output[0]] = ValueType(self.type_of(node.input[0]).elem, tuple(target))

    def add_node(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str], *, scope: str) -> None:
        """Adds a node whose output names are already reserved; never folded."""
        node = helper.make_node(op_type, list(inputs), list(outputs), name=self.node_name(scope, op_type))
        self.nodes.append(node)
        self._infer(node)

    def producer(self, name: str) -> onnx.NodeProto | None:
        """The node that computes a value (searched from the newest, where it usually is)."""
        for node in reversed(self.nodes):
            if name in node.output:
                return node
        return None

    def is_node_output(self, name: str) -> bool:
        return any(name in node.output for node in self.nodes)

    def rename(self, old: str, new: str) -> None:
        """Renames a value everywhere (the new name must be reserved with fresh())."""
        for node in self.nodes:
            for names in (node.input, node.output):
                for i, current in enumerate(names):
                    if current == old:
                        names[i] = new
        if old in self.types:
            self.types[new] = self.types.pop(old)

    def _fold(self, node: onnx.NodeProto) -> bool:
        """Evaluates a node of constants with the ONNX reference implementation."""
        if node.op_type in _NO_FOLD or not node.input:
            return False
        feeds = {name: self.consts.get(name) for name in node.input if name}
        if any(v is None for v in feeds.values()) or sum(v.size for v in feeds.values()) > _FOLD_LIMIT:
            return False
        try:
            results = ReferenceEvaluator(node, opsets={"": CANONICAL_OPSET}).run(None, feeds)
        except Exception:  # the reference raises many kinds; such a node is simply kept
            return False
        arrays = [np.asarray(result) for result in results]
        if any(array.size > _FOLD_LIMIT for array in arrays):
            return False
        for name, array in zip(node.output, arrays, strict=True):
            self.consts[name] = array
            self.types[name] = ValueType(helper.np_dtype_to_tensor_dtype(array.dtype), tuple(array.shape))
        return True

    def _infer(self, node: onnx.NodeProto) -> None:
        """Output types of one node from its input types (and small constant inputs)."""
        types, data = {}, {}
        for name in node.input:
            if not name:
                continue
            value_type = self.type_of(name)
            types[name] = helper.make_tensor_type_proto(
                value_type.elem, None if value_type.shape is None else list(value_type.shape)
            )
            array = self.consts.get(name)
            if array is not None and array.size <= _DATA_LIMIT:
                data[name] = numpy_helper.from_array(array, name)
        try:
            schema = onnx.defs.get_schema(node.op_type, CANONICAL_OPSET, node.domain)
            inferred = onnx.shape_inference.infer_node_outputs(
                schema, node, types, data, opset_imports=[helper.make_opsetid("", CANONICAL_OPSET)]
            )
        except Exception:  # unknown input types stop inference here; later passes try again
            return
        for name, type_proto in inferred.items():
            tensor = type_proto.tensor_type
            shape = None
            if tensor.HasField("shape"):
                shape = tuple(
                    d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                    for d in tensor.shape.dim
                )
            self.types[name] = ValueType(tensor.elem_type, shape)

    # Result ----------------------------------------------------------------------------------
    def remove_dead(self, outputs: Sequence[str]) -> None:
        """Drops nodes none of whose outputs is read (shape arithmetic a constant replaced)."""
        live = set(outputs)
        kept = []
        for node in reversed(self.nodes):
            if any(name in live for name in node.output):
                kept.append(node)
                live.update(node.input)
        self.nodes = kept[::-1]

    def _restore_names(self, used: set[str]) -> set[str]:
        """A rearranged weight takes its source's name when the source itself is not used."""
        for name, origin in self._derived.items():
            if name in used and origin not in used:
                self.rename(name, origin)
                self.consts[origin] = self.consts.pop(name)
                used = (used - {name}) | {origin}
        return used

    def model(self, outputs: Sequence[str], producer: str) -> onnx.ModelProto:
        """The finished ModelProto: used constants become initializers, unused ones are dropped."""
        self.remove_dead(outputs)
        nest_layers(self.nodes)
        used = self._restore_names({name for node in self.nodes for name in node.input} | set(outputs))
        initializers = [
            numpy_helper.from_array(array, name) for name, array in self.consts.items() if name in used
        ]
        value_info = [self._value_info(name) for name in outputs]
        known = {name for node in self.nodes if node.domain for name in node.output}
        extra = [self._value_info(name) for name in sorted(known) if self.type_of(name).elem]
        graph = helper.make_graph(self.nodes, "main", self.inputs, value_info, initializers, value_info=extra)
        opsets = [helper.make_opsetid("", CANONICAL_OPSET)] + [
            helper.make_opsetid(d, 1) for d in sorted(self.domains)
        ]
        model = helper.make_model(graph, opset_imports=opsets, producer_name=producer)
        model.ir_version = _IR_VERSION
        return model

    def _value_info(self, name: str) -> onnx.ValueInfoProto:
        value_type = self.type_of(name)
        shape = None if value_type.shape is None else list(value_type.shape)
        return helper.make_tensor_value_info(name, value_type.elem, shape)
