"""Einsum, Det, Shrink and parametric activations against onnxruntime, in both modes."""

from __future__ import annotations

import numpy as np
from _reference import check_reference
from _single_node import check_cases, single_node_model

F16, F32, F64, I32 = np.float16, np.float32, np.float64, np.int32
RNG = np.random.default_rng(0)


def _unary(op: str, x: np.ndarray, opset: int = 17, **attrs):
    return single_node_model(op, [("x", x.dtype.type, list(x.shape))], attrs=attrs, opset=opset), {"x": x}


def test_activations(tmp_path):
    x = RNG.uniform(-4, 4, (3, 4, 5)).astype(F32)
    slope_shapes = {
        "prelu_scalar": (1,),
        "prelu_last": (5,),
        "prelu_channels": (4, 1),
        "prelu_full": (3, 4, 5),
    }
    cases = {
        "elu": _unary("Elu", x),
        "elu_alpha": _unary("Elu", x, alpha=0.3),
        "elu_float16": _unary("Elu", x.astype(F16), alpha=2.0),
        "celu": _unary("Celu", x, alpha=1.7),
        "selu": _unary("Selu", x),
        "selu_custom": _unary("Selu", x, alpha=2.0, gamma=3.0),
        "thresholded_relu": _unary("ThresholdedRelu", x, alpha=0.7),
        "shrink_hard": _unary("Shrink", x, lambd=1.5),
        "shrink_soft": _unary("Shrink", x, lambd=1.5, bias=1.5),
        "shrink_general": _unary("Shrink", x, lambd=0.5, bias=2.0),
        "shrink_int": _unary("Shrink", RNG.integers(-9, 9, 12).astype(I32), lambd=2.0, bias=1.5),
    }
    for name, shape in slope_shapes.items():
        slope = RNG.uniform(0, 0.5, shape).astype(F32)
        model = single_node_model("PRelu", [("x", F32, [3, 4, 5]), ("slope", F32, list(shape))], opset=17)
        cases[name] = (model, {"x": x, "slope": slope})
    check_cases(cases, tmp_path, atol=1e-5)


def test_swish(tmp_path):
    # onnxruntime lacks opset 24 Swish: the ONNX reference implementation checks it.
    x = RNG.uniform(-4, 4, (2, 6)).astype(F32)
    check_reference(
        {"swish": _unary("Swish", x, opset=24), "swish_alpha": _unary("Swish", x, opset=24, alpha=0.5)},
        tmp_path,
        atol=1e-6,
    )


def test_det(tmp_path):
    cases = {
        "matrix": _unary("Det", RNG.uniform(-2, 2, (3, 3)).astype(F32)),
        "batch": _unary("Det", RNG.uniform(-2, 2, (2, 3, 4, 4)).astype(F32)),
    }
    check_cases(cases, tmp_path, atol=1e-5)
    # onnxruntime has no float64 Det.
    check_reference(
        {"float64": _unary("Det", RNG.uniform(-2, 2, (5, 2, 2)).astype(F64))}, tmp_path / "f64", 1e-12
    )


def _einsum(equation: str, *shapes, dtype=F32):
    names = [f"x{i}" for i in range(len(shapes))]
    inputs = [(n, dtype, list(s)) for n, s in zip(names, shapes, strict=True)]
    model = single_node_model("Einsum", inputs, attrs={"equation": equation}, opset=17)
    return model, {n: RNG.uniform(-2, 2, s).astype(dtype) for n, s in zip(names, shapes, strict=True)}


def test_einsum(tmp_path):
    cases = {
        "matmul": _einsum("ij,jk->ik", (3, 4), (4, 5)),
        "implicit_output": _einsum("ij,jk", (3, 4), (4, 5)),
        "batch_matmul": _einsum("bij, bjk -> bik", (2, 3, 4), (2, 4, 5)),
        "attention_scores": _einsum("bhqd,bhkd->bhqk", (2, 3, 4, 5), (2, 3, 6, 5)),
        "attention_values": _einsum("bhqk,bkhd->bqhd", (2, 3, 4, 6), (2, 6, 3, 5)),
        "inner": _einsum("i,i", (5,), (5,)),
        "outer": _einsum("i,j->ij", (3,), (4,)),
        "outer_matrices": _einsum("ij,kl->ikjl", (2, 3), (4, 5)),
        "vector_matrix": _einsum("j,jk->k", (4,), (4, 5)),
        "private_sums": _einsum("ijk,jl->il", (2, 3, 4), (3, 5)),
        "three_operands": _einsum("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)),
        "broadcast_ellipsis": _einsum("...ij,...jk->...ik", (2, 3, 4), (1, 4, 5)),
        "trace": _einsum("ii", (4, 4)),
        "batch_diagonal": _einsum("...ii->...i", (2, 3, 3)),
        "sum": _einsum("ij->i", (3, 4)),
        "total": _einsum("ijk->", (2, 3, 4)),
        "transpose": _einsum("ijk->kij", (2, 3, 4)),
        "float64": _einsum("bij,bjk->bik", (2, 3, 4), (2, 4, 5), dtype=F64),
        "int32_sum": _einsum("ij->j", (3, 4), dtype=I32),
    }
    cases["int32_sum"][1]["x0"] = RNG.integers(-9, 9, (3, 4)).astype(I32)
    check_cases(cases, tmp_path, atol=1e-5)
