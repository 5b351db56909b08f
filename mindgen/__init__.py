"""mindgen: converts ONNX models and TensorFlow frozen graphs into MindSpore code and weights."""

from __future__ import annotations

__version__ = "0.1.0"

from mindgen import _deferred  # noqa: E402,F401  (before anything imports onnx_ir)

__all__ = ["__version__", "convert"]


def __getattr__(name: str):
    # Imported lazily so that `import mindgen` (and `mindgen --help`) stays fast.
    if name == "convert":
        from mindgen.converter import convert

        return convert
    raise AttributeError(f"module 'mindgen' has no attribute {name!r}")
