"""Conversion speed and memory against the floor of just moving the weights.

    python benchmarks/convert_bench.py [--sizes small|all] [--runs 3] [--output reports/benchmarks.md]

For each model built here (ResNet-style CNNs and transformer stacks of growing size, the
largest with ONNX external data, and deep narrow graphs of small nodes) it measures, in one
run: the floor (load the source weights and write the same bytes as a MindSpore checkpoint
with the plainest code), `mindgen convert` wall time and peak RSS (a fresh process each run,
median of --runs), their ratio, and time per node for the narrow graphs. It also times
`mindgen --help` and the conversion of the bundled example.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sections import write_section

ROOT = Path(__file__).resolve().parents[1]


# Models -------------------------------------------------------------------------------------
def _tensor(rng: np.random.Generator, name: str, shape: tuple[int, ...], scale: float = 0.02) -> TensorProto:
    return numpy_helper.from_array((rng.standard_normal(shape, dtype=np.float32) * scale), name)


def resnet_like(width: int, blocks: int, seed: int = 0) -> onnx.ModelProto:
    """Conv-BN-ReLU residual stages; parameters grow with width squared."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    x = "input"
    stem = "stem.weight"
    inits.append(_tensor(rng, stem, (width, 3, 3, 3)))
    nodes.append(
        helper.make_node("Conv", [x, stem], ["/stem/Conv_output_0"], name="/stem/Conv", pads=[1, 1, 1, 1])
    )
    x = "/stem/Conv_output_0"
    for b in range(blocks):
        scope = f"/layer/layer.{b}"
        identity = x
        for c in (1, 2):
            prefix = f"layer.{b}.conv{c}"
            inits += [
                _tensor(rng, f"{prefix}.weight", (width, width, 3, 3)),
                _tensor(rng, f"{prefix}.bias", (width,)),
            ]
            out = f"{scope}/conv{c}/Conv_output_0"
            nodes.append(
                helper.make_node(
                    "Conv",
                    [x, f"{prefix}.weight", f"{prefix}.bias"],
                    [out],
                    name=f"{scope}/conv{c}/Conv",
                    pads=[1, 1, 1, 1],
                )
            )
            x = out
            if c == 1:
                nodes.append(
                    helper.make_node("Relu", [x], [f"{scope}/relu/Relu_output_0"], name=f"{scope}/relu/Relu")
                )
                x = f"{scope}/relu/Relu_output_0"
        nodes.append(helper.make_node("Add", [x, identity], [f"{scope}/Add_output_0"], name=f"{scope}/Add"))
        nodes.append(
            helper.make_node(
                "Relu",
                [f"{scope}/Add_output_0"],
                [f"{scope}/relu_1/Relu_output_0"],
                name=f"{scope}/relu_1/Relu",
            )
        )
        x = f"{scope}/relu_1/Relu_output_0"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="/GlobalAveragePool"))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], name="/Flatten"))
    inits += [_tensor(rng, "fc.weight", (10, width)), _tensor(rng, "fc.bias", (10,))]
    nodes.append(
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm", transB=1)
    )
    graph = helper.make_graph(
        nodes,
        "resnet_like",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def transformer_stack(d_model: int, layers: int, seed: int = 0) -> onnx.ModelProto:
    """Encoder layers (attention + FFN + LayerNorm) with MatMul weights."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    x = "x"
    heads = 8
    ffn = 4 * d_model
    inits.append(numpy_helper.from_array(np.array([0, 0, heads, d_model // heads], np.int64), "split_shape"))
    inits.append(numpy_helper.from_array(np.array([0, 0, d_model], np.int64), "merge_shape"))
    inits.append(numpy_helper.from_array(np.array(np.sqrt(d_model // heads), np.float32), "scale"))

    def linear(scope: str, name: str, source: str, fan_in: int, fan_out: int) -> str:
        weight, bias = (
            f"{scope[1:].replace('/', '.')}.{name}.weight",
            f"{scope[1:].replace('/', '.')}.{name}.bias",
        )
        inits.extend([_tensor(rng, weight, (fan_in, fan_out)), _tensor(rng, bias, (fan_out,))])
        product, out = f"{scope}/{name}/MatMul_output_0", f"{scope}/{name}/Add_output_0"
        nodes.append(helper.make_node("MatMul", [source, weight], [product], name=f"{scope}/{name}/MatMul"))
        nodes.append(helper.make_node("Add", [product, bias], [out], name=f"{scope}/{name}/Add"))
        return out

    def layer_norm(scope: str, name: str, source: str) -> str:
        scale, bias = (
            f"{scope[1:].replace('/', '.')}.{name}.weight",
            f"{scope[1:].replace('/', '.')}.{name}.bias",
        )
        inits.extend(
            [
                numpy_helper.from_array(np.ones(d_model, np.float32), scale),
                numpy_helper.from_array(np.zeros(d_model, np.float32), bias),
            ]
        )
        out = f"{scope}/{name}/LayerNormalization_output_0"
        nodes.append(
            helper.make_node(
                "LayerNormalization",
                [source, scale, bias],
                [out],
                name=f"{scope}/{name}/LayerNormalization",
                axis=-1,
            )
        )
        return out

    def op(scope: str, kind: str, inputs: list[str], index: int, **attrs) -> str:
        name = f"{scope}/{kind}_{index}"
        nodes.append(helper.make_node(kind, inputs, [f"{name}_output_0"], name=name, **attrs))
        return f"{name}_output_0"

    for i in range(layers):
        scope = f"/layers/layers.{i}"
        heads_of = []
        for n, proj in enumerate(("query", "key", "value")):
            projected = linear(scope, proj, x, d_model, d_model)
            split = op(scope, "Reshape", [projected, "split_shape"], n)
            heads_of.append(
                op(scope, "Transpose", [split], n, perm=[0, 2, 3, 1] if proj == "key" else [0, 2, 1, 3])
            )
        scores = op(scope, "MatMul", heads_of[:2], 0)
        scaled = op(scope, "Div", [scores, "scale"], 0)
        probs = op(scope, "Softmax", [scaled], 0, axis=-1)
        context = op(scope, "MatMul", [probs, heads_of[2]], 1)
        merged = op(
            scope, "Reshape", [op(scope, "Transpose", [context], 3, perm=[0, 2, 1, 3]), "merge_shape"], 3
        )
        attended = op(scope, "Add", [x, linear(scope, "output", merged, d_model, d_model)], 0)
        normed = layer_norm(scope, "norm1", attended)
        hidden = op(scope, "Relu", [linear(scope, "intermediate", normed, d_model, ffn)], 0)
        x = layer_norm(
            scope, "norm2", op(scope, "Add", [normed, linear(scope, "ffn_out", hidden, ffn, d_model)], 1)
        )
    graph = helper.make_graph(
        nodes,
        "transformer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16, d_model])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 16, d_model])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def narrow_chain(nodes_count: int, seed: int = 0) -> onnx.ModelProto:
    """A deep graph of tiny nodes: conversion cost per node, with almost no weights."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], [_tensor(rng, "bias", (8,), 1.0)]
    x = "x"
    kinds = ("Add", "Relu", "Mul", "Sigmoid")
    for i in range(nodes_count):
        kind = kinds[i % len(kinds)]
        inputs = [x, "bias"] if kind in ("Add", "Mul") else [x]
        out = f"/blocks/blocks.{i // 4}/{kind}_output_0"
        nodes.append(helper.make_node(kind, inputs, [out], name=f"/blocks/blocks.{i // 4}/{kind}"))
        x = out
    graph = helper.make_graph(
        nodes,
        "narrow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 8])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def parameter_count(model: onnx.ModelProto) -> int:
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer)


# Measurements -------------------------------------------------------------------------------
def _child_env() -> dict[str, str]:
    """The environment of measured processes: this checkout's mindgen, bytecode caching on as in an install."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _compile_bytecode() -> None:
    """Writes mindgen's bytecode caches, as a wheel install does, so no run pays for compiling."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mindgen")], check=True)


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _run_measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command in a fresh process."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "elapsed = time.perf_counter() - start\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(elapsed, peak, code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *command],
        capture_output=True,
        text=True,
        env=env or _child_env(),
        check=True,
    )
    elapsed, peak, code = out.stdout.split()
    if code != "0":
        raise RuntimeError(f"{command} exited with {code}")
    return float(elapsed), float(peak)


