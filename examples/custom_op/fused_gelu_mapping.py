"""Maps com.mycompany::FusedGelu, the GELU approximation x * sigmoid(1.702 * x), to MindSpore.

Used with: mindgen convert fused_gelu_net.onnx --mappings fused_gelu_mapping.py
"""

import numpy as np

from mindgen.targets.mindspore.context import MappingContext, scalar_literal
from mindgen.targets.mindspore.emission import Const, Emission, Infix, Unmappable, call, expression
from mindgen.targets.mindspore.registry import register


@register("FusedGelu", domain="com.mycompany", since=1, target="x * ops.sigmoid(alpha * x)")
def map_fused_gelu(ctx: MappingContext) -> Emission:
    """One line in construct: x * ops.sigmoid(alpha * x), alpha from the node (default 1.702)."""
    if ctx.attr("approximate", "sigmoid") != "sigmoid":
        raise Unmappable("only the sigmoid approximation of FusedGelu is mapped")
    x = ctx.ref(0)
    # ONNX float attributes are float32: written back as the shortest literal (1.702).
    alpha = scalar_literal(np.float32(ctx.attr("alpha", 1.702)))
    return expression(Infix("*", x, call("ops.sigmoid", Infix("*", Const(alpha), x))))
