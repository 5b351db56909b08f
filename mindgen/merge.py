"""Three-way merge of model.py by statements, classes and methods, for `convert --update` (libcst)."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

_PASS = cst.SimpleStatementLine([cst.Pass()])


class MergeRefused(Exception):
    """The user's model.py cannot be merged unit by unit (it does not parse, or its shape is foreign)."""


@dataclass(frozen=True)
class _Unit:
    """One mergeable statement: its identity across versions, its label for the report, its text."""

    key: str
    label: str
    node: cst.BaseStatement
    text: str
    is_import: bool


@dataclass
class MergeResult:
    """The merged module and what the merge did: user changes kept, places both sides changed."""

    module: cst.Module
    carried_over: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)


def parse(text: str, what: str) -> cst.Module:
    """Parses a model.py with libcst; a syntax error is a MergeRefused naming the file."""
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise MergeRefused(f"{what} does not parse (line {exc.raw_line}): {exc.message}") from None


def merge_modules(base: cst.Module, user: cst.Module, new: cst.Module) -> MergeResult:
    """Merges the user's edits (base -> user) into mindgen's new output (base -> new)."""
    result = MergeResult(new)
    body = _merge_body(list(base.body), list(user.body), list(new.body), "", result)
    header = _pick_text(base.header, user.header, new.header, "module header comments", result)
    footer = _pick_text(base.footer, user.footer, new.footer, "module trailing comments", result)
    result.module = new.with_changes(body=body, header=header, footer=footer)
    return result


def _pick_text(base, user, new, label: str, result: MergeResult):
    """Three-way choice for the module's header/footer comment lines."""
    code = [_lines_text(lines) for lines in (base, user, new)]
    if code[1] == code[0] or code[1] == code[2]:
        return new
    if code[2] == code[0]:
        result.carried_over.append({"unit": label, "change": "edited"})
        return user
    result.conflicts.append({"unit": label, "reason": "both you and mindgen changed it"})
    return new


def _lines_text(lines) -> str:
    return "\n".join(line.comment.value for line in lines if line.comment is not None)


def _merge_body(
    base: list[cst.BaseStatement],
    user: list[cst.BaseStatement],
    new: list[cst.BaseStatement],
    scope: str,
    result: MergeResult,
) -> list[cst.BaseStatement]:
    """Merges one statement list (a module body or a class body) unit by unit."""
    old, mine, theirs = (_units(body, scope) for body in (base, user, new))
    merged: list[_Unit] = []
    for key, unit in theirs.items():
        chosen = _merge_unit(old.get(key), mine.get(key), unit, scope, result)
        if chosen is not None:
            merged.append(chosen)
    for key, unit in old.items():
        if key not in theirs and key in mine and mine[key].text != unit.text:
            result.conflicts.append(
                {"unit": unit.label, "reason": "you edited it; mindgen no longer generates it"}
            )
    _place_additions(merged, mine, old, theirs, result)
    return [unit.node for unit in merged]


def _merge_unit(
    base: _Unit | None, user: _Unit | None, new: _Unit, scope: str, result: MergeResult
) -> _Unit | None:
    """The version of one unit the merged file gets (None: the user's deletion stands)."""
    if user is not None and user.text == new.text:
        return new
    if base is None:
        if user is None:
            return new
        return _both_changed(base, user, new, scope, result)
    if user is None:
        if base.text == new.text:
            result.carried_over.append({"unit": new.label, "change": "deleted"})
            return None
        result.conflicts.append({"unit": new.label, "reason": "you deleted it; mindgen changed it"})
        return new
    if user.text == base.text:
        return new
    if new.text == base.text and not isinstance(new.node, cst.ClassDef):
        result.carried_over.append({"unit": new.label, "change": "edited"})
        return user
    return _both_changed(base, user, new, scope, result)  # a class reports its edits member by member


def _both_changed(base: _Unit | None, user: _Unit, new: _Unit, scope: str, result: MergeResult) -> _Unit:
    """Both sides changed one unit: a class merges member by member, anything else is a conflict."""
    nodes = (base.node if base else None, user.node, new.node)
    if all(isinstance(n, cst.ClassDef) and isinstance(n.body, cst.IndentedBlock) for n in nodes if n):
        merged = _merge_class(*nodes, result)  # type: ignore[arg-type]
        return _Unit(new.key, new.label, merged, _text(merged), False)
    result.conflicts.append({"unit": new.label, "reason": "both you and mindgen changed it"})
    return new


