"""Reshaping, joining, splitting, transposing, padding and tiling tensors."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from mindgen.frontends.tensorflow import layout
from mindgen.frontends.tensorflow.context import SOURCE, NodeContext
from mindgen.frontends.tensorflow.registry import Untranslatable, translates
from mindgen.frontends.tensorflow.symbolic import constant_shape


def _axis(value: int, rank: int) -> int:
    return value + rank if value < 0 else value


@translates("Reshape")
def reshape(ctx: NodeContext) -> None:
    entries = ctx.entries(1)
    in_shape = ctx.shape(0)
    target = _resolve(entries, in_shape) if entries is not None else None
    name, perm = ctx.form(0)
    if target is not None and in_shape is not None and perm != SOURCE:
        # Done on the held tensor when the reshape only merges or splits neighbouring axes.
        kept = layout.reshape_layout(in_shape, target, perm)
        constant = (
            constant_shape(layout.held_shape(target, kept), layout.held_shape(in_shape, perm))
            if kept
            else None
        )
        if constant is not None:
            ctx.output(ctx.emit1("Reshape", [name, ctx.int64(constant[0])]), kept)
            return
    constant = constant_shape(target or entries, in_shape) if entries is not None else None
    if constant is not None:
        shape, allow_zero = constant
        attrs = {"allowzero": 1} if allow_zero else {}
        ctx.output(ctx.emit1("Reshape", [ctx.value(0), ctx.int64(shape)], **attrs))
        return
    shape_name = ctx.emit1("Cast", [ctx.value(1)], to=TensorProto.INT64)
    ctx.output(ctx.emit1("Reshape", [ctx.value(0), shape_name]))


def _resolve(entries: list, in_shape) -> list | None:
    """The target shape with its one -1 (or unknown entry) worked out, when sizes allow it."""
    open_entries = [i for i, e in enumerate(entries) if e is None or e == -1]
    if not open_entries:
        return list(entries)
    if len(open_entries) > 1 or in_shape is None:
        return None
    inputs, targets = list(in_shape), [e for i, e in enumerate(entries) if i != open_entries[0]]
    for symbol in [d for d in inputs if isinstance(d, str)]:
        if symbol not in targets:
            return None
        inputs.remove(symbol)
        targets.remove(symbol)
    if any(not isinstance(d, int) for d in inputs + targets):
        return None
    total, known = int(np.prod(inputs)), int(np.prod(targets))
    if known == 0 or total % known:
        return None
    resolved = list(entries)
    resolved[open_entries[0]] = total // known
    return resolved


@translates("Squeeze")
def squeeze(ctx: NodeContext) -> None:
    rank = ctx.rank(0)
    axes = [int(a) for a in ctx.attr("squeeze_dims", []) or []]
    name, perm = ctx.form(0)
    if not axes:
        shape = ctx.shape(0)
        if shape is None or not all(isinstance(d, int) for d in shape):
            ctx.output(ctx.emit1("Squeeze", [ctx.value(0)]))
            return
        axes = [i for i, d in enumerate(shape) if d == 1]
    if rank is None:
        ctx.output(ctx.emit1("Squeeze", [ctx.value(0), ctx.int64(axes)]))
        return
    axes = sorted(_axis(a, rank) for a in axes)
    held = axes if perm == SOURCE else sorted(layout.held_axis(perm, a) for a in axes)
    out = ctx.emit1("Squeeze", [name, ctx.int64(held)])
    ctx.output(out, perm if perm == SOURCE else layout.after_removing(perm, axes))


@translates("ExpandDims")
def expand_dims(ctx: NodeContext) -> None:
    axis = ctx.const_ints(1, "the axis")[0]
    rank = ctx.rank(0)
    if axis < 0:
        if rank is None:
            raise Untranslatable("ExpandDims with a negative axis on an input of unknown rank")
        axis += rank + 1
    name, perm = ctx.form(0)
    if perm == SOURCE:
        ctx.output(ctx.emit1("Unsqueeze", [name, ctx.int64([axis])]))
        return
    # Held: the new axis goes right after its TF neighbour, so that later reshapes that merge
    # it with that neighbour (Keras' repeat) still find them side by side.
    shifted = [a + 1 if a >= axis else a for a in perm]
    position = shifted.index(axis - 1) + 1 if axis > 0 else 0
    held = tuple(shifted[:position] + [axis] + shifted[position:])
    ctx.output(ctx.emit1("Unsqueeze", [name, ctx.int64([position])]), held)


@translates("ConcatV2", "Concat")
def concat(ctx: NodeContext) -> None:
    # ConcatV2 takes the axis last, the old Concat first.
    axis_index = ctx.n_inputs - 1 if ctx.node.op == "ConcatV2" else 0
    values = [i for i in range(ctx.n_inputs) if i != axis_index]
    if len(values) == 1:
        ctx.alias(values[0])
        return
    rank = ctx.require_rank(values[0])
    axis = _axis(ctx.const_ints(axis_index, "the axis")[0], rank)
    names, perm = ctx.aligned(values)
    held = axis if perm == SOURCE else layout.held_axis(perm, axis)
    ctx.output(ctx.emit1("Concat", names, axis=held), perm)


@translates("Pack")
def pack(ctx: NodeContext) -> None:
    rank = ctx.rank(0)
    axis = int(ctx.attr("axis", 0))
    if axis < 0:
        if rank is None:
            raise Untranslatable("Pack with a negative axis on inputs of unknown rank")
        axis += rank + 1
    axes = ctx.int64([axis])
    parts = [ctx.emit1("Unsqueeze", [ctx.value(i), axes]) for i in range(ctx.n_inputs)]
    ctx.output(parts[0] if len(parts) == 1 else ctx.emit1("Concat", parts, axis=axis))


@translates("Unpack")
def unpack(ctx: NodeContext) -> None:
    rank = ctx.require_rank(0)
    axis = _axis(int(ctx.attr("axis", 0)), rank)
    name, perm = ctx.form(0)
    held = axis if perm == SOURCE else layout.held_axis(perm, axis)
    out_perm = SOURCE if perm == SOURCE else layout.after_removing(perm, [axis])
    for port in range(int(ctx.attr("num", 0))):
        if ctx.uses(port):
            # One slice per output that is read: x[..., i] reads better than a split and squeeze.
            ctx.output(ctx.emit1("Gather", [name, ctx.int64(port)], axis=held), out_perm, port)


@translates("Transpose", "ConjugateTranspose")
def transpose(ctx: NodeContext) -> None:
    order = tuple(ctx.const_ints(1, "the permutation"))
    array = ctx.const(0)
    if array is not None:
        ctx.output(ctx.add_const(np.transpose(array, order)))
        return
    # No node: the result is the input, held in a layout that says how to read it.
    name, perm = ctx.form(0)
    inverse = layout.inverse(order)
    held = inverse if perm == SOURCE else tuple(inverse[axis] for axis in perm)
    ctx.output(name, held)


def _split(ctx: NodeContext, value_index: int, axis_index: int, sizes: list[int] | None) -> None:
    rank = ctx.require_rank(value_index)
    axis = _axis(ctx.const_ints(axis_index, "the axis")[0], rank)
    count = int(ctx.attr("num_split", 1))
    name, perm = ctx.form(value_index)
    held = axis if perm == SOURCE else layout.held_axis(perm, axis)
    inputs = [name] if sizes is None else [name, ctx.int64(sizes)]
    for port, out in enumerate(ctx.emit("Split", inputs, count, axis=held)):
        ctx.output(out, perm, port)


@translates("Split")
def split(ctx: NodeContext) -> None:
    _split(ctx, 1, 0, None)


@translates("SplitV")
def split_v(ctx: NodeContext) -> None:
    sizes = ctx.const_ints(1, "the split sizes")
    if -1 in sizes:
        rank = ctx.require_rank(0)
        axis = _axis(ctx.const_ints(2, "the axis")[0], rank)
        total = ctx.static_dims(0, [axis])
        if total is None:
            raise Untranslatable("SplitV with a -1 size along an axis of unknown length")
        sizes[sizes.index(-1)] = total[0] - sum(s for s in sizes if s != -1)
    _split(ctx, 0, 2, sizes)


@translates("Pad", "PadV2", "MirrorPad")
def pad(ctx: NodeContext) -> None:
    rank = ctx.require_rank(0)
    paddings = np.asarray(ctx.const_ints(1, "the paddings")).reshape(rank, 2)
    attrs: dict[str, object] = {}
    if ctx.node.op == "MirrorPad":
        mode = str(ctx.attr("mode", "REFLECT"))
        if mode != "REFLECT":
            raise Untranslatable(f"MirrorPad mode {mode} has no ONNX equivalent")
        attrs["mode"] = "reflect"
    name, perm = ctx.form(0)
    order = list(range(rank)) if perm == SOURCE else list(perm)
    pads = ctx.int64([int(paddings[a, 0]) for a in order] + [int(paddings[a, 1]) for a in order])
    inputs = [name, pads]
    if ctx.node.op == "PadV2":
        inputs.append(ctx.value(2))
    ctx.output(ctx.emit1("Pad", inputs, **attrs), perm)


@translates("Tile")
def tile(ctx: NodeContext) -> None:
    multiples = ctx.const(1)
    if multiples is None:
        repeats = ctx.emit1("Cast", [ctx.value(1)], to=TensorProto.INT64)
        ctx.output(ctx.emit1("Tile", [ctx.value(0), repeats]))
        return
    name, perm = ctx.form(0)
    values = [int(m) for m in multiples.reshape(-1)]
    held = values if perm == SOURCE else [values[a] for a in perm]
    shape = ctx.shape(0)
    if shape is not None and all(m == 1 or shape[a] == 1 for a, m in enumerate(values)):
        # Repeating size-1 axes is broadcasting (Keras' repeat does this before a reshape).
        ctx.output(ctx.emit1("Expand", [name, ctx.int64(held)]), perm)
        return
    ctx.output(ctx.emit1("Tile", [name, ctx.int64(held)]), perm)
