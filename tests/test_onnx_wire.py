"""Weights read in place from the ONNX file (mindgen/frontends/onnx_wire.py): the same
conversion, byte for byte, as through protobuf; malformed bytes fall back, never crash."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from model_zoo import mlp, mobilenet_se_block, resnet_like, transformer_encoder_layer
from onnx import TensorProto, helper, numpy_helper

from mindgen.converter import convert
from mindgen.errors import InputError
from mindgen.frontends import onnx_loader, onnx_wire
from mindgen.frontends.onnx_loader import read_onnx

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("model.py", "model.ckpt", "weight_map.json", "report.md")


def _outputs(folder: Path) -> dict[str, bytes]:
    """The conversion's files, without what differs run to run (timings, the output folder)."""
    found = {name: (folder / name).read_bytes() for name in OUTPUTS}
    found["report.md"] = re.sub(rb"\n\| [a-z]+ \| [0-9.]+ \|", b"", found["report.md"])
    report = json.loads((folder / "report.json").read_text())
    del report["timings"], report["files"]
    found["report.json"] = json.dumps(report, sort_keys=True).encode()
    return found


def _convert_both_ways(path: Path, work: Path, monkeypatch) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Outputs through protobuf, then with every weight of 256 bytes or more read in place."""
    monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 2**62)
    convert(path, work / "protobuf")
    monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 0)
    monkeypatch.setattr(onnx_wire, "INLINE_BYTES", 256)
    convert(path, work / "in_place")
    return _outputs(work / "protobuf"), _outputs(work / "in_place")


def _data_loaded(proto: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """The model with the bytes of every tensor that points into its own file read back in:
    the inverse of the rewrite, so it must give what protobuf parsed from the file."""
    data = path.read_bytes()
    for tensor in proto.graph.initializer:
        entries = {e.key: e.value for e in tensor.external_data}
        if tensor.data_location == TensorProto.EXTERNAL and entries.get("location") == path.name:
            offset, length = int(entries["offset"]), int(entries["length"])
            tensor.ClearField("external_data")
            tensor.ClearField("data_location")
            tensor.raw_data = data[offset : offset + length]
    return proto


@pytest.mark.parametrize("build", [mlp, resnet_like, mobilenet_se_block, transformer_encoder_layer])
def test_in_place_weights_convert_byte_identically(build, tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    onnx.save(build(), path)
    monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 0)
    monkeypatch.setattr(onnx_wire, "INLINE_BYTES", 256)
    proto = read_onnx(path)
    moved = [t for t in proto.graph.initializer if t.data_location == TensorProto.EXTERNAL]
    assert moved, "no weight was left in place: the test would compare protobuf with itself"
    protobuf, in_place = _convert_both_ways(path, tmp_path, monkeypatch)
    assert in_place == protobuf


def test_large_model_reads_its_weights_in_place_by_default(tmp_path, monkeypatch):
    """Above IN_PLACE_FILE_BYTES without any patching: the 9 MiB weight stays in the file."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((1536, 1536)).astype(np.float32), "fc.weight")
    shape = numpy_helper.from_array(np.array([-1, 768, 2], np.int64), "shape")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "fc.weight"], ["h"], name="fc"),
            helper.make_node("Reshape", ["h", "shape"], ["y"], name="split"),
        ],
        "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1536])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 768, 2])],
        [weight, shape],
    )
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    assert path.stat().st_size > onnx_loader.IN_PLACE_FILE_BYTES
    proto = read_onnx(path)
    locations = {t.name: t.data_location for t in proto.graph.initializer}
    assert locations == {"fc.weight": TensorProto.EXTERNAL, "shape": TensorProto.DEFAULT}
    assert proto.ByteSize() < 4096  # the parsed message holds no weight
    convert(path, tmp_path / "in_place")
    monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 2**62)
    convert(path, tmp_path / "protobuf")
    assert _outputs(tmp_path / "in_place") == _outputs(tmp_path / "protobuf")


def test_rewritten_model_equals_the_original_once_its_data_is_loaded(tmp_path, monkeypatch):
    """Every moved tensor points at exactly its raw_data's bytes; nothing else changes."""
    original = resnet_like()
    path = tmp_path / "resnet.onnx"
    onnx.save(original, path)
    monkeypatch.setattr(onnx_wire, "INLINE_BYTES", 1)
    data = path.read_bytes()
    rewritten = onnx.ModelProto.FromString(onnx_wire.externalize_weights(memoryview(data), path.name))
    for tensor in rewritten.graph.initializer:
        assert tensor.data_location == TensorProto.EXTERNAL and not tensor.HasField("raw_data")
        entries = {e.key: e.value for e in tensor.external_data}
        offset, length = int(entries["offset"]), int(entries["length"])
        assert entries["location"] == "resnet.onnx"
        assert data[offset : offset + length] == next(
            t.raw_data for t in original.graph.initializer if t.name == tensor.name
        )
    assert _data_loaded(rewritten, path) == onnx.load(path)


