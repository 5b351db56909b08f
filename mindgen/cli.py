"""The `mindgen` command line: convert, inspect, ops, verify, check."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from mindgen import __version__
from mindgen.errors import InputError, MindgenError

# Exit code for a bug in mindgen itself (never for bad input, which is 2).
EXIT_INTERNAL_ERROR = 3


def parse_shape(text: str) -> list[int]:
    """Parses one --shape value such as '1,3,224,224' (or '1x3x224x224')."""
    parts = [part.strip() for part in text.replace("x", ",").split(",")]
    if not all(part.isascii() and part.isdigit() and int(part) > 0 for part in parts):
        raise InputError(f"invalid --shape {text!r}: expected positive integers separated by commas")
    return [int(part) for part in parts]


def one_line(text: str) -> str:
    """Text with line breaks and other control characters escaped, for a one-line message."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mindgen",
        description="Convert ONNX models into readable MindSpore code, a checkpoint and a report.",
    )
    parser.add_argument("--version", action="version", version=f"mindgen {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    convert = commands.add_parser("convert", help="convert a model into model.py + model.ckpt + report")
    convert.add_argument("model", nargs="?", help="the .onnx or TensorFlow frozen .pb file to convert")
    convert.add_argument("--model_file", dest="model_file", help="alias of MODEL (MindConverter)")
    convert.add_argument("-o", "--output", help="output directory (default: <model name>_mindspore)")
    convert.add_argument("--report", dest="report_dir", help="write report and weight map to this directory")
    convert.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    convert.add_argument(
        "--update",
        action="store_true",
        help="regenerate a previous conversion in OUTPUT and carry your edits of its model.py over",
    )
    # Parsed in _convert, not by argparse, so a bad value is one error line and not a usage dump.
    convert.add_argument(
        "--shape", nargs="+", metavar="DIMS", help="input shapes, e.g. 1,3,224,224 (fills unknown dims)"
    )
    convert.add_argument(
        "--input_nodes", nargs="+", metavar="NAME", help="cut the graph: start at these tensors"
    )
    convert.add_argument(
        "--output_nodes", nargs="+", metavar="NAME", help="cut the graph: end at these tensors"
    )
    convert.add_argument(
        "--layout",
        choices=("source", "nchw"),
        help="TensorFlow graphs: keep the source NHWC interface (default) or take and return NCHW",
    )
    convert.add_argument(
        "--emit-onnx",
        dest="emit_onnx",
        metavar="FILE",
        help="TensorFlow graphs: also write the canonical ONNX graph",
    )
    convert.add_argument("--example", action="store_true", help="convert the bundled example model")
    convert.add_argument("--flat", action="store_true", help="write one network class, not one per module")
    convert.add_argument(
        "--verify", action="store_true", help="then verify the result against the source (exit 1 on mismatch)"
    )
    convert.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _add_mappings_options(convert)

    inspect = commands.add_parser("inspect", help="show a model's inputs, outputs and operators")
    inspect.add_argument("model", help="the .onnx file to inspect")

    ops = commands.add_parser("ops", help="list the operators mindgen maps, from its registry")
    _add_mappings_options(ops)
    _add_verify_parser(commands)
    _add_check_parser(commands)
    return parser


def _add_check_parser(commands) -> None:
    check = commands.add_parser(
        "check",
        help="test each hand-finished placeholder alone against its source operator",
        description=(
            "Lists the placeholders still unfinished (construct raises NotImplementedError) and tests each "
            "implemented one alone: the source node as a one-node model in onnxruntime (or a --reference "
            "function) against the Cell in model.py, on seeded random inputs of the recorded shapes. "
            "Exit 0 when every placeholder is implemented and matches, 1 otherwise, 2 on bad input."
        ),
    )
    check.add_argument("output", help="the conversion's output directory (model.py, model.ckpt, report.json)")
    check.add_argument("--model", metavar="FILE", help="the source model, if not where report.json says")
    check.add_argument(
        "--report", dest="report_dir", metavar="DIR", help="where report.json is, if not in OUTPUT"
    )
    check.add_argument(
        "--reference",
        metavar="FILE",
        help="a Python file of numpy functions named by op type (def FusedGelu(x, *, alpha=None)), "
        "the reference for operators onnxruntime cannot run",
    )
    check.add_argument(
        "--samples", default="1", metavar="N", help="number of seeded random inputs (default 1)"
    )
    check.add_argument("--seed", default="0", metavar="N", help="seed of the random inputs (default 0)")
    check.add_argument("--rtol", metavar="R", help="relative tolerance (default 1e-4; 1e-3 for float16)")
    check.add_argument("--atol", metavar="A", help="absolute tolerance (default 1e-5; 1e-3 for float16)")


def _add_mappings_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--mappings",
        action="append",
        default=[],
        metavar="FILE",
        help="a Python file registering mappers for more operators (repeatable)",
    )
    command.add_argument(
        "--no-plugins",
        dest="plugins",
        action="store_false",
        help="ignore installed mindgen.mappings entry points",
    )


