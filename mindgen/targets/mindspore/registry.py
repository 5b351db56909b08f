"""The one registry of MindSpore mappers, keyed by (domain, op type), versioned 'since N'."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mindgen.targets.mindspore.context import MappingContext
    from mindgen.targets.mindspore.emission import MapResult

Mapper = Callable[["MappingContext"], "MapResult"]


@dataclass(frozen=True)
class MapperEntry:
    """One registered mapper: applies to its op from opset `since` upward."""

    domain: str
    op_type: str
    since: int
    fn: Mapper
    target: str
    notes: str

    @property
    def name(self) -> str:
        return f"{self.fn.__module__.rsplit('.', 1)[-1]}.{self.fn.__name__}"


class DuplicateMapperError(ValueError):
    """The same (domain, op type, since) was registered twice."""


@dataclass
class Registry:
    """Mappers by operator; lookup picks the newest entry not newer than the model's opset."""

    _entries: dict[tuple[str, str], list[MapperEntry]] = field(default_factory=dict)

    def register(
        self, op_type: str, *, since: int = 1, domain: str = "", target: str = "", notes: str = ""
    ) -> Callable[[Mapper], Mapper]:
        """Decorator: registers fn as the mapper of op_type from opset `since` upward."""

        def decorate(fn: Mapper) -> Mapper:
            self.add(MapperEntry(_domain(domain), op_type, since, fn, target, notes))
            return fn

        return decorate

    def add(self, entry: MapperEntry) -> None:
        """Adds an entry; a second entry with the same key is an error."""
        versions = self._entries.setdefault((entry.domain, entry.op_type), [])
        if any(e.since == entry.since for e in versions):
            raise DuplicateMapperError(
                f"{entry.domain or 'ai.onnx'}::{entry.op_type} since opset {entry.since} is already registered"
            )
        bisect.insort(versions, entry, key=lambda e: e.since)

    def lookup(self, op_type: str, domain: str, opset: int) -> MapperEntry | None:
        """The mapper for an op at a given opset of its domain, or None."""
        versions = self._entries.get((_domain(domain), op_type), [])
        found = None
        for entry in versions:
            if entry.since <= opset:
                found = entry
        return found

    def entries(self) -> list[MapperEntry]:
        """All entries, sorted by domain, op type and version."""
        return sorted(
            (e for versions in self._entries.values() for e in versions),
            key=lambda e: (e.domain, e.op_type, e.since),
        )

    def op_types(self, domain: str = "") -> set[str]:
        return {op for (d, op) in self._entries if d == _domain(domain)}


def _domain(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


REGISTRY = Registry()
register = REGISTRY.register


def default_registry() -> Registry:
    """The registry with every built-in mapper loaded."""
    from mindgen.targets.mindspore import mappers  # noqa: F401  (registers on import)

    return REGISTRY
