"""TensorFlow's SAME/VALID/EXPLICIT padding as ONNX attributes for convolution and pooling."""

from __future__ import annotations

from collections.abc import Sequence

from mindgen.frontends.tensorflow.registry import Untranslatable


def spatial(values: Sequence[int], channels_last: bool) -> list[int]:
    """The spatial entries of a per-axis attribute given in data-format order (strides, ksize)."""
    return list(values[1:-1] if channels_last else values[2:])


def onnx_pads(
    padding: str, spatial_rank: int, explicit: Sequence[int] = (), channels_last: bool = True
) -> dict:
    """auto_pad or pads for an ONNX Conv/Pool with TF's padding."""
    if padding == "VALID":
        return {}
    if padding == "SAME":
        # TF's SAME puts the odd pixel at the end: ONNX's SAME_UPPER, for any input size.
        return {"auto_pad": "SAME_UPPER"}
    if padding != "EXPLICIT":
        raise Untranslatable(f"padding {padding!r}")
    pairs = [list(explicit[2 * i : 2 * i + 2]) for i in range(len(explicit) // 2)]
    pairs = pairs[1:-1] if channels_last else pairs[2:]
    if len(pairs) != spatial_rank:
        raise Untranslatable(f"explicit_paddings {list(explicit)} do not fit a {spatial_rank}-D window")
    begins, ends = [p[0] for p in pairs], [p[1] for p in pairs]
    return {"pads": begins + ends} if any(begins + ends) else {}
