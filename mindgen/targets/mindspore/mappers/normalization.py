"""BatchNormalization and LayerNormalization as nn layers."""

from __future__ import annotations

import numpy as np

from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import Emission, Unmappable, Weight, bind, layer
from mindgen.targets.mindspore.mappers.conv import layer_dtype
from mindgen.targets.mindspore.registry import register

_BATCH_NORM = {2: "nn.BatchNorm1d", 3: "nn.BatchNorm1d", 4: "nn.BatchNorm2d", 5: "nn.BatchNorm3d"}


@register("BatchNormalization", since=9, target="nn.BatchNorm1d / 2d / 3d")
def map_batch_norm(ctx: MappingContext) -> Emission:
    """Inference-mode BatchNormalization as nn.BatchNorm1d/2d/3d holding the running statistics."""
    if int(ctx.attr("training_mode", 0)) or any(out.uses() for out in ctx.node.outputs[1:]):
        raise Unmappable("BatchNormalization in training mode (running statistics as outputs)")
    rank = ctx.require_rank(0)
    if rank not in _BATCH_NORM:
        raise Unmappable(f"BatchNormalization of a rank-{rank} input")
    scale = ctx.input(1)
    if scale is None or scale.const_value is None:
        raise Unmappable("BatchNormalization statistics are computed at run time")
    channels = int(scale.const_value.shape[0])
    # BatchNorm3d wraps a BatchNorm2d, so its parameters sit one level deeper.
    prefix = "bn2d." if rank == 5 else ""
    weights = [
        bind(prefix + "gamma", ctx.input(1)),
        bind(prefix + "beta", ctx.input(2)),
        bind(prefix + "moving_mean", ctx.input(3)),
        bind(prefix + "moving_variance", ctx.input(4)),
    ]
    kwargs: dict[str, object] = {}
    eps = scalar_literal(np.float32(ctx.attr("epsilon", 1e-5)))
    if eps != 1e-5:
        kwargs["eps"] = eps
    # ONNX and MindSpore define momentum the same way (new = m * old + (1 - m) * batch).
    momentum = scalar_literal(np.float32(ctx.attr("momentum", 0.9)))
    if momentum != 0.9:
        kwargs["momentum"] = momentum
    kwargs.update(layer_dtype(ctx, float64=False))
    return layer("bn", _BATCH_NORM[rank], (ctx.ref(0),), channels, weights=weights, **kwargs)


@register("LayerNormalization", since=17, target="nn.LayerNorm")
def map_layer_norm(ctx: MappingContext) -> Emission:
    """LayerNormalization as nn.LayerNorm over the axes from `axis` on (their sizes must be static)."""
    if any(out.uses() or out.is_graph_output() for out in ctx.node.outputs[1:]):
        raise Unmappable("LayerNormalization's Mean/InvStdDev outputs are used")
    if int(ctx.attr("stash_type", 1)) != 1:
        raise Unmappable("LayerNormalization with stash_type other than float32")
    shape = ctx.shape(0)
    if shape is None:
        raise Unmappable("LayerNormalization of an input of unknown rank")
    rank = len(shape)
    axis = int(ctx.attr("axis", -1))
    axis = axis + rank if axis < 0 else axis
    normalized = shape[axis:]
    if not all(isinstance(d, int) for d in normalized):
        raise Unmappable("LayerNormalization over dimensions unknown at conversion time")
    normalized_shape = tuple(int(d) for d in normalized)  # type: ignore[arg-type]

    def full(array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(array, normalized_shape))

    weights: list[Weight] = [bind("gamma", ctx.input(1), full)]
    if ctx.has_input(2):
        weights.append(bind("beta", ctx.input(2), full))
    else:
        zeros = ctx.input(1)
        weights.append(
            Weight(
                "beta",
                (zeros,),
                lambda: np.zeros(normalized_shape, zeros.const_value.numpy().dtype),
                "zeros: the source has no bias",
            )
        )
    epsilon = scalar_literal(np.float32(ctx.attr("epsilon", 1e-5)))
    begin = axis if axis != rank - 1 else -1
    kwargs: dict[str, object] = {}
    if begin != -1:
        kwargs.update(begin_norm_axis=begin, begin_params_axis=begin)
    kwargs.update(layer_dtype(ctx, float64=True))
    # nn.LayerNorm's default epsilon is 1e-7; ONNX's is 1e-5: always spell it out.
    return layer(
        "norm", "nn.LayerNorm", (ctx.ref(0),), normalized_shape, weights=weights, epsilon=epsilon, **kwargs
    )
