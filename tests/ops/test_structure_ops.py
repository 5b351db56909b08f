"""Size, Tile, Trilu and CenterCropPad against onnxruntime, in both modes.

Repeats, diagonals and target shapes are graph inputs where the code must read them at run time.
"""

from __future__ import annotations

import numpy as np
from _single_node import check_cases, single_node_model

F32, I64 = np.float32, np.int64
RNG = np.random.default_rng(0)


def _data(*shape: int, dtype: type = F32) -> np.ndarray:
    return RNG.uniform(-9, 9, shape).astype(dtype)


def test_size_and_tile(tmp_path):
    x = _data(2, 3)
    cases = {
        "size_symbolic": (single_node_model("Size", [("x", F32, ["N", 3])], opset=18), {"x": x}),
        "tile_run_time": (
            single_node_model(
                "Tile", [("x", F32, [2, 3]), ("r", I64, [2])], opset=18, output_shapes={"y": ["A", "B"]}
            ),
            {"x": x, "r": np.array([3, 2], I64)},
        ),
        "tile_constant": (
            single_node_model(
                "Tile", [("x", F32, [2, 3]), "r"], initializers={"r": np.array([1, 4], I64)}, opset=18
            ),
            {"x": x},
        ),
    }
    check_cases(cases, tmp_path, atol=0)


def _trilu(upper: int, k: int | None, shape: list[int], constant: bool = False) -> tuple:
    x = _data(*shape, dtype=I64)
    if k is None:
        return single_node_model("Trilu", [("x", I64, shape)], attrs={"upper": upper}, opset=18), {"x": x}
    if constant:
        model = single_node_model(
            "Trilu",
            [("x", I64, shape), "k"],
            attrs={"upper": upper},
            initializers={"k": np.array(k, I64)},
            opset=18,
        )
        return model, {"x": x}
    model = single_node_model("Trilu", [("x", I64, shape), ("k", I64, [])], attrs={"upper": upper}, opset=18)
    return model, {"x": x, "k": np.array(k, I64)}


def test_trilu(tmp_path):
    cases = {
        "triu": _trilu(1, None, [4, 5]),
        "tril_batched": _trilu(0, None, [2, 3, 3]),
        "triu_run_time_k": _trilu(1, -1, [4, 5]),
        "tril_run_time_k": _trilu(0, 2, [4, 5]),
        "tril_run_time_k_batched": _trilu(0, -2, [2, 4, 3]),
        "tril_constant_k": _trilu(0, -1, [3, 3], constant=True),
        "triu_empty": _trilu(1, 1, [0, 5]),
    }
    check_cases(cases, tmp_path, atol=0)


def _crop_pad(shape: list[int], target: list[int], axes: list[int] | None, constant: bool) -> tuple:
    attrs = {} if axes is None else {"axes": axes}
    x = _data(*shape)
    if constant:
        inputs = [("x", F32, shape), "s"]
        model = single_node_model(
            "CenterCropPad", inputs, attrs=attrs, initializers={"s": np.array(target, I64)}, opset=18
        )
        return model, {"x": x}
    out_shape = [f"d{i}" for i in range(len(shape))]
    inputs = [("x", F32, shape), ("s", I64, [len(target)])]
    model = single_node_model("CenterCropPad", inputs, attrs=attrs, opset=18, output_shapes={"y": out_shape})
    return model, {"x": x, "s": np.array(target, I64)}


def test_center_crop_pad(tmp_path):
    cases = {
        "constant_crop_and_pad": _crop_pad([7, 6, 3], [4, 9, 3], None, constant=True),
        "constant_odd_hw": _crop_pad([3, 8, 5], [5, 3], [1, 2], constant=True),
        "run_time_all_axes": _crop_pad([7, 6, 3], [4, 9, 2], None, constant=False),
        "run_time_negative_axes": _crop_pad([8, 5, 3], [3, 10], [-3, -2], constant=False),
        "run_time_last_axis": _crop_pad([2, 3, 7], [10], [2], constant=False),
    }
    check_cases(cases, tmp_path, atol=0)
