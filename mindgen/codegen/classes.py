"""One class per module of the tree; modules that compute the same thing share one class."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mindgen.codegen.naming import CELL_ATTRIBUTES, Namespace, to_class_name
from mindgen.codegen.render import render_literal
from mindgen.codegen.scopes import Scope


@dataclass(frozen=True)
class Lit:
    """A literal argument of a member's constructor; may become a class parameter."""

    value: object


@dataclass(frozen=True)
class Fixed:
    """An argument written as is (a dtype, a call): part of the class's structure."""

    text: str


Arg = Lit | Fixed


@dataclass
class Member:
    """Something a class creates in __init__: a layer, a buffer, a sub-module, a sequence."""

    attr: str
    kind: str  # "layer" | "buffer" | "placeholder" | "module" | "sequential"
    cls: str = ""
    args: list[Arg] = field(default_factory=list)
    kwargs: list[tuple[str, Arg]] = field(default_factory=list)
    child: ClassSpec | None = None
    items: list[Member] = field(default_factory=list)
    comment: str = ""
    # Checkpoint entries declared by this member, relative to the member: (suffix, binding).
    bindings: list[tuple[str, object]] = field(default_factory=list)
    # The member's name in the source (a scope part such as "conv1" or "0").
    source_name: str = ""


@dataclass
class ClassSpec:
    """A module's class before folding: members, construct signature and body."""

    scope: Scope
    members: list[Member]
    inputs: list[str]
    body: list[str]
    group: ClassGroup | None = None
    # Set when the module is just its members applied in order: an nn.SequentialCell.
    sequential: list[Member] | None = None


@dataclass
class Param:
    """A constructor parameter of a folded class and the slots it fills."""

    name: str
    slots: list[int]


@dataclass
class ClassGroup:
    """Modules with one structure: rendered once, instantiated with their own arguments."""

    key: tuple
    instances: list[ClassSpec]
    name: str = ""
    params: list[Param] = field(default_factory=list)
    slot_params: dict[int, str] = field(default_factory=dict)


# Positional parameter names of the nn layers mindgen declares, for readable class parameters.
POSITIONAL_NAMES = {
    "nn.Conv1d": ("in_channels", "out_channels", "kernel_size"),
    "nn.Conv2d": ("in_channels", "out_channels", "kernel_size"),
    "nn.Conv3d": ("in_channels", "out_channels", "kernel_size"),
    "nn.Conv1dTranspose": ("in_channels", "out_channels", "kernel_size"),
    "nn.Conv2dTranspose": ("in_channels", "out_channels", "kernel_size"),
    "nn.Conv3dTranspose": ("in_channels", "out_channels", "kernel_size"),
    "nn.Dense": ("in_channels", "out_channels"),
    "nn.BatchNorm1d": ("num_features",),
    "nn.BatchNorm2d": ("num_features",),
    "nn.BatchNorm3d": ("num_features",),
    "nn.LayerNorm": ("normalized_shape",),
    "nn.MaxPool1d": ("kernel_size",),
    "nn.MaxPool2d": ("kernel_size",),
    "nn.MaxPool3d": ("kernel_size",),
    "nn.AvgPool1d": ("kernel_size",),
    "nn.AvgPool2d": ("kernel_size",),
    "nn.AvgPool3d": ("kernel_size",),
}


# Signatures and slot values ---------------------------------------------------------------
def _arg_key(arg: Arg) -> tuple:
    return ("lit",) if isinstance(arg, Lit) else ("fixed", arg.text)


def member_key(member: Member) -> tuple:
    """The structure of a member with its literal values left out."""
    child = member.child.group.key if member.child is not None and member.child.group else None
    return (
        member.attr,
        member.kind,
        member.cls,
        tuple(_arg_key(a) for a in member.args),
        tuple((k, _arg_key(a)) for k, a in member.kwargs),
        child,
        len(member.child.group.params) if child is not None else 0,
        tuple(member_key(i) for i in member.items),
        member.comment,
    )


def class_key(spec: ClassSpec) -> tuple:
    return (tuple(member_key(m) for m in spec.members), tuple(spec.inputs), tuple(spec.body))


def member_values(member: Member) -> Iterator[tuple[str, object]]:
    """(slot name, value) for every literal slot of a member, in rendering order."""
    positional = POSITIONAL_NAMES.get(member.cls, ())
    for index, arg in enumerate(member.args):
        if isinstance(arg, Lit):
            yield (positional[index] if index < len(positional) else f"arg{index}"), arg.value
    for key, arg in member.kwargs:
        if isinstance(arg, Lit):
            yield key, arg.value
    if member.child is not None and member.child.group is not None:
        values = list(instance_values(member.child))
        for param in member.child.group.params:
            yield param.name, values[param.slots[0]][1]
    for item in member.items:
        yield from member_values(item)


def instance_values(spec: ClassSpec) -> Iterator[tuple[str, object]]:
    for member in spec.members:
        for name, value in member_values(member):
            yield f"{member.attr}.{name}", value