def _print_warnings(warnings: Iterable[str]) -> None:
    """Plugins that failed to load: the conversion went on without them."""
    for warning in warnings:
        print(f"mindgen: warning: {one_line(warning)}", file=sys.stderr)


def _add_verify_parser(commands) -> None:
    verify = commands.add_parser(
        "verify", help="run the source and the converted network on the same inputs and compare"
    )
    verify.add_argument("model", help="the source model (.onnx or .pb)")
    verify.add_argument(
        "output", help="the conversion's output directory (model.py, model.ckpt, report.json)"
    )
    verify.add_argument("--inputs", metavar="FILE", help="inputs from a .npz (by input name) or .npy file")
    # Numbers are parsed in _verify, so that a bad value is one error line and not a usage dump.
    verify.add_argument("--shape", nargs="+", metavar="DIMS", help="random input shapes (fills unknown dims)")
    verify.add_argument(
        "--samples", default="1", metavar="N", help="number of seeded random batches (default 1)"
    )
    verify.add_argument("--seed", default="0", metavar="N", help="seed of the random batches (default 0)")
    verify.add_argument("--rtol", metavar="R", help="relative tolerance (default 1e-4; 1e-3 for float16)")
    verify.add_argument("--atol", metavar="A", help="absolute tolerance (default 1e-5; 1e-3 for float16)")
    verify.add_argument(
        "--mode",
        choices=("pynative", "graph", "both"),
        default="both",
        help="MindSpore mode(s) (default both)",
    )
    verify.add_argument("--locate", action="store_true", help="on mismatch, name the first diverging node")
    verify.add_argument(
        "--export-mindir",
        nargs="?",
        const=True,
        metavar="FILE",
        help="export MINDIR, reload and compare it (kept in FILE, a .mindir path, if given)",
    )
    verify.add_argument(
        "--train-step", action="store_true", help="check a few optimizer steps train the network"
    )
    verify.add_argument(
        "--report", dest="report_dir", metavar="DIR", help="where report.json is, if not in OUTPUT"
    )
    verify.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; returns the exit code (0 done, 1 not verified, 2 bad input, 3 a mindgen bug)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    commands = {"convert": _convert, "inspect": _inspect, "ops": _ops, "verify": _verify, "check": _check}
    try:
        code = commands[args.command](args)
        sys.stdout.flush()  # a closed pipe must surface here, not as a warning at exit
        return code
    except MindgenError as error:
        print(f"mindgen: error: {one_line(str(error))}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (`mindgen ops | head`); silence the flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("mindgen: interrupted; nothing was written", file=sys.stderr)
        return 130
    except MemoryError:
        if os.environ.get("MINDGEN_DEBUG"):
            raise
        # Not a bug: the model (or a tensor it computes) is larger than this machine can hold.
        # Output is staged, so nothing half-written is left behind.
        print(
            "mindgen: error: out of memory: the model needs more memory than this machine has free; "
            "nothing was written",
            file=sys.stderr,
        )
        return 2
    except Exception as error:  # a bug in mindgen: one line unless asked for the traceback
        if os.environ.get("MINDGEN_DEBUG"):
            raise
        print(
            f"mindgen: internal error: {type(error).__name__}: {one_line(str(error))[:300]} "
            "(set MINDGEN_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


def _convert(args: argparse.Namespace) -> int:
    from mindgen.converter import convert
    from mindgen.examples import example_model_path
    from mindgen.output import check_report_dir

    model = args.model or args.model_file
    if args.model and args.model_file and args.model != args.model_file:
        raise InputError("give the model either as MODEL or as --model_file, not both")
    if args.example:
        if model:
            raise InputError("--example converts the bundled model; do not also give MODEL")
        model = str(example_model_path())
    if not model:
        raise InputError("no model given: mindgen convert MODEL.onnx|MODEL.pb (or --example)")
    output = Path(args.output or f"{Path(model).stem}_mindspore")
    shapes = [parse_shape(text) for text in args.shape] if args.shape else None
    report_dir = Path(args.report_dir) if args.report_dir else None
    if report_dir is not None:
        check_report_dir(output, report_dir)
        if report_dir.resolve() == output.resolve():
            report_dir = None  # the report goes there anyway; two swaps of one folder would clash
    started = time.perf_counter()
    report = convert(
        model,
        output,
        report_dir=report_dir,
        force=args.force,
        shapes=shapes,
        input_nodes=args.input_nodes,
        output_nodes=args.output_nodes,
        progress=None if args.quiet else _progress_printer(),
        flat=args.flat,
        layout=args.layout,
        emit_onnx=args.emit_onnx,
        mappings=args.mappings,
        plugins=args.plugins,
        update=args.update,
    )
    _print_warnings(w for w in report.warnings if w.startswith("entry point "))
    if not args.quiet:
        summary = report.summary
        elapsed = time.perf_counter() - started
        print(
            f"Converted {Path(model).name}: {summary['nodes']} nodes, {summary['mapped']} mapped, "
            f"{summary['unmapped']} unmapped ({elapsed:.2f} s)"
        )
        print(f"  {report.files['model']}  (class {report.network_class})")
        print(
            f"  {report.files['checkpoint']}  ({summary['parameters']} parameters, {summary['parameter_bytes']:,} bytes)"
        )
        print(f"  {report.files['weight_map']}")
        print(f"  {report.files['report']}  (and report.json)")
        if report.unmapped:
            print(f"{len(report.unmapped)} operator(s) left to finish by hand; see the report.")
        if report.update is not None:
            _print_update(report.update)
    if args.verify:
        from mindgen.verify import run_verification

        result = run_verification(model, output, report_dir=report_dir)
        return _verdict(result, args.quiet, f"mindgen verify {model} {output} --locate")
    return 0


def _print_update(record: dict) -> None:
    """One line per carried-over edit and per conflict of a --update run."""
    for item in record["carried_over"]:
        print(f"  kept your edit: {item['unit']} ({item['change']})")
    for item in record["conflicts"]:
        print(f"  CONFLICT: {item['unit']}: {item['reason']}")


def _verify(args: argparse.Namespace) -> int:
    from mindgen.verify import run_verification

    mindir = args.export_mindir
    if isinstance(mindir, str) and not mindir.endswith(".mindir"):
        raise InputError(f"--export-mindir FILE must end in .mindir, not {mindir!r}")
    result = run_verification(
        args.model,
        args.output,
        report_dir=args.report_dir,
        inputs=Path(args.inputs) if args.inputs else None,
        shapes=[parse_shape(text) for text in args.shape] if args.shape else None,
        samples=_parse_number(args.samples, "--samples", int),
        seed=_parse_number(args.seed, "--seed", int),
        rtol=_parse_number(args.rtol, "--rtol", float) if args.rtol is not None else None,
        atol=_parse_number(args.atol, "--atol", float) if args.atol is not None else None,
        modes=("pynative", "graph") if args.mode == "both" else (args.mode,),
        locate=args.locate,
        export_mindir=bool(mindir),
        mindir_path=Path(mindir) if isinstance(mindir, str) else None,
        train_step=args.train_step,
    )
    hint = "" if args.locate else f"mindgen verify {args.model} {args.output} --locate"
    return _verdict(result, args.quiet, hint)


def _check(args: argparse.Namespace) -> int:
    from mindgen.errors import VerificationError
    from mindgen.verify.check import run_check

    result = run_check(
        args.output,
        report_dir=args.report_dir,
        model=args.model,
        reference=args.reference,
        samples=_parse_number(args.samples, "--samples", int),
        seed=_parse_number(args.seed, "--seed", int),
        rtol=_parse_number(args.rtol, "--rtol", float) if args.rtol is not None else None,
        atol=_parse_number(args.atol, "--atol", float) if args.atol is not None else None,
    )
    print(result.table())
    if not result.passed:
        raise VerificationError(result.summary())
    return 0


def _verdict(result, quiet: bool, locate_hint: str) -> int:
    """Prints the table; a failed verification becomes exit code 1 (VerificationError)."""
    from mindgen.errors import VerificationError

    if not quiet:
        print(result.table())
        if not result.passed and locate_hint:
            print(f"To find the first diverging node: {locate_hint}")
    if not result.passed:
        raise VerificationError(result.summary())
    return 0


def _parse_number(text: str, option: str, kind: type) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise InputError(f"invalid {option} {text!r}: expected a number") from None


def _progress_printer():
    """Prints a progress line on a terminal for models with many nodes."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total >= 500 and (done % 100 == 0 or done == total):
            end = "\n" if done == total else ""
            print(f"\rmapping nodes: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def _inspect(args: argparse.Namespace) -> int:
    from mindgen.inspect import describe_model

    print(describe_model(args.model))
    return 0


def _ops(args: argparse.Namespace) -> int:
    from mindgen.targets.mindspore.custom import load_mappings
    from mindgen.targets.mindspore.optable import operator_table
    from mindgen.targets.mindspore.registry import default_registry

    loaded = load_mappings(default_registry(), args.mappings, entry_points=args.plugins)
    _print_warnings(loaded.warnings)
    print(operator_table(loaded.registry))
    return 0


if __name__ == "__main__":
    sys.exit(main())
