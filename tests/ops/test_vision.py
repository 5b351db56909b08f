"""GridSample, AffineGrid, RoiAlign, Col2Im, DepthToSpace, SpaceToDepth and DeformConv, in both modes."""

from __future__ import annotations

import numpy as np
import pytest
from _reference import check_reference
from _single_node import check_cases, single_node_model, unmapped_count

F32, I64 = np.float32, np.int64
RNG = np.random.default_rng(11)


def _grid_case(mode, padding, align, x_shape, grid_shape, grid):
    model = single_node_model(
        "GridSample",
        [("x", F32, list(x_shape)), ("grid", F32, list(grid_shape))],
        attrs={"mode": mode, "padding_mode": padding, "align_corners": align},
        opset=20,
    )
    return model, {"x": RNG.uniform(-3, 3, x_shape).astype(F32), "grid": grid}


def _tie_grid(shape):
    # Quarter steps put many samples exactly halfway between pixels (2x4 and 2x3 images).
    return RNG.choice(np.arange(-1.75, 1.8, 0.25), shape).astype(F32)


@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
def test_grid_sample(padding, tmp_path):
    cases = {}
    for align, width in ((0, 4), (1, 3)):
        for mode in ("linear", "nearest"):
            smooth = RNG.uniform(-1.4, 1.4, (2, 3, 5, 2)).astype(F32)
            cases[f"{mode}_align{align}"] = _grid_case(
                mode, padding, align, (2, 2, 2, width), (2, 3, 5, 2), smooth
            )
            cases[f"{mode}_align{align}_ties"] = _grid_case(
                mode, padding, align, (2, 2, 2, width), (2, 4, 4, 2), _tie_grid((2, 4, 4, 2))
            )
            volume = RNG.uniform(-1.3, 1.3, (1, 2, 3, 2, 3)).astype(F32)
            cases[f"{mode}_align{align}_3d"] = _grid_case(
                mode, padding, align, (1, 2, 3, 2, 4), (1, 2, 3, 2, 3), volume
            )
    check_cases(cases, tmp_path, atol=1e-5)


def test_affine_grid(tmp_path):
    cases = {}
    for align in (0, 1):
        for theta_shape, size in (((2, 2, 3), [2, 3, 5, 6]), ((2, 3, 4), [2, 3, 3, 4, 5])):
            model = single_node_model(
                "AffineGrid",
                [("theta", F32, list(theta_shape)), "size"],
                attrs={"align_corners": align},
                initializers={"size": np.array(size, I64)},
                opset=20,
            )
            cases[f"{len(size)}d_align{align}"] = (
                model,
                {"theta": RNG.uniform(-1, 1, theta_shape).astype(F32)},
            )
    fed = single_node_model(
        "AffineGrid",
        [("theta", F32, [2, 2, 3]), ("size", I64, [4])],
        opset=20,
        output_shapes={"grid": [2, 4, 7, 2]},
        outputs=("grid",),
    )
    cases["size_fed"] = (
        fed,
        {"theta": RNG.uniform(-1, 1, (2, 2, 3)).astype(F32), "size": np.array([2, 1, 4, 7], I64)},
    )
    check_cases(cases, tmp_path, atol=1e-5)


def _roi_case(transform, sampling, scale, opset=16):
    model = single_node_model(
        "RoiAlign",
        [("x", F32, [2, 3, 10, 12]), ("rois", F32, [4, 4]), ("batch", I64, [4])],
        attrs={
            "coordinate_transformation_mode": transform,
            "output_height": 3,
            "output_width": 4,
            "sampling_ratio": sampling,
            "spatial_scale": scale,
        },
        opset=opset,
    )
    starts = RNG.uniform(0, 5, (4, 2))
    rois = np.concatenate([starts, starts + RNG.uniform(1, 6, (4, 2))], axis=1) / scale
    feeds = {"x": RNG.uniform(-3, 3, (2, 3, 10, 12)).astype(F32), "rois": rois.astype(F32)}
    feeds["batch"] = np.array([0, 1, 1, 0], I64)
    return model, feeds


