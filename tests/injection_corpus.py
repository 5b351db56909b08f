"""Hostile strings and the models that carry them into every place a model's text can land.

Each builder puts the whole corpus into one position of one small model (or one model per string
where a model holds a single value, such as its graph name) and says which positions it covers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PAYLOAD = "__import__('os').system('touch PWNED')"

# (id, string): ids name the case in assertion messages.
STRINGS: list[tuple[str, str]] = [
    ("dquote", 'dq"uote'),
    ("squote", "sq'uote"),
    ("triple_dq", '"""triple"""'),
    ("triple_sq", "'''triple'''"),
    ("backslash", "back\\slash\\"),
    ("escape_seq", "\\n\\x00\\u202e"),
    ("newline", "new\nline"),
    ("crlf", "cr\r\nlf"),
    ("cr", "cr\ronly"),
    ("nul", "nul\x00byte"),
    ("controls", "ctl\x1b[31m\x07\x08\x0b\x0c\x7f"),
    ("tab", "tab\tbed"),
    ("unicode_breaks", "nel\x85ls\u2028ps\u2029"),
    ("hash", "# hash"),
    ("gh_expr", "${{ github.token }}"),
    ("jinja_expr", "{{ 7*7 }}"),
    ("jinja_ssti", "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}"),
    ("jinja_stmt", "{% if x %}{% endif %}"),
    ("jinja_comment", "{# c #}"),
    ("jinja_raw", "{% raw %}"),
    ("script", "<script>alert(1)</script>"),
    ("img", "<img src=x onerror=alert(1)>"),
    ("md_table", "| a | b |\n|---|---|"),
    ("md_specials", "`code` *b* _i_ [l](javascript:alert(1)) ~s~ \\|"),
    ("payload", PAYLOAD),
    ("dq_breakout", '"); ' + PAYLOAD + " #"),
    ("sq_breakout", "'); " + PAYLOAD + " #"),
    ("triple_breakout", '"""\n' + PAYLOAD + '\n"""'),
    ("fstring", "{" + PAYLOAD + "}"),
    ("percent_fmt", "%s%(x)s%%"),
    ("cyrillic_a", "\u0430dd"),  # looks like 'add'
    ("latin_add", "add"),
    ("fullwidth", "\uff41\uff44\uff44"),  # fullwidth 'add', NFKC-folds to 'add'
    ("zwj", "a\u200ddd"),
    ("rtl_override", "x\u202egnp.exe"),
    ("rtl_mark", "\u200fmark"),
    ("bom", "\ufeffbom"),
    ("emoji", "\U0001f600"),
    ("cjk", "中文"),
    ("long", "x" * 10_000),
    ("long_unicode", "\u0430" * 10_000),
    ("collide_dot", "a.b"),
    ("collide_us", "a_b"),
    ("collide_dash", "a-b"),
    ("collide_space", "a b"),
    ("collide_upper", "A_B"),
    ("keyword", "class"),
    ("softkw", "match"),
    ("none", "None"),
    ("self", "self"),
    ("cell_attr", "construct"),
    ("module_name", "ops"),
    ("dunder", "__class__"),
    ("digits", "123"),
    ("kwarg_name", "name"),
    ("kwarg_domain", "domain"),
    ("tf_ref", "x:0"),
    ("tf_ctrl", "^ctrl"),
    ("slashes", "/a//b/"),
    ("dots", ".."),
    ("empty_words", "!!!"),
]
CORPUS = [s for _, s in STRINGS]
IDS = [i for i, _ in STRINGS]
WIDTH = 4


@dataclass
class Case:
    """One model to convert; positions lists every (position, string index) it carries."""

    name: str
    build: Callable[[], onnx.ModelProto | bytes]
    positions: list[tuple[str, int]]
    file_name: str = "model.onnx"
    runs: bool = True  # mapped: run and compare with onnxruntime; else placeholders
    graph_mode: bool = False
    # Strings report.json must hold exactly: (JSON path as a function of the report, expected list).
    json_checks: list[Callable[[dict, dict], None]] = field(default_factory=list)


def _model(graph: onnx.GraphProto, **kwargs) -> onnx.ModelProto:
    opsets = kwargs.pop("opset_imports", [helper.make_opsetid("", 17)])
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8, **kwargs)
    onnx.checker.check_model(model)
    return model


def _rng_array(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(np.float32)


def _chain_model(
    nodes: list[onnx.NodeProto],
    inits: list[onnx.TensorProto],
    last: str,
    batch: int | str = "N",
    **model_fields,
) -> onnx.ModelProto:
    """The model of a chain of nodes from input x (batch, WIDTH) to the value named last."""
    return _model(
        helper.make_graph(
            nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, WIDTH])],
            [helper.make_tensor_value_info(last, TensorProto.FLOAT, [batch, WIDTH])],
            inits,
        ),
        **model_fields,
    )


def node_names() -> onnx.ModelProto:
    """A chain of MatMul/Add/Mul/Relu/Sigmoid nodes, each named (and documented) by one string."""
    nodes, inits, current = [], [], "x"
    for i, text in enumerate(CORPUS):
        out, kind = f"v{i}", i % 5
        doc = CORPUS[-1 - i]
        # No Add right after a MatMul: fused into one Dense, the Add's name would leave the report.
        if kind == 0:
            inits.append(numpy_helper.from_array(_rng_array((WIDTH, WIDTH), i) / WIDTH, f"w{i}"))
            nodes.append(helper.make_node("MatMul", [current, f"w{i}"], [out], name=text, doc_string=doc))
        elif kind == 2:
            inits.append(numpy_helper.from_array(_rng_array((WIDTH,), i) - 1, f"w{i}"))
            nodes.append(helper.make_node("Add", [current, f"w{i}"], [out], name=text, doc_string=doc))
        elif kind == 3:
            inits.append(numpy_helper.from_array(_rng_array((WIDTH,), i), f"w{i}"))
            nodes.append(helper.make_node("Mul", [f"w{i}", current], [out], name=text, doc_string=doc))
        else:
            op = "Relu" if kind == 1 else "Sigmoid"
            nodes.append(helper.make_node(op, [current], [out], name=text, doc_string=doc))
        current = out
    return _chain_model(nodes, inits, current)


def scoped_node_names() -> onnx.ModelProto:
    """Node names as PyTorch scopes ('/outer/inner/MatMul'): the corpus becomes nested cells and classes."""
    nodes, inits, current = [], [], "x"
    count = len(CORPUS)
    for i, text in enumerate(CORPUS):
        inits.append(numpy_helper.from_array(_rng_array((WIDTH, WIDTH), i) / WIDTH, f"w{i}"))
        scope = f"/{text}/{CORPUS[(i + 1) % count]}"
        nodes.append(helper.make_node("MatMul", [current, f"w{i}"], [f"m{i}"], name=f"{scope}/MatMul"))
        nodes.append(helper.make_node("Relu", [f"m{i}"], [f"v{i}"], name=f"/{text}/Relu"))
        current = f"v{i}"
    return _chain_model(nodes, inits, current)


def value_names() -> onnx.ModelProto:
    """Every intermediate value named by one string, documented in value_info, and each a graph output."""
    nodes, inits, infos, current = [], [], [], "x"
    for i, text in enumerate(CORPUS):
        if i % 3 == 0:
            inits.append(numpy_helper.from_array(_rng_array((WIDTH, WIDTH), i) / WIDTH, f"w{i}"))
            nodes.append(helper.make_node("MatMul", [current, f"w{i}"], [text], name=f"n{i}"))
        elif i % 3 == 1:
            nodes.append(helper.make_node("Add", [current, "x"], [text], name=f"n{i}"))
        else:
            nodes.append(helper.make_node("Tanh", [current], [text], name=f"n{i}"))
        info = helper.make_tensor_value_info(text, TensorProto.FLOAT, ["N", WIDTH])
        info.doc_string = CORPUS[-1 - i]
        infos.append(info)
        current = text
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", WIDTH])],
        infos,
        inits,
    )
    return _model(graph)


def initializer_names() -> onnx.ModelProto:
    """Weights (Dense matrices, biases, scales) and a shared constant, each named by one string."""
    nodes, inits, current = [], [], "x"
    for i, text in enumerate(CORPUS):
        shape = (WIDTH, WIDTH) if i % 2 == 0 else (WIDTH,)
        inits.append(numpy_helper.from_array(_rng_array(shape, i) / WIDTH, text))
        op = "MatMul" if i % 2 == 0 else ("Add" if i % 4 == 1 else "Mul")
        nodes.append(helper.make_node(op, [current, text], [f"v{i}"], name=f"n{i}"))
        current = f"v{i}"
    return _chain_model(nodes, inits, current)


def io_names() -> onnx.ModelProto:
    """One graph input per string (its symbolic batch dimension named by it too), one output per input."""
    inputs, outputs, nodes = [], [], []
    count = len(CORPUS)
    for i, text in enumerate(CORPUS):
        inputs.append(helper.make_tensor_value_info(text, TensorProto.FLOAT, [text, WIDTH]))
        # Outputs carry the corpus in reverse, so no output shares its input's name.
        out = CORPUS[count - 1 - i] + "\u2192out"
        nodes.append(helper.make_node("Mul", [text, CORPUS[(i + 1) % count]], [out], name=f"n{i}"))
        outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [text, WIDTH]))
    return _model(helper.make_graph(nodes, "g", inputs, outputs))


CUSTOM_DOMAIN = "com.example"


def _string_attr(key: str, value: str) -> onnx.AttributeProto:
    return helper.make_attribute(key, value)


def custom_ops() -> onnx.ModelProto:
    """Placeholders: op types, attribute names, string and string-list attribute values from the corpus."""
    nodes, current = [], "x"
    for i, text in enumerate(CORPUS):
        node = helper.make_node(text, [current], [f"v{i}"], name=f"n{i}", domain=CUSTOM_DOMAIN)
        node.attribute.extend(
            [
                _string_attr("mode", text),
                helper.make_attribute("tags", [text, CORPUS[-1 - i]]),
                _string_attr(CORPUS[(i + 7) % len(CORPUS)] or "k", "v"),
            ]
        )
        nodes.append(node)
        current = f"v{i}"
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(CUSTOM_DOMAIN, 1)]
    return _chain_model(nodes, [], current, batch=2, opset_imports=opsets)


def domains() -> onnx.ModelProto:
    """One custom node per string used as its domain, each domain imported in the opset list."""
    nodes, current = [], "x"
    for i, text in enumerate(CORPUS):
        nodes.append(helper.make_node("Op", [current], [f"v{i}"], name=f"n{i}", domain=text))
        current = f"v{i}"
    opsets = [helper.make_opsetid("", 17)] + [helper.make_opsetid(d, 1) for d in dict.fromkeys(CORPUS)]
    return _chain_model(nodes, [], current, batch=2, opset_imports=opsets)


MODEL_LEVEL_POSITIONS = [
    "graph name",
    "graph doc string",
    "model doc string",
    "producer_name",
    "producer_version",
    "domain (model)",
    "metadata_props key",
    "metadata_props value",
    "model file name",
]


def model_level(text: str) -> onnx.ModelProto:
    """One Relu model whose one-per-model strings (graph name, docs, producer, metadata) are all text."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        text,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", WIDTH])],
        doc_string=text,
    )
    model = _model(graph, producer_name=text, producer_version=text, doc_string=text, domain=text)
    helper.set_model_props(model, {text: text, "k": text})
    return model


