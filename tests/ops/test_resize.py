"""Resize against onnxruntime (or the ONNX reference where they differ), in both modes."""

from __future__ import annotations

import numpy as np
from _reference import check_reference
from _single_node import check_cases, single_node_model, unmapped_count
from harness import convert_model

F32, I64, U8 = np.float32, np.int64, np.uint8
RNG = np.random.default_rng(3)
X = RNG.uniform(-3, 3, (2, 3, 5, 6)).astype(F32)


def _constant(attrs, scales=None, sizes=None, roi=None, shape=(2, 3, 5, 6), dtype=F32, opset=19):
    """Resize with constant roi/scales/sizes (initializers)."""
    inits = {
        k: np.asarray(v, F32 if k != "sizes" else I64)
        for k, v in (("roi", roi), ("scales", scales), ("sizes", sizes))
        if v is not None
    }
    names = [
        "roi" if roi is not None else "",
        "scales" if scales is not None else "",
        "sizes" if sizes is not None else "",
    ]
    while names and not names[-1]:
        names.pop()
    return single_node_model(
        "Resize", [("x", dtype, list(shape)), *names], attrs=attrs, initializers=inits, opset=opset
    )


def _runtime(attrs, out, scales=None, sizes=None, roi=None, shape=(2, 3, 5, 6)):
    """Resize whose roi/scales/sizes are graph inputs; the graph declares the output shape."""
    inputs: list = [("x", F32, list(shape))]
    feeds = {"x": RNG.uniform(-3, 3, shape).astype(F32)}
    for name, value, dtype in (("roi", roi, F32), ("scales", scales, F32), ("sizes", sizes, I64)):
        inputs.append((name, dtype, [len(value)]) if value is not None else "")
        if value is not None:
            feeds[name] = np.asarray(value, dtype)
    while inputs[-1] == "":
        inputs.pop()
    model = single_node_model("Resize", inputs, attrs=attrs, opset=19, output_shapes={"y": list(out)})
    return model, feeds


def _feeds(shape=(2, 3, 5, 6), dtype=F32):
    if dtype == U8:
        return {"x": RNG.integers(0, 255, shape).astype(U8)}
    return {"x": RNG.uniform(-3, 3, shape).astype(dtype)}


NEAREST = {"mode": "nearest"}
LINEAR = {"mode": "linear"}
CUBIC = {"mode": "cubic"}


def _with(base, **extra):
    return {**base, **extra}


