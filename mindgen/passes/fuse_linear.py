"""Fuses MatMul by a constant matrix plus a bias Add into one mindgen::Linear node (-> nn.Dense)."""

from __future__ import annotations

import onnx_ir as ir

# Private domain for fused operators; their semantics are spelled out where they are built.
MINDGEN_DOMAIN = "mindgen"


def fuse_linear(model: ir.Model) -> int:
    """Rewrites MatMul(x, W) + b as Linear(x, W, b) (same semantics); returns how many."""
    graph = model.graph
    fused = 0
    for matmul in list(graph):
        add = _bias_add(matmul)
        if add is None:
            continue
        product = matmul.outputs[0]
        bias = add.inputs[1] if add.inputs[0] is product else add.inputs[0]
        linear = ir.Node(
            MINDGEN_DOMAIN,
            "Linear",
            inputs=[matmul.inputs[0], matmul.inputs[1], bias],
            name=matmul.name,
            num_outputs=1,
        )
        result = add.outputs[0]
        fused_out = linear.outputs[0]
        fused_out.shape, fused_out.type = result.shape, result.type
        graph.insert_before(matmul, linear)
        result.replace_all_uses_with(fused_out, replace_graph_outputs=True)
        name = result.name
        graph.remove([add, matmul], safe=True)
        fused_out.name = name
        fused += 1
    if fused:
        model.opset_imports.setdefault(MINDGEN_DOMAIN, 1)
    return fused


def _bias_add(matmul: ir.Node) -> ir.Node | None:
    """The Add that adds a last-axis bias vector to this MatMul's result, if there is one."""
    if matmul.op_type != "MatMul" or matmul.domain not in ("", "ai.onnx"):
        return None
    weight = matmul.inputs[1]
    if weight is None or weight.const_value is None or len(weight.const_value.shape) != 2:
        return None
    left = matmul.inputs[0]
    if left is None or left.shape is None or len(left.shape) < 2:
        return None
    product = matmul.outputs[0]
    uses = list(product.uses())
    if len(uses) != 1 or product.is_graph_output():
        return None
    add = uses[0].node
    if add.op_type != "Add" or add.domain not in ("", "ai.onnx") or len(add.inputs) != 2:
        return None
    bias = add.inputs[1] if add.inputs[0] is product else add.inputs[0]
    if bias is None or bias is product or bias.const_value is None:
        return None
    out_features = int(weight.const_value.shape[1])
    dims = [int(d) for d in bias.const_value.shape]
    # Only a vector along the last axis is a Dense bias; anything else would broadcast differently.
    if not dims or dims[-1] != out_features or any(d != 1 for d in dims[:-1]) or len(dims) > len(left.shape):
        return None
    return add