FLOOR_SCRIPT = """
import sys, onnx
from onnx import numpy_helper
from mindgen.weights.checkpoint import CheckpointWriter
model = onnx.load(sys.argv[1])
with CheckpointWriter(sys.argv[2]) as writer:
    for tensor in model.graph.initializer:
        writer.add(tensor.name, numpy_helper.to_array(tensor))
"""


def _convert_command(path: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "mindgen", "convert", str(path), "-o", str(out), "--force", "-q"]


def measure(model: onnx.ModelProto, name: str, work: Path, runs: int, external: bool) -> dict[str, object]:
    """Floor and convert of one model, interleaved run by run; medians, and mindgen's own phase times."""
    path = work / f"{name}.onnx"
    if external:
        onnx.save(model, path, save_as_external_data=True, location=f"{name}.data", size_threshold=1024)
    else:
        onnx.save(model, path)
    floors, converts, peaks = [], [], []
    # One unmeasured conversion first: it warms the page cache for both measured commands.
    warm_s = _run_measured(_convert_command(path, work / "warm"))[0]
    _fresh_disk(work / "warm")
    # Quick conversions are the most easily disturbed by other jobs, and cheap to repeat.
    for _ in range(runs if warm_s > 2.0 else max(runs, 7)):
        _fresh_disk(work / "floor.ckpt")
        floors.append(
            _run_measured([sys.executable, "-c", FLOOR_SCRIPT, str(path), str(work / "floor.ckpt")])[0]
        )
        _fresh_disk(work / "out")
        seconds, peak = _run_measured(_convert_command(path, work / "out"))
        converts.append(seconds)
        peaks.append(peak)
    phases = json.loads((work / "out" / "report.json").read_text())["timings"]  # the last run's
    weight_bytes = sum(int(np.prod(t.dims)) * 4 for t in model.graph.initializer)
    floor, convert = statistics.median(floors), statistics.median(converts)
    return {
        "model": name,
        "params": parameter_count(model),
        "nodes": len(model.graph.node),
        "weight_mib": weight_bytes / 2**20,
        "floor_s": floor,
        "convert_s": convert,
        "spread_s": max(converts) - min(converts),
        "ratio": convert / floor,
        "peak_mib": statistics.median(peaks),
        "peak_over_weights": statistics.median(peaks) / max(weight_bytes / 2**20, 1e-9),
        "phases": phases,
    }


