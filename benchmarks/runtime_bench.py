"""Latency of generated networks against hand-written MindSpore networks and onnxruntime.

    python benchmarks/runtime_bench.py [--repeats 20] [--output reports/runtime_benchmarks.md]

Two architectures, each as (a) the network mindgen generates from an ONNX model, (b) the
same architecture written by hand in MindSpore, and (c) onnxruntime on the ONNX model; all in
GRAPH_MODE on CPU at batch 1 and 8, medians after warm-up, printed as ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import mindspore as ms
import numpy as np
import onnx
import onnxruntime as ort
from mindspore import nn, ops

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert_bench import resnet_like, transformer_stack  # noqa: E402

import mindgen  # noqa: E402
from mindgen.runtime import load_network  # noqa: E402


class HandResBlock(nn.Cell):
    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, pad_mode="pad", padding=1, has_bias=True)
        self.conv2 = nn.Conv2d(width, width, 3, pad_mode="pad", padding=1, has_bias=True)

    def construct(self, x):
        out = ops.relu(self.conv1(x))
        out = self.conv2(out)
        return ops.relu(out + x)


class HandResNet(nn.Cell):
    def __init__(self, width: int, blocks: int):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, pad_mode="pad", padding=1)
        self.layer = nn.SequentialCell([HandResBlock(width) for _ in range(blocks)])
        self.fc = nn.Dense(width, 10)

    def construct(self, x):
        x = self.layer(self.stem(x))
        return self.fc(ops.flatten(ops.mean(x, (2, 3), keep_dims=True)))


class HandEncoderLayer(nn.Cell):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.query, self.key, self.value = nn.Dense(dim, dim), nn.Dense(dim, dim), nn.Dense(dim, dim)
        self.output = nn.Dense(dim, dim)
        self.norm1 = nn.LayerNorm((dim,), epsilon=1e-5)
        self.intermediate = nn.Dense(dim, 4 * dim)
        self.ffn_out = nn.Dense(4 * dim, dim)
        self.norm2 = nn.LayerNorm((dim,), epsilon=1e-5)
        self.scale = float(np.sqrt(self.head_dim))

    def construct(self, x):
        batch, seq, dim = x.shape
        q = ops.transpose(ops.reshape(self.query(x), (batch, seq, self.heads, self.head_dim)), (0, 2, 1, 3))
        k = ops.transpose(ops.reshape(self.key(x), (batch, seq, self.heads, self.head_dim)), (0, 2, 3, 1))
        v = ops.transpose(ops.reshape(self.value(x), (batch, seq, self.heads, self.head_dim)), (0, 2, 1, 3))
        probs = ops.softmax(ops.matmul(q, k) / self.scale, -1)
        context = ops.reshape(ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3)), (batch, seq, dim))
        x = self.norm1(x + self.output(context))
        return self.norm2(x + self.ffn_out(ops.relu(self.intermediate(x))))


class HandEncoder(nn.Cell):
    def __init__(self, dim: int, layers: int):
        super().__init__()
        self.layers = nn.SequentialCell([HandEncoderLayer(dim, 8) for _ in range(layers)])

    def construct(self, x):
        return self.layers(x)


def _latencies(runs: dict[str, object], repeats: int) -> dict[str, float]:
    """Median ms per call of each runner, calls interleaved so that load changes hit all alike."""
    for run in runs.values():
        for _ in range(3):
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def bench(name: str, model: onnx.ModelProto, hand: nn.Cell, shape_of, repeats: int, work: Path) -> list[dict]:
    path = work / f"{name}.onnx"
    onnx.save(model, path)
    mindgen.convert(path, work / name, force=True)
    generated = load_network(work / name)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    rows = []
    for batch in (1, 8):
        x = np.random.default_rng(0).standard_normal(shape_of(batch)).astype(np.float32)
        tensor = ms.Tensor(x)
        ms_per_call = _latencies(
            {
                "generated": lambda tensor=tensor: generated(tensor).asnumpy(),
                "hand": lambda tensor=tensor: hand(tensor).asnumpy(),
                "ort": lambda x=x: session.run(None, {input_name: x}),
            },
            repeats,
        )
        gen_ms, hand_ms, ort_ms = ms_per_call["generated"], ms_per_call["hand"], ms_per_call["ort"]
        rows.append(
            {
                "model": name,
                "batch": batch,
                "generated": gen_ms,
                "hand": hand_ms,
                "ort": ort_ms,
                "vs_hand": gen_ms / hand_ms,
                "vs_ort": gen_ms / ort_ms,
            }
        )
        print(rows[-1], flush=True)
    return rows


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        rows += bench(
            "resnet", resnet_like(32, 4), HandResNet(32, 4), lambda b: (b, 3, 32, 32), args.repeats, work
        )
        rows += bench(
            "transformer",
            transformer_stack(256, 2),
            HandEncoder(256, 2),
            lambda b: (b, 16, 256),
            args.repeats,
            work,
        )
    lines = [
        "# Runtime benchmarks (GRAPH_MODE, CPU)",
        "",
        f"Command: `python benchmarks/runtime_bench.py --repeats {args.repeats}`. Machine: {platform.platform()}, "
        f"{os.cpu_count()} cores ({_cpu_model()}), load average {os.getloadavg()[0]:.1f} at the end. "
        "Median latency in ms after 3 warm-up calls; the three runners' calls are interleaved.",
        "",
        "| model | batch | generated ms | hand-written ms | onnxruntime ms | generated/hand | generated/onnxruntime |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['model']} | {r['batch']} | {r['generated']:.2f} | {r['hand']:.2f} | {r['ort']:.2f} | {r['vs_hand']:.2f} | {r['vs_ort']:.2f} |"
        for r in rows
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
