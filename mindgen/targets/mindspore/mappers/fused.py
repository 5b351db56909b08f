"""Operators that mindgen's own passes create (domain `mindgen`)."""

from __future__ import annotations

import numpy as np

from mindgen.passes.fuse_linear import MINDGEN_DOMAIN
from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Emission, bind, layer
from mindgen.targets.mindspore.registry import register
from mindgen.weights.transform import transposed_copy


@register("Linear", domain=MINDGEN_DOMAIN, since=1, target="nn.Dense with bias")
def map_linear(ctx: MappingContext) -> Emission:
    """MatMul(x, W) + b with constant W (in, out) and b (out,): one nn.Dense."""
    weight, bias = ctx.input(1), ctx.input(2)
    in_features, out_features = (int(d) for d in weight.const_value.shape)
    weights = [
        bind("weight", weight, transposed_copy, "transposed (in, out) -> (out, in)"),
        bind("bias", bias, lambda b: np.ascontiguousarray(b.reshape(-1)), "fused from the Add after MatMul"),
    ]
    return layer("fc", "nn.Dense", (ctx.ref(0),), in_features, out_features, weights=weights)
