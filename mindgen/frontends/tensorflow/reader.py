"""Reads a frozen GraphDef (.pb, or .pbtxt text) with protobuf alone; refuses what is not one, saying why."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from mindgen.errors import InputError
from mindgen.frontends.tensorflow.graph import TfGraph, from_graphdef
from mindgen.frontends.tensorflow.schema import GraphDef, SavedModel

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
VARIABLE_OPS = frozenset(
    {"VariableV2", "Variable", "VarHandleOp", "ReadVariableOp", "ResourceGather", "AssignVariableOp"}
)

FREEZE_HINT = (
    "freeze it first: TF2 - convert_variables_to_constants_v2(concrete_function) from "
    "tensorflow.python.framework.convert_to_constants, then write .graph.as_graph_def(); "
    "TF1 - tf.compat.v1.graph_util.convert_variables_to_constants(sess, graph_def, output_names)"
)


def read_graph(path: Path) -> TfGraph:
    """The GraphDef in `path` as a TfGraph; SavedModels, unfrozen and corrupt files are InputErrors."""
    _check_path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise InputError(f"model file is empty: {path}")
    graph_def = _parse_text(data, path) if path.suffix.lower() == ".pbtxt" else _parse(data, path)
    graph = from_graphdef(graph_def, str(path))
    variables = [n for n in graph.nodes.values() if n.op in VARIABLE_OPS]
    if variables:
        first = variables[0]
        raise InputError(
            f"{path} still holds variables ({first.op} {first.name!r} and {len(variables) - 1} more); "
            f"{FREEZE_HINT}"
        )
    return graph


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"model file not found: {path}")
    if path.is_dir():
        if any((path / name).exists() for name in SAVED_MODEL_FILES):
            raise InputError(f"{path} is a SavedModel directory, not a frozen graph; {FREEZE_HINT}")
        raise InputError(f"expected a model file but got a directory: {path}")
    if path.name in SAVED_MODEL_FILES:
        raise InputError(f"{path} is a SavedModel, not a frozen graph; {FREEZE_HINT}")
    if not path.is_file():
        raise InputError(f"model path is not a regular file: {path}")


def _parse(data: bytes, path: Path):
    """Parses GraphDef bytes; what does not parse (or parses empty) is checked for a SavedModel."""
    try:
        graph_def = GraphDef.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        graph_def, problem = None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        problem = "it holds no nodes"
    if graph_def is not None and len(graph_def.node):
        return graph_def
    if _is_saved_model(data):
        raise InputError(f"{path} is a SavedModel, not a frozen graph; {FREEZE_HINT}")
    raise InputError(f"{path} is not a TensorFlow GraphDef ({problem})")


def _parse_text(data: bytes, path: Path):
    """A GraphDef in protobuf text format (tf.io.write_graph(..., as_text=True))."""
    graph_def = GraphDef()
    try:
        text_format.Parse(data.decode("utf-8"), graph_def, allow_unknown_field=True)
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a text GraphDef ({' '.join(str(exc).split())[:200]})") from None
    if not len(graph_def.node):
        raise InputError(f"{path} is not a TensorFlow GraphDef (it holds no nodes)")
    return graph_def


def _is_saved_model(data: bytes) -> bool:
    try:
        saved = SavedModel.FromString(data)
    except (DecodeError, RuntimeError, ValueError):
        return False
    return any(len(meta.graph_def.node) for meta in saved.meta_graphs)
