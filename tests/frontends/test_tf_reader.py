"""Reading frozen GraphDefs with protobuf alone: schema, tensors, and the inputs it must refuse."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.make_tf_fixtures import const, graph_def, node, placeholder

from mindgen.cli import main
from mindgen.errors import InputError
from mindgen.frontends.tensorflow import load_tensorflow
from mindgen.frontends.tensorflow.schema import GraphDef, SavedModel, TensorProto
from mindgen.frontends.tensorflow.tensors import to_numpy


def _write(tmp_path, data: bytes, name: str = "model.pb"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _relu_graph() -> bytes:
    return graph_def(placeholder("x", [-1, 4]), node("y", "Relu", ["x"], T=1))


def test_schema_matches_tensorflow_descriptors():
    pytest.importorskip("tensorflow")
    from tensorflow.core.framework import graph_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    def fields(descriptor):
        return {f.name: (f.number, f.type, f.is_repeated) for f in descriptor.fields}

    pairs = [(GraphDef.DESCRIPTOR, graph_pb2.GraphDef.DESCRIPTOR)]
    pairs.append((SavedModel.DESCRIPTOR, saved_model_pb2.SavedModel.DESCRIPTOR))
    seen = set()
    while pairs:
        ours, theirs = pairs.pop()
        if ours.full_name in seen:
            continue
        seen.add(ours.full_name)
        reference = fields(theirs)
        for name, spec in fields(ours).items():
            assert reference[name] == spec, f"{ours.full_name}.{name}"
            field = ours.fields_by_name[name]
            if field.message_type is not None:
                pairs.append((field.message_type, theirs.fields_by_name[name].message_type))
    assert {"GraphDef", "NodeDef", "AttrValue", "TensorProto", "TensorShapeProto"} <= {
        n.rsplit(".", 1)[-1] for n in seen
    }


def _tensor(dtype: int, shape: list[int], **values) -> TensorProto:
    proto = TensorProto(dtype=dtype)
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    for field, entries in values.items():
        if field == "tensor_content":
            proto.tensor_content = entries
        else:
            getattr(proto, field).extend(entries)
    return proto


@pytest.mark.parametrize(
    ("proto", "expected"),
    [
        (
            _tensor(1, [2, 2], tensor_content=np.arange(4, dtype="<f4").tobytes()),
            np.arange(4.0).reshape(2, 2),
        ),
        (_tensor(1, [3], float_val=[1.5, 2.5, 3.5]), np.array([1.5, 2.5, 3.5])),
        (_tensor(1, [2, 3], float_val=[7.0]), np.full((2, 3), 7.0)),  # the last value repeats
        (_tensor(3, [4], int_val=[1, 2]), np.array([1, 2, 2, 2])),
        (_tensor(9, [2], int64_val=[-(2**40), 5]), np.array([-(2**40), 5])),
        (_tensor(10, [3], bool_val=[True, False, True]), np.array([True, False, True])),
        (
            _tensor(19, [2], half_val=[int(v) for v in np.array([1.0, -2.0], np.float16).view(np.uint16)]),
            [1, -2],
        ),
        (_tensor(4, [2], int_val=[250, 3]), np.array([250, 3])),
        (_tensor(1, [2]), np.zeros(2)),
        (_tensor(1, []), np.zeros(())),
    ],
)
def test_tensor_values_decode(proto, expected):
    array = to_numpy(proto, "test")
    np.testing.assert_array_equal(array, np.asarray(expected, dtype=array.dtype))
    assert array.shape == np.asarray(expected).shape


def test_tensor_with_too_many_values_is_input_error():
    with pytest.raises(InputError, match="holds 3 values"):
        to_numpy(_tensor(1, [2], float_val=[1.0, 2.0, 3.0]), "c")


def test_corrupt_bytes_exit_2_with_one_line(tmp_path, capsys):
    path = _write(tmp_path, b"\x0a\xff\xff\xff\xff\x0f garbage")
    assert main(["convert", str(path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "not a TensorFlow GraphDef" in err
    assert not (tmp_path / "out").exists()


def test_onnx_file_named_pb_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = onnx.helper.make_model(
        onnx.helper.make_graph(
            [onnx.helper.make_node("Relu", ["x"], ["y"])],
            "g",
            [onnx.helper.make_tensor_value_info("x", 1, [1])],
            [onnx.helper.make_tensor_value_info("y", 1, [1])],
        )
    )
    path = _write(tmp_path, model.SerializeToString())
    with pytest.raises(InputError, match="not a TensorFlow GraphDef"):
        load_tensorflow(path)


def test_empty_file(tmp_path):
    with pytest.raises(InputError, match="empty"):
        load_tensorflow(_write(tmp_path, b""))


@pytest.mark.parametrize("layout", ["directory", "saved_model.pb", "renamed"])
def test_saved_model_says_how_to_freeze(tmp_path, layout):
    saved = SavedModel(saved_model_schema_version=1)
    saved.meta_graphs.add().graph_def.ParseFromString(_relu_graph())
    data = saved.SerializeToString()
    if layout == "directory":
        folder = tmp_path / "exported"
        (folder / "variables").mkdir(parents=True)
        _write(folder, data, "saved_model.pb")
        path = folder
    else:
        path = _write(tmp_path, data, "saved_model.pb" if layout == "saved_model.pb" else "model.pb")
    with pytest.raises(InputError, match="SavedModel") as error:
        load_tensorflow(path)
    message = str(error.value)
    assert "convert_variables_to_constants" in message and "\n" not in message


def test_saved_model_directory_through_cli(tmp_path, capsys):
    folder = tmp_path / "exported"
    folder.mkdir()
    _write(folder, b"\x08\x01", "saved_model.pb")
    assert main(["convert", str(folder), "--output", str(tmp_path / "out")]) == 2
    assert "freeze it first" in capsys.readouterr().err


@pytest.mark.parametrize("op", ["VariableV2", "VarHandleOp", "ReadVariableOp"])
def test_graph_with_variables_says_how_to_freeze(tmp_path, op):
    data = graph_def(
        placeholder("x", [2]), node("dense/kernel", op, [], dtype=1), node("y", "Add", ["x", "dense/kernel"])
    )
    with pytest.raises(InputError, match=f"still holds variables \\({op} 'dense/kernel'") as error:
        load_tensorflow(_write(tmp_path, data))
    assert "freeze it first" in str(error.value)


def test_input_that_names_a_missing_node(tmp_path):
    data = graph_def(placeholder("x", [2]), node("y", "Relu", ["x", "^nowhere"]))
    with pytest.raises(InputError, match="reads 'nowhere'"):
        load_tensorflow(_write(tmp_path, data))


def test_control_flow_on_a_run_time_predicate_is_reported_precisely(tmp_path):
    data = graph_def(
        placeholder("x", [2]),
        placeholder("flag", [], dtype=10),
        node("cond/Switch", "Switch", ["x", "flag"]),
        node("cond/double", "Mul", ["cond/Switch:1", "cond/Switch:1"]),
        node("cond/Merge", "Merge", ["cond/Switch", "cond/double"]),
        node("y", "Relu", ["cond/Merge"]),
    )
    with pytest.raises(InputError, match="control flow") as error:
        load_tensorflow(_write(tmp_path, data))
    message = str(error.value)
    assert "Merge/Switch" in message and "'cond/Switch'" in message and "'cond/Merge'" in message


def test_cond_on_a_constant_predicate_keeps_the_taken_branch(tmp_path):
    data = graph_def(
        placeholder("x", [2]),
        const("training/input", np.array(False)),
        node("training", "PlaceholderWithDefault", ["training/input"], dtype=10, shape=[]),
        node("cond/Switch", "Switch", ["x", "training"]),
        node("cond/dropout", "RandomUniform", ["cond/Switch:1"]),
        node("cond/Merge", "Merge", ["cond/Switch", "cond/dropout"]),
        node("y", "Relu", ["cond/Merge"]),
    )
    source = load_tensorflow(_write(tmp_path, data))
    assert [n.op_type for n in source.graph] == ["Relu"]
    assert source.format == "tensorflow"


def test_text_graph_def_is_read(tmp_path):
    from google.protobuf import text_format

    graph = GraphDef.FromString(_relu_graph())
    path = _write(tmp_path, text_format.MessageToString(graph).encode(), "model.pbtxt")
    source = load_tensorflow(path)
    assert [n.op_type for n in source.graph] == ["Relu"]
    with pytest.raises(InputError, match="not a text GraphDef"):
        load_tensorflow(_write(tmp_path, b"node { name: ", "bad.pbtxt"))
