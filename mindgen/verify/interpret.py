"""Runs model.py statement by statement (PYNATIVE), handing every source node's outputs to a visitor.

mindgen writes one assignment per source node in the construct of the module that owns it,
and a module's nodes form one contiguous run of the graph order, so walking the constructs
depth first (into generated modules and nn.SequentialCell items) meets the nodes exactly in
report.json's "nodes" order. The visitor may replace the values (to feed the reference's own).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any


class NotInterpretable(Exception):
    """model.py holds code mindgen does not write, so nodes cannot be matched to statements."""


@dataclass(frozen=True)
class Site:
    """Where one source node runs in model.py."""

    class_name: str
    line: int
    code: str
    cell: str  # dotted path of the cell whose construct holds the line ("" for the network)
    item: str = ""  # a layer run by an nn.SequentialCell: its path
    member: str = ""  # dotted path of the layer cell the node calls, if it calls one

    def describe(self) -> str:
        where = f"model.py:{self.line} in {self.class_name}.construct: {self.code}"
        return f"{where}  (runs {self.item})" if self.item else where

    def to_json(self) -> dict[str, object]:
        return {
            "file": "model.py",
            "line": self.line,
            "class": self.class_name,
            "code": self.code,
            "item": self.item,
        }


# visitor(site, values) -> values; values are a node's assigned outputs (None where unused).
Visitor = Callable[[Site, list[Any]], list[Any]]


class CodeMap:
    """model.py parsed once: each class's construct and the text of each line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        text = path.read_text(encoding="utf-8")
        self.lines = text.splitlines()
        tree = ast.parse(text, filename=str(path))
        self.constructs: dict[str, ast.FunctionDef] = {}
        for item in tree.body:
            if isinstance(item, ast.ClassDef):
                for member in item.body:
                    if isinstance(member, ast.FunctionDef) and member.name == "construct":
                        self.constructs[item.name] = member

    def module_construct(self, cell: Any) -> ast.FunctionDef | None:
        """The construct of a generated module (not a layer, not a placeholder that only raises)."""
        found = self.constructs.get(type(cell).__name__)
        if found is None or not any(isinstance(s, ast.Return) for s in found.body):
            return None
        return found

    def code(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""


class Interpreter:
    """Executes the network's constructs one statement at a time in the model module's namespace."""

    def __init__(self, code_map: CodeMap, module: ModuleType, visit: Visitor) -> None:
        self.code_map = code_map
        self.module = module
        self.visit = visit
        self.filename = str(code_map.path)
        # The node statement being run, for naming the node when the generated code raises.
        self.current: Site | None = None

    def run(self, network: Any, inputs: Sequence[Any]) -> Any:
        if self.code_map.module_construct(network) is None:
            raise NotInterpretable(f"model.py has no construct for {type(network).__name__}")
        return self._run_cell(network, "", list(inputs))

    def _run_cell(self, cell: Any, path: str, args: list[Any]) -> Any:
        function = self.code_map.module_construct(cell)
        assert function is not None
        params = [a.arg for a in function.args.args[1:]]
        if function.args.vararg or function.args.kwonlyargs or len(params) != len(args):
            raise NotInterpretable(
                f"{type(cell).__name__}.construct does not take {len(args)} plain arguments"
            )
        scope = dict(vars(self.module))
        scope.update(zip(params, args, strict=True))
        scope["self"] = cell
        class_name = type(cell).__name__
        for statement in function.body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue  # a docstring
            if isinstance(statement, ast.Return):
                return None if statement.value is None else self._eval(statement.value, scope)
            if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
                raise NotInterpretable(f"model.py:{statement.lineno} is not a statement mindgen writes")
            site = Site(
                class_name,
                statement.lineno,
                self.code_map.code(statement.lineno),
                path,
                "",
                _member(cell, path, statement),
            )
            child = self._child_call(cell, statement.value)
            if child is not None:
                attr, member = child
                args = [self._eval(a, scope) for a in statement.value.args]  # type: ignore[attr-defined]
                _assign(statement.targets[0], self._run_member(member, _join(path, attr), args, site), scope)
                continue
            self.current = site
            exec(compile(ast.Module([statement], []), self.filename, "exec"), scope)
            names = _target_names(statement.targets[0])
            values = [None if name == "_" else scope[name] for name in names]
            for name, value in zip(names, self.visit(site, values), strict=True):
                if name != "_":
                    scope[name] = value
        raise NotInterpretable(f"{class_name}.construct has no return")

    def _run_member(self, member: Any, path: str, args: list[Any], site: Site) -> Any:
        from mindspore import nn

        if isinstance(member, nn.SequentialCell):
            (value,) = args
            for name, item in member.name_cells().items():
                value = self._run_member(item, f"{path}.{name}", [value], site)
            return value
        if self.code_map.module_construct(member) is not None:
            return self._run_cell(member, path, args)
        # A layer that a SequentialCell runs: one node, reported at the line that calls the sequence.
        self.current = Site(site.class_name, site.line, site.code, site.cell, path, path)
        (value,) = self.visit(self.current, [member(*args)])
        return value

    def _child_call(self, cell: Any, expr: ast.expr) -> tuple[str, Any] | None:
        """`self.<attr>(args)` where attr is a generated module or an nn.SequentialCell."""
        from mindspore import nn

        if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)):
            return None
        owner = expr.func.value
        if not (isinstance(owner, ast.Name) and owner.id == "self") or expr.keywords:
            return None
        if any(isinstance(a, ast.Starred) for a in expr.args):
            return None
        member = getattr(cell, expr.func.attr, None)
        if isinstance(member, nn.SequentialCell) or self.code_map.module_construct(member) is not None:
            return expr.func.attr, member
        return None

    def _eval(self, expr: ast.expr, scope: dict[str, Any]) -> Any:
        return eval(compile(ast.Expression(expr), self.filename, "eval"), scope)


def node_sites(code_map: CodeMap, module: ModuleType, network: Any, inputs: Sequence[Any]) -> list[Site]:
    """Where each source node runs, in report.json order (one PYNATIVE pass of the network)."""
    sites: list[Site] = []

    def visit(site: Site, values: list[Any]) -> list[Any]:
        sites.append(site)
        return values

    Interpreter(code_map, module, visit).run(network, inputs)
    return sites


def _member(cell: Any, path: str, statement: ast.Assign) -> str:
    """The layer a node statement calls (`self.bn1(x)`, also inside a larger expression)."""
    for expr in ast.walk(statement.value):
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            owner = expr.func.value
            if isinstance(owner, ast.Name) and owner.id == "self" and hasattr(cell, expr.func.attr):
                return _join(path, expr.func.attr)
    return ""


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
        return [e.id for e in target.elts]  # type: ignore[attr-defined]
    raise NotInterpretable(f"model.py:{target.lineno} assigns to something other than names")


def _assign(target: ast.expr, value: Any, scope: dict[str, Any]) -> None:
    names = _target_names(target)
    if isinstance(target, ast.Name):
        scope[names[0]] = value
        return
    for name, item in zip(names, value, strict=True):
        scope[name] = item


def _join(path: str, attr: str) -> str:
    return f"{path}.{attr}" if path else attr