def test_tensor_whose_bytes_do_not_match_its_dims_stays_for_the_usual_check(tmp_path, monkeypatch):
    model = mlp()
    weight = next(t for t in model.graph.initializer if t.name == "fc1.weight")
    weight.raw_data = weight.raw_data[:-4]
    path = tmp_path / "short.onnx"
    path.write_bytes(model.SerializeToString())
    monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 0)
    monkeypatch.setattr(onnx_wire, "INLINE_BYTES", 256)
    with pytest.raises(InputError, match=r"holds \d+ bytes, but its shape"):
        onnx_loader.load_onnx(path)


def test_symlinked_model_is_read_through_protobuf(tmp_path, monkeypatch):
    """External data must sit beside the bytes it points into, which a symlink does not."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").mkdir()
    onnx.save(resnet_like(), tmp_path / "real" / "model.onnx")
    (tmp_path / "link" / "model.onnx").symlink_to(tmp_path / "real" / "model.onnx")
    monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 0)
    monkeypatch.setattr(onnx_wire, "INLINE_BYTES", 256)
    proto = read_onnx(tmp_path / "link" / "model.onnx")
    assert all(t.data_location == TensorProto.DEFAULT for t in proto.graph.initializer)
    convert(tmp_path / "link" / "model.onnx", tmp_path / "out")
    assert (tmp_path / "out" / "model.ckpt").stat().st_size > 0


def test_mutated_bytes_fall_back_or_fail_as_an_input_error(tmp_path, monkeypatch):
    """600 truncations and byte flips: the scan returns None or bytes protobuf can judge;
    read_onnx then gives a model or an InputError, and the two paths agree on which."""
    data = resnet_like().SerializeToString()
    monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 0)
    monkeypatch.setattr(onnx_wire, "INLINE_BYTES", 256)
    rng = random.Random(0)
    path = tmp_path / "m.onnx"
    outcomes = {"rewritten": 0, "fallback": 0, "rejected": 0}
    for case in range(600):
        mutated = bytearray(data)
        if case % 3 == 0:
            del mutated[rng.randrange(1, len(mutated)) :]
        else:
            # Flips anywhere, or in the first 4 KiB, where the graph's structure is dense.
            reach = len(mutated) if case % 3 == 1 else min(len(mutated), 4096)
            for _ in range(rng.randint(1, 4)):
                mutated[rng.randrange(reach)] = rng.randrange(256)
        scanned = onnx_wire.externalize_weights(memoryview(mutated), "m.onnx")
        outcomes["fallback" if scanned is None else "rewritten"] += 1
        path.write_bytes(mutated)
        try:
            in_place = read_onnx(path)
        except InputError:
            in_place = None
        monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 2**62)
        try:
            ordinary = read_onnx(path)
        except InputError:
            ordinary = None
        monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 0)
        assert (in_place is None) == (ordinary is None), f"case {case}: the two paths disagree"
        if in_place is None:
            outcomes["rejected"] += 1
        else:
            assert _data_loaded(in_place, path) == ordinary, f"case {case}: a different model"
    assert min(outcomes.values()) > 0, outcomes  # each kind of outcome was exercised


def test_locate_runs_onnxruntime_on_in_place_weights(tmp_path, capsys, monkeypatch):
    """onnxruntime, given the canonical graph as bytes, must find the weights in the model
    file: before, locate said nothing and complete_shapes quietly gave up."""
    from harness import perturb_weight

    from mindgen.cli import main

    path = tmp_path / "resnet.onnx"
    onnx.save(resnet_like(), path)
    monkeypatch.setattr(onnx_loader, "IN_PLACE_FILE_BYTES", 0)
    monkeypatch.setattr(onnx_wire, "INLINE_BYTES", 1025)
    out = tmp_path / "out"
    assert main(["convert", str(path), "--output", str(out), "-q", "--verify"]) == 0
    perturb_weight(out, "layer1.0.conv2.weight", 0.1)
    assert main(["verify", str(path), str(out), "--mode", "pynative", "--locate"]) == 1
    assert "First diverging node: /layer1/layer1.0/conv2/Conv" in capsys.readouterr().out


def test_unparsable_large_file_with_pure_python_protobuf_is_exit_2(tmp_path):
    """Pure-Python protobuf keeps slices of the memory map in its error's traceback; closing
    the map must not turn the parse error into a BufferError (exit 3)."""
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07" + bytes(onnx_loader.IN_PLACE_FILE_BYTES))
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.pop("MINDGEN_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "mindgen", "convert", "broken.onnx", "--output", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "is not a valid ONNX model" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.onnx"]
