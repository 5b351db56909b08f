"""Atomic output directories: build beside the target, then rename into place."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mindgen.errors import OutputExistsError

GENERATED_FILES = ("model.py", "model.ckpt", "weight_map.json", "report.json", "report.md")


def check_output_dir(output: Path, force: bool) -> None:
    """Refuses a non-empty output directory unless force; refuses a file in its place."""
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"output path exists and is not a directory: {output}")
    if output.is_dir() and any(output.iterdir()) and not force:
        raise OutputExistsError(f"output directory is not empty: {output} (use --force to replace it)")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def edited_model_py(output: Path) -> Path | None:
    """The existing model.py when the user changed it since mindgen wrote it, else None."""
    model_py, report = output / "model.py", output / "report.json"
    if not model_py.is_file():
        return None
    try:
        recorded = json.loads(report.read_text(encoding="utf-8")).get("model_py_sha256", "")
    except (OSError, ValueError, AttributeError):
        recorded = ""
    return model_py if file_sha256(model_py) != recorded else None


@contextlib.contextmanager
def staged_directory(output: Path, force: bool) -> Iterator[Path]:
    """Yields an empty staging folder; on success it replaces output in one rename."""
    output = output.absolute()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.mindgen-", dir=output.parent))
    try:
        yield staging
        check_output_dir(output, force)  # re-checked: the folder may have changed meanwhile
        edited = edited_model_py(output) if output.is_dir() else None
        if edited is not None:
            # A hand-edited model.py is never lost: it travels along as model.py.orig.
            shutil.copy2(edited, staging / "model.py.orig")
        if output.is_dir():
            retired = Path(tempfile.mkdtemp(prefix=f".{output.name}.old-", dir=output.parent))
            os.replace(output, retired / output.name)
            os.replace(staging, output)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, output)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
