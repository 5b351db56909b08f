"""Loads an ONNX file: validation, sub-graph extraction, opset upgrade, shape inference."""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Sequence
from pathlib import Path

import onnx
import onnx_ir as ir
from google.protobuf.message import DecodeError

from mindgen.errors import InputError
from mindgen.frontends.onnx_tensors import check_attribute_text, check_tensors, check_value_shapes
from mindgen.frontends.onnx_wire import externalize_weights
from mindgen.frontends.source import CANONICAL_OPSET, SourceModel

_MAX_OPSET = onnx.defs.onnx_opset_version()


def check_model_path(path: Path) -> None:
    """Rejects paths that cannot hold a model, before anything is read."""
    if not path.exists():
        raise InputError(f"model file not found: {path}")
    if path.is_dir():
        raise InputError(f"expected a model file but got a directory: {path}")
    if not path.is_file():
        raise InputError(f"model path is not a regular file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"model file is empty: {path}")


def read_onnx(path: Path) -> onnx.ModelProto:
    """Parses an ONNX protobuf without pulling external tensors into memory."""
    check_model_path(path)
    try:
        proto = _parse_in_place(path) if path.stat().st_size >= IN_PLACE_FILE_BYTES else None
        if proto is None:
            proto = onnx.load(str(path), load_external_data=False)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (DecodeError, RuntimeError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a valid ONNX model (cannot parse: {_summary(exc)})") from None
    # Protobuf parses many non-ONNX byte strings into an empty message.
    if proto.ir_version <= 0 or not (proto.graph.node or proto.graph.output):
        raise InputError(f"{path} is not an ONNX model (no IR version or empty graph)")
    return proto


# Files from this size on are parsed with their weights left in the file (onnx_wire): below
# it, the scan's per-field Python loop costs more than the copies it saves.
IN_PLACE_FILE_BYTES = 8 * 2**20


def _parse_in_place(path: Path) -> onnx.ModelProto | None:
    """The model parsed from a memory map of its file, its large weights left there as
    external data pointing into the file itself; None when the file cannot be mapped
    (the caller then loads it the ordinary way)."""
    # A symlinked model's own folder is not where its bytes are; external data must be.
    if path.is_symlink() or path.resolve().parent != path.parent.resolve():
        return None
    with open(path, "rb") as file:
        try:
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # not a regular file, or an empty one
            return None
    view = memoryview(mapped)
    try:
        rewritten = externalize_weights(view, path.name)
        proto = onnx.ModelProto()
        # Protobuf copies what it keeps, so the map may close once it has parsed.
        proto.ParseFromString(view if rewritten is None else rewritten)
        return proto
    finally:
        try:
            view.release()
            mapped.close()
        except BufferError:
            # A parse error's traceback still holds slices of the map (pure-Python protobuf
            # does): it closes when they are freed, with the exception.
            pass


def load_onnx(
    path: str | os.PathLike[str],
    *,
    shapes: Sequence[Sequence[int]] | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> SourceModel:
    """Loads, validates and normalises an ONNX model into the canonical graph."""
    path = Path(path)
    proto = read_onnx(path)
    source_opset = default_opset(proto)
    if source_opset is None:
        if any(node.domain in ("", "ai.onnx") for node in proto.graph.node):
            raise InputError(f"{path} does not import the default ONNX operator set")
        # Only other domains (ai.onnx.ml, training, custom): nothing to upgrade.
        source_opset = 0
    if source_opset > _MAX_OPSET:
        raise InputError(
            f"{path} uses ONNX opset {source_opset}; this onnx package supports up to {_MAX_OPSET}"
        )
    check_tensors(proto, path.parent)
    check_value_shapes(proto.graph)
    check_attribute_text(proto.graph)
    _check_einsum_equations(proto)
    try:
        # The checker and shape inference serialise the model they get: hand them the
        # graph without its large weights, so the weights are never copied (issue 8).
        onnx.checker.check_model(weightless_copy(proto))
    except onnx.checker.ValidationError as exc:
        raise InputError(f"{path} fails the ONNX checker: {_summary(exc)}") from None
    warnings: list[str] = []
    if input_names or output_names:
        proto = _extract(proto, path, input_names, output_names)
    if shapes:
        _apply_shapes(proto, shapes)
    if 0 < source_opset < CANONICAL_OPSET:
        proto = _upgrade(proto, source_opset, warnings)
    _copy_inferred_shapes(_infer_shapes(weightless_copy(proto), warnings), proto)
    model = ir.serde.deserialize_model(proto)
    ir.external_data.set_base_dir(model.graph, path.parent)
    return SourceModel(
        path=path,
        format="onnx",
        model=model,
        source_opset=source_opset,
        producer=" ".join(p for p in (proto.producer_name, proto.producer_version) if p),
        warnings=warnings,
    )


# Initializers up to this size stay in the weightless copy: shape inference reads small
# constants (shapes, axes) to propagate values.
_SMALL_TENSOR_BYTES = 1024


def _tensor_bytes(tensor: onnx.TensorProto) -> int:
    count = 1
    for dim in tensor.dims:
        count *= dim
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, TypeError, ValueError):
        itemsize = 1
    return count * itemsize


def weightless_copy(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The model with large initializers turned into typed graph inputs (no data copied)."""
    copy = onnx.ModelProto()
    _copy_fields(proto, copy, skip={"graph"})
    source, graph = proto.graph, copy.graph
    _copy_fields(source, graph, skip={"initializer"})
    inputs = {v.name for v in source.input}
    for tensor in source.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL and _tensor_bytes(tensor) <= _SMALL_TENSOR_BYTES:
            graph.initializer.append(tensor)
        elif tensor.name not in inputs:
            graph.input.append(
                onnx.helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims))
            )
    return copy


def _copy_fields(source, target, skip: set[str]) -> None:
    """Copies every set field of a protobuf message except those named in skip."""
    for field, value in source.ListFields():
        if field.name in skip:
            continue
        if field.is_repeated:
            getattr(target, field.name).extend(value)
        elif field.message_type is not None:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)


# Einsum's grammar: letters, commas, '...', an optional '->' and spaces.
_EINSUM = re.compile(r"[A-Za-z,. ]*(->[A-Za-z,. ]*)?")


def _check_einsum_equations(proto: onnx.ModelProto) -> None:
    """Rejects malformed Einsum equations, on which onnx's shape inference can loop forever."""
    for node in proto.graph.node:
        if node.op_type == "Einsum" and node.domain in ("", "ai.onnx"):
            for attr in node.attribute:
                if attr.name == "equation" and not _EINSUM.fullmatch(attr.s.decode("utf-8", "replace")):
                    raise InputError(
                        f"node {node.name!r}: Einsum equation {attr.s.decode('utf-8', 'replace')!r} is malformed"
                    )


def _copy_inferred_shapes(inferred: onnx.ModelProto, proto: onnx.ModelProto) -> None:
    """Takes the value_info (and typed outputs) shape inference found back into the model."""
    del proto.graph.value_info[:]
    proto.graph.value_info.extend(inferred.graph.value_info)
    for original, typed in zip(proto.graph.output, inferred.graph.output, strict=True):
        if typed.type.HasField("tensor_type"):
            original.type.CopyFrom(typed.type)


def default_opset(proto: onnx.ModelProto) -> int | None:
    """The version of the default ONNX domain the model imports."""
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return None


def _summary(exc: BaseException) -> str:
    """An exception's message on one line; the checker's spans several (a node dump)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _extract(
    proto: onnx.ModelProto,
    path: Path,
    input_names: Sequence[str] | None,
    output_names: Sequence[str] | None,
) -> onnx.ModelProto:
    """Cuts out the sub-graph between the given tensors (MindConverter's node flags)."""
    known = {v.name for v in proto.graph.input} | {o for n in proto.graph.node for o in n.output}
    inputs = list(input_names or [v.name for v in proto.graph.input])
    outputs = list(output_names or [v.name for v in proto.graph.output])
    for name in (*inputs, *outputs):
        if name not in known:
            raise InputError(f"{path} has no tensor named {name!r}")
    try:
        onnx.load_external_data_for_model(proto, str(path.parent))
        # The extractor types the cut's inputs and outputs from value_info, which most
        # exported models do not carry: infer it first, as onnx.utils.extract_model does.
        proto = onnx.shape_inference.infer_shapes(proto)
        sub = onnx.utils.Extractor(proto).extract_model(inputs, outputs)
    except Exception as exc:  # the extractor reports bad cuts with many exception types
        raise InputError(f"cannot cut the graph at {inputs} -> {outputs}: {_summary(exc)}") from None
    # The extractor walks back from the outputs past any input the user left out.
    available = {v.name for v in sub.graph.input} | {t.name for t in sub.graph.initializer} | {""}
    for node in sub.graph.node:
        missing = [name for name in node.input if name not in available]
        if missing:
            raise InputError(
                f"the cut {inputs} -> {outputs} is open: it also needs {missing[0]!r}; add it to --input_nodes"
            )
        available.update(node.output)
    return sub


def _apply_shapes(proto: onnx.ModelProto, shapes: Sequence[Sequence[int]]) -> None:
    """Fills unknown input dimensions from --shape; known dimensions must agree."""
    initializers = {t.name for t in proto.graph.initializer}
    inputs = [v for v in proto.graph.input if v.name not in initializers]
    if len(shapes) != len(inputs):
        raise InputError(f"--shape gives {len(shapes)} shape(s) but the model has {len(inputs)} input(s)")
    for value, shape in zip(inputs, shapes, strict=True):
        if not value.type.HasField("tensor_type"):
            raise InputError(f"--shape cannot set input {value.name!r}: it is not a tensor")
        tensor_type = value.type.tensor_type
        if not tensor_type.HasField("shape"):
            # Unknown rank: the user's shape is all there is.
            tensor_type.shape.dim.extend(onnx.TensorShapeProto.Dimension(dim_value=d) for d in shape)
            continue
        dims = tensor_type.shape.dim
        if len(dims) != len(shape):
            raise InputError(
                f"--shape {','.join(map(str, shape))} has rank {len(shape)} "
                f"but input {value.name!r} has rank {len(dims)}"
            )
        for dim, size in zip(dims, shape, strict=True):
            if dim.HasField("dim_value") and dim.dim_value != size:
                raise InputError(
                    f"--shape sets a dimension of {value.name!r} to {size}, the model fixes it at {dim.dim_value}"
                )
            dim.dim_value = size


def _spell_out_old_hardmax(proto: onnx.ModelProto) -> None:
    """Hardmax before opset 13 works on the input flattened to 2-D at `axis`; the version
    converter keeps the node unchanged, which would silently change its meaning, so the
    flattening is written out: Reshape(Hardmax(Flatten(x, axis), axis=1), Shape(x))."""
    nodes = []
    for index, node in enumerate(proto.graph.node):
        if node.op_type != "Hardmax" or node.domain not in ("", "ai.onnx"):
            nodes.append(node)
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        tag = f"{node.name or 'hardmax'}_{index}_mindgen"
        shape, flat, hard = f"{tag}_shape", f"{tag}_flat", f"{tag}_2d"
        nodes += [
            onnx.helper.make_node("Shape", [node.input[0]], [shape], name=f"{tag}/Shape"),
            onnx.helper.make_node("Flatten", [node.input[0]], [flat], name=f"{tag}/Flatten", axis=axis),
            onnx.helper.make_node("Hardmax", [flat], [hard], name=node.name, axis=1),
            onnx.helper.make_node("Reshape", [hard, shape], list(node.output), name=f"{tag}/Reshape"),
        ]
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)


def _upgrade(proto: onnx.ModelProto, source_opset: int, warnings: list[str]) -> onnx.ModelProto:
    """Brings an old model up to the canonical opset so mappers meet one set of semantics."""
    if source_opset < 13:
        _spell_out_old_hardmax(proto)
    try:
        return onnx.version_converter.convert_version(proto, CANONICAL_OPSET)
    except Exception as exc:  # the converter raises bare RuntimeErrors from C++
        warnings.append(
            f"could not upgrade opset {source_opset} to {CANONICAL_OPSET} ({_summary(exc)}); "
            "mapping the original opset"
        )
        return proto


def _infer_shapes(proto: onnx.ModelProto, warnings: list[str]) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(proto, data_prop=True)
    except Exception as exc:  # inference errors are C++ exceptions of several kinds
        warnings.append(f"shape inference stopped early: {_summary(exc)}")
        return proto