def _merge_class(
    base: cst.ClassDef | None, user: cst.ClassDef, new: cst.ClassDef, result: MergeResult
) -> cst.ClassDef:
    """Merges a class's header (name, bases, decorators) and its members separately."""
    label = f"class {new.name.value}"
    # The header keeps the block's own comments (after `class X:` and below the last member).
    heads = [
        _text(n.with_changes(body=n.body.with_changes(body=[_PASS]))) if n else None
        for n in (base, user, new)
    ]
    head = new
    if heads[1] != heads[2] and heads[1] != heads[0]:
        if heads[2] == heads[0]:
            result.carried_over.append({"unit": f"{label} header", "change": "edited"})
            head = user
        else:
            result.conflicts.append({"unit": f"{label} header", "reason": "both you and mindgen changed it"})
    base_body = list(base.body.body) if base else []
    body = _merge_body(base_body, list(user.body.body), list(new.body.body), new.name.value, result)
    return head.with_changes(body=head.body.with_changes(body=body or [_PASS]))


def _place_additions(
    merged: list[_Unit],
    user: dict[str, _Unit],
    base: dict[str, _Unit],
    new: dict[str, _Unit],
    result: MergeResult,
) -> None:
    """Inserts the units only the user wrote: imports after the imports, others after their predecessor."""
    order = list(user)
    for index, key in enumerate(order):
        if key in base or key in new:
            continue
        unit = user[key]
        position = _last_import(merged) + 1 if unit.is_import else _after_anchor(merged, order[:index])
        merged.insert(position, unit)
        result.carried_over.append({"unit": unit.label, "change": "added"})


def _last_import(merged: list[_Unit]) -> int:
    """Index of the last import in merged, or of the docstring before any (-1 when neither)."""
    found = -1
    for index, unit in enumerate(merged):
        if unit.is_import or (index == 0 and unit.key.endswith("docstring")):
            found = index
    return found


def _after_anchor(merged: list[_Unit], earlier: list[str]) -> int:
    """Where a user-added unit goes: after the nearest earlier user unit still present, past imports."""
    keys = [unit.key for unit in merged]
    for key in reversed(earlier):
        if key in keys:
            index = keys.index(key)
            return _last_import(merged) + 1 if merged[index].is_import else index + 1
    return _last_import(merged) + 1


def _units(body: list[cst.BaseStatement], scope: str) -> dict[str, _Unit]:
    """The statements of a body keyed by identity: names for defs, classes and assignments."""
    units: dict[str, _Unit] = {}
    for index, node in enumerate(body):
        key, label, is_import = _identity(node, index, scope)
        unique, count = key, 1
        while unique in units:
            count += 1
            unique = f"{key}#{count}"
        units[unique] = _Unit(unique, label, node, _text(node), is_import)
    return units


def _identity(node: cst.BaseStatement, index: int, scope: str) -> tuple[str, str, bool]:
    """(key, report label, is an import) of one statement; `scope` is the enclosing class or ''."""
    where = f"class {scope}" if scope else "module"
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        key, word = ("def", "function") if isinstance(node, cst.FunctionDef) else ("class", "class")
        name = node.name.value
        return f"{key} {name}", f"{scope}.{name}" if scope else f"{word} {name}", False
    if isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1:
        small = node.body[0]
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            code = _text(small)  # without its comments: a comment above an import is not its identity
            return f"import {code}", f"import: {code}", True
        if index == 0 and isinstance(small, cst.Expr) and isinstance(small.value, cst.BaseString):
            return "docstring", f"{where} docstring", False
        names = _assigned_names(small)
        if names:
            return f"assign {names}", f"{scope}.{names}" if scope else f"assignment {names}", False
    code = _text(node)
    return f"stmt {code}", f"{where} statement: {(code.splitlines() or ['(blank)'])[0][:60]}", False


def _assigned_names(small: cst.BaseSmallStatement) -> str:
    """`a, b` for `a = b = ...` / `a: T = ...` with plain names, else ''."""
    if isinstance(small, cst.Assign):
        targets = [t.target for t in small.targets]
    elif isinstance(small, cst.AnnAssign):
        targets = [small.target]
    else:
        return ""
    if all(isinstance(t, cst.Name) for t in targets):
        return ", ".join(t.value for t in targets)  # type: ignore[attr-defined]
    return ""


def _text(node: cst.CSTNode) -> str:
    """A unit's text for comparison: its code with blank lines and trailing spaces dropped."""
    code = cst.Module(body=[]).code_for_node(node)
    return "\n".join(line.rstrip() for line in code.splitlines() if line.strip())
