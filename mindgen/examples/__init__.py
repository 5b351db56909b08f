"""Example models shipped with mindgen."""

from pathlib import Path


def example_model_path() -> Path:
    """The bundled example model (a small residual CNN with a symbolic batch axis)."""
    return Path(__file__).with_name("tiny_resnet.onnx")