# Folding ------------------------------------------------------------------------------------
def fold_classes(
    specs: list[ClassSpec], name_of: Callable[[ClassGroup], str], reserved: set[str] = frozenset()
) -> list[ClassGroup]:
    """Groups specs by structure, lowest modules first; differing values become parameters."""
    heights: dict[int, int] = {}

    def height(spec: ClassSpec) -> int:
        if id(spec) not in heights:
            children = [m.child for m in _all_members(spec.members) if m.child is not None]
            heights[id(spec)] = 1 + max((height(c) for c in children), default=0)
        return heights[id(spec)]

    groups: dict[tuple, ClassGroup] = {}
    ordered: list[ClassGroup] = []
    levels: dict[int, list[ClassSpec]] = defaultdict(list)
    for spec in specs:
        levels[height(spec)].append(spec)
    # A parent's structure names its children's classes, so children are folded first.
    for level in sorted(levels):
        fresh: list[ClassGroup] = []
        for spec in levels[level]:
            key = class_key(spec)
            group = groups.get(key)
            if group is None:
                group = groups[key] = ClassGroup(key, [])
                ordered.append(group)
                fresh.append(group)
            group.instances.append(spec)
            spec.group = group
        for group in fresh:
            _parametrize(group)
    taken: dict[str, ClassGroup | None] = dict.fromkeys(reserved)
    for group in ordered:
        base = name_of(group)
        if taken.get(base) is not None:
            # Tell two kinds of block apart by what only this one has (e.g. a downsample path).
            own = [m.attr for m in group.instances[0].members if m.kind in ("module", "sequential")]
            other = {m.attr for m in taken[base].instances[0].members}  # type: ignore[union-attr]
            extra = [attr for attr in own if attr not in other]
            if extra:
                base = to_class_name(f"{extra[0]}_{base}", base)
        name, counter = base, 1
        while name in taken:
            counter += 1
            name = f"{base}{counter}"
        taken[name] = group
        group.name = name
    return ordered


def _all_members(members: list[Member]) -> Iterator[Member]:
    for member in members:
        yield member
        yield from _all_members(member.items)


def _parametrize(group: ClassGroup) -> None:
    """Finds the slots whose values differ between instances and names one parameter each."""
    columns = [list(instance_values(spec)) for spec in group.instances]
    params: list[Param] = []
    by_values: dict[str, Param] = {}
    used: set[str] = set()
    for slot, entries in enumerate(zip(*columns, strict=True)):
        values = [value for _, value in entries]
        if all(render_literal(v) == render_literal(values[0]) for v in values):  # type: ignore[arg-type]
            continue
        signature = "|".join(render_literal(v) for v in values)  # type: ignore[arg-type]
        if signature in by_values:
            by_values[signature].slots.append(slot)
            continue
        qualified = entries[0][0]
        bare = qualified.rsplit(".", 1)[-1]
        name = bare if bare not in used else qualified.replace(".", "_")
        name = Namespace(used).name(slot, name, "arg")
        used.add(name)
        param = Param(name, [slot])
        by_values[signature] = param
        params.append(param)
    group.params = params
    group.slot_params = {slot: p.name for p in params for slot in p.slots}


# Rendering ------------------------------------------------------------------------------------
class MemberRenderer:
    """Writes member declarations, with parameter names in place of varying slots."""

    def __init__(self, slot_params: dict[int, str]) -> None:
        self._slot_params = slot_params
        self._slot = 0

    def _arg(self, arg: Arg) -> str:
        if isinstance(arg, Fixed):
            return arg.text
        slot, self._slot = self._slot, self._slot + 1
        return self._slot_params.get(slot, render_literal(arg.value))  # type: ignore[arg-type]

    def construction(self, member: Member) -> str:
        """The expression that creates a member: `nn.Conv2d(3, 8, 3)`, `Block(64)`, ..."""
        if member.kind == "sequential":
            items = ", ".join(self.construction(item) for item in member.items)
            return f"nn.SequentialCell([{items}])"
        if member.kind == "buffer":
            shape, dtype = member.args
            return f"Parameter(ops.zeros({self._arg(shape)}, {self._arg(dtype)}), requires_grad=False)"
        parts = [self._arg(a) for a in member.args]
        parts += [f"{k}={self._arg(a)}" for k, a in member.kwargs]
        if member.child is not None and member.child.group is not None:
            values = list(instance_values(member.child))
            for param in member.child.group.params:
                parts.append(self._arg(Lit(values[param.slots[0]][1])))
            return f"{member.child.group.name}({', '.join(parts)})"
        return f"{member.cls}({', '.join(parts)})"


def class_source(group: ClassGroup, docstring: str) -> str:
    """The Python source of one folded class."""
    spec = group.instances[0]
    renderer = MemberRenderer(group.slot_params)
    init = []
    for member in spec.members:
        if member.comment:
            init.append(f"# {member.comment}")
        init.append(f"self.{member.attr} = {renderer.construction(member)}")
    params = "".join(f", {p.name}" for p in group.params)
    lines = [f"class {group.name}(nn.Cell):", f'    """{docstring}"""', "", f"    def __init__(self{params}):"]
    lines += ["        super().__init__()"] + [f"        {line}" for line in init]
    lines += ["", f"    def construct({', '.join(['self', *spec.inputs])}):"]
    lines += [f"        {line}" for line in spec.body]
    return "\n".join(lines)


def new_member_namespace() -> Namespace:
    return Namespace(CELL_ATTRIBUTES)


def default_class_name(group: ClassGroup) -> str:
    """A class name from the modules' scope: their own name, else their container's + 'Block'."""
    path = group.instances[0].scope.path
    if not path:
        return "Network"
    if not path[-1].isdigit():
        return to_class_name(path[-1], "Block")
    parents = {spec.scope.path[:-1] for spec in group.instances}
    if len(parents) > 1 or len(path) == 1:
        return "Block"  # repeated across containers (layer1, layer2, ...): a generic block
    return to_class_name(f"{path[-2]}_block", "Block")
