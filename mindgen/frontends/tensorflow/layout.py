"""Permutation arithmetic for carrying NHWC tensors as NCHW (or any order) inside the graph.

A tensor held in layout `p` means: held = numpy.transpose(source, p), so held axis i is
source axis p[i]. The identity permutation is the TensorFlow (source) layout.
"""

from __future__ import annotations

from collections.abc import Sequence

Perm = tuple[int, ...]


def identity(rank: int) -> Perm:
    return tuple(range(rank))


def channels_first(rank: int) -> Perm:
    """NHWC -> NCHW (and NWC -> NCW, NDHWC -> NCDHW): the channel axis moves to position 1."""
    return (0, rank - 1, *range(1, rank - 1))


def is_identity(perm: Perm) -> bool:
    return all(i == axis for i, axis in enumerate(perm))


def inverse(perm: Perm) -> Perm:
    result = [0] * len(perm)
    for i, axis in enumerate(perm):
        result[axis] = i
    return tuple(result)


def held_shape(shape: Sequence, perm: Perm) -> list:
    """The shape of a source-layout tensor once held in layout `perm`."""
    return [shape[axis] for axis in perm]


def source_shape(shape: Sequence, perm: Perm) -> list:
    """The source-layout shape of a tensor held in layout `perm`."""
    result = [None] * len(perm)
    for i, axis in enumerate(perm):
        result[axis] = shape[i]
    return result


def between(held: Perm, wanted: Perm) -> Perm:
    """The Transpose perm that turns a tensor held in `held` into one held in `wanted`."""
    return tuple(held.index(axis) for axis in wanted)


def moves_only_unit_axes(shape: Sequence, order: Perm) -> bool:
    """Whether a transpose keeps every axis that is not known to be 1 in its relative order."""
    kept = [axis for axis in order if shape[axis] != 1]
    return kept == sorted(kept)


def held_axis(perm: Perm, axis: int) -> int:
    """Where source axis `axis` sits in a tensor held in layout `perm`."""
    return perm.index(axis)


def after_removing(perm: Perm, axes: Sequence[int]) -> Perm:
    """The layout of the result when source axes `axes` are reduced away (keepdims=False)."""
    removed = set(axes)
    kept = [axis for axis in range(len(perm)) if axis not in removed]
    renumber = {axis: i for i, axis in enumerate(kept)}
    return tuple(renumber[axis] for axis in perm if axis not in removed)


def reshape_groups(source: Sequence, target: Sequence) -> list[tuple[list[int], list[int]]] | None:
    """Pairs runs of source axes with runs of target axes of equal size (a reshape only merges
    and splits neighbours); symbolic dimensions must meet themselves one to one."""
    groups: list[tuple[list[int], list[int]]] = []
    i = j = 0
    while i < len(source) and j < len(target):
        a, b = source[i], target[j]
        if not (isinstance(a, int) and isinstance(b, int)):
            if a != b or a is None:
                return None
            groups.append(([i], [j]))
            i, j = i + 1, j + 1
            continue
        left, right, size_a, size_b = [i], [j], a, b
        i, j = i + 1, j + 1
        while size_a != size_b:
            if size_a < size_b and i < len(source) and isinstance(source[i], int):
                size_a *= source[i]
                left.append(i)
                i += 1
            elif size_b < size_a and j < len(target) and isinstance(target[j], int):
                size_b *= target[j]
                right.append(j)
                j += 1
            else:
                return None
        groups.append((left, right))
    if not groups:
        return None
    # Trailing size-1 axes join the last group.
    for k in range(i, len(source)):
        if source[k] != 1:
            return None
        groups[-1][0].append(k)
    for k in range(j, len(target)):
        if target[k] != 1:
            return None
        groups[-1][1].append(k)
    return groups


def reshape_layout(source: Sequence, target: Sequence, perm: Perm) -> Perm | None:
    """The layout a reshape's result keeps when done on the held tensor, or None when the held
    order does not keep each merged or split run of axes together and in order."""
    groups = reshape_groups(source, target)
    if groups is None:
        return None
    owner = {axis: g for g, (axes, _) in enumerate(groups) for axis in axes}
    order: list[int] = []
    position = 0
    while position < len(perm):
        g = owner[perm[position]]
        axes = groups[g][0]
        if list(perm[position : position + len(axes)]) != axes:
            return None
        order.append(g)
        position += len(axes)
    return tuple(axis for g in order for axis in groups[g][1])
