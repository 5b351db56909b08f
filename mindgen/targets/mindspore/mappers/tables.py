"""Constant tables a mapper computes at conversion time (indices, weights, counts)."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from mindgen.targets.mindspore.emission import Ref


def table(name: str, array: np.ndarray) -> Ref:
    """A constant the network keeps as a frozen parameter, named after `name`."""
    tensor = ir.tensor(np.ascontiguousarray(array))
    return Ref(
        ir.Value(name=name, shape=ir.Shape(array.shape), type=ir.TensorType(tensor.dtype), const_value=tensor)
    )
