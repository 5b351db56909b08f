"""Deep, narrow ONNX chains (Add/Mul/Relu with small constants, a Conv every tenth node) for resource bounds.

`python tests/deep_graphs.py 2000 20000 100000` converts each size with `mindgen convert` in a
subprocess and prints nodes, seconds, ms/node and peak RSS; the test suite converts one 20k chain.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CHANNELS, SIZE = 4, 8


def deep_chain(nodes: int, *, seed: int = 0) -> onnx.ModelProto:
    """A single chain of `nodes` nodes over a (N, 4, 8, 8) tensor, as exporters name them ('Add_12')."""
    rng = np.random.default_rng(seed)
    conv_weight = (rng.standard_normal((CHANNELS, CHANNELS, 3, 3)) * 0.2).astype(np.float32)
    made, inits, current = [], [], "input"
    for i in range(nodes):
        out, kind = f"t{i}", i % 10
        # Exporter-style weight names ('onnx::Conv_9') carry no meaning: every layer is hinted 'conv'.
        if kind == 9:
            op, array = "Conv", conv_weight
        elif kind % 3 == 2:
            made.append(helper.make_node("Relu", [current], [out], name=f"Relu_{i}"))
            current = out
            continue
        else:
            op = "Add" if kind % 3 == 0 else "Mul"
            low, high = (-0.1, 0.1) if op == "Add" else (0.9, 1.1)
            array = rng.uniform(low, high, (CHANNELS, 1, 1)).astype(np.float32)
        weight = f"onnx::{op}_{i}"
        inits.append(numpy_helper.from_array(array, weight))
        attrs = {"pads": [1] * 4} if op == "Conv" else {}
        made.append(helper.make_node(op, [current, weight], [out], name=f"{op}_{i}", **attrs))
        current = out
    shape = ["N", CHANNELS, SIZE, SIZE]
    graph = helper.make_graph(
        made,
        "deep_chain",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(current, TensorProto.FLOAT, shape)],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def measure(nodes: int, folder: Path) -> dict[str, float]:
    """Converts a chain of `nodes` in a fresh `mindgen convert` process: wall seconds and its peak RSS."""
    path = folder / f"chain{nodes}.onnx"
    onnx.save(deep_chain(nodes), path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "mindgen",
        "convert",
        str(path),
        "--output",
        str(folder / f"out{nodes}"),
        "-q",
    ]
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{nodes} nodes: exit {completed.returncode}: {completed.stderr.strip()[-500:]}")
    # ru_maxrss of children is the largest child so far (KiB): grows only when this one is larger.
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return {"nodes": nodes, "seconds": seconds, "ms_per_node": 1000 * seconds / nodes, "peak_rss_mb": peak}


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'nodes':>8} {'seconds':>8} {'ms/node':>8} {'peak RSS MB':>12}")
        for nodes in sorted(sizes):  # ascending, so each peak RSS is this conversion's own
            row = measure(nodes, Path(tmp))
            print(
                f"{row['nodes']:>8} {row['seconds']:>8.1f} {row['ms_per_node']:>8.3f} {row['peak_rss_mb']:>12.0f}"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2000, 20000, 100000])
