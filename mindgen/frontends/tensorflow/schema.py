"""The GraphDef protobuf schema, declared in code so that reading a .pb needs only protobuf.

Field numbers follow tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape,
types,versions,function,op_def}.proto and tensorflow/core/protobuf/{saved_model,meta_graph}.proto. Only the
fields a conversion reads are declared; protobuf keeps the others as unknown fields.
"""

from __future__ import annotations

import enum

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "mindgen.tensorflow"
_F = descriptor_pb2.FieldDescriptorProto


class DataType(enum.IntEnum):
    """tensorflow.DataType (types.proto); reference types are these plus 100."""

    DT_INVALID = 0
    DT_FLOAT = 1
    DT_DOUBLE = 2
    DT_INT32 = 3
    DT_UINT8 = 4
    DT_INT16 = 5
    DT_INT8 = 6
    DT_STRING = 7
    DT_COMPLEX64 = 8
    DT_INT64 = 9
    DT_BOOL = 10
    DT_QINT8 = 11
    DT_QUINT8 = 12
    DT_QINT32 = 13
    DT_BFLOAT16 = 14
    DT_QINT16 = 15
    DT_QUINT16 = 16
    DT_UINT16 = 17
    DT_COMPLEX128 = 18
    DT_HALF = 19
    DT_RESOURCE = 20
    DT_VARIANT = 21
    DT_UINT32 = 22
    DT_UINT64 = 23
    DT_FLOAT8_E5M2 = 24
    DT_FLOAT8_E4M3FN = 25


# (name, number, type, repeated, message type); message types are names in this schema.
_INT32, _INT64, _FLOAT, _DOUBLE = _F.TYPE_INT32, _F.TYPE_INT64, _F.TYPE_FLOAT, _F.TYPE_DOUBLE
_BOOL, _STRING, _BYTES, _UINT32, _UINT64 = (
    _F.TYPE_BOOL,
    _F.TYPE_STRING,
    _F.TYPE_BYTES,
    _F.TYPE_UINT32,
    _F.TYPE_UINT64,
)
_ENUM, _MESSAGE = _F.TYPE_ENUM, _F.TYPE_MESSAGE