def _fresh_disk(output: Path) -> None:
    """Removes a command's last output and flushes dirty pages before the next measured run,
    so no run pays for writing back the hundreds of MB its predecessor left in the page cache
    (before, each conversion also wrote to a new folder and kept it: 2.8 GB by the 7th run)."""
    if output.is_dir():
        shutil.rmtree(output)
    elif output.exists():
        output.unlink()
    os.sync()


def _clear(work: Path) -> None:
    """Deletes every file of the last model: the biggest are GBs, so only one is kept on disk."""
    for leftover in work.iterdir():
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()


def _start_up(work: Path, runs: int) -> tuple[float, float]:
    """Median seconds of `mindgen --help` and of converting the bundled example."""
    help_s = statistics.median(
        _run_measured([sys.executable, "-m", "mindgen", "--help"])[0] for _ in range(runs)
    )
    example_s = statistics.median(
        _run_measured(
            [sys.executable, "-m", "mindgen", "convert", "--example", "-o", str(work / f"ex{i}"), "-q"]
        )[0]
        for i in range(runs)
    )
    return help_s, example_s


WEIGHTY = {
    "small": [
        ("resnet_10m", lambda: resnet_like(288, 7), False),
        ("resnet_25m", lambda: resnet_like(448, 7), False),
    ],
    "all": [
        ("resnet_10m", lambda: resnet_like(288, 7), False),
        ("resnet_25m", lambda: resnet_like(448, 7), False),
        ("resnet_100m", lambda: resnet_like(896, 7), False),
        ("transformer_100m", lambda: transformer_stack(768, 14), False),
        ("transformer_350m", lambda: transformer_stack(1024, 28), True),
    ],
}
# The 16-node chain measures what every conversion pays whatever its size (start-up, imports,
# formatting); time per node is what the longer chains cost beyond it.
CHAINS = {"small": (16, 2000, 20000), "all": (16, 2000, 20000, 100000)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=("small", "all"), default="all")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--output", type=Path, help="also write the tables into this Markdown file's convert section"
    )
    args = parser.parse_args(argv)
    _compile_bytecode()
    rows, chains = [], []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for name, build, external in WEIGHTY[args.sizes]:
            rows.append(measure(build(), name, work, args.runs, external))
            print(_row(rows[-1]), flush=True)
            _clear(work)
        for count in CHAINS[args.sizes]:
            chains.append(measure(narrow_chain(count), f"chain_{count}", work, args.runs, False))
            print(_row(chains[-1]), flush=True)
            _clear(work)
        help_s, example_s = _start_up(work, args.runs)
    text = _markdown(rows, chains, help_s, example_s, args)
    print(text)
    if args.output:
        write_section(args.output, "convert", text)
    return 0


