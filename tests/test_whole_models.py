"""Whole architectures built in code, converted and checked against onnxruntime in both modes."""

from __future__ import annotations

import pytest
from harness import assert_matches_onnxruntime
from model_zoo import mlp, mobilenet_se_block, random_inputs, resnet_like, transformer_encoder_layer

from mindgen.examples import example_model_path

ARCHITECTURES = {
    "mlp": mlp,
    "resnet_like": resnet_like,
    "mobilenet_se_block": mobilenet_se_block,
    "mobilenet_se_block_residual": lambda: mobilenet_se_block(residual=True),
    "transformer_encoder_layer": transformer_encoder_layer,
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architecture_matches_onnxruntime_at_batch_1_and_8(name, tmp_path):
    model = ARCHITECTURES[name]()
    feeds = [random_inputs(model, seed=1, batch=1), random_inputs(model, seed=2, batch=8)]
    assert_matches_onnxruntime(model, tmp_path, feeds, name=name)


def test_bundled_example_matches_onnxruntime(tmp_path):
    import onnx

    model = onnx.load(example_model_path())
    feeds = [random_inputs(model, seed=3, batch=1), random_inputs(model, seed=4, batch=5)]
    output = assert_matches_onnxruntime(model, tmp_path, feeds, name="tiny_resnet")
    code = (output / "model.py").read_text()
    assert "class Layer1Block(nn.Cell)" in code and "self.layer1 = nn.SequentialCell([Layer1Block()])" in code
