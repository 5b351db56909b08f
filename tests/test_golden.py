"""Generated code for real architectures, reviewed as a diff: golden model.py files.

Set MINDGEN_UPDATE_GOLDEN=1 to rewrite the files after an intended change, then review
`git diff tests/golden`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from harness import assert_matches_onnxruntime
from model_zoo import random_inputs, transformer_encoder_layer

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("MINDGEN_UPDATE_GOLDEN") == "1"

torch_zoo = pytest.importorskip("torch_zoo", reason="needs torch (test extra)")

MODELS = {
    "resnet50": (torch_zoo.resnet50, {"classes": 4, "max_lines": 200}),
    "mobilenet_v2": (torch_zoo.mobilenet_v2, {"max_lines": 200}),
    "bert_encoder": (torch_zoo.bert_encoder, {"classes": 3, "max_lines": 120}),
    "transformer_layer": (transformer_encoder_layer, {"max_lines": 80}),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_generated_model_matches_golden_file_and_source_numerics(name, tmp_path):
    builder, limits = MODELS[name]
    model = builder()
    feeds = [random_inputs(model, seed=1, batch=1), random_inputs(model, seed=2, batch=2)]
    output = assert_matches_onnxruntime(model, tmp_path, feeds, name=name)
    code = (output / "model.py").read_text()
    golden = GOLDEN / f"{name}.py"
    if UPDATE:
        golden.write_text(code)
    assert code == golden.read_text(), f"model.py for {name} changed; review and rerun with MINDGEN_UPDATE_GOLDEN=1"
    assert len(code.splitlines()) <= limits["max_lines"]
    if "classes" in limits:
        assert len(re.findall(r"^class ", code, flags=re.MULTILINE)) == limits["classes"]


def test_resnet_parameters_follow_the_source_module_paths(tmp_path):
    import mindspore as ms

    model = torch_zoo.resnet50()
    output = assert_matches_onnxruntime(model, tmp_path, random_inputs(model, seed=3, batch=1), modes=("pynative",))
    names = set(ms.load_checkpoint(str(output / "model.ckpt")))
    assert {"conv1.weight", "layer1.0.conv1.weight", "layer3.5.conv3.bias", "layer4.0.downsample.0.weight", "fc.weight"} <= names
