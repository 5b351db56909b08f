"""Seed models and the mutations tests/test_fuzz.py applies to them (ONNX and TF GraphDef)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from model_zoo import mlp
from onnx import TensorProto, helper, numpy_helper

from mindgen.frontends.tensorflow.schema import GraphDef

# Cases per (test, outcome), printed by the terminal summary hook in conftest.py.
COUNTS: Counter[tuple[str, str]] = Counter()
TF_FIXTURES = Path(__file__).parent / "fixtures" / "tf"
# One knob for a longer run: MINDGEN_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py
EXAMPLES = int(os.environ.get("MINDGEN_FUZZ_EXAMPLES", "0") or 0)

# Values that stress dims, attributes, opsets and dtypes.
NASTY_INTS = [0, 1, -1, -7, 3, 2**31, 2**62, 10**12, -(2**63)]
EXTERNAL_LOCATIONS = [
    "../secret.bin",
    "/etc/passwd",
    "missing.bin",
    "sub/../../secret.bin",
    "w.bin",
    "",
    "a\0b",
    ".",
]


def _folding_model() -> onnx.ModelProto:
    """Constant-fed ConstantOfShape, Expand, Tile and Range: what constant folding materialises."""
    shape = numpy_helper.from_array(np.array([2, 4], np.int64), "shape")
    reps = numpy_helper.from_array(np.array([1, 2], np.int64), "reps")
    start = numpy_helper.from_array(np.array(0, np.int64), "start")
    limit = numpy_helper.from_array(np.array(8, np.int64), "limit")
    delta = numpy_helper.from_array(np.array(1, np.int64), "delta")
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["filled"], value=one),
        helper.make_node("Expand", ["filled", "shape"], ["expanded"]),
        helper.make_node("Tile", ["expanded", "reps"], ["tiled"]),
        helper.make_node("Range", ["start", "limit", "delta"], ["range"]),
        helper.make_node("Cast", ["range"], ["range_f"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["x", "tiled"], ["sum"]),
        helper.make_node("Mul", ["sum", "range_f"], ["scaled"]),
        helper.make_node("Conv", ["img", "kernel"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["conv"], ["flat"], axis=1),
        helper.make_node("Concat", ["scaled", "flat"], ["y"], axis=1),
    ]
    kernel = numpy_helper.from_array(np.full((1, 1, 3, 3), 0.1, np.float32), "kernel")
    graph = helper.make_graph(
        nodes,
        "folding",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8]),
            helper.make_tensor_value_info("img", TensorProto.FLOAT, [2, 1, 2, 2]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])],
        [shape, reps, start, limit, delta, kernel],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _external_model() -> onnx.ModelProto:
    """A MatMul whose weight lives in w.bin beside the model (written by write_onnx)."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], [0.0] * 16)
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="w.bin")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Relu", ["y"], ["z"])],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


ONNX_SEEDS = {"mlp": mlp(), "folding": _folding_model(), "external": _external_model()}
TF_SEEDS = {name: (TF_FIXTURES / f"{name}.pb").read_bytes() for name in ("classifier", "sequence")}


def write_onnx(folder: Path, data: bytes) -> Path:
    """Writes model bytes with the files its external-data mutations may point at."""
    folder.mkdir(parents=True)
    (folder / "w.bin").write_bytes(np.eye(4, dtype=np.float32).tobytes())
    (folder.parent / "secret.bin").write_bytes(bytes(64))
    path = folder / "m.onnx"
    path.write_bytes(data)
    return path


