"""The one registry of MindSpore mappers, keyed by (domain, op type), versioned 'since N'."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import PurePath
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
    # Where a user's mapping came from (a mappings file's path, "entry point NAME"); "" for mindgen's own.
    origin: str = ""
    # Replaces the mappers registered for this op before it (mindgen's, or an earlier mappings source).
    override: bool = False

    @property
    def name(self) -> str:
        if self.origin:
            return f"{self.fn.__name__} from {self.origin_label}"
        return f"{self.fn.__module__.rsplit('.', 1)[-1]}.{self.fn.__name__}"

    @property
    def origin_label(self) -> str:
        """The origin as the report shows it: a mappings file by its name, an entry point as is."""
        return PurePath(self.origin).name if self.origin.endswith(".py") else self.origin

    @property
    def label(self) -> str:
        return f"{self.domain}::{self.op_type}" if self.domain else self.op_type


class DuplicateMapperError(ValueError):
    """The same (domain, op type, since) was registered twice."""


@dataclass
class Registry:
    """Mappers by operator; lookup picks the newest entry not newer than the model's opset."""

    _entries: dict[tuple[str, str], list[MapperEntry]] = field(default_factory=dict)
    # Stamped on every entry registered through this registry (see MapperEntry.origin).
    origin: str = ""

    def register(
        self,
        op_type: str,
        *,
        since: int = 1,
        domain: str = "",
        target: str = "",
        notes: str = "",
        override: bool = False,
    ) -> Callable[[Mapper], Mapper]:
        """Decorator: registers fn as the mapper of op_type from opset `since` upward."""

        def decorate(fn: Mapper) -> Mapper:
            self.add(MapperEntry(_domain(domain), op_type, since, fn, target, notes, self.origin, override))
            return fn

        return decorate

    def add(self, entry: MapperEntry) -> None:
        """Adds an entry; the same key twice, or an op another origin maps without override, is an error."""
        versions = self._entries.setdefault((entry.domain, entry.op_type), [])
        others = [e for e in versions if e.origin != entry.origin]
        if others and not entry.override:
            owner = (
                f"{others[0].fn.__name__} from {others[0].origin}"
                if others[0].origin
                else f"mindgen ({others[0].name})"
            )
            raise DuplicateMapperError(
                f"{entry.label} is already mapped by {owner}; register it with override=True to replace it"
            )
        versions[:] = [e for e in versions if e.origin == entry.origin]
        if any(e.since == entry.since for e in versions):
            raise DuplicateMapperError(f"{entry.label} since opset {entry.since} is registered twice")
        bisect.insort(versions, entry, key=lambda e: e.since)

    def copy(self) -> Registry:
        """A registry holding the same entries, which can be added to without changing this one."""
        return Registry({key: list(versions) for key, versions in self._entries.items()}, self.origin)

    def replace_entries(self, other: Registry) -> None:
        """Takes over other's entries (a checked copy of this registry with more added)."""
        self._entries = {key: list(versions) for key, versions in other._entries.items() if versions}

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
# Where the module-level `register` adds entries: REGISTRY, or the registry a mappings file is
# being loaded into (see `registering_into`), so user files use the same decorator as mindgen.
_ACTIVE: ContextVar[Registry] = ContextVar("mindgen_active_registry", default=REGISTRY)


def register(
    op_type: str,
    *,
    since: int = 1,
    domain: str = "",
    target: str = "",
    notes: str = "",
    override: bool = False,
) -> Callable[[Mapper], Mapper]:
    """Decorator: registers fn as the mapper of op_type from opset `since` upward (in the active registry)."""
    return _ACTIVE.get().register(
        op_type, since=since, domain=domain, target=target, notes=notes, override=override
    )


@contextmanager
def registering_into(registry: Registry) -> Iterator[Registry]:
    """Points the module-level `register` at registry while the block runs (loading a mappings file)."""
    default_registry()  # mindgen's own mappers must land in REGISTRY, never in a user's registry
    token = _ACTIVE.set(registry)
    try:
        yield registry
    finally:
        _ACTIVE.reset(token)


def default_registry() -> Registry:
    """The registry with every built-in mapper loaded."""
    from mindgen.targets.mindspore import mappers  # noqa: F401  (registers on import)

    return REGISTRY
