"""Latency of generated networks against hand-written MindSpore networks and onnxruntime.

    python benchmarks/runtime_bench.py [--seconds 20] [--markdown reports/runtime_table.md]

Two architectures (benchmarks/runtime_models.py), each run as (a) the network mindgen generates
from the ONNX model, (b) the same architecture written by hand in MindSpore
(benchmarks/hand_written.py) holding the same weights, and (c) onnxruntime on the ONNX model;
MindSpore in GRAPH_MODE on CPU, at batch 1 and 8. Each batch size gets its own warm-up (GRAPH
compiles once per input shape), then the three runners are called in interleaved rounds
(every order of A, B, C in turn) so that load from other processes hits all alike; medians are reported.

On AVX-512 machines MindSpore's oneDNN runs 3x3 Conv2D on its reference kernel (ONEDNN_VERBOSE=1
shows `jit_uni_ncsp:conv+ref:any`), about 100x slower than with `ONEDNN_MAX_CPU_ISA=AVX2` set in
the environment (then `gemm:jit`). That hits generated and hand-written networks alike; run the
bench both ways to see it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import mindspore as ms
import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hand_written import HandEncoder, HandResNet, load_weights  # noqa: E402
from runtime_models import encoder_onnx, resnet_onnx  # noqa: E402

import mindgen  # noqa: E402
from mindgen.runtime import load_network  # noqa: E402

RUNNERS = ("generated", "hand", "ort")
TOLERANCE = 1e-4  # max abs difference allowed between the three runners' outputs


def _rounds(runs: dict[str, Callable[[], object]], seconds: float, min_rounds: int) -> dict[str, list[float]]:
    """Per-call seconds of each runner over interleaved rounds filling about `seconds` (at most 200)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    start = time.perf_counter()
    # Cycle through every order: a runner's predecessor can leave busy threads or a cold cache behind,
    # and a mere rotation keeps the same predecessor for each runner.
    orders = list(itertools.permutations(runs))
    done = 0
    while done < min_rounds or time.perf_counter() - start < seconds:
        for name in orders[done % len(orders)]:
            begin = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - begin)
        done += 1
        if done >= 200:
            break
    return times


def _warm_up(runs: dict[str, Callable[[], object]], calls: int) -> dict[str, float]:
    """Calls each runner `calls` times (the first call compiles the graph); returns first-call seconds."""
    first = {}
    for name, run in runs.items():
        begin = time.perf_counter()
        run()
        first[name] = time.perf_counter() - begin
        for _ in range(calls - 1):
            run()
    return first


def bench(
    name: str, model: onnx.ModelProto, hand, shape: tuple[int, ...], args: argparse.Namespace, work: Path
) -> list[dict]:
    """Converts the model, then times generated, hand-written and onnxruntime at batch 1 and 8."""
    path = work / f"{name}.onnx"
    onnx.save(model, path)
    mindgen.convert(path, work / name, force=True)
    generated = load_network(work / name)
    options = ort.SessionOptions()
    # Idle onnxruntime threads spin by default and take the shared cores from the next runner.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    rows = []
    for batch in (1, 8):
        x = np.random.default_rng(batch).standard_normal((batch, *shape)).astype(np.float32)
        tensor = ms.Tensor(x)
        runs = {
            "generated": partial(_call_ms, generated, tensor),
            "hand": partial(_call_ms, hand, tensor),
            "ort": partial(_call_ort, session, {input_name: x}),
        }
        rows.append(_time_batch(name, batch, runs, args))
        print(_text_row(rows[-1]), flush=True)
    return rows


def _call_ms(network, tensor: ms.Tensor) -> np.ndarray:
    """One forward pass, synchronised by copying the output to numpy."""
    return network(tensor).asnumpy()


