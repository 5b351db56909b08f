"""Identifiers for generated code: safe, unique, stable and readable."""

from __future__ import annotations

import builtins
import keyword

import pytest

from mindgen.codegen.naming import (
    CELL_ATTRIBUTES,
    MAX_IDENTIFIER_LENGTH,
    MODULE_NAMES,
    Namespace,
    is_noise,
    safe_label,
    scope_hint,
    to_class_name,
    to_identifier,
)

NASTY = [
    "",
    "_",
    "___",
    "123",
    "1abc",
    "a.b",
    "a-b",
    "a b",
    "class",
    "None",
    "lambda",
    "def",
    'q"d',
    "'''",
    '"""',
    "back\\slash",
    "new\nline",
    "# comment",
    "{{ x }}",
    "{% if %}",
    "<script>",
    "__import__('os').system('touch PWNED')",
    "аbc",  # Cyrillic a
    "\u202egnp.exe",
    "\u200f",
    "中文",
    "ｆｕｌｌ",  # full-width letters fold to ASCII
    "é",
    "x" * 10_000,
    "\x00",
]


@pytest.mark.parametrize("text", NASTY)
@pytest.mark.parametrize("fallback", ["value", "1x", "", "class", "é中"])
def test_to_identifier_always_gives_a_plain_ascii_identifier(text, fallback):
    name = to_identifier(text, fallback)
    assert name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
    assert len(name) <= MAX_IDENTIFIER_LENGTH + len("value_") + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("conv1", "conv1"),
        ("layer1.0.conv1", "layer1_0_conv1"),
        ("BatchNorm", "batch_norm"),
        ("a-b", "a_b"),
        ("__x__", "x"),
        ("ｆｕｌｌ", "full"),
        ("café", "cafe"),
        ("class", "class_"),
        ("None", "none"),
        ("1abc", "value_1abc"),
        ("", "value"),
        ("中文", "value"),
    ],
)
def test_to_identifier_examples(text, expected):
    assert to_identifier(text) == expected


def test_to_identifier_uses_the_fallback_for_empty_and_digit_names():
    assert to_identifier("", "conv") == "conv"
    assert to_identifier("7", "conv") == "conv_7"
    assert to_identifier("7", "1x") == "value_7"  # a fallback from model text is sanitised too


@pytest.mark.parametrize(
    ("text", "expected"),
    [("tiny_resnet", "TinyResnet"), ("resnet-50", "Resnet50"), ("", "Network"), ("1abc", "Network1abc")],
)
def test_to_class_name(text, expected):
    assert to_class_name(text) == expected


@pytest.mark.parametrize("text", NASTY + ["None", "print", "ms", "nn", "Tensor"])
@pytest.mark.parametrize("fallback", ["Network", "Unmapped", "", "1", "None"])
def test_to_class_name_is_always_usable(text, fallback):
    name = to_class_name(text, fallback)
    assert name.isascii() and name.isidentifier() and name[0].isupper()
    assert name not in dir(builtins) and not keyword.iskeyword(name) and name not in MODULE_NAMES


def test_namespace_is_unique_and_stable():
    space = Namespace()
    keys = [("value", i) for i in range(6)]
    hints = ["a.b", "a_b", "a-b", "a b", "A B", "a__b"]
    names = [space.name(key, hint) for key, hint in zip(keys, hints, strict=True)]
    assert names == ["a_b", "a_b_2", "a_b_3", "a_b_4", "a_b_5", "a_b_6"]
    # Asking again for a key returns its first name, whatever the hint now says.
    assert [space.name(key, "other") for key in keys] == names
    assert all(key in space for key in keys) and ("value", 99) not in space


def test_namespace_never_hands_out_a_literal_name_twice():
    space = Namespace()
    first = space.name(1, "a_b")
    second = space.name(2, "a.b")
    third = space.name(3, "a_b_2")  # the literal name the second key already holds
    assert len({first, second, third}) == 3


@pytest.mark.parametrize(
    "reserved", ["self", "training", "construct", "cells", "ms", "nn", "ops", "print", "input"]
)
def test_namespace_avoids_reserved_names(reserved):
    space = Namespace(CELL_ATTRIBUTES | {"self"})
    assert space.name("k", reserved) == f"{reserved}_2"


@pytest.mark.parametrize("word", ["class", "def", "lambda", "None", "True", "match", "type"])
def test_namespace_avoids_keywords_and_soft_keywords(word):
    name = Namespace().name("k", word)
    assert name.isidentifier() and not keyword.iskeyword(name) and not keyword.issoftkeyword(name)


def test_namespace_many_long_names_stay_unique():
    space = Namespace()
    long_names = ["x" * 10_000 + str(i) for i in range(50)]
    names = [space.name(i, text) for i, text in enumerate(long_names)]
    assert len(set(names)) == 50 and all(n.isidentifier() for n in names)


@pytest.mark.parametrize(
    ("node_name", "op_type", "expected"),
    [
        ("/layer1/layer1.0/conv1/Conv", "Conv", "layer1.0.conv1"),
        ("/layer2/layer2.0/downsample/downsample.1/Conv", "Conv", "layer2.0.downsample.1"),
        ("/layer1/layer1.0/relu_1/Relu_1", "Relu", "layer1.0.relu_1"),
        ("/fc/Gemm", "Gemm", "fc"),
        ("/Conv", "Conv", ""),
        ("/fc3/MatMul", "Linear", "fc3"),  # a fused node keeps the name of the MatMul it came from
        ("model/block_1/expand/Conv2D", "Conv", "model.block_1.expand"),
        ("model/block_1/expand_bn/FusedBatchNormV3", "BatchNormalization", "model.block_1.expand_bn"),
        ("model/dense/MatMul_1", "MatMul", "model.dense"),
        ("encoder", "Conv", "encoder"),
        ("n12", "Add", ""),
        ("onnx::Add_3", "Add", ""),
        ("", "Conv", ""),
        ("123", "Conv", ""),
    ],
)
def test_scope_hint(node_name, op_type, expected):
    assert scope_hint(node_name, op_type) == expected


@pytest.mark.parametrize(
    "name", ["", "n12", "12", "onnx::Add_3", "pkg.onnxscript::x", "_v_4", "tmp_0", "Constant_7"]
)
def test_noise_names(name):
    assert is_noise(name)


@pytest.mark.parametrize("name", ["conv1", "layer1.0.conv1", "fc.weight", "input", "n_heads", "block12"])
def test_meaningful_names_are_not_noise(name):
    assert not is_noise(name)


@pytest.mark.parametrize("text", NASTY)
def test_safe_label_is_inert_in_comments_and_docstrings(text):
    label = safe_label(text)
    assert len(label) <= 80
    assert all(c.isascii() and (c.isalnum() or c in "_.:+-") for c in label)


def test_cell_attributes_cover_every_public_attribute_of_nn_cell():
    from mindspore import nn

    public = {a for a in dir(nn.Cell) if not a.startswith("_")}
    public |= {a for a in dir(nn.Cell()) if not a.startswith("_")}  # set in Cell.__init__
    assert public - CELL_ATTRIBUTES == set()
