"""Readers that turn a model file into the canonical graph (ONNX semantics, onnx-ir)."""
