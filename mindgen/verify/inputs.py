"""Verification inputs: a user's .npz/.npy batch, or seeded random batches from the recorded shapes."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx_ir as ir

from mindgen.errors import InputError

# Integer inputs that index nothing mindgen can see (masks, type ids) draw from [0, 2).
DEFAULT_INT_HIGH = 2
# Ops that carry index values through unchanged, on their first input.
_INDEX_PRESERVING = {"Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity", "Transpose", "Expand"}


@dataclass(frozen=True)
class InputSpec:
    """One network input as report.json records it."""

    name: str
    shape: tuple[int | str | None, ...] | None
    dtype: np.dtype


def input_specs(report: dict) -> list[InputSpec]:
    """The network's inputs from report.json, with numpy dtypes."""
    specs = []
    for item in report["inputs"]:
        try:
            dtype = np.dtype(item["dtype"])
        except TypeError:
            raise InputError(
                f"input {item['name']!r} has dtype {item['dtype']}, which verify cannot feed"
            ) from None
        shape = None if item["shape"] is None else tuple(item["shape"])
        specs.append(InputSpec(item["name"], shape, dtype))
    return specs


def concrete_shapes(
    specs: Sequence[InputSpec], shapes: Sequence[Sequence[int]] | None
) -> list[tuple[int, ...]]:
    """Every input's shape with symbolic dimensions filled: from --shape, else 1."""
    if shapes is not None and len(shapes) != len(specs):
        raise InputError(f"--shape gives {len(shapes)} shape(s) but the network has {len(specs)} input(s)")
    result = []
    for index, spec in enumerate(specs):
        given = list(shapes[index]) if shapes is not None else None
        if spec.shape is None:
            if given is None:
                raise InputError(f"the rank of input {spec.name!r} is unknown; give its shape with --shape")
            result.append(tuple(given))
            continue
        if given is not None:
            check_shape(spec, tuple(given), "--shape")
            result.append(tuple(given))
        else:
            result.append(tuple(d if isinstance(d, int) else 1 for d in spec.shape))
    return result


def check_shape(spec: InputSpec, shape: tuple[int, ...], origin: str) -> None:
    """Refuses a shape whose rank or fixed dimensions disagree with the recorded input."""
    if spec.shape is None:
        return
    if len(shape) != len(spec.shape):
        raise InputError(
            f"{origin} gives input {spec.name!r} rank {len(shape)}; the model expects {len(spec.shape)}"
        )
    for fixed, size in zip(spec.shape, shape, strict=True):
        if isinstance(fixed, int) and fixed != size:
            raise InputError(
                f"{origin} gives input {spec.name!r} shape {tuple(shape)}; the model fixes {_shape_text(spec.shape)}"
            )


def index_bounds(graph: ir.Graph) -> dict[str, int]:
    """For integer inputs used as Gather indices: the size of the axis they index (token ids < vocab)."""
    bounds: dict[str, int] = {}
    for value in graph.inputs:
        if value.is_initializer() or value.dtype is None or not value.dtype.is_integer():
            continue
        sizes = [size for size in _gathered_sizes(value, depth=0) if size > 0]
        if sizes:
            bounds[value.name or ""] = min(sizes)
    return bounds


def _gathered_sizes(value: ir.Value, depth: int) -> list[int]:
    sizes: list[int] = []
    if depth > 8:
        return sizes
    for user, position in value.uses():
        if user.op_type == "Gather" and position == 1:
            data = user.inputs[0]
            axis = user.attributes.get_int("axis", 0)
            if data is not None and data.shape is not None and len(data.shape) > 0:
                dim = data.shape[axis]
                sizes.append(dim if isinstance(dim, int) else 0)
        elif user.op_type in _INDEX_PRESERVING and position == 0:
            for output in user.outputs:
                sizes += _gathered_sizes(output, depth + 1)
    return sizes


def random_batch(
    specs: Sequence[InputSpec],
    shapes: Sequence[tuple[int, ...]],
    bounds: dict[str, int],
    seed: int,
    sample: int,
) -> dict[str, np.ndarray]:
    """One seeded batch: normal floats, integers in [0, bound), fair booleans."""
    rng = np.random.default_rng([seed, sample])
    batch = {}
    for spec, shape in zip(specs, shapes, strict=True):
        if spec.dtype == np.bool_:
            batch[spec.name] = rng.random(shape) < 0.5
        elif np.issubdtype(spec.dtype, np.integer):
            high = bounds.get(spec.name, DEFAULT_INT_HIGH)
            batch[spec.name] = rng.integers(0, high, shape, dtype=spec.dtype)
        else:
            batch[spec.name] = rng.standard_normal(shape).astype(spec.dtype)
    return batch


def load_batch(path: str | Path, specs: Sequence[InputSpec]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Reads the inputs from .npz (by input name, or arr_0.. in input order) or .npy; returns notes too."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--inputs file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        elif suffix == ".npy":
            arrays = {"": np.load(path, allow_pickle=False)}
        else:
            raise InputError(f"--inputs takes a .npz or .npy file, not {path.name!r}")
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"cannot read --inputs {path}: {' '.join(str(exc).split())[:200]}") from None
    named = _by_input(arrays, specs, path.name)
    notes: list[str] = []
    batch = {}
    for spec in specs:
        array = named[spec.name]
        check_shape(spec, array.shape, f"--inputs {path.name}")
        batch[spec.name] = _cast(array, spec, notes)
    return batch, notes


def _by_input(arrays: dict[str, np.ndarray], specs: Sequence[InputSpec], file: str) -> dict[str, np.ndarray]:
    names = [spec.name for spec in specs]
    if set(arrays) == {""}:
        if len(specs) != 1:
            raise InputError(f"{file} holds one array but the network has {len(specs)} inputs; use a .npz")
        return {names[0]: arrays[""]}
    if set(arrays) == set(names):
        return arrays
    positional = [f"arr_{i}" for i in range(len(names))]
    if sorted(arrays) == sorted(positional) and not set(names) & set(arrays):
        return {name: arrays[key] for name, key in zip(names, positional, strict=True)}
    missing = [n for n in names if n not in arrays]
    extra = [k for k in arrays if k not in names]
    detail = "; ".join(
        part
        for part in (
            f"missing {', '.join(map(repr, missing))}" if missing else "",
            f"unknown {', '.join(map(repr, extra))}" if extra else "",
        )
        if part
    )
    raise InputError(
        f"{file} does not match the network inputs ({detail}); expected {', '.join(map(repr, names))}"
    )


def _cast(array: np.ndarray, spec: InputSpec, notes: list[str]) -> np.ndarray:
    """The array in the input's dtype: same-kind casts (float64 -> float32) are made and noted."""
    if array.dtype == spec.dtype:
        return array
    if array.dtype.kind == spec.dtype.kind or (array.dtype.kind in "iu" and spec.dtype.kind in "iu"):
        notes.append(f"input {spec.name!r} cast from {array.dtype} to {spec.dtype}")
        return array.astype(spec.dtype)
    raise InputError(f"input {spec.name!r} is {array.dtype} in --inputs; the model takes {spec.dtype}")


def _shape_text(shape: Sequence[object]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
