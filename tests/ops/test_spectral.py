"""DFT and STFT against onnxruntime, in both modes."""

from __future__ import annotations

import numpy as np
from _single_node import check_cases, single_node_model, unmapped_count

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64
RNG = np.random.default_rng(0)


def _dft(x: np.ndarray, opset: int, length: int | None = None, axis: int | None = None, **attrs):
    inputs: list = [("x", x.dtype.type, list(x.shape)), "n" if length is not None else ""]
    initializers = {"n": np.array(length, I64)} if length is not None else {}
    if axis is not None and opset < 20:
        attrs["axis"] = axis
    elif axis is not None:
        inputs.append("axis")
        initializers["axis"] = np.array(axis, I64)
    while inputs[-1] == "":
        inputs.pop()
    model = single_node_model("DFT", inputs, attrs=attrs, initializers=initializers, opset=opset)
    return model, {"x": x}


def test_dft(tmp_path):
    real = RNG.uniform(-1, 1, (2, 8, 3, 1)).astype(F32)
    complex_ = RNG.uniform(-1, 1, (2, 8, 3, 2)).astype(F32)
    half = RNG.uniform(-1, 1, (2, 5, 3, 2)).astype(F32)
    check_cases(
        {
            "real": _dft(real, 20, axis=1),
            "complex_last": _dft(complex_, 20),
            "padded": _dft(real, 20, length=12, axis=1),
            "truncated_float64": _dft(complex_.astype(F64), 20, length=6, axis=1),
            "onesided": _dft(real, 20, axis=-3, onesided=1),
            "inverse": _dft(complex_, 20, axis=1, inverse=1),
            "inverse_onesided": _dft(half, 20, axis=1, inverse=1, onesided=1),
        },
        tmp_path,
        atol=1e-5,
    )
    opset17 = {"opset17": _dft(complex_, 17, axis=2), "opset17_rfft": _dft(real, 17, onesided=1)}
    (tmp_path / "17").mkdir()
    check_cases(opset17, tmp_path / "17", atol=1e-5)


def _stft(signal: np.ndarray, step: int, window: np.ndarray | None, length: int | None, **attrs):
    inputs: list = [("signal", F32, list(signal.shape)), "step", "window" if window is not None else ""]
    initializers = {"step": np.array(step, I64)}
    if window is not None:
        initializers["window"] = window
    if length is not None:
        inputs.append("length")
        initializers["length"] = np.array(length, I64)
    while inputs[-1] == "":
        inputs.pop()
    return single_node_model("STFT", inputs, attrs=attrs, initializers=initializers, opset=17), {
        "signal": signal
    }


def test_stft(tmp_path):
    signal = RNG.uniform(-1, 1, (2, 64, 1)).astype(F32)
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(16) / 16)).astype(F32)
    # Step and frame length fed at run time, as in the ONNX backend tests: run-time output shape.
    inputs = [("signal", F32, [2, 64, 1]), ("step", I64, []), "", ("length", I64, [])]
    run_time = single_node_model("STFT", inputs, opset=17, output_shapes={"y": [2, "frames", "bins", 2]})
    check_cases(
        {
            "frame_length": _stft(signal, 8, None, 16),
            "window": _stft(signal, 5, hann, None),
            "window_and_length": _stft(signal, 16, hann, 16),
            "two_sided": _stft(signal, 8, hann, None, onesided=0),
            "run_time": (run_time, {"signal": signal, "step": np.array(6, I64), "length": np.array(12, I64)}),
        },
        tmp_path,
        atol=1e-5,
    )


def test_run_time_dft_axis_is_refused(tmp_path):
    inputs = [("x", F32, [1, 8, 1]), "", ("axis", I64, [])]
    dft = single_node_model("DFT", inputs, opset=20, output_shapes={"y": [1, 8, 2]})
    assert unmapped_count(dft, tmp_path) == 1


def test_mel_weight_matrix(tmp_path):
    def case(bands: int, length: int, rate: int, low: float, high: float, **attrs):
        names = ("bands", "length", "rate", "low", "high")
        values = [
            np.array(v, t)
            for v, t in zip((bands, length, rate, low, high), (I32, I32, I32, F32, F32), strict=True)
        ]
        inputs = [(n, v.dtype.type, []) for n, v in zip(names, values, strict=True)]
        model = single_node_model(
            "MelWeightMatrix", inputs, attrs=attrs, opset=17, output_shapes={"y": ["bins", "bands"]}
        )
        return model, dict(zip(names, values, strict=True))

    cases = {
        "small": case(8, 16, 8192, 0.0, 4096.0),
        "speech": case(40, 512, 16000, 20.0, 8000.0),
        "narrow_float64": case(5, 64, 8000, 300.0, 3400.0, output_datatype=11),
    }
    check_cases(cases, tmp_path, atol=1e-6)