def file_name_for(text: str, index: int) -> str:
    """text as a file name where the filesystem allows (no '/', no NUL, at most 255 bytes)."""
    name = text.replace("/", "\u2215").replace("\x00", "")
    if not name or name in (".", "..") or len((name + ".onnx").encode()) > 255:
        name = f"{index}-{name[:40]}"
    return name + ".onnx"


# TensorFlow: TF's own grammar forbids a leading '^' (a control input) in node names.
TF_NAMES = [i for i, text in enumerate(CORPUS) if not text.startswith("^")]


def _tf():
    from fixtures.make_tf_fixtures import DType, const, graph_def, node, placeholder

    return DType, const, graph_def, node, placeholder


def tf_node_names() -> tuple[bytes, Callable[[np.ndarray], list[np.ndarray]]]:
    """A GraphDef chain of MatMul/Relu/AddV2/Tanh nodes named by the corpus, and its numpy reference."""
    DType, const, graph_def, node, placeholder = _tf()
    nodes, steps, current = [placeholder("x", [-1, WIDTH])], [], "x"
    for i in TF_NAMES:
        # Kinds by position in the chain: a MatMul is never followed by an Add (fused, one name lost).
        text, kind = CORPUS[i], len(steps) % 4
        weight = _rng_array((WIDTH, WIDTH) if kind == 0 else (WIDTH,), i) / WIDTH
        # Every input names its port: a node called 'x:0' is then read as 'x:0:0', never as 'x'.
        if kind in (0, 2):
            nodes.append(const(f"c{i}", weight))
            op = "MatMul" if kind == 0 else "AddV2"
        else:
            op = "Relu" if kind == 1 else "Tanh"
        # The corpus string is the node's scope, which becomes a cell of the generated network.
        name = f"{text}/{op}"
        if kind in (0, 2):
            nodes.append(node(name, op, [f"{current}:0", f"c{i}:0"], T=DType(1)))
        else:
            nodes.append(node(name, op, [f"{current}:0"], T=DType(1)))
        steps.append((op, weight))
        current = name

    def reference(x: np.ndarray) -> list[np.ndarray]:
        for op, weight in steps:
            x = {
                "MatMul": lambda v, w: v @ w,
                "AddV2": lambda v, w: v + w,
                "Relu": lambda v, w: np.maximum(v, 0),
                "Tanh": lambda v, w: np.tanh(v),
            }[op](x, weight)
        return [x.astype(np.float32)]

    return graph_def(*nodes), reference


