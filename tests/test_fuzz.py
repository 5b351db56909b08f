"""Fuzzed models: every mutated ONNX model and GraphDef converts cleanly or is one MindgenError.

Each case runs `mindgen convert` in-process (through cli.main, so the error line is the user's)
under a time limit and a memory watch; a fixed seed corpus (derandomized hypothesis) runs in CI,
MINDGEN_FUZZ_EXAMPLES=N runs N cases per test instead. A few cases go through a real subprocess,
and a sample of the successful conversions is imported and constructed with MindSpore.
"""

from __future__ import annotations

import ast
import io
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from fuzz_mutations import (
    COUNTS,
    EXAMPLES,
    ONNX_SEEDS,
    TF_SEEDS,
    mutate_bytes,
    mutate_graphdef,
    mutate_onnx,
    write_onnx,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgen.cli import main

REPO = Path(__file__).resolve().parents[1]
# Seconds one conversion may take before it counts as a hang; MB of peak-memory growth allowed.
HANG_SECONDS = 20
MAX_GROWTH_MB = 1024
# The memory mindgen is told it has: a forged size must be refused, not allocated.
SIMULATED_MEMORY = 256 << 20
SAMPLE_IMPORTS = 2  # per test: successes imported and constructed by MindSpore at the end
_SUCCESSES: list[Path] = []
_SCRATCH = Path(tempfile.mkdtemp(prefix="mindgen-fuzz-"))


class Hang(BaseException):
    """A conversion over HANG_SECONDS (a BaseException: main() must not swallow it)."""


def _settings(default: int) -> settings:
    return settings(
        max_examples=EXAMPLES or default,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module", autouse=True)
def small_machine():
    """Every case sees SIMULATED_MEMORY free, and internal errors re-raise with a traceback."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mindgen.frontends.limits.available_memory", lambda: SIMULATED_MEMORY)
        patch.setenv("MINDGEN_DEBUG", "1")
        yield


def _on_alarm(signum, frame):
    raise Hang(f"conversion took over {HANG_SECONDS} s")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_conversion(path: Path, test: str) -> None:
    """Converts path: exit 0 with a parsing model.py, or exit 2 with one error line and no output."""
    out = path.parent / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    before = _peak_mb()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            code = main(["convert", str(path), "--output", str(out), "--quiet"])
    except Hang:
        COUNTS[test, "hang"] += 1
        pytest.fail(f"a mutated model hangs the conversion ({HANG_SECONDS} s)")
    except BaseException:
        COUNTS[test, "internal error"] += 1
        pytest.fail(f"internal error on a mutated model:\n{traceback.format_exc()}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    growth = _peak_mb() - before
    assert growth < MAX_GROWTH_MB, f"peak memory grew by {growth:.0f} MB"
    errors = stderr.getvalue()
    if code == 2:
        COUNTS[test, "rejected"] += 1
        assert errors.count("\n") == 1 and errors.startswith("mindgen: error: "), errors
        assert not out.exists(), "a rejected conversion left output behind"
        return
    assert code == 0, f"exit code {code}: {errors}"
    COUNTS[test, "converted"] += 1
    ast.parse((out / "model.py").read_text(encoding="utf-8"))
    if sum(1 for p in _SUCCESSES if p.name.startswith(test)) < SAMPLE_IMPORTS:
        kept = _SCRATCH / f"{test}-{len(_SUCCESSES)}"
        shutil.copytree(out, kept)
        _SUCCESSES.append(kept)


def _case_dir() -> Path:
    return Path(tempfile.mkdtemp(dir=_SCRATCH))


def _check_and_clean(path: Path, test: str, case: Path) -> None:
    try:
        check_conversion(path, test)
    finally:
        shutil.rmtree(case, ignore_errors=True)


_BYTE_EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "truncate", "insert", "delete"]),
        st.integers(0, 1 << 20),
        st.integers(0, 255),
    ),
    min_size=1,
    max_size=6,
)
_ONNX_KINDS = [
    "drop_node",
    "dup_node",
    "dangling",
    "cycle",
    "dim",
    "dtype",
    "raw_size",
    "huge_initializer",
    "attr_type",
    "attr_value",
    "const_input",
    "empty_graph",
    "opset",
    "ir_version",
    "external",
]
_TF_KINDS = [
    "drop_node",
    "dup_node",
    "dangling",
    "cycle",
    "dim",
    "dtype",
    "tensor_content",
    "attr_type",
    "op",
    "empty_graph",
    "rename",
]


def _edits(kinds: list[str]):
    values = st.integers(0, 63)
    return st.lists(st.tuples(st.sampled_from(kinds), values, values, values), min_size=1, max_size=3)


@_settings(400)
@given(seed=st.sampled_from(sorted(ONNX_SEEDS)), edits=_edits(_ONNX_KINDS))
def test_structurally_mutated_onnx(seed, edits):
    case = _case_dir()
    path = write_onnx(case / "model", mutate_onnx(ONNX_SEEDS[seed], edits))
    _check_and_clean(path, "onnx-structure", case)


@_settings(150)
@given(seed=st.sampled_from(sorted(ONNX_SEEDS)), edits=_BYTE_EDITS)
def test_byte_mutated_onnx(seed, edits):
    case = _case_dir()
    data = mutate_bytes(ONNX_SEEDS[seed].SerializeToString(), edits)
    _check_and_clean(write_onnx(case / "model", data), "onnx-bytes", case)


@_settings(400)
@given(seed=st.sampled_from(sorted(TF_SEEDS)), edits=_edits(_TF_KINDS))
def test_structurally_mutated_graphdef(seed, edits):
    case = _case_dir()
    (case / "m.pb").write_bytes(mutate_graphdef(TF_SEEDS[seed], edits))
    _check_and_clean(case / "m.pb", "graphdef-structure", case)


@_settings(150)
@given(seed=st.sampled_from(sorted(TF_SEEDS)), edits=_BYTE_EDITS)
def test_byte_mutated_graphdef(seed, edits):
    case = _case_dir()
    (case / "m.pb").write_bytes(mutate_bytes(TF_SEEDS[seed], edits))
    _check_and_clean(case / "m.pb", "graphdef-bytes", case)


# Fixed mutations that must be refused, run through a real process: exit 2, one line, no traceback.
SUBPROCESS_CASES = {
    "onnx_huge_initializer": ("mlp", [("huge_initializer", 0, 1, 0)]),
    "onnx_external_traversal": ("external", [("external", 0, 0, 0)]),
    "graphdef_identity_cycle": ("sequence", [("cycle", 55, 24, 63)]),
}


@pytest.mark.parametrize("name", sorted(SUBPROCESS_CASES))
def test_refused_mutations_through_the_command_line(name, tmp_path):
    seed, edits = SUBPROCESS_CASES[name]
    if name.startswith("onnx"):
        path = write_onnx(tmp_path / "model", mutate_onnx(ONNX_SEEDS[seed], edits))
    else:
        path = tmp_path / "m.pb"
        path.write_bytes(mutate_graphdef(TF_SEEDS[seed], edits))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("MINDGEN_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "mindgen", "convert", str(path), "--output", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("mindgen: error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()
    COUNTS["command line", "rejected"] += 1


IMPORTER = """
import sys
from mindgen.runtime import load_network
for folder in sys.argv[1:]:
    load_network(folder)
    print("constructed", folder)
"""


def test_sample_of_fuzzed_successes_imports_and_constructs():
    """Importing MindSpore costs seconds: a few successes are constructed in one subprocess."""
    if not _SUCCESSES:
        pytest.skip("no fuzzed conversion succeeded in this session")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", IMPORTER, *map(str, _SUCCESSES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("constructed") == len(_SUCCESSES)
    COUNTS["sample", "imported"] += len(_SUCCESSES)
    shutil.rmtree(_SCRATCH, ignore_errors=True)