def _row(row: dict[str, object]) -> str:
    return (
        f"{row['model']:>17}  {row['params']:>11,} params  {row['nodes']:>6} nodes  floor {row['floor_s']:.2f} s  "
        f"convert {row['convert_s']:.2f} s (spread {row['spread_s']:.2f})  ratio {row['ratio']:.2f}  "
        f"peak {row['peak_mib']:.0f} MiB ({row['peak_over_weights']:.2f}x weights)"
    )


def _phases(row: dict[str, object]) -> str:
    phases = row["phases"]
    return " / ".join(
        f"{phases.get(k, 0.0):.2f}" for k in ("load", "passes", "mapping", "codegen", "weights")
    )


def _markdown(
    rows: list[dict[str, object]], chains: list[dict[str, object]], help_s: float, example_s: float, args
) -> str:
    sizes = "" if args.sizes == "all" else f" --sizes {args.sizes}"
    lines = [
        "## Conversion: time and memory against the floor of moving the weights",
        "",
        f"Command: `python benchmarks/convert_bench.py{sizes} --runs {args.runs} --output reports/benchmarks.md`.",
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores "
        f"({_cpu_model()}); load average {os.getloadavg()[0]:.1f} when the run ended. Each figure is the "
        f"median of {args.runs} fresh processes (at least 7 where a conversion takes under 2 s), floor "
        "and convert interleaved after one warm-up conversion, with bytecode compiled first as an "
        "installed wheel has it.",
        "",
        "Floor: `onnx.load` and the same tensors written with mindgen's checkpoint writer, the plainest "
        "code that moves the weights. Phases: mindgen's own timings from report.json (seconds).",
        "",
        "| model | parameters | nodes | weights MiB | floor s | convert s | convert/floor | peak RSS MiB "
        "| peak/weights | load / passes / mapping / codegen / weights |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params']:,} | {r['nodes']} | {r['weight_mib']:.0f} | {r['floor_s']:.2f} "
            f"| {r['convert_s']:.2f} | {r['ratio']:.2f} | {r['peak_mib']:.0f} | {r['peak_over_weights']:.2f} "
            f"| {_phases(r)} |"
        )
    if chains:
        fixed = chains[0]["convert_s"]
        lines += [
            "",
            f"Deep narrow chains (Add, Relu, Mul, Sigmoid on 8 features). Time per node is the convert time "
            f"beyond the {chains[0]['nodes']}-node chain's {fixed:.2f} s (start-up, imports, formatting), "
            "divided by the node count.",
            "",
            "| nodes | convert s | ms per node | peak RSS MiB | load / passes / mapping / codegen / weights |",
            "|---:|---:|---:|---:|---|",
        ]
        for r in chains:
            per_node = f"{1000 * (r['convert_s'] - fixed) / r['nodes']:.3f}" if r is not chains[0] else ""
            lines.append(
                f"| {r['nodes']:,} | {r['convert_s']:.2f} | {per_node} | {r['peak_mib']:.0f} | {_phases(r)} |"
            )
    lines += ["", f"`mindgen --help`: {help_s:.2f} s. `mindgen convert --example`: {example_s:.2f} s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
