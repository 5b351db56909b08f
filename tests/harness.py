"""Shared test machinery: convert a model, run the generated network, compare with onnxruntime."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import mindspore as ms
import numpy as np
import onnx
import onnxruntime as ort

import mindgen
from mindgen.runtime import load_network

ms.set_device("CPU")

MODES = {"pynative": ms.PYNATIVE_MODE, "graph": ms.GRAPH_MODE}


def run_onnxruntime(model: onnx.ModelProto | str | Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def run_network(network, feeds: dict[str, np.ndarray], mode: str) -> list[np.ndarray]:
    """Runs the generated network in the given mode on the feeds, in input order."""
    ms.set_context(mode=MODES[mode])
    results = network(*[ms.Tensor(v) for v in feeds.values()])
    results = results if isinstance(results, tuple) else (results,)
    return [r.asnumpy() for r in results]


def convert_model(
    model: onnx.ModelProto, tmp_path: Path, name: str = "model", **options
) -> tuple[Path, dict]:
    """Saves the model, converts it, and returns (output dir, report.json contents)."""
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    output = tmp_path / f"{name}_out"
    mindgen.convert(path, output, **options)
    return output, json.loads((output / "report.json").read_text())


def assert_matches_onnxruntime(
    model: onnx.ModelProto,
    tmp_path: Path,
    feeds: dict[str, np.ndarray] | Sequence[dict[str, np.ndarray]],
    *,
    modes: Sequence[str] = ("pynative", "graph"),
    atol: float = 1e-5,
    rtol: float = 0.0,
    name: str = "model",
) -> Path:
    """Converts model, loads model.ckpt, and checks every output in every mode against ORT."""
    output, report = convert_model(model, tmp_path, name)
    assert report["summary"]["unmapped"] == 0, report["unmapped"]
    network = load_network(output)
    batches = [feeds] if isinstance(feeds, dict) else list(feeds)
    for batch in batches:
        expected = run_onnxruntime(model, batch)
        for mode in modes:
            actual = run_network(network, batch, mode)
            assert len(actual) == len(expected)
            for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
                assert got.shape == want.shape, f"{mode} output {index}: shape {got.shape} != {want.shape}"
                assert got.dtype.name == want.dtype.name, (
                    f"{mode} output {index}: dtype {got.dtype} != {want.dtype}"
                )
                np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"{mode} output {index}")
    return output


def perturb_weight(folder: Path, name: str, delta: float) -> None:
    """A test-only fault: shifts one checkpoint tensor, as a wrong weight conversion would."""
    params = ms.load_checkpoint(str(folder / "model.ckpt"))
    params[name].set_data(ms.Tensor(params[name].asnumpy() + delta))
    ms.save_checkpoint([{"name": k, "data": v} for k, v in params.items()], str(folder / "model.ckpt"))
