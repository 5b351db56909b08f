"""Runs the converted network in PYNATIVE and GRAPH mode and compares it with numpy.

Run: python check_against_numpy.py fused_gelu_out   (after build_model.py and mindgen convert)
"""

from __future__ import annotations

import sys

import mindspore as ms
import numpy as np
import onnx
from build_model import reference

from mindgen.runtime import load_network


def main(output: str, model: str = "fused_gelu_net.onnx") -> int:
    """Prints the max abs error per mode; exit 1 when one exceeds 1e-5."""
    ms.set_device("CPU")
    x = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    want = reference(onnx.load(model), x)
    network = load_network(output)
    worst = 0.0
    for name, mode in (("pynative", ms.PYNATIVE_MODE), ("graph", ms.GRAPH_MODE)):
        ms.set_context(mode=mode)
        error = float(np.max(np.abs(network(ms.Tensor(x)).asnumpy() - want)))
        worst = max(worst, error)
        print(f"{name}: max abs error {error:.2e}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
