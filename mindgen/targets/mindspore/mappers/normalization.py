"""BatchNormalization and LayerNormalization as nn layers (written out with ops where layers cannot hold them)."""

from __future__ import annotations

import numpy as np

from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import Emission, Unmappable, Weight, bind, layer
from mindgen.targets.mindspore.mappers.conv import layer_dtype
from mindgen.targets.mindspore.mappers.norm_statistics import batch_norm_with_ops, layer_norm_with_ops
from mindgen.targets.mindspore.registry import register

_BATCH_NORM = {2: "nn.BatchNorm1d", 3: "nn.BatchNorm1d", 4: "nn.BatchNorm2d", 5: "nn.BatchNorm3d"}


@register("BatchNormalization", since=9, target="nn.BatchNorm1d / 2d / 3d, else ops arithmetic")
def map_batch_norm(ctx: MappingContext) -> Emission:
    """Inference-mode BatchNormalization as nn.BatchNorm1d/2d/3d holding the running statistics."""
    training = int(ctx.attr("training_mode", 0)) or any(out.uses() for out in ctx.node.outputs[1:])
    rank = ctx.require_rank(0)
    constant = all(ctx.const(i) is not None for i in range(1, 5))
    if training or not constant or rank not in _BATCH_NORM:
        return batch_norm_with_ops(ctx)
    scale = ctx.input(1)
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


@register("LayerNormalization", since=17, target="nn.LayerNorm, else ops arithmetic")
def map_layer_norm(ctx: MappingContext) -> Emission:
    """LayerNormalization as nn.LayerNorm over the axes from `axis` on (their sizes must be static)."""
    if int(ctx.attr("stash_type", 1)) != 1:
        raise Unmappable("LayerNormalization with stash_type other than float32")
    shape = ctx.shape(0)
    if shape is None:
        raise Unmappable("LayerNormalization of an input of unknown rank")
    rank = len(shape)
    axis = int(ctx.attr("axis", -1))
    axis = axis + rank if axis < 0 else axis
    normalized = shape[axis:]
    extra_outputs = any(out.uses() or out.is_graph_output() for out in ctx.node.outputs[1:])
    constant = all(ctx.const(i) is not None for i in range(1, len(ctx.node.inputs)) if ctx.has_input(i))
    if extra_outputs or not constant or not all(isinstance(d, int) for d in normalized):
        # Mean/InvStdDev, run-time scales or dimensions unknown here: written out with ops.
        return layer_norm_with_ops(ctx)
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
