"""The conversion report as typed records; report.json is exactly `to_json()`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

import onnx_ir as ir

from mindgen.targets.mindspore.context import _dim


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output: name, shape (symbolic dims as strings) and dtype."""

    name: str
    shape: list[int | str | None] | None
    dtype: str

    @classmethod
    def of(cls, value: ir.Value) -> TensorInfo:
        shape = None if value.shape is None else [_dim(d) for d in value.shape]
        dtype = dtype_name(value.dtype)
        return cls(value.name or "", shape, dtype)


def dtype_name(dtype: ir.DataType | None) -> str:
    """numpy-style dtype names ('float32', 'int64') for ONNX element types."""
    if dtype is None:
        return "unknown"
    try:
        return str(dtype.numpy())
    except (TypeError, ValueError):
        return dtype.name.lower()


@dataclass(frozen=True)
class WeightMapEntry:
    """One checkpoint parameter paired with the source tensor it was made from."""

    converted_weight: dict[str, object]
    source_weight: dict[str, object]
    note: str = ""


@dataclass
class ConversionReport:
    """Everything a user (or a tool) needs to know about one conversion."""

    network_class: str
    checkpoint: str
    source: dict[str, object]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    summary: dict[str, int]
    unmapped: list[dict[str, object]]
    nodes: list[dict[str, str]]
    passes: list[dict[str, object]]
    warnings: list[str]
    timings: dict[str, float]
    files: dict[str, str] = field(default_factory=dict)
    model_py_sha256: str = ""
    mindgen_version: str = ""
    # User mappings loaded for this conversion: [{kind, source, name, ops, nodes}].
    mappings: list[dict[str, object]] = field(default_factory=list)
    # `convert --update` only: {carried_over: [{unit, change}], conflicts: [{unit, reason}], user_file}.
    update: dict[str, object] | None = None

    @property
    def unmapped_count(self) -> int:
        return self.summary["unmapped"]

    def to_json(self) -> dict[str, object]:
        record = _plain(self)
        if self.update is None:
            del record["update"]  # reports of plain conversions stay as they were
        return record  # type: ignore[return-value]


def _plain(value: object) -> object:
    """dataclasses.asdict without its deep copies, which cost ~0.3 s on a 20k-node report."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value
