"""Advice for operators without a mapper: the nearest MindSpore API and how to finish."""

from __future__ import annotations

NEAREST_API = {
    "NonMaxSuppression": "ops.NMSWithMask (boxes as [x1, y1, x2, y2, score], one class at a time)",
    "Einsum": "rewrite as ops.matmul / ops.transpose (Einsum has no CPU kernel in MindSpore)",
    "RoiAlign": "ops.ROIAlign (rois as [batch_idx, x1, y1, x2, y2])",
    "GridSample": "ops.grid_sample",
    "Resize": "ops.interpolate / ops.ResizeBilinearV2 / ops.ResizeNearestNeighbor",
    "Upsample": "ops.interpolate",
    "InstanceNormalization": "nn.GroupNorm(C, C)",
    "LSTM": "nn.LSTM (gates reordered from ONNX iofc to MindSpore ifco)",
    "GRU": "nn.GRU (matches ONNX only with linear_before_reset=1)",
    "TopK": "ops.topk",
    "CumSum": "ops.cumsum / ops.CumSum(exclusive, reverse)",
    "DepthToSpace": "ops.DepthToSpace (DCR) / ops.pixel_shuffle (CRD)",
    "ScatterND": "ops.tensor_scatter_update",
    "NonZero": "ops.nonzero, transposed",
}

HOW_TO_FINISH = (
    "implement construct() of the placeholder class in model.py, "
    "or write a mapper with @register(op_type, since=N) from mindgen.targets.mindspore.registry "
    "in a file and convert again with --mappings FILE"
)


def hint_for(op_type: str) -> str:
    """One line of advice for finishing an unmapped operator by hand."""
    nearest = NEAREST_API.get(op_type)
    return f"nearest MindSpore API: {nearest}; {HOW_TO_FINISH}" if nearest else HOW_TO_FINISH
