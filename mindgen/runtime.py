"""Loads a generated network with its checkpoint (imports MindSpore; used by tests and verify)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def import_model_module(output_dir: str | Path) -> ModuleType:
    """Imports out/model.py under a unique module name (GRAPH_MODE re-imports it by name)."""
    path = Path(output_dir).absolute() / "model.py"
    name = "mindgen_generated_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_network(output_dir: str | Path, *, checkpoint: bool = True) -> Any:
    """Builds the generated network and loads model.ckpt into it; fails on any name mismatch."""
    import mindspore as ms

    output_dir = Path(output_dir)
    report = json.loads((output_dir / "report.json").read_text(encoding="utf-8"))
    network = getattr(import_model_module(output_dir), report["network_class"])()
    # A network without parameters has an empty checkpoint, which MindSpore refuses to read.
    if checkpoint and report["summary"]["parameters"]:
        params = ms.load_checkpoint(str(output_dir / report["checkpoint"]))
        missing, unexpected = ms.load_param_into_net(network, params)
        if missing or unexpected:
            raise RuntimeError(f"checkpoint mismatch: missing {missing}, unexpected {unexpected}")
    network.set_train(False)
    return network
