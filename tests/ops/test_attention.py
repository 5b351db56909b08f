"""Attention, RotaryEmbedding, RMSNormalization, SwiGLU and Gelu against onnxruntime or the ONNX reference.

Each test checks its variants as one combined model; a failure names the variant.
"""

from __future__ import annotations

from collections.abc import Mapping

import harness
import numpy as np
import onnx
from _single_node import check_cases, combine, make_model, single_node_model
from onnx.reference import ReferenceEvaluator

F16, F32, I64 = np.float16, np.float32, np.int64
RNG = np.random.default_rng(0)


def _rand(*shape: int, dtype: type = F32) -> np.ndarray:
    return RNG.uniform(-2, 2, shape).astype(dtype)


def _feeds(model: onnx.ModelProto, **given: np.ndarray) -> dict[str, np.ndarray]:
    """Random floats for every input not given, at the sizes the model declares."""
    feeds = {}
    for value in model.graph.input:
        if value.name in given:
            feeds[value.name] = given[value.name]
            continue
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        feeds[value.name] = _rand(
            *dims, dtype=onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
        )
    return feeds


def check_reference(cases: Mapping[str, tuple[onnx.ModelProto, dict]], tmp_path, atol: float = 1e-5) -> None:
    """Like check_cases, but against onnx.reference, for opsets and variants onnxruntime lacks."""
    combined = combine({name: model for name, (model, _) in cases.items()})
    for index, node in enumerate(combined.graph.node):
        # The reference evaluator stores '' outputs as a value that '' inputs of later nodes would read.
        node.output[:] = [o or f"unused_{index}_{i}" for i, o in enumerate(node.output)]
    feeds = {f"{name}__{k}": v for name, (_, given) in cases.items() for k, v in given.items()}
    output, report = harness.convert_model(combined, tmp_path)
    assert report["summary"]["unmapped"] == 0, report["unmapped"]
    network = harness.load_network(output)
    expected = ReferenceEvaluator(combined).run(None, feeds)
    names = [o.name for o in combined.graph.output]
    for mode in ("pynative", "graph"):
        actual = harness.run_network(network, feeds, mode)
        for name, want, got in zip(names, expected, actual, strict=True):
            assert got.shape == want.shape and got.dtype == want.dtype, f"{mode} {name}"
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=atol, err_msg=f"{mode} {name}")


def _attention(inputs: list, outputs=("y",), opset: int = 23, **attrs: object) -> onnx.ModelProto:
    """One Attention node; '' skips an optional input or output."""
    names = [i if isinstance(i, str) else i[0] for i in inputs]
    node = onnx.helper.make_node("Attention", names, list(outputs), name="Attention_0", **attrs)
    specs = [i for i in inputs if not isinstance(i, str)]
    return make_model([node], specs, [o for o in outputs if o], opset=opset)


def test_attention_against_onnxruntime(tmp_path):
    qkv4 = [("q", F32, ["N", 4, 5, 8]), ("k", F32, ["N", 4, 7, 8]), ("v", F32, ["N", 4, 7, 6])]
    cache3 = [("q", F32, [2, 3, 48]), ("k", F32, [2, 3, 16]), ("v", F32, [2, 3, 16]), ("mask", F32, [3, 8])]
    cache3 += [("past_k", F32, [2, 2, 5, 8]), ("past_v", F32, [2, 2, 5, 8])]
    mask = _rand(3, 8)
    mask[0, 1] = -np.inf
    gqa_cache = _attention(cache3, ("y", "pk", "pv"), q_num_heads=6, kv_num_heads=2, scale=0.2, is_causal=1)
    cases = {
        "causal_dynamic_batch": (
            _attention(qkv4, is_causal=1),
            {"q": _rand(3, 4, 5, 8), "k": _rand(3, 4, 7, 8)},
        ),
        "gqa_3d_mask_cache": (gqa_cache, {"mask": mask}),
    }
    capped = [
        ("q", F32, [1, 2, 3, 4]),
        ("k", F32, [1, 2, 5, 4]),
        ("v", F32, [1, 2, 5, 4]),
        ("mask", F32, [3, 5]),
    ]
    for mode in (1, 2, 3):
        cases[f"softcap_mode{mode}"] = (
            _attention(capped, ("y", "", "", "qk"), softcap=1.5, qk_matmul_output_mode=mode),
            {},
        )
    cases["causal_dynamic_batch"][1]["v"] = _rand(3, 4, 7, 6)
    check_cases({name: (model, _feeds(model, **given)) for name, (model, given) in cases.items()}, tmp_path)


def test_attention_against_reference(tmp_path):
    # Mask row 1 hides every key: ONNX gives zeros there, and the rows after it must stay intact.
    masked = [
        ("q", F32, [1, 2, 4, 8]),
        ("k", F32, [1, 2, 3, 8]),
        ("v", F32, [1, 2, 3, 8]),
        ("mask", np.bool_, [4, 2]),
    ]
    padded = [
        ("q", F32, [2, 2, 3, 8]),
        ("k", F32, [2, 2, 6, 8]),
        ("v", F32, [2, 2, 6, 8]),
        "",
        "",
        "",
        ("n", I64, [2]),
    ]
    windowed = [("q", F32, [2, 2, 4, 8]), ("k", F32, [2, 2, 6, 8]), ("v", F32, [2, 2, 6, 8])]
    half = [("q", F16, [1, 2, 3, 8]), ("k", F16, [1, 2, 4, 8]), ("v", F16, [1, 2, 4, 8])]
    models = {
        "fully_masked_rows": _attention(masked, ("y", "", "", "probs"), opset=25, qk_matmul_output_mode=3),
        "nonpad_causal": _attention(padded, opset=25, is_causal=1),
        "window": _attention(windowed, opset=25, left_window_size=2, right_window_size=1),
        "float16_softmax_float32": _attention(half, opset=25, softmax_precision=1, is_causal=1),
    }
    given = {
        "fully_masked_rows": {"mask": np.array([[True, False], [False, False], [True, True], [False, True]])},
        "nonpad_causal": {"n": np.array([4, 6], I64)},
    }
    check_reference({k: (m, _feeds(m, **given.get(k, {}))) for k, m in models.items()}, tmp_path, atol=2e-3)