CONSTANT = {
    # MindSpore primitives: 2x nearest, bilinear half_pixel / align_corners / asymmetric.
    "nearest_floor_2x": (
        _with(NEAREST, coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        [1, 1, 2, 2],
        None,
    ),
    "nearest_default_2x": (NEAREST, [1, 1, 2, 2], None),
    "linear_half_pixel_2x": (LINEAR, [1, 1, 2, 2], None),
    "linear_align_corners_sizes": (
        _with(LINEAR, coordinate_transformation_mode="align_corners"),
        None,
        [2, 3, 9, 4],
    ),
    "linear_asymmetric_sizes": (
        _with(LINEAR, coordinate_transformation_mode="asymmetric"),
        None,
        [2, 3, 7, 11],
    ),
    # Gathers from constant tables.
    "nearest_prefer_ceil_1_5": (_with(NEAREST, nearest_mode="round_prefer_ceil"), [1, 1, 1.5, 1.5], None),
    "nearest_ceil_down": (_with(NEAREST, nearest_mode="ceil"), [1, 1, 0.6, 0.5], None),
    # Resize-11's TensorFlow transform, which mindgen's TensorFlow frontend still emits.
    "nearest_tf_half_pixel": (
        _with(NEAREST, coordinate_transformation_mode="tf_half_pixel_for_nn", nearest_mode="floor"),
        [1, 1, 1.5, 0.6],
        None,
    ),
    "nearest_align_corners": (
        _with(NEAREST, coordinate_transformation_mode="align_corners"),
        None,
        [2, 3, 8, 4],
    ),
    "linear_pytorch_half_pixel": (
        _with(LINEAR, coordinate_transformation_mode="pytorch_half_pixel"),
        None,
        [2, 3, 1, 4],
    ),
    "linear_down_0_6": (LINEAR, [1, 1, 0.6, 0.6], None),
    "cubic_2x": (CUBIC, [1, 1, 2, 2], None),
    "cubic_asymmetric_sizes": (_with(CUBIC, coordinate_transformation_mode="asymmetric"), None, [2, 3, 8, 9]),
    "cubic_exclude_outside": (_with(CUBIC, cubic_coeff_a=-0.5, exclude_outside=1), [1, 1, 0.8, 1.5], None),
    "linear_antialias_down": (_with(LINEAR, antialias=1), None, [2, 3, 3, 2]),
    "cubic_antialias_down": (_with(CUBIC, antialias=1), [1, 1, 0.6, 0.5], None),
    "linear_half_pixel_symmetric": (
        _with(LINEAR, coordinate_transformation_mode="half_pixel_symmetric"),
        [1, 1, 2.3, 0.7],
        None,
    ),
    "not_larger": (_with(NEAREST, axes=[2, 3], keep_aspect_ratio_policy="not_larger"), None, [8, 7]),
    "not_smaller": (_with(LINEAR, axes=[3, 2], keep_aspect_ratio_policy="not_smaller"), None, [8, 7]),
}


def test_constant_scales_and_sizes(tmp_path):
    cases = {
        name: (_constant(attrs, scales, sizes), _feeds()) for name, (attrs, scales, sizes) in CONSTANT.items()
    }
    check_cases(cases, tmp_path)


def test_primitives_where_they_match(tmp_path):
    output, _ = convert_model(
        _constant(
            _with(NEAREST, coordinate_transformation_mode="asymmetric", nearest_mode="floor"), [1, 1, 2, 2]
        ),
        tmp_path,
    )
    assert 'ops.interpolate(x, size=(10, 12), mode="nearest")' in (output / "model.py").read_text()


def test_other_ranks_types_and_batches(tmp_path):
    cases = {
        "rank3_linear": (_constant(LINEAR, [1, 1, 1.7], shape=(2, 3, 6)), _feeds((2, 3, 6))),
        "rank5_nearest": (
            _constant(NEAREST, [1, 1, 2, 0.5, 1.5], shape=(1, 2, 3, 4, 2)),
            _feeds((1, 2, 3, 4, 2)),
        ),
        "uint8_nearest": (_constant(NEAREST, [1, 1, 1.5, 2], dtype=U8), _feeds(dtype=U8)),
        "tf_crop_and_resize": (
            _constant(
                _with(LINEAR, coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=7.0),
                sizes=[2, 3, 4, 5],
                roi=[0, 0, -0.2, 0.3, 1, 1, 0.9, 1.4],
            ),
            _feeds(),
        ),
    }
    check_cases(cases, tmp_path, atol=1e-5)
    batched = _constant(LINEAR, sizes=None, scales=[1, 1, 2, 1.5], shape=("N", 3, 5, 6))
    check_cases({"dynamic_batch": batched}, tmp_path, batches=(2, 3), name="batched")


RUNTIME = {
    "nearest_prefer_floor": (NEAREST, [1, 1, 0.6, 1.7]),
    "nearest_floor_asymmetric": (
        _with(NEAREST, coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        [1, 1, 1.5, 2],
    ),
    "nearest_ceil": (_with(NEAREST, nearest_mode="ceil"), [1, 1, 2.5, 0.5]),
    "nearest_prefer_ceil": (_with(NEAREST, nearest_mode="round_prefer_ceil"), [1, 1, 1.5, 1.5]),
    "linear": (LINEAR, [1, 1, 0.6, 2.5]),
    "linear_align_corners": (_with(LINEAR, coordinate_transformation_mode="align_corners"), [1, 1, 2, 1.5]),
    "linear_half_pixel_symmetric": (
        _with(LINEAR, coordinate_transformation_mode="half_pixel_symmetric"),
        [1, 1, 2.3, 0.7],
    ),
    "cubic": (CUBIC, [1, 1, 0.8, 1.5]),
    "cubic_exclude_outside": (_with(CUBIC, cubic_coeff_a=-0.5, exclude_outside=1), [1, 1, 2, 0.5]),
    "cubic_asymmetric": (_with(CUBIC, coordinate_transformation_mode="asymmetric"), [1, 1, 2, 3]),
}


def test_scales_fed_at_run_time(tmp_path):
    cases = {}
    for name, (attrs, scales) in RUNTIME.items():
        out = [int(np.float32(s) * d) for s, d in zip(scales, X.shape, strict=True)]
        cases[name] = _runtime(attrs, out, scales=scales)
    roi = [0, 0, 0.1, -0.2, 1, 1, 0.8, 1.3]
    crop = _with(LINEAR, coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=-4.0)
    cases["tf_crop_runtime_roi"] = _runtime(crop, [2, 3, 4, 7], sizes=[2, 3, 4, 7], roi=roi)
    cases["not_larger_runtime_sizes"] = _runtime(
        _with(NEAREST, axes=[2, 3], keep_aspect_ratio_policy="not_larger"), [2, 3, 10, 12], sizes=[11, 12]
    )
    check_cases(cases, tmp_path, atol=1e-5)


def test_fractional_align_corners_follows_the_onnx_reference(tmp_path):
    # onnxruntime divides by the whole output length minus one; the reference by scale * size - 1.
    attrs = _with(LINEAR, coordinate_transformation_mode="align_corners")
    constant = _constant(attrs, [1, 1, 0.6, 0.7], opset=19)
    runtime = _runtime(attrs, [2, 3, 3, 4], scales=[1, 1, 0.6, 0.7])
    check_reference({"constant": (constant, _feeds()), "runtime": runtime}, tmp_path, atol=1e-5)


def test_unmappable_variants_are_reported(tmp_path):
    antialias, _ = _runtime(_with(LINEAR, antialias=1), [2, 3, 3, 3], scales=[1, 1, 0.6, 0.5])
    assert unmapped_count(antialias, tmp_path) == 1
    integer_linear = _constant(LINEAR, [1, 1, 2, 2], dtype=U8)
    (tmp_path / "b").mkdir()
    assert unmapped_count(integer_linear, tmp_path / "b") == 1
    undeclared = single_node_model(
        "Resize",
        [("x", F32, [1, 1, 4, 4]), "", ("scales", F32, [4])],
        attrs=NEAREST,
        opset=19,
        output_shapes={"y": [1, 1, None, None]},
    )
    (tmp_path / "c").mkdir()
    assert unmapped_count(undeclared, tmp_path / "c") == 1
