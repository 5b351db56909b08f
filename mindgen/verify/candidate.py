"""The candidate: out/model.py with out/model.ckpt, run by MindSpore in PYNATIVE or GRAPH mode."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from mindgen.errors import InputError, VerificationError

MODE_NAMES = ("pynative", "graph")


@contextlib.contextmanager
def execution_mode(name: str) -> Iterator[None]:
    """Runs the block in one MindSpore mode and restores the caller's mode afterwards."""
    import mindspore as ms

    previous = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE if name == "pynative" else ms.GRAPH_MODE)
    try:
        yield
    finally:
        ms.set_context(mode=previous)


def use_cpu() -> None:
    """Selects the CPU once per process (MindSpore refuses to change the device later)."""
    import mindspore as ms

    try:
        ms.set_device("CPU")
    except RuntimeError:  # already set by the caller
        pass


def load_candidate(output_dir: Path, report: dict) -> tuple[Any, ModuleType]:
    """Builds the network class from model.py and loads model.ckpt into it (inference mode)."""
    import mindspore as ms

    from mindgen.runtime import import_model_module

    use_cpu()
    for name in ("model.py", report["checkpoint"]):
        if not (output_dir / name).is_file():
            raise InputError(f"{output_dir} has no {name}; convert the model first")
    try:
        module = import_model_module(output_dir)
        network = getattr(module, report["network_class"])()
    except Exception as exc:  # a broken model.py fails verification, whatever it raises
        raise VerificationError(
            f"model.py does not build: {type(exc).__name__}: {_first_line(exc)}"
        ) from None
    # An empty checkpoint (no parameters) is a file MindSpore refuses to read.
    if report["summary"].get("parameters"):
        try:
            params = ms.load_checkpoint(str(output_dir / report["checkpoint"]))
            missing, unexpected = ms.load_param_into_net(network, params)
        except Exception as exc:  # a damaged file or a shape mismatch, in MindSpore's many exception types
            raise VerificationError(f"model.ckpt does not load into model.py: {_first_line(exc)}") from None
        if missing or unexpected:
            raise VerificationError(
                f"model.ckpt does not fit model.py: missing {missing[:3]}, unexpected {unexpected[:3]}"
            )
    network.set_train(False)
    return network, module


def run_candidate(network: Any, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Calls the network on one batch (inputs in source order) and returns numpy outputs."""
    import mindspore as ms

    results = network(*[ms.Tensor(array) for array in batch])
    results = results if isinstance(results, (tuple, list)) else (results,)
    return [to_numpy(r) for r in results]


def to_numpy(value: Any) -> np.ndarray:
    """A MindSpore tensor (or a Python number or tuple from a shape op) as a numpy array."""
    return value.asnumpy() if hasattr(value, "asnumpy") else np.asarray(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[0].split())[:300] if text else ""


def describe_failure(exc: BaseException) -> str:
    """One line for an exception raised by the generated network."""
    return f"{type(exc).__name__}: {_first_line(exc)}"
