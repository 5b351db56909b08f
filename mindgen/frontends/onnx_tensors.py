"""Checks that each ONNX tensor's data matches its declared type and shape, before any is read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import onnx
import onnx_ir as ir

from mindgen.errors import InputError
from mindgen.frontends.limits import check_fits_in_memory, element_count


def check_tensors(proto: onnx.ModelProto, base_dir: Path) -> None:
    """Every initializer and Constant value holds exactly what its dims declare, in the file or
    in an external file inside the model's folder; a forged size is an InputError, not numpy's."""
    root = base_dir.resolve()
    for tensor, what in _tensors(proto.graph):
        if tensor.data_type == onnx.TensorProto.STRING:
            count = element_count(tensor.dims, what)
            if tensor.data_location != onnx.TensorProto.EXTERNAL and len(tensor.string_data) != count:
                raise InputError(
                    f"{what} holds {len(tensor.string_data)} strings, its shape {list(tensor.dims)} needs {count}"
                )
            continue
        bits = _bitwidth(tensor, what)
        count = element_count(tensor.dims, what)
        nbytes = (count * bits + 7) // 8
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            _check_external(tensor, what, root, nbytes)
            check_fits_in_memory(nbytes, f"{what} (shape {list(tensor.dims)})")
        elif tensor.HasField("raw_data"):
            if len(tensor.raw_data) != nbytes:
                raise InputError(
                    f"{what} holds {len(tensor.raw_data)} bytes, but its shape {list(tensor.dims)} needs {nbytes}"
                )
        else:
            _check_typed_values(tensor, what, count, bits)


def check_value_shapes(graph: onnx.GraphProto) -> None:
    """Graph inputs have an element type; inputs and outputs declare no negative dimension
    (-1 is not 'unknown' in ONNX)."""
    initializers = {t.name for t in graph.initializer}
    for value in graph.input:
        typed = value.type.HasField("tensor_type")
        if typed and value.name not in initializers and not value.type.tensor_type.elem_type:
            raise InputError(f"input {value.name!r} declares no element type")
    for value in [*graph.input, *graph.output]:
        if not value.type.HasField("tensor_type"):
            continue
        dims = value.type.tensor_type.shape.dim
        if any(d.HasField("dim_value") and d.dim_value < 0 for d in dims):
            shape = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in dims]
            raise InputError(f"{value.name!r} declares a negative dimension: shape {shape}")


def check_attribute_text(graph: onnx.GraphProto) -> None:
    """String attributes are UTF-8, as ONNX requires (onnx-ir would warn on stderr and go on)."""
    for node in graph.node:
        for attr in node.attribute:
            for text in [attr.s, *attr.strings]:
                try:
                    text.decode("utf-8")
                except UnicodeDecodeError:
                    raise InputError(
                        f"node {node.name or node.op_type!r}: attribute {attr.name!r} is not UTF-8 text"
                    ) from None
            for sub in [attr.g, *attr.graphs]:
                check_attribute_text(sub)


def _tensors(graph: onnx.GraphProto) -> Iterator[tuple[onnx.TensorProto, str]]:
    """The initializers and tensor attributes of the graph and of every body graph inside it
    (If branches, Loop and Scan bodies), with a label each."""
    for tensor in graph.initializer:
        yield tensor, f"initializer {tensor.name!r}"
    for node in graph.node:
        label = node.name or (node.output[0] if node.output else node.op_type)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                yield attr.t, f"tensor attribute {attr.name!r} of node {label!r}"
            elif attr.type == onnx.AttributeProto.TENSORS:
                for tensor in attr.tensors:
                    yield tensor, f"tensor attribute {attr.name!r} of node {label!r}"
            for body in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                yield from _tensors(body)


def _bitwidth(tensor: onnx.TensorProto, what: str) -> int:
    try:
        return ir.DataType(tensor.data_type).bitwidth
    except (ValueError, TypeError):
        raise InputError(f"{what} has data type {tensor.data_type}, which ONNX does not define") from None


def _check_typed_values(tensor: onnx.TensorProto, what: str, count: int, bits: int) -> None:
    """The typed list (float_data, int32_data, ...) holds one entry per element (two for complex
    types; sub-byte types pack a byte's worth of elements into each entry)."""
    field = onnx.helper.tensor_dtype_to_field(tensor.data_type)
    if tensor.data_type in (onnx.TensorProto.COMPLEX64, onnx.TensorProto.COMPLEX128):
        expected = 2 * count
    elif bits < 8:
        expected = (count * bits + 7) // 8
    else:
        expected = count
    held = len(getattr(tensor, field))
    if held != expected:
        raise InputError(
            f"{what} holds {held} value(s) in {field}, but its type and shape {list(tensor.dims)} need {expected}"
        )


def _external_int(tensor: onnx.TensorProto, key: str, what: str) -> int | None:
    text = next((e.value for e in tensor.external_data if e.key == key), None)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{what} has a non-numeric external data {key}: {text!r}") from None
    if value < 0:
        raise InputError(f"{what} has a negative external data {key}: {value}")
    return value


def _check_external(tensor: onnx.TensorProto, what: str, root: Path, nbytes: int) -> None:
    """The external file lies inside the model's folder and holds the tensor's bytes."""
    location = next((e.value for e in tensor.external_data if e.key == "location"), "")
    if not location or "\0" in location or os.path.isabs(location):
        raise InputError(f"{what} has an unusable external data location: {location!r}")
    target = (root / location).resolve()
    if root not in target.parents:
        raise InputError(f"{what} points outside the model's folder: {location!r}")
    if not target.is_file():
        raise InputError(f"external data file for {what} is missing: {location!r}")
    offset = _external_int(tensor, "offset", what) or 0
    length = _external_int(tensor, "length", what)
    if length is not None and length != nbytes:
        raise InputError(
            f"{what} gives its external data length as {length} bytes, its shape {list(tensor.dims)} needs {nbytes}"
        )
    size = target.stat().st_size
    if offset + nbytes > size:
        raise InputError(
            f"{what} needs {nbytes} bytes at offset {offset} of {location!r}, which holds {size} bytes"
        )


def onnxruntime_options(model: ir.Model | None):
    """onnxruntime session options that log errors only; for a model serialized to bytes,
    pointed at the folder its external data (in-place weights too) is relative to, which a
    session built from bytes has no path to find it from."""
    import onnxruntime as ort  # only for the passes and checks that run the graph

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings are not the user's business
    folder = next(
        (
            value.const_value.base_dir
            for value in (model.graph.initializers.values() if model is not None else ())
            if isinstance(value.const_value, ir.ExternalTensor)
        ),
        None,
    )
    if folder:
        options.add_session_config_entry("session.model_external_initializers_file_folder_path", str(folder))
    return options
