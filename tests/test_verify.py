"""`mindgen verify` end to end: passing and broken conversions, --locate, inputs, .pb, MINDIR, train step."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from harness import perturb_weight
from model_zoo import _GraphBuilder
from onnx import TensorProto, helper

import mindgen
from mindgen.cli import main
from mindgen.errors import VerificationError
from mindgen.examples import example_model_path
from mindgen.targets.mindspore.emission import call, expression
from mindgen.targets.mindspore.registry import Registry, default_registry
from mindgen.verify import run_verification, verify

REPO = Path(__file__).resolve().parents[1]
TF_FIXTURE = REPO / "tests" / "fixtures" / "tf" / "classifier.pb"


# Models ----------------------------------------------------------------------------------------
def embedding_model() -> onnx.ModelProto:
    """Token ids (int64) -> Gather embedding, masked mean over the sequence, Gemm: two named inputs."""
    g = _GraphBuilder(seed=3)
    table = g.param("embed.weight", g.rng.normal(0, 1, (50, 8)).astype(np.float32))
    x = g.node("Gather", "embed", [table, "input_ids"], axis=0)
    mask = g.node("Unsqueeze", "mask", ["attention_mask", g.const("mask", np.array([-1], np.int64))])
    x = g.node("Mul", "mask", [x, mask])
    x = g.node("ReduceMean", "pool", [x], axes=[1], keepdims=0)
    g.gemm("head", x, 8, 4, output="scores")
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", 6]),
        helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["N", 6]),
    ]
    return g.model(
        "embedding", inputs, [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 4])]
    )


def bn_dropout_cnn() -> onnx.ModelProto:
    """Conv -> BatchNorm (momentum 0.8, eps 1e-3) -> Relu -> Dropout(0.3) -> pool -> Gemm."""
    g = _GraphBuilder(seed=5)
    x = g.conv("conv", "image", 3, 6, 3)
    bn_inputs = [
        x,
        g.param("bn.weight", g.rng.uniform(0.6, 1.4, 6).astype(np.float32)),
        g.bias("bn.bias", 6),
        g.bias("bn.running_mean", 6),
        g.param("bn.running_var", g.rng.uniform(0.5, 1.5, 6).astype(np.float32)),
    ]
    x = g.node("BatchNormalization", "bn", bn_inputs, epsilon=1e-3, momentum=0.8)
    x = g.node("Relu", "relu", [x])
    x = g.node("Dropout", "dropout", [x, g.const("dropout", np.array(0.3, np.float32))])
    x = g.node("GlobalAveragePool", "pool", [x])
    x = g.node("Flatten", "", [x])
    g.gemm("fc", x, 6, 3, output="logits")
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 8, 8])]
    return g.model("cnn", inputs, [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])])


def save(model: onnx.ModelProto, folder: Path, name: str) -> Path:
    path = folder / f"{name}.onnx"
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """The bundled example, converted once; tests copy it before changing anything."""
    out = tmp_path_factory.mktemp("example") / "out"
    mindgen.convert(example_model_path(), out)
    return out


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "out"
    shutil.copytree(folder, target)
    return target


def verification(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())["verification"]


# A passing model ---------------------------------------------------------------------------------
def test_example_verifies_in_both_modes_and_records_it(example, tmp_path, capsys):
    out = copy_of(example, tmp_path)
    before = json.loads((out / "report.json").read_text())
    assert main(["verify", str(example_model_path()), str(out)]) == 0
    printed = capsys.readouterr().out
    assert "logits  pynative" in printed and "logits  graph" in printed
    assert "Verified: 1 output(s) match" in printed
    record = verification(out)
    assert record["passed"] and record["modes"] == ["pynative", "graph"]
    assert record["reference"]["runner"] == "onnxruntime" and record["reference"]["graph"] == "source file"
    for item in record["outputs"]:
        assert item["max_abs_error"] < 1e-5 and item["cosine_similarity"] > 0.99999
        assert item["top1_agreement"] == 1.0 and item["top5_agreement"] == 1.0
    after = json.loads((out / "report.json").read_text())
    assert {k: v for k, v in after.items() if k != "verification"} == before
    # A second run replaces the report.md section instead of adding another.
    assert main(["verify", str(example_model_path()), str(out), "--mode", "pynative", "--samples", "3"]) == 0
    markdown = (out / "report.md").read_text()
    assert markdown.count("## Verification") == 1 and "| logits | pynative |" in markdown
    assert verification(out)["inputs"]["samples"] == 3
    # The output folder holds nothing --force would refuse to replace.
    mindgen.convert(example_model_path(), out, force=True)


def test_convert_verify_prints_the_table_the_readme_shows(tmp_path, capsys):
    assert main(["convert", "--example", "--output", str(tmp_path / "out"), "--verify"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert verification(tmp_path / "out")["passed"]
    readme = (REPO / "README.md").read_text()
    header = next(line for line in printed if line.lstrip().startswith("output  mode"))
    verdict = printed[-1]
    assert header in readme and verdict in readme and verdict.startswith("Verified: 1 output(s) match")


def test_flat_conversion_verifies_and_locates(tmp_path, capsys):
    out = tmp_path / "flat"
    assert main(["convert", "--example", "--output", str(out), "--flat", "-q"]) == 0
    assert (out / "model.py").read_text().count("class ") == 1
    perturb_weight(out, "fc.weight", 0.1)
    code = main(["verify", str(example_model_path()), str(out), "--mode", "pynative", "--locate"])
    assert code == 1
    assert verification(out)["locate"]["node"] == "/fc/Gemm"


# Made to fail, and --locate ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("weight", "node", "code", "item"),
    [
        ("layer1.0.conv2.weight", "/layer1/layer1.0/conv2/Conv", "out = self.conv2(out)", ""),
        (
            "layer2.0.downsample.0.weight",
            "/layer2/layer2.0/downsample/downsample.0/Conv",
            "self.downsample(x)",
            "layer2.0.downsample.0",
        ),
    ],
)
def test_wrong_weight_fails_and_locate_names_its_node(example, tmp_path, capsys, weight, node, code, item):
    out = copy_of(example, tmp_path)
    perturb_weight(out, weight, 0.05)
    assert main(["verify", str(example_model_path()), str(out), "--mode", "pynative", "--locate"]) == 1
    captured = capsys.readouterr()
    assert f"First diverging node: {node} (Conv" in captured.out
    assert "NOT verified" in captured.out and "mindgen: error:" in captured.err
    found = verification(out)["locate"]
    assert found["found"] and found["node"] == node and found["op_type"] == "Conv"
    assert found["site"]["code"].endswith(code) and found["site"]["item"] == item
    lines = (out / "model.py").read_text().splitlines()
    assert lines[found["site"]["line"] - 1].strip() == found["site"]["code"]
    assert found["max_abs_error"] > 1e-3 and found["also_diverging"] == []


def test_wrong_mapper_is_located_at_its_first_use(tmp_path, capsys):
    # A test-only fault: Relu mapped to relu6, wrong only where activations exceed 6.
    faulty = Registry()
    for entry in default_registry().entries():
        if entry.op_type == "Relu":
            entry = dataclasses.replace(entry, fn=lambda ctx: expression(call("ops.relu6", ctx.ref(0))))
        faulty.add(entry)
    out = tmp_path / "out"
    mindgen.convert(example_model_path(), out, registry=faulty)
    with pytest.raises(VerificationError) as raised:
        verify(example_model_path(), out, modes=["pynative"], locate=True)
    assert raised.value.exit_code == 1 and "/relu/Relu" in str(raised.value)
    found = verification(out)["locate"]
    assert (found["node"], found["op_type"]) == ("/relu/Relu", "Relu")
    assert found["site"]["code"] == "out = ops.relu6(out)" and found["site"]["class"] == "TinyResnet"
    assert found["input_shapes"] == [[1, 8, 32, 32]] and found["output_shapes"] == [[1, 8, 32, 32]]


def test_unmapped_operator_fails_and_locate_names_the_placeholder(tmp_path):
    registry = Registry()
    for entry in default_registry().entries():
        if entry.op_type != "Flatten":
            registry.add(entry)
    out = tmp_path / "out"
    mindgen.convert(example_model_path(), out, registry=registry)
    result = run_verification(example_model_path(), out, modes=["pynative"], locate=True)
    assert not result.passed and "NotImplementedError" in result.summary()
    assert result.record["outputs"][0]["max_abs_error"] is None
    found = result.record["locate"]
    assert (found["node"], found["mapper"]) == ("/Flatten", "placeholder")
    assert found["message"].startswith("raised NotImplementedError")
    assert "self.flatten" in found["site"]["code"]


# Inputs ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedding(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("embedding")
    model = save(embedding_model(), folder, "embedding")
    mindgen.convert(model, folder / "out")
    return model, folder / "out"


def test_int64_token_ids_drawn_within_the_vocabulary(embedding, tmp_path):
    model, converted = embedding
    out = copy_of(converted, tmp_path)
    result = run_verification(model, out, samples=2, shapes=[[3, 6], [3, 6]])
    assert result.passed, result.table()
    assert result.record["outputs"][0]["max_abs_error"] < 1e-5


def test_npz_with_several_named_inputs(embedding, tmp_path, capsys):
    model, converted = embedding
    out = copy_of(converted, tmp_path)
    rng = np.random.default_rng(1)
    batch = tmp_path / "batch.npz"
    # Keys by input name, in any order; float64 is cast to the model's float32 and noted.
    np.savez(batch, attention_mask=rng.random((2, 6)), input_ids=rng.integers(0, 50, (2, 6)))
    assert (
        main(["verify", str(model), str(out), "--inputs", str(batch), "--rtol", "1e-4", "--atol", "1e-5"])
        == 0
    )
    record = verification(out)
    assert record["inputs"]["source"] == "file" and record["tolerance"] == {"rtol": 1e-4, "atol": 1e-5}
    assert any("cast from float64" in note for note in record["notes"])
    capsys.readouterr()
    np.savez(tmp_path / "wrong.npz", input_ids=np.zeros((2, 6), np.int64))
    assert main(["verify", str(model), str(out), "--inputs", str(tmp_path / "wrong.npz")]) == 2
    assert "missing 'attention_mask'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rtol", "abc"], "invalid --rtol"),
        (["--samples", "0"], "--samples must be 1 or more"),
        (["--export-mindir", "x.txt"], "must end in .mindir"),
        (["--mode", "pynative", "--shape", "1,6"], "--shape gives 1 shape(s)"),
        (["--inputs", "missing.npz"], "--inputs file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(embedding, args, message, capsys):
    model, out = embedding
    assert main(["verify", str(model), str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_report_is_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["verify", str(example_model_path()), str(tmp_path / "empty")]) == 2
    assert "no report.json" in capsys.readouterr().err


# TensorFlow .pb ----------------------------------------------------------------------------------
def test_pb_without_tensorflow_uses_the_canonical_graph(tmp_path, monkeypatch):
    pytest.importorskip("mindgen.frontends.tensorflow")
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now fails
    mindgen.convert(TF_FIXTURE, tmp_path / "out")
    result = run_verification(TF_FIXTURE, tmp_path / "out", modes=["pynative"], shapes=[[2, 20]])
    assert result.passed, result.table()
    reference = result.record["reference"]
    assert (reference["runner"], reference["graph"]) == ("onnxruntime", "canonical graph")
    assert reference["note"] == "TensorFlow is not installed"


def test_pb_with_tensorflow_runs_tensorflow(tmp_path):
    pytest.importorskip("mindgen.frontends.tensorflow")
    pytest.importorskip("tensorflow")
    mindgen.convert(TF_FIXTURE, tmp_path / "out")
    result = run_verification(TF_FIXTURE, tmp_path / "out", modes=["pynative"], shapes=[[2, 20]])
    assert result.passed, result.table()
    assert result.record["reference"]["runner"] == "tensorflow"


# Deployment and training readiness ---------------------------------------------------------------
def test_mindir_export_round_trip(example, tmp_path):
    out = copy_of(example, tmp_path)
    target = tmp_path / "deploy" / "tiny.mindir"
    code = main(
        ["verify", str(example_model_path()), str(out), "--mode", "pynative", "--export-mindir", str(target)]
    )
    assert code == 0
    record = verification(out)["export_mindir"]
    assert record["passed"] and record["file"] == str(target) and target.is_file()
    assert record["max_abs_vs_network"] == 0.0 and record["max_abs_vs_reference"] < 1e-5


@pytest.fixture(scope="module")
def cnn(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cnn")
    model = save(bn_dropout_cnn(), folder, "cnn")
    mindgen.convert(model, folder / "out")
    return model, folder / "out"


def test_train_step_on_cnn_with_batchnorm_and_dropout(cnn, tmp_path):
    model, converted = cnn
    out = copy_of(converted, tmp_path)
    assert "nn.Dropout(p=0.3" in (out / "model.py").read_text()
    assert main(["verify", str(model), str(out), "--mode", "pynative", "--train-step"]) == 0
    record = verification(out)["train_step"]
    assert record["passed"] and record["parameters_without_gradient"] == []
    assert record["loss_after"] != record["loss_before"]
    (bn,) = record["batchnorm"]
    assert bn["momentum"] == pytest.approx(0.8) and bn["epsilon"] == pytest.approx(1e-3)
    assert bn["attributes_match"] and bn["statistics_update"]
    (dropout,) = record["dropout"]
    assert dropout["p"] == pytest.approx(0.3) and dropout["source_ratio"] == pytest.approx(0.3)
    assert 0.2 < dropout["dropped_in_training"] < 0.4


def test_train_step_catches_a_wrong_batchnorm_momentum(cnn, tmp_path, capsys):
    model, converted = cnn
    out = copy_of(converted, tmp_path)
    code = (out / "model.py").read_text()
    (out / "model.py").write_text(code.replace("momentum=0.8", "momentum=0.5"))
    assert main(["verify", str(model), str(out), "--mode", "pynative", "--train-step"]) == 1
    record = verification(out)
    assert record["outputs"][0]["passed"] and not record["train_step"]["passed"]
    assert "model.py was edited" in " ".join(record["notes"])
    assert "momentum" in capsys.readouterr().out