def test_rotary_embedding(tmp_path):
    full = [("x", F32, [2, 3, 5, 8]), ("cos", F32, [16, 4]), ("sin", F32, [16, 4]), ("pos", I64, [2, 5])]
    partial = [("x", F32, [2, 3, 5, 8]), ("cos", F32, [16, 2]), ("sin", F32, [16, 2]), ("pos", I64, [2, 5])]
    packed = [("x", F32, [2, 5, 24]), ("cos", F32, [2, 5, 4]), ("sin", F32, [2, 5, 4])]
    models = {
        "positions_4d": single_node_model("RotaryEmbedding", full, opset=23),
        "interleaved_partial": single_node_model(
            "RotaryEmbedding", partial, attrs={"interleaved": 1, "rotary_embedding_dim": 4}, opset=23
        ),
        "packed_3d": single_node_model("RotaryEmbedding", packed, attrs={"num_heads": 3}, opset=23),
    }
    positions = {"pos": RNG.integers(0, 16, (2, 5)).astype(I64)}
    check_cases(
        {k: (m, _feeds(m, **positions if k != "packed_3d" else {})) for k, m in models.items()}, tmp_path
    )


def test_rms_normalization(tmp_path):
    cases = {}
    for axis, scale_shape in ((-1, [6]), (1, [4, 6]), (0, [3, 4, 6])):
        inputs = [("x", F32, [3, 4, 6]), ("scale", F32, scale_shape)]
        cases[f"axis{axis}"] = single_node_model(
            "RMSNormalization", inputs, attrs={"axis": axis, "epsilon": 1e-3}, opset=23
        )
    check_cases(cases, tmp_path)


def test_swiglu_and_float16_rms_against_reference(tmp_path):
    gates = [("a", F32, [3, 6]), ("b", F32, [3, 6])]
    models = {
        "swiglu": single_node_model("SwiGLU", gates, opset=28),
        "swiglu_alpha": single_node_model("SwiGLU", gates, attrs={"alpha": 1.702}, opset=28),
        "rms_float16": single_node_model(
            "RMSNormalization", [("x", F16, [2, 8]), ("scale", F16, [8])], opset=28
        ),
    }
    check_reference({k: (m, _feeds(m)) for k, m in models.items()}, tmp_path, atol=2e-3)


def test_gelu(tmp_path):
    models = {
        a: single_node_model("Gelu", [("x", F32, ["N", 7])], attrs={"approximate": a}, opset=20)
        for a in ("none", "tanh")
    }
    check_cases(models, tmp_path)


def test_causal_conv_and_linear_attention_against_reference(tmp_path):
    conv = [("x", F32, [2, 4, 6]), ("w", F32, [4, 1, 3]), ("b", F32, [4]), ("state", F32, [2, 4, 2])]
    qkv = [("q", F32, [2, 3, 16]), ("k", F32, [2, 3, 8]), ("v", F32, [2, 3, 8]), ("past", F32, [2, 2, 4, 4])]
    step = [("q", F32, [2, 1, 8]), ("k", F32, [2, 1, 8]), ("v", F32, [2, 1, 8]), ("past", F32, [2, 2, 4, 4])]
    step += [("decay", F32, [2, 1, 8]), ("beta", F32, [2, 1, 2])]

    def linear(inputs, rule, **attrs):
        return single_node_model(
            "LinearAttention", inputs, ("y", "state"), attrs={"update_rule": rule, **attrs}, opset=27
        )

    models = {
        "conv_silu_state": single_node_model(
            "CausalConvWithState", conv, ("y", "s"), attrs={"activation": "silu"}, opset=27
        ),
        "conv_fresh": single_node_model("CausalConvWithState", conv[:2], ("y", "s"), opset=27),
        "linear_gqa_past": linear(qkv, "linear", q_num_heads=4, kv_num_heads=2),
        "gated_per_head": linear(
            [*qkv[:3], "", ("decay", F32, [2, 3, 2])], "gated", q_num_heads=4, kv_num_heads=2
        ),
        "gated_delta_step": linear(step, "gated_delta", q_num_heads=2, kv_num_heads=2, scale=0.3),
    }
    # Log decays are negative: the state shrinks between steps.
    decays = {"decay": -RNG.uniform(0.05, 1, (2, 3, 2)).astype(F32)}
    given = {
        "gated_per_head": decays,
        "gated_delta_step": {"decay": -RNG.uniform(0.05, 1, (2, 1, 8)).astype(F32)},
    }
    check_reference({k: (m, _feeds(m, **given.get(k, {}))) for k, m in models.items()}, tmp_path, atol=1e-4)
