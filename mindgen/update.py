"""`convert --update`: carry the user's edits of a previous model.py into the regenerated one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from mindgen.codegen.format import format_source
from mindgen.output import PRISTINE_MODEL, USER_COPY, edited_model_py

_NEVER_GUESSED = "model.py has mindgen's new version of it; yours is in " + USER_COPY


@dataclass
class Previous:
    """What a previous conversion left: the user's edited model.py and what mindgen generated then."""

    user: bytes
    base: str | None
    refusal: str = ""


@dataclass
class UpdateOutcome:
    """The model.py to write, the user's copy to keep beside it (on conflict), and the report entry."""

    text: str
    user_copy: bytes | None
    record: dict[str, object] = field(default_factory=dict)


def read_previous(output: Path, record_dir: Path | None) -> Previous | None:
    """The previous conversion's edited model.py and its base; None when there is nothing to carry."""
    edited = edited_model_py(output, record_dir)
    if edited is None:
        return None
    user = edited.read_bytes()
    pristine = output / PRISTINE_MODEL
    recorded = _recorded_hash(record_dir or output)
    if not recorded:
        return Previous(user, None, "report.json records no model.py that mindgen wrote")
    if not pristine.is_file():
        return Previous(user, None, f"no {PRISTINE_MODEL} (converted by a mindgen without --update)")
    base = pristine.read_bytes()
    if hashlib.sha256(base).hexdigest() != recorded:
        return Previous(user, None, f"{PRISTINE_MODEL} is not the model.py report.json records")
    return Previous(user, base.decode("utf-8"))


def _recorded_hash(folder: Path) -> str:
    try:
        value = json.loads((folder / "report.json").read_text(encoding="utf-8")).get("model_py_sha256", "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def apply_update(previous: Previous | None, generated: str) -> UpdateOutcome:
    """Merges the user's edits into the generated text; what cannot be merged keeps the user's file aside."""
    if previous is None:
        return UpdateOutcome(generated, None, {"carried_over": [], "conflicts": [], "user_file": None})
    # Imported here: libcst costs ~0.35 s to import, and only --update needs it.
    from mindgen.merge import MergeRefused, merge_modules, parse

    try:
        if previous.base is None:
            raise MergeRefused(previous.refusal)
        user_text = previous.user.decode("utf-8")
        result = merge_modules(
            parse(previous.base, PRISTINE_MODEL),
            parse(user_text, "model.py"),
            parse(generated, "the new model.py"),
        )
        text = format_source(result.module.code)  # parses it too: a merge must never write broken code
    except (MergeRefused, UnicodeDecodeError, SyntaxError) as exc:
        reason = str(exc) if isinstance(exc, MergeRefused) else f"model.py cannot be merged: {exc}"
        conflict = {"unit": "model.py (whole file)", "reason": f"{reason}; {_NEVER_GUESSED}"}
        return UpdateOutcome(
            generated, previous.user, {"carried_over": [], "conflicts": [conflict], "user_file": USER_COPY}
        )
    conflicts = [{**c, "reason": f"{c['reason']}; {_NEVER_GUESSED}"} for c in result.conflicts]
    record = {
        "carried_over": result.carried_over,
        "conflicts": conflicts,
        "user_file": USER_COPY if conflicts else None,
    }
    return UpdateOutcome(text, previous.user if conflicts else None, record)
