"""Atomic output directories: build beside the target, then swap it into place."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from mindgen.errors import InputError, OutputExistsError

GENERATED_FILES = ("model.py", "model.ckpt", "weight_map.json", "report.json", "report.md")

# What mindgen generated, kept untouched as the base of a later `--update` merge, and the
# user's own model.py, kept beside the merged one when an update met a conflict.
PRISTINE_DIR = ".mindgen"
PRISTINE_MODEL = f"{PRISTINE_DIR}/model.py"
USER_COPY = "model.py.user"

# Backups of hand-edited model.py files: model.py.orig (newest), model.py.orig.2, ...
BACKUP_NAME = "model.py.orig"
_BACKUP = re.compile(r"model\.py\.orig(\.\d+)?")

# Entries a replaced output may hold besides GENERATED_FILES: our backups, and the byte
# code Python writes when the user imports model.py. Anything else is the user's.
_REPLACEABLE_DIRS = frozenset({"__pycache__"})

# Temporary folders beside the output are named .<output>.mindgen-<pid>-<random>, so a
# later run can tell the leftovers of a killed process from a live run's.
_STAGING_TAG = ".mindgen-"


def check_output_dir(output: Path, force: bool) -> None:
    """Refuses an output path mindgen must not write: a file, a non-empty folder, or under a file."""
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"output path exists and is not a directory: {output}")
    for parent in output.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputExistsError(f"output path is inside a file: {parent}")
            break
    if not output.is_dir():
        return
    if output.resolve() == Path.cwd().resolve():
        raise OutputExistsError("the output directory must not be the current directory; name a new folder")
    entries = sorted(entry.name for entry in output.iterdir())
    if entries and not force:
        raise OutputExistsError(f"output directory is not empty: {output} (use --force to replace it)")
    foreign = [name for name in entries if not _replaceable(output / name)]
    if foreign:
        # --force replaces a previous conversion; it never deletes the user's own files.
        shown = ", ".join(repr(name) for name in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise OutputExistsError(
            f"output directory {output} holds files mindgen did not write ({shown}); "
            "not replacing it even with --force or --update"
        )


def check_report_dir(output: Path, report: Path) -> None:
    """Refuses a report folder nested in the output folder or the other way round."""
    out, rep = output.resolve(), report.resolve()
    if out != rep and (out in rep.parents or rep in out.parents):
        raise InputError(f"--report {report} and --output {output} must not be inside one another")


def _replaceable(entry: Path) -> bool:
    if entry.is_symlink():
        return False
    if entry.is_dir():
        if entry.name == PRISTINE_DIR:  # ours only while it holds nothing but the pristine model.py
            return all(p.name == "model.py" and p.is_file() and not p.is_symlink() for p in entry.iterdir())
        return entry.name in _REPLACEABLE_DIRS
    return entry.name in GENERATED_FILES or entry.name == USER_COPY or bool(_BACKUP.fullmatch(entry.name))


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def edited_model_py(output: Path, record_dir: Path | None = None) -> Path | None:
    """The existing model.py when the user changed it since mindgen wrote it, else None.

    The hash mindgen wrote sits in report.json: in the output folder, or in `record_dir`
    when the report was written elsewhere (--report).
    """
    model_py, report = output / "model.py", (record_dir or output) / "report.json"
    if not model_py.is_file():
        return None
    try:
        recorded = json.loads(report.read_text(encoding="utf-8")).get("model_py_sha256", "")
    except (OSError, ValueError, AttributeError):
        # No readable record: keeping a copy is the choice that cannot lose work.
        recorded = ""
    return model_py if file_sha256(model_py) != recorded else None


def _carry_backups(output: Path, staging: Path, record_dir: Path | None, back_up_edited: bool) -> None:
    """Copies earlier backups and a hand-edited model.py into the new output; newest is model.py.orig."""
    backups = sorted(
        (p for p in output.iterdir() if _BACKUP.fullmatch(p.name) and p.is_file()),
        key=lambda p: int(p.suffix[1:]) if p.name != BACKUP_NAME else 1,
    )
    edited = edited_model_py(output, record_dir) if back_up_edited else None
    if edited is not None:
        backups.insert(0, edited)
    kept: set[str] = set()
    for source in backups:
        digest = file_sha256(source)
        if digest in kept:
            continue
        kept.add(digest)
        name = BACKUP_NAME if len(kept) == 1 else f"{BACKUP_NAME}.{len(kept)}"
        shutil.copy2(source, staging / name)
    # A conflict's copy of the user's file stays until an update writes a newer one.
    if (output / USER_COPY).is_file() and not (staging / USER_COPY).exists():
        shutil.copy2(output / USER_COPY, staging / USER_COPY)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def _remove_leftovers(output: Path) -> None:
    """Deletes temporary folders that killed conversions left beside output."""
    pattern = re.compile(re.escape(f".{output.name}{_STAGING_TAG}") + r"(old-)?(\d+)-\w+")
    for entry in output.parent.iterdir():
        match = pattern.fullmatch(entry.name)
        if not match or not entry.is_dir() or _process_alive(int(match.group(2))):
            continue
        if match.group(1) and not output.exists():
            # Killed between the two renames of a swap: this is the previous output.
            os.replace(entry, output)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def _rename_exchange(first: Path, second: Path) -> bool:
    """Swaps two directories in one atomic step (Linux renameat2); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):  # no such call in this C library
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _swap_into_place(staging: Path, output: Path) -> None:
    """Makes staging the new output; the previous output is deleted only once replaced."""
    if not output.exists():
        os.replace(staging, output)
        return
    if _rename_exchange(staging, output):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous output
        return
    retired = output.parent / f".{output.name}{_STAGING_TAG}old-{os.getpid()}-{os.urandom(4).hex()}"
    os.replace(output, retired)
    try:
        os.replace(staging, output)
    except BaseException:
        os.replace(retired, output)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _missing_parents(output: Path) -> list[Path]:
    """The ancestors of output that do not exist yet, innermost first."""
    missing = []
    for parent in output.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing


@contextlib.contextmanager
def staged_directory(
    output: Path, force: bool, record_dir: Path | None = None, back_up_edited: bool = True
) -> Iterator[Path]:
    """Yields an empty staging folder; on success it replaces output in one rename.

    An edited model.py is kept as model.py.orig unless `back_up_edited` is False (an update
    merged it into the new model.py, and kept it whole as model.py.user where it could not).
    """
    # Resolved, so that a symlinked output folder is replaced behind its link, not the link itself.
    output = output.resolve()
    created = _missing_parents(output)
    committed = False
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(output)
        # Made by mkdir, not mkdtemp (0700), so the new output gets the umask's permissions.
        staging = output.parent / f".{output.name}{_STAGING_TAG}{os.getpid()}-{os.urandom(6).hex()}"
        staging.mkdir()
    except OSError as exc:
        _remove_empty(created)
        raise OutputExistsError(f"cannot write to {output.parent}: {exc.strerror or exc}") from None
    try:
        if output.is_dir():
            staging.chmod(output.stat().st_mode & 0o7777)  # keep what the user set on the old one
        yield staging
        check_output_dir(output, force)  # re-checked: the folder may have changed meanwhile
        if output.is_dir():
            _carry_backups(output, staging, record_dir, back_up_edited)
        _swap_into_place(staging, output)
        committed = True
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if not committed:
            _remove_empty(created)


def _remove_empty(folders: list[Path]) -> None:
    """Removes the folders a failed run created for its output, innermost first."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty or already gone: someone else uses it now
            return
