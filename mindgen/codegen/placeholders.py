"""Placeholder classes for unmapped operators: one nn.Cell per (domain, op type), made for finishing by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import onnx_ir as ir

from mindgen.codegen.naming import CELL_ATTRIBUTES, Namespace, is_noise, safe_label, to_identifier
from mindgen.codegen.render import render_literal

# Docstring lines per class: enough to see the variety, short enough to read.
MAX_SEEN_LINES = 6
# Cell.__new__(class_, *args, **kwargs) receives the constructor's keywords too.
_RESERVED_PARAMS = frozenset({"self", "class_"})
# The class-level dict that maps sanitised attribute names back to the model's own.
ATTRIBUTE_MAP = "onnx_attribute_names"

_ATTRIBUTE_TYPES = {
    "FLOAT": "float",
    "INT": "int",
    "STRING": "str",
    "FLOATS": "floats",
    "INTS": "ints",
    "STRINGS": "strs",
    "TENSOR": "tensor",
    "GRAPH": "graph",
}

Shape = list[int | str | None] | None


@dataclass
class PlaceholderClass:
    """Everything one placeholder class is rendered from, gathered over its nodes."""

    name: str
    label: str
    attributes: Namespace = field(
        default_factory=lambda: Namespace(CELL_ATTRIBUTES | _RESERVED_PARAMS | {ATTRIBUTE_MAP})
    )
    # ONNX attribute name -> (safe parameter name, type), in first-seen order.
    attribute_params: dict[str, tuple[str, str]] = field(default_factory=dict)
    inputs: Namespace = field(default_factory=lambda: Namespace({"self"}))
    input_params: list[str] = field(default_factory=list)
    required_inputs: int | None = None

    def add_node(self, node: ir.Node) -> None:
        """Takes in a node's attributes and inputs: parameters are the union over the nodes."""
        # Names that are already identifiers keep them; the others take what is left.
        ordered = sorted(
            node.attributes.items(), key=lambda item: (to_identifier(item[0]) != item[0], item[0])
        )
        for original, attr in ordered:
            if original not in self.attribute_params:
                kind = _ATTRIBUTE_TYPES.get(attr.type.name, attr.type.name.lower())
                self.attribute_params[original] = (self.attributes.name(original, original, "attr"), kind)
        for index, value in enumerate(node.inputs):
            if index >= len(self.input_params):
                name = "" if value is None else value.name or ""
                noisy = is_noise(name) or any(mark in name for mark in "/:")
                hint = ("x" if index == 0 else f"x{index}") if noisy else name
                self.input_params.append(self.inputs.name(index, hint, "x"))
        count = len(node.inputs)
        self.required_inputs = count if self.required_inputs is None else min(self.required_inputs, count)

    def param(self, original: str) -> str:
        return self.attribute_params[original][0]


def dtype_name(value: ir.Value | None) -> str | None:
    """A value's element type as numpy spells it ('float32'), or None when unknown."""
    if value is None or value.dtype is None:
        return None
    try:
        return str(value.dtype.numpy())
    except (TypeError, ValueError):
        return value.dtype.name.lower()


def signature(params: Sequence[str], shapes: Sequence[Shape], dtypes: Sequence[str | None]) -> str:
    """'x: float32 (N, 4), y: int64 (3,)': names, dtypes and shapes, all safe in a docstring."""
    parts = []
    for index, (shape, dtype) in enumerate(zip(shapes, dtypes, strict=True)):
        name = f"{params[index]}: " if index < len(params) else ""
        parts.append(f"{name}{safe_label(dtype, 20) if dtype else '?'} {shape_text(shape)}")
    return ", ".join(parts) or "nothing"


def shape_text(shape: Shape) -> str:
    if shape is None:
        return "(unknown shape)"
    dims = ["?" if d is None else str(d) if isinstance(d, int) else safe_label(str(d), 20) for d in shape]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def class_source(ph: PlaceholderClass, seen: Sequence[tuple[str, str, str]]) -> str:
    """The class's Python source; `seen` holds (identifier, inputs, outputs) per node."""
    lines = [
        f"class {ph.name}(nn.Cell):",
        f'    """{ph.label}, which mindgen could not map: implement construct.',
        "",
    ]
    lines.append("    Seen at conversion (inputs -> outputs):")
    for identifier, inputs, outputs in seen[:MAX_SEEN_LINES]:
        lines.append(f"      {safe_label(identifier)}  {inputs} -> {outputs}")
    if len(seen) > MAX_SEEN_LINES:
        lines.append(f"      ... and {len(seen) - MAX_SEEN_LINES} more (report.json lists them all)")
    params = [(safe, kind) for safe, kind in ph.attribute_params.values()]
    described = ", ".join(f"{safe} ({kind})" for safe, kind in params) or "none"
    lines.append(f"    Attributes: {described}.")
    lines.append("    `mindgen check OUTDIR` tests an implementation against the source operator.")
    lines.append('    """')
    renamed = {safe: original for original, (safe, _) in ph.attribute_params.items() if safe != original}
    if renamed:
        lines += ["", f"    {ATTRIBUTE_MAP} = {render_literal(renamed)}"]
    signature_params = "".join(f", {safe}=None" for safe, _ in params)
    lines += ["", f"    def __init__(self{signature_params}):", "        super().__init__()"]
    lines += [f"        self.{safe} = {safe}" for safe, _ in params]
    required = ph.required_inputs or 0
    inputs = [name if index < required else f"{name}=None" for index, name in enumerate(ph.input_params)]
    lines += ["", f"    def construct({', '.join(['self', *inputs])}):"]
    shown = "; ".join(dict.fromkeys(f"{i} -> {o}" for _, i, o in seen[:MAX_SEEN_LINES]))
    message = (
        f"{ph.name}: {ph.label} is not implemented yet (seen at conversion: {shown}); "
        "implement construct in model.py, then run `mindgen check OUTDIR`"
    )
    lines.append(f"        raise NotImplementedError({render_literal(message)})")
    return "\n".join(lines)
