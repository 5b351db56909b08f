"""LSTM, GRU and RNN against onnxruntime (layout 1 against the ONNX reference), in both modes.

Constant W/R/B with MindSpore's defaults become nn.LSTM / nn.GRU / nn.RNN; LSTM weights fed as graph
inputs go through ops.LSTM; everything else is unrolled step by step. Variants share one model per test.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import check_reference
from _single_node import check_cases, make_model
from harness import convert_model
from onnx import helper

F32 = np.float32
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
N, SIZE, H = 3, 2, 5


def _case(
    op: str,
    *,
    const=True,
    bias=True,
    outs=("Y", "Y_h", "Y_c"),
    h0=False,
    c0=False,
    seq=None,
    peepholes=False,
    steps=4,
    dtype=F32,
    **attrs,
):
    """One recurrent node; weights as initializers (const) or graph inputs, with its feeds."""
    rng = np.random.default_rng(len(attrs) + 3 * h0 + 5 * c0 + 7 * const)
    layout, directions = int(attrs.get("layout", 0)), 2 if attrs.get("direction") == "bidirectional" else 1
    g = GATES[op] * H
    x_shape = [N, steps, SIZE] if layout else [steps, N, SIZE]
    h_shape = [N, directions, H] if layout else [directions, N, H]
    inputs, initializers = [("X", dtype, x_shape)], {}
    feeds = {"X": rng.uniform(-2, 2, x_shape).astype(dtype)}
    weights = {
        "W": (directions, g, SIZE),
        "R": (directions, g, H),
        "B": (directions, 2 * g),
        "P": (directions, 3 * H),
    }
    used = {"B": bias, "P": peepholes}
    for name, shape in weights.items():
        if not used.get(name, True):
            continue
        value = rng.uniform(-0.6, 0.6, shape).astype(dtype)
        if const:
            initializers[name] = value
        else:
            inputs.append((name, dtype, list(shape)))
            feeds[name] = value
    if seq is not None:
        inputs.append(("seq", np.int32, [N]))
        feeds["seq"] = np.array(seq, np.int32)
    for name, wanted in (("h0", h0), ("c0", c0)):
        if wanted:
            inputs.append((name, dtype, h_shape))
            feeds[name] = rng.uniform(-1, 1, h_shape).astype(dtype)
    names = ["X", "W", "R", "B", "seq", "h0", "c0", "P"]
    present = (
        {"X", "W", "R"} | {n for n, u in used.items() if u} | {n for n in ("seq", "h0", "c0") if n in feeds}
    )
    names = [n if n in present else "" for n in names]
    while not names[-1]:
        names.pop()
    outputs = [o if o in outs else "" for o in ("Y", "Y_h", "Y_c")[: 3 if op == "LSTM" else 2]]
    while not outputs[-1]:
        outputs.pop()
    node = helper.make_node(op, names, outputs, hidden_size=H, **attrs)
    return make_model([node], inputs, [o for o in outputs if o], initializers, opset=14), feeds


BI, REV = {"direction": "bidirectional"}, {"direction": "reverse"}


def test_lstm_with_constant_weights_is_an_nn_lstm(tmp_path):
    cases = {
        "forward": _case("LSTM"),
        "hidden_only": _case("LSTM", outs=("Y_h",)),
        "bidirectional": _case("LSTM", h0=True, c0=True, **BI),
        "reverse": _case("LSTM", outs=("Y", "Y_c"), **REV),
        "no_bias_h0": _case("LSTM", bias=False, h0=True),
        "sequence_lens": _case("LSTM", seq=[4, 2, 1], **BI),
    }
    output = check_cases(cases, tmp_path, atol=1e-5)
    assert "nn.LSTM(" in (output / "model.py").read_text()


def test_lstm_with_weights_fed_at_run_time_is_ops_lstm(tmp_path):
    cases = {
        "forward": _case("LSTM", const=False),
        "bidirectional": _case("LSTM", const=False, outs=("Y_h", "Y_c"), **BI),
        "bidirectional_y": _case("LSTM", const=False, outs=("Y",), c0=True, **BI),
        "reverse": _case("LSTM", const=False, h0=True, c0=True, **REV),
        "no_bias": _case("LSTM", const=False, bias=False, outs=("Y_h",)),
    }
    output = check_cases(cases, tmp_path, atol=1e-5)
    assert "ops.LSTM(" in (output / "model.py").read_text()


def test_gru_and_rnn_with_constant_weights(tmp_path):
    lbr = {"linear_before_reset": 1}
    cases = {
        "gru": _case("GRU", **lbr),
        "gru_bidirectional": _case("GRU", h0=True, **lbr, **BI),
        "gru_reverse_hidden": _case("GRU", outs=("Y_h",), **lbr, **REV),
        "gru_sequence_lens": _case("GRU", seq=[2, 4, 3], bias=False, **lbr),
        "rnn": _case("RNN"),
        "rnn_relu": _case("RNN", h0=True, activations=["Relu", "Relu"], **BI),
        "rnn_reverse": _case("RNN", outs=("Y",), **REV),
    }
    check_cases(cases, tmp_path, atol=1e-5)


def test_batch_major_layout(tmp_path):
    # onnxruntime refuses layout=1, so the ONNX reference implementation checks it.
    cases = {
        "lstm": _case("LSTM", layout=1, h0=True, c0=True),
        "lstm_runtime": _case("LSTM", const=False, layout=1, **BI),
        "lstm_runtime_reverse": _case("LSTM", const=False, layout=1, outs=("Y",), **REV),
        "gru": _case("GRU", layout=1, linear_before_reset=1, **BI),
        "rnn": _case("RNN", layout=1, h0=True, outs=("Y_h",), **REV),
    }
    check_reference(cases, tmp_path, atol=1e-5)


def test_unrolled_steps_follow_the_onnx_equations(tmp_path):
    short = {"steps": 2}
    cases = {
        "gru_reset_before": _case("GRU", h0=True, **short, **BI),
        "gru_run_time": _case("GRU", const=False, seq=[2, 3, 1], steps=3, linear_before_reset=1),
        "gru_clip": _case("GRU", const=False, outs=("Y_h",), clip=0.5, **short, **REV),
        "rnn_run_time": _case("RNN", const=False, bias=False, seq=[3, 1, 2], steps=3, **BI),
        "lstm_peepholes": _case("LSTM", peepholes=True, h0=True, c0=True, **short, **BI),
        "lstm_run_time_lengths": _case("LSTM", const=False, peepholes=True, seq=[3, 2, 1], steps=3, **REV),
        "lstm_clip_input_forget": _case("LSTM", clip=0.7, input_forget=1, **short),
        "lstm_activations": _case(
            "LSTM",
            const=False,
            activations=["HardSigmoid", "Tanh", "Softsign"],
            activation_alpha=[0.3],
            activation_beta=[0.4],
            **short,
        ),
    }
    check_cases(cases, tmp_path, atol=1e-5)


def test_unrolled_float64_and_batch_major(tmp_path):
    # onnxruntime has neither layout=1 nor float64 LSTM: the ONNX reference implementation checks them.
    cases = {
        "lstm_float64": _case("LSTM", dtype=np.float64, steps=2),
        "gru": _case("GRU", const=False, layout=1, h0=True, steps=2, **BI),
        "lstm": _case("LSTM", peepholes=True, layout=1, h0=True, c0=True, steps=2),
    }
    check_reference(cases, tmp_path, atol=1e-5)


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (_case("GRU", const=False, steps=65)[0], "at most 64"),
        (_case("RNN", activations=["ScaledTanh"])[0], "ScaledTanh"),
    ],
    ids=["too_many_steps", "activation"],
)
def test_variants_without_an_exact_mapping_are_refused(tmp_path, model, reason):
    _, report = convert_model(model, tmp_path)
    assert [u["op_type"] for u in report["unmapped"]] == [model.graph.node[0].op_type]
    assert reason.lower() in report["unmapped"][0]["reason"].lower()
