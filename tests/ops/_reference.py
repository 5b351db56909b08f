"""Checks variants against the ONNX reference implementation, for opsets onnxruntime lacks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import harness
import numpy as np
import onnx
from _single_node import combine
from harness import convert_model, run_network
from onnx.reference import ReferenceEvaluator


def _comparable(array: np.ndarray) -> np.ndarray:
    # MindSpore's bfloat16 is its own numpy dtype, distinct from ml_dtypes': compare as float32.
    return array.astype(np.float32) if array.dtype.name == "bfloat16" else array


def check_reference(
    cases: Mapping[str, tuple[onnx.ModelProto, dict[str, np.ndarray]]], tmp_path: Path, atol: float = 0.0
) -> Path:
    """Converts all variants as one model and compares both modes with ReferenceEvaluator."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    combined = combine({name: model for name, (model, _) in cases.items()})
    feeds = {f"{name}__{k}": v for name, (_, given) in cases.items() for k, v in given.items()}
    output, report = convert_model(combined, tmp_path)
    assert report["summary"]["unmapped"] == 0, report["unmapped"]
    network = harness.load_network(output)
    expected = ReferenceEvaluator(combined).run(None, feeds)
    names = [o.name for o in combined.graph.output]
    for mode in ("pynative", "graph"):
        actual = run_network(network, feeds, mode)
        for name, want, got in zip(names, expected, actual, strict=True):
            assert got.shape == want.shape, f"{mode} {name}: shape {got.shape} != {want.shape}"
            assert got.dtype.name == want.dtype.name, f"{mode} {name}: dtype {got.dtype} != {want.dtype}"
            np.testing.assert_allclose(
                _comparable(got), _comparable(want), atol=atol, err_msg=f"{mode} {name}"
            )
    return output
