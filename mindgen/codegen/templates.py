"""Loads the Jinja2 templates shipped with mindgen (templates/ in the wheel)."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2


def template_dir() -> Path:
    """The templates folder: inside the installed package, else the checkout's top level."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Python source: every model string reaches it through repr()
    )


def render_template(name: str, **context: object) -> str:
    """Renders one template; the parsed template is cached for the process."""
    return _environment().get_template(name).render(**context)
