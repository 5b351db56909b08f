"""Classification losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss."""

from __future__ import annotations

from mindgen.targets.mindspore.context import MappingContext
from mindgen.targets.mindspore.emission import Emission, Expr, TupleExpr, Unmappable, call, expression
from mindgen.targets.mindspore.registry import register


def _nll_loss(ctx: MappingContext, log_prob: Expr) -> Expr:
    """ops.nll_loss has ONNX's reductions, N-D inputs, weighting and ignored class."""
    reduction = str(ctx.attr("reduction", "mean"))
    if reduction not in ("none", "sum", "mean"):
        raise Unmappable(f"loss reduction {reduction!r}")
    kwargs: dict[str, object] = {}
    if ctx.has_input(2):
        kwargs["weight"] = ctx.ref(2)
    ignore_index = ctx.attr("ignore_index")
    # Without ignore_index every target is a class in [0, C), so the default -100 never matches.
    if ignore_index is not None:
        kwargs["ignore_index"] = int(ignore_index)
    if reduction != "mean":
        kwargs["reduction"] = reduction
    return call("ops.nll_loss", log_prob, ctx.ref(1), **kwargs)


@register("NegativeLogLikelihoodLoss", since=12, target="ops.nll_loss")
def map_negative_log_likelihood_loss(ctx: MappingContext) -> Emission:
    return expression(_nll_loss(ctx, ctx.ref(0)))


@register("SoftmaxCrossEntropyLoss", since=12, target="ops.nll_loss(ops.log_softmax(x, 1))")
def map_softmax_cross_entropy_loss(ctx: MappingContext) -> Emission:
    log_prob = call("ops.log_softmax", ctx.ref(0), 1)
    loss = _nll_loss(ctx, log_prob)
    if len(ctx.node.outputs) < 2:
        return expression(loss)
    return expression(TupleExpr((loss, log_prob)), results=2)
