"""User mappings: `--mappings` files and `mindgen.mappings` entry points, loaded per conversion.

Each source is loaded into an empty registry of its own (so it can be checked and labelled),
then laid over a copy of the default registry: nothing a user registers outlives the
conversion that asked for it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from mindgen.errors import MappingsError
from mindgen.targets.mindspore.registry import DuplicateMapperError, MapperEntry, Registry, registering_into

ENTRY_POINT_GROUP = "mindgen.mappings"

# Entry points are installed code: imported once per process, their entries replayed afterwards.
_ENTRY_POINT_CACHE: dict[tuple[str, str], tuple[MapperEntry, ...]] = {}


@dataclass(frozen=True)
class MappingsSource:
    """One loaded source of user mappers and the entries it registered."""

    kind: str  # "file" or "entry point"
    origin: str  # a file's absolute path, or "entry point NAME"
    detail: str  # the file as given, or the entry point's `module:attr`
    entries: tuple[MapperEntry, ...]


@dataclass
class LoadedMappings:
    """The conversion's registry, the sources laid over it, and the plugins that were skipped."""

    registry: Registry
    sources: list[MappingsSource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_mappings(
    base: Registry, files: Sequence[str | os.PathLike[str]] = (), *, entry_points: bool = True
) -> LoadedMappings:
    """A copy of base with installed entry points, then the named files, registered over it.

    A broken entry point is skipped with a warning (it should not block models that do not
    need it); a broken file the user named is a MappingsError.
    """
    loaded = LoadedMappings(base.copy())
    if entry_points:
        for entry_point in _installed_entry_points():
            try:
                source = _load_entry_point(entry_point)
                _overlay(loaded.registry, source)
            except MappingsError as error:
                loaded.warnings.append(f"{error}; it was skipped")
                continue
            loaded.sources.append(source)
    # A file named twice (say, once relative and once absolute) is one source.
    named: dict[Path, Path] = {}
    for file in files:
        named.setdefault(Path(file).resolve(), Path(file))
    for file in named.values():
        source = _load_file(file)
        _overlay(loaded.registry, source)
        loaded.sources.append(source)
    return loaded


def _overlay(registry: Registry, source: MappingsSource) -> None:
    """Adds all of a source's entries, or none of them."""
    trial = registry.copy()
    try:
        for entry in source.entries:
            trial.add(entry)
    except DuplicateMapperError as error:
        raise MappingsError(f"{_describe(source)}: {error}") from None
    registry.replace_entries(trial)


def _describe(source: MappingsSource) -> str:
    if source.kind == "file":
        return f"mappings file {source.detail}"
    return f"{source.origin} ({source.detail})"


def _installed_entry_points() -> list[importlib.metadata.EntryPoint]:
    """The group's entry points by name; of two with one name, the first on sys.path (as imports go)."""
    unique: dict[str, importlib.metadata.EntryPoint] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        unique.setdefault(entry_point.name, entry_point)
    return sorted(unique.values(), key=lambda ep: ep.name)


def _load_entry_point(entry_point: importlib.metadata.EntryPoint) -> MappingsSource:
    """Imports an installed plugin (a module, or a `register_mappings(registry)` callable) once."""
    origin = f"entry point {entry_point.name}"
    key = (entry_point.name, entry_point.value)
    if key not in _ENTRY_POINT_CACHE:
        capture = Registry(origin=origin)
        with registering_into(capture):
            try:
                target = entry_point.load()
                hook = (
                    target
                    if not isinstance(target, ModuleType)
                    else getattr(target, "register_mappings", None)
                )
                if hook is not None:
                    hook(capture)
            except DuplicateMapperError as error:
                raise MappingsError(f"{origin} ({entry_point.value}): {error}") from None
            except Exception as error:
                raise MappingsError(
                    f"{origin} ({entry_point.value}) failed to load: {_error_text(error)}"
                ) from None
        if not capture.entries():
            raise MappingsError(f"{origin} ({entry_point.value}) registers no mapper")
        _ENTRY_POINT_CACHE[key] = tuple(capture.entries())
    return MappingsSource("entry point", origin, entry_point.value, _ENTRY_POINT_CACHE[key])


def _load_file(path: Path) -> MappingsSource:
    """Runs a mappings file with `register` pointed at a fresh registry; errors are one line."""
    if not path.exists():
        raise MappingsError(f"mappings file not found: {path}")
    if not path.is_file() or path.suffix != ".py":
        raise MappingsError(f"mappings file must be a Python file (.py): {path}")
    resolved = path.resolve()
    try:
        code = compile(resolved.read_bytes(), str(resolved), "exec")
    except SyntaxError as error:
        raise MappingsError(
            f"mappings file {path} has a syntax error at line {error.lineno}: {error.msg}"
        ) from None
    except (OSError, ValueError) as error:
        raise MappingsError(f"cannot read mappings file {path}: {_error_text(error)}") from None
    capture = Registry(origin=str(resolved))
    module = ModuleType("mindgen_mappings_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:12])
    module.__file__ = str(resolved)
    # As for a script: the file's own folder is importable (helpers beside it), and the module
    # is findable by name while it runs (dataclasses look it up).
    sys.modules[module.__name__] = module
    sys.path.insert(0, str(resolved.parent))
    try:
        with registering_into(capture):
            exec(code, module.__dict__)
            hook = module.__dict__.get("register_mappings")
            if callable(hook):
                hook(capture)
    except DuplicateMapperError as error:
        raise MappingsError(f"mappings file {path}: {error}") from None
    except (Exception, SystemExit) as error:
        line = _line_in(error, str(resolved))
        where = f" at line {line}" if line else ""
        raise MappingsError(
            f"mappings file {path} failed while loading{where}: {_error_text(error)}"
        ) from None
    finally:
        sys.path.remove(str(resolved.parent))
        sys.modules.pop(module.__name__, None)
    if not capture.entries():
        raise MappingsError(
            f"mappings file {path} registers no mapper (use @register from "
            "mindgen.targets.mindspore.registry, or define register_mappings(registry))"
        )
    return MappingsSource("file", str(resolved), str(path), tuple(capture.entries()))


def _line_in(error: BaseException, filename: str) -> int | None:
    """The last line of the user's file in the error's traceback."""
    lines = [
        frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == filename
    ]
    return lines[-1] if lines else None


def _error_text(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def mappings_record(loaded: LoadedMappings, mapped: dict[str, list[str]]) -> list[dict[str, object]]:
    """The report's `mappings` key: each source, what it registered, and the nodes it mapped."""
    return [
        {
            "kind": source.kind,
            "source": source.origin if source.kind == "file" else source.detail,
            "name": source.entries[0].origin_label,
            "ops": [
                f"{entry.label} since {entry.since}" + (" (override)" if entry.override else "")
                for entry in source.entries
            ],
            "nodes": mapped.get(source.origin, []),
        }
        for source in loaded.sources
    ]
