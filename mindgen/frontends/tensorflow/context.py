"""What a translator sees of one TF node: its inputs (in any layout), attributes, and outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mindgen.errors import InputError
from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.builder import Dim, GraphBuilder, ValueType
from mindgen.frontends.tensorflow.graph import Ref, TfNode
from mindgen.frontends.tensorflow.layout import Perm
from mindgen.frontends.tensorflow.registry import Untranslatable
from mindgen.frontends.tensorflow.symbolic import Entries

if TYPE_CHECKING:
    from mindgen.frontends.tensorflow.translate import Translation

SOURCE: Perm = ()  # the key of a tensor held in TensorFlow's own layout, whatever its rank


_DATA_FORMATS = frozenset({"NHWC", "NCHW", "NWC", "NCW", "NDHWC", "NCDHW", "NCHW_VECT_C"})


def _is_kind(value: Any, expected: type) -> bool:
    """Whether a decoded attribute can serve as `expected` (an int as a float, a bool as an int)."""
    if expected is float:
        return isinstance(value, (int, float))
    if expected in (int, bool):
        return isinstance(value, (int, bool))
    return isinstance(value, expected)


class NodeContext:
    """One TF node during translation."""

    def __init__(self, translation: Translation, node: TfNode) -> None:
        self.tr = translation
        self.node = node
        self.b: GraphBuilder = translation.builder
        self.scope = node.scope

    # Attributes ------------------------------------------------------------------------------
    def attr(self, name: str, default: Any = None, kind: type | None = None) -> Any:
        """An attribute of the kind its default (or `kind`) has; another kind is an InputError."""
        value = self.node.attr(name, default)
        expected = kind or (type(default) if default is not None else None)
        if value is not None and expected is not None and not _is_kind(value, expected):
            raise InputError(
                f"{self.node.op} node {self.node.name!r}: attribute {name!r} holds "
                f"{type(value).__name__} {str(value)[:40]!r}, expected {expected.__name__}"
            )
        return value

    def data_format(self) -> str:
        """'NHWC'-style (channels last) or 'NCHW'-style (channels first)."""
        fmt = str(self.attr("data_format", "NHWC"))
        if fmt not in _DATA_FORMATS:  # TensorFlow refuses any other; guessing would compute nonsense
            raise Untranslatable(f"data_format {fmt[:40]!r}")
        return "channels_first" if fmt.startswith("NC") else "channels_last"

    # Inputs ----------------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return len(self.node.inputs)

    def ref(self, index: int) -> Ref:
        if not -len(self.node.inputs) <= index < len(self.node.inputs):
            raise InputError(
                f"{self.node.op} node {self.node.name!r} has {len(self.node.inputs)} input(s), "
                f"too few for its op"
            )
        return self.node.inputs[index]

    def form(self, index: int) -> tuple[str, Perm]:
        """Input `index` as it is held now: (value name, layout)."""
        return self.tr.home(self.ref(index))

    def value(self, index: int, perm: Perm = SOURCE) -> str:
        """Input `index` in layout `perm` (TF's own by default), transposing it if needed."""
        return self.tr.request(self.ref(index), perm, self.scope)

    def const(self, index: int) -> np.ndarray | None:
        """Input `index` as a numpy array in TF layout when it is a constant."""
        name, perm = self.form(index)
        array = self.b.const(name)
        if array is None or perm == SOURCE:
            return array
        return np.transpose(array, layout.inverse(perm))

    def const_ints(self, index: int, what: str) -> list[int]:
        """A constant integer input (axes, shapes, paddings), flattened; else Untranslatable."""
        array = self.const(index)
        if array is None:
            raise Untranslatable(f"{what} (input {index}) is computed at run time")
        return [int(v) for v in np.asarray(array).reshape(-1)]

    def type(self, index: int) -> ValueType:
        """Element type and TF-layout shape of input `index`."""
        name, perm = self.form(index)
        held = self.b.type_of(name)
        if perm == SOURCE or held.shape is None:
            return held
        return ValueType(held.elem, tuple(layout.source_shape(held.shape, perm)))

    def shape(self, index: int) -> tuple[Dim, ...] | None:
        return self.type(index).shape

    def rank(self, index: int) -> int | None:
        return self.type(index).rank

    def elem(self, index: int) -> int:
        return self.type(index).elem

    def require_rank(self, index: int) -> int:
        rank = self.rank(index)
        if rank is None:
            raise Untranslatable(f"the rank of input {index} is unknown")
        return rank

    def static_dims(self, index: int, axes: Sequence[int]) -> list[int] | None:
        """Sizes of the given TF axes of input `index` when all are known."""
        shape = self.shape(index)
        if shape is None or any(not -len(shape) <= a < len(shape) for a in axes):
            return None
        dims = [shape[a] for a in axes]
        return dims if all(isinstance(d, int) for d in dims) else None  # type: ignore[return-value]

    def aligned(self, indices: Sequence[int]) -> tuple[list[str], Perm]:
        """Inputs for a broadcasting op, all in one layout: the first non-source layout when the
        others can follow it (same rank, constants, scalars), else TF's own layout."""
        ranks = [self.rank(i) for i in indices]
        top = max(ranks) if all(r is not None for r in ranks) and ranks else None  # type: ignore[type-var]
        perm: Perm = SOURCE
        if top is not None:
            for i, rank in zip(indices, ranks, strict=True):
                held = self.form(i)[1]
                if held != SOURCE and rank == top and self.const(i) is None:
                    perm = held
                    break
            followers = all(
                self.const(i) is not None or r in (top, 0) for i, r in zip(indices, ranks, strict=True)
            )
            perm = perm if followers else SOURCE
        names = []
        for i in indices:
            array = self.const(i)
            if perm == SOURCE or (array is not None and array.ndim == 0):
                names.append(self.value(i))
            elif array is not None and array.ndim < len(perm):
                # Broadcasting aligns trailing axes: give the constant the full rank first.
                full = array.reshape((1,) * (len(perm) - array.ndim) + array.shape)
                names.append(self.add_const(np.transpose(full, perm), self.form(i)[0]))
            else:
                names.append(self.value(i, perm))
        return names, perm

    def entries(self, index: int) -> Entries | None:
        """A shape-like integer input entry by entry: ints, dimension symbols, or None (unknown)."""
        name, perm = self.form(index)
        return self.b.entries(name) if perm == SOURCE else None

    def uses(self, port: int = 0) -> list[str]:
        """Nodes that read output `port` of this node."""
        return self.tr.consumers.get(Ref(self.node.name, port), [])

    # Outputs ---------------------------------------------------------------------------------
    def emit(self, op_type: str, inputs: Sequence[str], n_outputs: int = 1, **attrs: object) -> list[str]:
        return self.b.emit(op_type, inputs, [self.node.name] * n_outputs, scope=self.scope, **attrs)

    def emit1(self, op_type: str, inputs: Sequence[str], **attrs: object) -> str:
        return self.emit(op_type, inputs, 1, **attrs)[0]

    def add_const(self, array: np.ndarray, hint: str | None = None) -> str:
        return self.b.add_const(np.asarray(array), hint or self.node.name)

    def int64(self, values: Sequence[int] | np.ndarray, hint: str | None = None) -> str:
        """A constant int64 tensor (axes, shapes, pads), named after this node."""
        return self.add_const(np.asarray(values, dtype=np.int64), hint or f"{self.node.name}/const")

    def output(self, name: str, perm: Perm = SOURCE, port: int = 0) -> None:
        """Binds output `port` of the TF node to an ONNX value held in layout `perm`."""
        self.tr.bind(Ref(self.node.name, port), name, perm)

    def alias(self, index: int, port: int = 0) -> None:
        """Output `port` is input `index` unchanged, in whatever layouts it is held."""
        self.tr.alias(Ref(self.node.name, port), self.ref(index))