def _call_ort(session: ort.InferenceSession, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """One onnxruntime run, returning the first output."""
    return session.run(None, feeds)[0]


def _time_batch(
    name: str, batch: int, runs: dict[str, Callable[[], object]], args: argparse.Namespace
) -> dict:
    """Warms up, checks the outputs agree, times interleaved rounds; one table row."""
    first = _warm_up(runs, args.warmup)
    outputs = {runner: run() for runner, run in runs.items()}
    times = _rounds(runs, args.seconds, args.min_rounds)
    medians = {runner: statistics.median(values) * 1000 for runner, values in times.items()}
    return {
        "model": name,
        "batch": batch,
        **medians,
        "iqr": {runner: _iqr(values) * 1000 for runner, values in times.items()},
        "rounds": len(times["generated"]),
        "first_s": {runner: first[runner] for runner in ("generated", "hand")},
        "diff_hand": float(np.abs(outputs["generated"] - outputs["hand"]).max()),
        "diff_ort": float(np.abs(outputs["generated"] - outputs["ort"]).max()),
        "vs_hand": _paired_ratio(times["generated"], times["hand"]),
        "vs_ort": _paired_ratio(times["generated"], times["ort"]),
    }


def _paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """Median of the per-round ratios: both calls of a round saw the same machine load."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def _iqr(values: list[float]) -> float:
    """Interquartile range, the spread of the timed calls."""
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return quartiles[2] - quartiles[0]


def _text_row(row: dict) -> str:
    """One console line per (model, batch)."""
    return (
        f"{row['model']:<12} batch {row['batch']}: generated {row['generated']:8.2f} ms, "
        f"hand {row['hand']:8.2f} ms, ort {row['ort']:7.2f} ms | gen/hand {row['vs_hand']:.3f} "
        f"gen/ort {row['vs_ort']:.2f} | {row['rounds']} rounds | max|gen-hand| {row['diff_hand']:.1e} "
        f"max|gen-ort| {row['diff_ort']:.1e} | first call (compile) gen {row['first_s']['generated']:.2f} s, "
        f"hand {row['first_s']['hand']:.2f} s"
    )


def machine() -> str:
    """One line describing the CPU, cores, Python and library versions."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, mindspore {ms.__version__}, onnxruntime {ort.__version__}"
        + (f", ONEDNN_MAX_CPU_ISA={isa}" if isa else "")
    )


def markdown(rows: list[dict], args: argparse.Namespace, models: str, load: tuple[float, float]) -> str:
    """The table as markdown, with the command, the machine and the models' sizes."""
    command = " ".join(["python benchmarks/runtime_bench.py", *(args.argv or [])])
    lines = [
        f"Command: `{command}`. Machine: {machine()}; load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after. MindSpore GRAPH_MODE on CPU; {models}. Median ms per call "
        "(output copied to numpy) over interleaved rounds after a warm-up per batch size; "
        "IQR in brackets. Ratios are medians of the per-round ratios (calls in one round share the load).",
        "",
        "| model | batch | generated ms | hand-written ms | onnxruntime ms | generated/hand | "
        "generated/onnxruntime | max abs diff gen-hand / gen-ort | rounds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = [f"{r[k]:.2f} ({r['iqr'][k]:.2f})" for k in RUNNERS]
        lines.append(
            f"| {r['model']} | {r['batch']} | {' | '.join(cells)} | **{r['vs_hand']:.3f}** | {r['vs_ort']:.2f} "
            f"| {r['diff_hand']:.1e} / {r['diff_ort']:.1e} | {r['rounds']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timed wall seconds per model and batch")
    parser.add_argument("--min-rounds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=3, help="calls per runner before timing")
    parser.add_argument("--width", type=int, default=32, help="ResNet channels (the second block has twice)")
    parser.add_argument("--resolution", type=int, default=32, help="ResNet input height and width")
    parser.add_argument("--dim", type=int, default=256, help="encoder model width (8 heads, FFN 4x)")
    parser.add_argument("--seq", type=int, default=64, help="encoder sequence length")
    parser.add_argument("--layers", type=int, default=2, help="encoder layers")
    parser.add_argument("--only", choices=("resnet", "encoder"), help="run one of the two models")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown to this file")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    print(machine(), flush=True)
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if args.only in (None, "resnet"):
            model, weights = resnet_onnx(args.width, args.resolution)
            hand = load_weights(HandResNet(args.width), weights)
            rows += bench("resnet", model, hand, (3, args.resolution, args.resolution), args, work)
        if args.only in (None, "encoder"):
            model, weights = encoder_onnx(args.dim, 8, args.seq, args.layers)
            hand = load_weights(HandEncoder(args.dim, 8, args.layers), weights)
            rows += bench("encoder", model, hand, (args.seq, args.dim), args, work)
    models = (
        f"resnet: Conv-BN-ReLU stem to {args.width} channels, a basic block, a stride-2 block to "
        f"{2 * args.width} channels with a 1x1 projection, global pool, fc 10, input 3x{args.resolution}"
        f"x{args.resolution}; encoder: {args.layers} post-norm layers, width {args.dim}, 8 heads, "
        f"ReLU FFN {4 * args.dim}, sequence {args.seq}"
    )
    text = markdown(rows, args, models, (load_before, os.getloadavg()[0]))
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text)
    # Timings of networks that compute different things would mean nothing.
    mismatched = [r for r in rows if max(r["diff_hand"], r["diff_ort"]) > TOLERANCE]
    for r in mismatched:
        print(
            f"error: {r['model']} batch {r['batch']} outputs differ by more than {TOLERANCE}", file=sys.stderr
        )
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