def mutate_bytes(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    """Flips, truncates, inserts and deletes bytes at positions taken modulo the length."""
    buffer = bytearray(data)
    for kind, position, value in edits:
        if not buffer:
            break
        at = position % len(buffer)
        if kind == "flip":
            buffer[at] ^= 1 << (value % 8)
        elif kind == "set":
            buffer[at] = value % 256
        elif kind == "truncate":
            del buffer[at:]
        elif kind == "insert":
            buffer[at:at] = bytes([value % 256]) * (1 + value % 7)
        else:  # delete
            del buffer[at : at + 1 + value % 16]
    return bytes(buffer)


def _pick(sequence, index: int):
    return sequence[index % len(sequence)] if len(sequence) else None


def _dims_of(model: onnx.ModelProto, index: int):
    """A shape's dims from an input, output or initializer (repeated field; None if none)."""
    values = [*model.graph.input, *model.graph.output]
    if index % 2 or not model.graph.initializer:
        value = _pick(values, index // 2)
        return value.type.tensor_type.shape.dim if value is not None else None
    return _pick(model.graph.initializer, index // 2)


def mutate_onnx(model: onnx.ModelProto, edits: list[tuple[str, int, int, int]]) -> bytes:
    """Applies structural edits (op, a, b, c: indexes and values taken modulo what exists)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    for kind, a, b, c in edits:
        node = _pick(graph.node, a)
        nasty = NASTY_INTS[c % len(NASTY_INTS)]
        if kind == "drop_node" and node is not None:
            graph.node.remove(node)
        elif kind == "dup_node" and node is not None:
            graph.node.insert(b % (len(graph.node) + 1), onnx.NodeProto.FromString(node.SerializeToString()))
        elif kind == "dangling" and node is not None and node.input:
            node.input[b % len(node.input)] = "nowhere"
        elif kind == "cycle" and node is not None and node.input:
            later = graph.node[(a + b) % len(graph.node)]
            node.input[c % len(node.input)] = later.output[0] if later.output else ""
        elif kind == "dim":
            dims = _dims_of(model, b)
            if isinstance(dims, onnx.TensorProto):
                if dims.dims:
                    dims.dims[c % len(dims.dims)] = NASTY_INTS[a % len(NASTY_INTS)]
            elif dims is not None and len(dims):
                dims[c % len(dims)].dim_value = NASTY_INTS[a % len(NASTY_INTS)]
        elif kind == "dtype":
            dtype = c % 26
            if b % 2 and graph.initializer:
                _pick(graph.initializer, a).data_type = dtype
            elif graph.input:
                _pick(graph.input, a).type.tensor_type.elem_type = dtype
        elif kind == "raw_size" and graph.initializer:
            tensor = _pick(graph.initializer, a)
            try:
                raw = numpy_helper.to_array(tensor).tobytes() if tensor.data_location != 1 else b""
            except (ValueError, TypeError):  # an earlier edit left it inconsistent already
                raw = tensor.raw_data
            tensor.ClearField("float_data")
            tensor.ClearField("int64_data")
            tensor.raw_data = raw[: b % (len(raw) + 1)] + bytes(c % 9)
        elif kind == "huge_initializer":
            # Built by hand: onnx.helper refuses data that does not fill the declared shape.
            tensor = onnx.TensorProto(name=f"huge{a}", data_type=TensorProto.FLOAT, dims=[10**6, 10**6])
            tensor.raw_data = bytes(4 * (b % 3))
            graph.initializer.append(tensor)
            if graph.node:
                target = _pick(graph.node, c)
                target.input.append(tensor.name)
        elif kind == "attr_type" and node is not None and node.attribute:
            attr = _pick(node.attribute, b)
            name = attr.name
            attr.Clear()
            attr.name = name
            choice = c % 5
            attr.type, field = [
                (onnx.AttributeProto.STRING, "s"),
                (onnx.AttributeProto.FLOAT, "f"),
                (onnx.AttributeProto.INTS, "ints"),
                (onnx.AttributeProto.INT, "i"),
                (onnx.AttributeProto.TENSOR, "t"),
            ][choice]
            if field == "s":
                attr.s = b"\xff<script>"
            elif field == "f":
                attr.f = float("nan")
            elif field == "ints":
                attr.ints.extend([nasty, nasty])
            elif field == "i":
                attr.i = nasty
            else:
                attr.t.CopyFrom(helper.make_tensor("t", TensorProto.INT64, [1], [nasty]))
        elif kind == "attr_value" and node is not None and node.attribute:
            attr = _pick(node.attribute, b)
            if attr.type == onnx.AttributeProto.INT:
                attr.i = nasty
            elif attr.type == onnx.AttributeProto.INTS and attr.ints:
                attr.ints[c % len(attr.ints)] = NASTY_INTS[(a + b) % len(NASTY_INTS)]
            elif attr.type == onnx.AttributeProto.TENSOR:
                attr.t.CopyFrom(helper.make_tensor("t", TensorProto.INT64, [2], [nasty, nasty]))
        elif kind == "const_input" and graph.initializer:
            # Shape-like constants (ConstantOfShape/Expand/Tile/Range inputs) set to huge values.
            tensor = _pick(graph.initializer, a)
            if tensor.data_type == TensorProto.INT64 and tensor.data_location != TensorProto.EXTERNAL:
                array = numpy_helper.to_array(tensor).copy()
                array.flat[b % max(array.size, 1)] = [10**5, 10**7, 2**40, -5, 0][c % 5]
                tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
        elif kind == "empty_graph":
            del graph.node[:]
            if c % 2:
                del graph.output[:]
        elif kind == "opset":
            model.opset_import[0].version = [0, -1, 1, 6, 99, 10**6, 12][c % 7]
        elif kind == "ir_version":
            model.ir_version = [0, -1, 1, 3, 99][c % 5]
        elif kind == "external" and graph.initializer:
            tensor = _pick(graph.initializer, a)
            tensor.ClearField("raw_data")
            tensor.ClearField("float_data")
            tensor.data_location = TensorProto.EXTERNAL
            del tensor.external_data[:]
            tensor.external_data.add(key="location", value=EXTERNAL_LOCATIONS[c % len(EXTERNAL_LOCATIONS)])
            if b % 3 == 1:
                tensor.external_data.add(key="offset", value=str(NASTY_INTS[b % len(NASTY_INTS)]))
            elif b % 3 == 2:
                tensor.external_data.add(key="length", value=str(NASTY_INTS[(b // 3) % len(NASTY_INTS)]))
    return model.SerializeToString()


def _tf_attr(node, b: int):
    keys = sorted(node.attr.keys())
    return (keys[b % len(keys)], node.attr[keys[b % len(keys)]]) if keys else (None, None)


def _retype_tf_attr(attr, choice: int, nasty: int) -> None:
    """Gives an AttrValue a value of another kind than its op expects."""
    if choice == 0:
        attr.s = b"\xff<script>"
    elif choice == 1:
        attr.i = nasty
    elif choice == 2:
        attr.f = float("inf")
    elif choice == 3:
        attr.list.i.extend([nasty])
    elif choice == 4:
        attr.b = True
    else:
        attr.type = 7


def mutate_graphdef(data: bytes, edits: list[tuple[str, int, int, int]]) -> bytes:
    """Structural edits of a GraphDef: nodes, inputs, shapes, dtypes, tensor contents, attributes."""
    graph = GraphDef.FromString(data)
    for kind, a, b, c in edits:
        node = _pick(graph.node, a)
        nasty = NASTY_INTS[c % len(NASTY_INTS)]
        if node is None:
            break
        if kind == "drop_node":
            graph.node.remove(node)
        elif kind == "dup_node":
            graph.node.add().CopyFrom(node)
        elif kind == "dangling" and node.input:
            node.input[b % len(node.input)] = ["nowhere", "nowhere:3", "^nowhere", ":0", ""][c % 5]
        elif kind == "cycle" and node.input:
            node.input[b % len(node.input)] = [node.name, _pick(graph.node, a + c).name + ":1"][b % 2]
        elif kind == "dim":
            for attr in node.attr.values():
                shape = attr.tensor.tensor_shape if attr.HasField("tensor") else attr.shape
                if attr.HasField("shape") or attr.HasField("tensor"):
                    if len(shape.dim):
                        shape.dim[b % len(shape.dim)].size = nasty
                    else:
                        shape.dim.add().size = nasty
        elif kind == "dtype":
            for attr in node.attr.values():
                if attr.HasField("type"):
                    attr.type = c % 27
                elif attr.HasField("tensor"):
                    attr.tensor.dtype = c % 27
        elif kind == "tensor_content":
            for attr in node.attr.values():
                if attr.HasField("tensor") and attr.tensor.tensor_content:
                    content = attr.tensor.tensor_content
                    attr.tensor.tensor_content = content[: b % (len(content) + 1)] + bytes(c % 5)
        elif kind == "attr_type":
            key, attr = _tf_attr(node, b)
            if attr is not None:
                _retype_tf_attr(attr, c % 6, nasty)
        elif kind == "op":
            node.op = ["Conv2D", "Switch", "Merge", "Enter", "NoOp", "Fancy<script>", "", "Placeholder"][
                c % 8
            ]
        elif kind == "empty_graph":
            del graph.node[1 + b % max(len(graph.node) - 1, 1) :]
        elif kind == "rename":
            node.name = ["", "x", "a:0", "^b", "dup", node.name + "/"][c % 6]
    return graph.SerializeToString()
