"""Loads the Jinja2 templates shipped with mindgen (templates/ in the wheel)."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import jinja2

from mindgen import __version__


def template_dir() -> Path:
    """The templates folder: inside the installed package, else the checkout's top level."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


class _BestEffortBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs; a cache folder that cannot be read or written is skipped."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiling report.md.j2 costs ~60 ms, a tenth of a small conversion: keep it like a .pyc."""
    if sys.dont_write_bytecode:  # whoever turned off .pyc files wants no caches written either
        return None
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = root / "mindgen" / f"templates-{__version__}"
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # no home directory, or a read-only one
        return None
    # Jinja keys entries by template name and source checksum, so an edited template recompiles.
    return _BestEffortBytecodeCache(str(folder))


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Python source: every model string reaches it through repr()
    )


def render_template(name: str, **context: object) -> str:
    """Renders one template; the parsed template is cached for the process."""
    return _environment().get_template(name).render(**context)
