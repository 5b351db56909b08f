"""Moving elements between depth (channels) and space: DepthToSpace and SpaceToDepth."""

from __future__ import annotations

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Emission, Unmappable, call, expression, layer
from mindgen.targets.mindspore.registry import register


def _block(ctx: MappingContext) -> int:
    if ctx.rank(0) not in (None, 4):
        raise Unmappable(f"{ctx.node.op_type} of a tensor that is not 4-D")
    return int(ctx.attr("blocksize"))


@register("DepthToSpace", since=1, target="ops.DepthToSpace (DCR) / ops.pixel_shuffle (CRD)")
def map_depth_to_space(ctx: MappingContext) -> Emission:
    block = _block(ctx)
    if str(ctx.attr("mode", "DCR")) == "CRD":
        return expression(call("ops.pixel_shuffle", ctx.ref(0), block))
    return layer("depth_to_space", "ops.DepthToSpace", (ctx.ref(0),), block)


@register("SpaceToDepth", since=1, target="ops.SpaceToDepth (DCR) / ops.pixel_unshuffle (CRD)")
def map_space_to_depth(ctx: MappingContext) -> Emission:
    block = _block(ctx)
    if str(ctx.attr("mode", "DCR")) == "CRD":
        return expression(call("ops.pixel_unshuffle", ctx.ref(0), block))
    return layer("space_to_depth", "ops.SpaceToDepth", (ctx.ref(0),), block)
