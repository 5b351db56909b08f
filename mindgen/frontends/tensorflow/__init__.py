"""TensorFlow frozen GraphDef frontend: reads .pb files with protobuf alone, never TensorFlow."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["is_tensorflow_path", "load_tensorflow"]

# Defined here, not in .loader, so that converting an ONNX model skips importing the TF frontend
# (the same names as reader.SAVED_MODEL_FILES, which imports the GraphDef schema).
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def is_tensorflow_path(path: str | os.PathLike[str]) -> bool:
    """A .pb/.pbtxt file, a saved_model.pb(txt), or a SavedModel directory: the TF frontend's to read."""
    path = Path(path)
    if path.is_dir():
        return any((path / name).exists() for name in _SAVED_MODEL_FILES)
    return path.suffix.lower() in (".pb", ".pbtxt") or path.name in _SAVED_MODEL_FILES


def __getattr__(name: str):
    if name == "load_tensorflow":
        from mindgen.frontends.tensorflow.loader import load_tensorflow

        return load_tensorflow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