def tf_const_names() -> tuple[bytes, Callable[[np.ndarray], list[np.ndarray]]]:
    """Constants (weights, biases, scales) named by the corpus."""
    DType, const, graph_def, node, placeholder = _tf()
    nodes, steps, current = [placeholder("x", [-1, WIDTH])], [], "x"
    for i in TF_NAMES:
        text = CORPUS[i]
        op = ("MatMul", "AddV2", "Mul")[i % 3]
        weight = _rng_array((WIDTH, WIDTH) if op == "MatMul" else (WIDTH,), i) / WIDTH
        nodes.append(const(text, weight))
        nodes.append(node(f"n{i}", op, [f"{current}:0", f"{text}:0"], T=DType(1)))
        steps.append((op, weight))
        current = f"n{i}"

    def reference(x: np.ndarray) -> list[np.ndarray]:
        for op, weight in steps:
            x = x @ weight if op == "MatMul" else (x + weight if op == "AddV2" else x * weight)
        return [x.astype(np.float32)]

    return graph_def(*nodes), reference


def tf_custom_ops() -> bytes:
    """Unknown TF ops named by the corpus, with corpus attribute names, string values and devices."""
    DType, const, graph_def, node, placeholder = _tf()
    nodes, current = [placeholder("x", [2, WIDTH])], "x"
    for i, text in enumerate(CORPUS):
        key = CORPUS[(i + 7) % len(CORPUS)]
        proto = node(f"n{i}", text, [f"{current}:0"], T=DType(1), mode=text)
        proto.attr[key].s = b"v"
        proto.device = text
        nodes.append(proto)
        current = f"n{i}"
    return graph_def(*nodes)