def test_roi_align(tmp_path):
    cases = {
        f"{transform}_{sampling}_{scale}": _roi_case(transform, sampling, scale)
        for transform in ("half_pixel", "output_half_pixel")
        for sampling, scale in ((2, 1.0), (1, 0.5), (3, 2.0))
    }
    check_cases(cases, tmp_path, atol=1e-5)


def test_depth_and_space(tmp_path):
    cases = {}
    for mode in ("DCR", "CRD"):
        cases[f"depth_to_space_{mode}"] = single_node_model(
            "DepthToSpace", [("x", F32, ["N", 8, 2, 3])], attrs={"blocksize": 2, "mode": mode}
        )
    cases["space_to_depth"] = single_node_model(
        "SpaceToDepth", [("x", F32, ["N", 2, 4, 6])], attrs={"blocksize": 2}
    )
    check_cases(cases, tmp_path, batches=(1, 3), atol=0)


def test_col2im(tmp_path):
    cases = {}
    for name, attrs, cols in (
        ("plain", {}, (2, 12, 20)),
        (
            "strides_pads_dilations",
            {"strides": [2, 1], "pads": [1, 2, 1, 2], "dilations": [1, 2]},
            (2, 12, 24),
        ),
    ):
        model = single_node_model(
            "Col2Im",
            [("x", F32, list(cols)), "image", "block"],
            attrs=attrs,
            initializers={"image": np.array([5, 6], I64), "block": np.array([2, 2], I64)},
            opset=18,
        )
        cases[name] = model
    check_cases(cases, tmp_path, atol=1e-5)


def test_unmappable_variants_are_reported(tmp_path):
    cubic, _ = _grid_case("cubic", "zeros", 0, (1, 1, 3, 4), (1, 2, 2, 2), None)
    assert unmapped_count(cubic, tmp_path) == 1
    roi_max = single_node_model(
        "RoiAlign",
        [("x", F32, [1, 1, 6, 6]), ("rois", F32, [2, 4]), ("batch", I64, [2])],
        attrs={"mode": "max"},
        opset=16,
    )
    (tmp_path / "max").mkdir()
    assert unmapped_count(roi_max, tmp_path / "max") == 1
    adaptive, _ = _roi_case("half_pixel", 0, 1.0)
    (tmp_path / "adaptive").mkdir()
    assert unmapped_count(adaptive, tmp_path / "adaptive") == 1


def _deform_case(x_shape, w_shape, attrs, mask=True, bias=True):
    kh, kw = w_shape[2:]
    pads, strides, dilations = (
        attrs.get("pads", [0] * 4),
        attrs.get("strides", [1, 1]),
        attrs.get("dilations", [1, 1]),
    )
    out = [
        (x_shape[2 + i] + pads[i] + pads[2 + i] - ((k - 1) * dilations[i] + 1)) // strides[i] + 1
        for i, k in enumerate((kh, kw))
    ]
    taps = attrs.get("offset_group", 1) * kh * kw
    inputs = [
        ("x", F32, list(x_shape)),
        ("w", F32, list(w_shape)),
        ("offset", F32, [x_shape[0], 2 * taps, *out]),
    ]
    inputs += [
        ("b", F32, [w_shape[0]]) if bias else "",
        ("mask", F32, [x_shape[0], taps, *out]) if mask else "",
    ]
    while inputs[-1] == "":
        inputs.pop()
    model = single_node_model("DeformConv", inputs, attrs=attrs, opset=22)
    feeds = {name: RNG.uniform(-2, 2, shape).astype(F32) for name, _, shape in (i for i in inputs if i)}
    if mask:
        feeds["mask"] = np.abs(feeds["mask"]) / 2
    return model, feeds


def test_deform_conv(tmp_path):
    # Checked on the ONNX reference implementation.
    cases = {
        "mask_bias": _deform_case((2, 2, 5, 6), (3, 2, 2, 3), {"offset_group": 2}),
        "strided_padded_grouped": _deform_case(
            (1, 4, 7, 6),
            (4, 2, 3, 3),
            {"group": 2, "offset_group": 2, "strides": [2, 1], "pads": [1, 0, 2, 1], "dilations": [1, 2]},
        ),
        "no_mask_no_bias": _deform_case((1, 3, 5, 5), (2, 3, 2, 2), {}, mask=False, bias=False),
    }
    check_reference(cases, tmp_path, atol=1e-4)
