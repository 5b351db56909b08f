"""A 20k-node chain converts: no RecursionError, no quadratic naming (100k figures: tests/deep_graphs.py)."""

from __future__ import annotations

import json

import onnx
from deep_graphs import deep_chain

import mindgen


def test_a_20k_node_chain_converts(tmp_path):
    onnx.save(deep_chain(20_000), tmp_path / "chain.onnx")
    report = mindgen.convert(tmp_path / "chain.onnx", tmp_path / "out")
    assert report.summary["nodes"] == 20_000 and report.summary["unmapped"] == 0
    source = (tmp_path / "out" / "model.py").read_text(encoding="utf-8")
    compile(source, "model.py", "exec")
    # Every node's statement is there: 18k elementwise lines and 2k conv calls.
    assert source.count("= ops.relu(") + source.count(" + self.") + source.count(" * self.") == 18_000
    assert source.count(" = self.conv") == 2_000
    assert len(json.loads((tmp_path / "out" / "report.json").read_text())["nodes"]) == 20_000


def test_conversion_collects_garbage_less_often_and_restores_the_thresholds(tmp_path, monkeypatch):
    import gc

    import mindgen.converter as converter

    seen = []
    real = converter.generate_module
    monkeypatch.setattr(
        converter, "generate_module", lambda *a, **k: seen.append(gc.get_threshold()) or real(*a, **k)
    )
    before = gc.get_threshold()
    onnx.save(deep_chain(20), tmp_path / "chain.onnx")
    mindgen.convert(tmp_path / "chain.onnx", tmp_path / "out")
    assert seen[0][0] >= 50_000 and seen[0][1:] == before[1:]
    assert gc.get_threshold() == before