_MESSAGES: dict[str, list[tuple[str, int, int, bool, str]]] = {
    "TensorShapeProto.Dim": [("size", 1, _INT64, False, ""), ("name", 2, _STRING, False, "")],
    "TensorShapeProto": [
        ("dim", 2, _MESSAGE, True, "TensorShapeProto.Dim"),
        ("unknown_rank", 3, _BOOL, False, ""),
    ],
    "TensorProto": [
        ("dtype", 1, _ENUM, False, "DataType"),
        ("tensor_shape", 2, _MESSAGE, False, "TensorShapeProto"),
        ("version_number", 3, _INT32, False, ""),
        ("tensor_content", 4, _BYTES, False, ""),
        ("float_val", 5, _FLOAT, True, ""),
        ("double_val", 6, _DOUBLE, True, ""),
        ("int_val", 7, _INT32, True, ""),
        ("string_val", 8, _BYTES, True, ""),
        ("scomplex_val", 9, _FLOAT, True, ""),
        ("int64_val", 10, _INT64, True, ""),
        ("bool_val", 11, _BOOL, True, ""),
        ("dcomplex_val", 12, _DOUBLE, True, ""),
        ("half_val", 13, _INT32, True, ""),
        ("uint32_val", 16, _UINT32, True, ""),
        ("uint64_val", 17, _UINT64, True, ""),
        ("float8_val", 18, _BYTES, False, ""),
    ],
    "AttrValue.ListValue": [
        ("s", 2, _BYTES, True, ""),
        ("i", 3, _INT64, True, ""),
        ("f", 4, _FLOAT, True, ""),
        ("b", 5, _BOOL, True, ""),
        ("type", 6, _ENUM, True, "DataType"),
        ("shape", 7, _MESSAGE, True, "TensorShapeProto"),
        ("tensor", 8, _MESSAGE, True, "TensorProto"),
        ("func", 9, _MESSAGE, True, "NameAttrList"),
    ],
    "AttrValue": [
        ("list", 1, _MESSAGE, False, "AttrValue.ListValue"),
        ("s", 2, _BYTES, False, ""),
        ("i", 3, _INT64, False, ""),
        ("f", 4, _FLOAT, False, ""),
        ("b", 5, _BOOL, False, ""),
        ("type", 6, _ENUM, False, "DataType"),
        ("shape", 7, _MESSAGE, False, "TensorShapeProto"),
        ("tensor", 8, _MESSAGE, False, "TensorProto"),
        ("placeholder", 9, _STRING, False, ""),
        ("func", 10, _MESSAGE, False, "NameAttrList"),
    ],
    "NameAttrList.AttrEntry": [("key", 1, _STRING, False, ""), ("value", 2, _MESSAGE, False, "AttrValue")],
    "NameAttrList": [("name", 1, _STRING, False, ""), ("attr", 2, _MESSAGE, True, "NameAttrList.AttrEntry")],
    "NodeDef.AttrEntry": [("key", 1, _STRING, False, ""), ("value", 2, _MESSAGE, False, "AttrValue")],
    "NodeDef": [
        ("name", 1, _STRING, False, ""),
        ("op", 2, _STRING, False, ""),
        ("input", 3, _STRING, True, ""),
        ("device", 4, _STRING, False, ""),
        ("attr", 5, _MESSAGE, True, "NodeDef.AttrEntry"),
    ],
    "VersionDef": [
        ("producer", 1, _INT32, False, ""),
        ("min_consumer", 2, _INT32, False, ""),
        ("bad_consumers", 3, _INT32, True, ""),
    ],
    "OpDef.ArgDef": [("name", 1, _STRING, False, ""), ("type", 3, _ENUM, False, "DataType")],
    "OpDef": [
        ("name", 1, _STRING, False, ""),
        ("input_arg", 2, _MESSAGE, True, "OpDef.ArgDef"),
        ("output_arg", 3, _MESSAGE, True, "OpDef.ArgDef"),
    ],
    "FunctionDef.RetEntry": [("key", 1, _STRING, False, ""), ("value", 2, _STRING, False, "")],
    "FunctionDef": [
        ("signature", 1, _MESSAGE, False, "OpDef"),
        ("node_def", 3, _MESSAGE, True, "NodeDef"),
        ("ret", 4, _MESSAGE, True, "FunctionDef.RetEntry"),
    ],
    "FunctionDefLibrary": [("function", 1, _MESSAGE, True, "FunctionDef")],
    "GraphDef": [
        ("node", 1, _MESSAGE, True, "NodeDef"),
        ("library", 2, _MESSAGE, False, "FunctionDefLibrary"),
        ("version", 3, _INT32, False, ""),
        ("versions", 4, _MESSAGE, False, "VersionDef"),
    ],
    # Only to recognise a SavedModel handed over as if it were a frozen graph.
    "MetaGraphDef": [("graph_def", 2, _MESSAGE, False, "GraphDef")],
    "SavedModel": [
        ("saved_model_schema_version", 1, _INT64, False, ""),
        ("meta_graphs", 2, _MESSAGE, True, "MetaGraphDef"),
    ],
}
_MAP_ENTRIES = {"NodeDef.AttrEntry", "NameAttrList.AttrEntry", "FunctionDef.RetEntry"}
# Messages whose fields form one `oneof`, so that WhichOneof tells a set 0 from an unset field.
_ONEOFS = {"AttrValue": "value"}


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The schema above as a proto3 file descriptor (nested names become nested messages)."""
    proto = descriptor_pb2.FileDescriptorProto(name="mindgen_tensorflow_graph.proto", package=_PACKAGE)
    proto.syntax = "proto3"
    enum_proto = proto.enum_type.add(name="DataType")
    for member in DataType:
        enum_proto.value.add(name=member.name, number=member.value)
    made: dict[str, descriptor_pb2.DescriptorProto] = {}
    for full_name in sorted(_MESSAGES, key=lambda n: n.count(".")):
        parent, _, short = full_name.rpartition(".")
        message = (made[parent].nested_type if parent else proto.message_type).add(name=short)
        if full_name in _MAP_ENTRIES:
            message.options.map_entry = True
        made[full_name] = message
        oneof = _ONEOFS.get(full_name)
        if oneof:
            message.oneof_decl.add(name=oneof)
        for name, number, kind, repeated, type_name in _MESSAGES[full_name]:
            field = message.field.add(name=name, number=number, type=kind)
            field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if type_name:
                field.type_name = f".{_PACKAGE}.{type_name}"
            if oneof:
                field.oneof_index = 0
    return proto


# A private pool: TensorFlow's own descriptors may live in the default pool of the same process.
_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file_descriptor())


def message_class(name: str) -> type:
    """The generated message class for a schema name such as 'GraphDef' or 'TensorProto'."""
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


GraphDef = message_class("GraphDef")
NodeDef = message_class("NodeDef")
AttrValue = message_class("AttrValue")
TensorProto = message_class("TensorProto")
TensorShapeProto = message_class("TensorShapeProto")
SavedModel = message_class("SavedModel")
