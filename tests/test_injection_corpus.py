"""The injection corpus in every position a model's text reaches: code, reports, weight map, inspect.

All models convert once (module fixture); one fresh interpreter then imports, builds and runs every
generated network in an empty folder, so the whole matrix costs one MindSpore start-up.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import injection_corpus as corpus
import numpy as np
import onnx
import pytest
from harness import run_onnxruntime

import mindgen
from mindgen.errors import InputError
from mindgen.inspect import describe_model

REPO = Path(__file__).resolve().parents[1]
N = len(corpus.CORPUS)
ALL = list(range(N))


@dataclass
class Case:
    """One model carrying corpus strings; positions pairs a place with the corpus indices it holds."""

    name: str
    positions: dict[str, list[int]]
    onnx_model: onnx.ModelProto | None = None
    pb: bytes | None = None
    reference: object = None  # numpy reference of a TF graph
    runs: bool = True  # mapped: run and compare; otherwise placeholders that must raise
    graph_mode: bool = False
    file_name: str = "model.onnx"
    out: Path = field(default=Path())
    model_path: Path = field(default=Path())
    error: str = ""  # how the conversion failed: each case's tests report it, the others go on


def _cases() -> list[Case]:
    cases = [
        Case("onnx_nodes", {"node name": ALL, "node doc string": ALL}, corpus.node_names(), graph_mode=True),
        Case("onnx_scopes", {"scoped node name (cells, classes)": ALL}, corpus.scoped_node_names()),
        Case(
            "onnx_values",
            {"value name": ALL, "graph output name": ALL, "value_info doc string": ALL},
            corpus.value_names(),
        ),
        Case("onnx_initializers", {"initializer name": ALL}, corpus.initializer_names()),
        Case("onnx_io", {"graph input name": ALL, "symbolic dimension name": ALL}, corpus.io_names()),
        Case(
            "onnx_custom",
            {"op type": ALL, "string attribute": ALL, "string-list attribute": ALL, "attribute name": ALL},
            corpus.custom_ops(),
            runs=False,
        ),
        Case("onnx_domains", {"node domain": ALL, "opset import domain": ALL}, corpus.domains(), runs=False),
    ]
    for i, text in enumerate(corpus.CORPUS):
        file_name = corpus.file_name_for(text, i)
        positions = {p: [i] for p in corpus.MODEL_LEVEL_POSITIONS}
        if file_name != text + ".onnx":
            del positions["model file name"]  # not a possible file name; the rest still counts
        cases.append(Case(f"onnx_model_{i}", positions, corpus.model_level(text), file_name=file_name))
    nodes_pb, nodes_ref = corpus.tf_node_names()
    consts_pb, consts_ref = corpus.tf_const_names()
    tf_names = corpus.TF_NAMES
    cases += [
        Case("tf_nodes", {"TF node name (scope)": tf_names}, pb=nodes_pb, reference=nodes_ref),
        Case("tf_consts", {"TF const name": tf_names}, pb=consts_pb, reference=consts_ref),
        Case(
            "tf_custom",
            {"TF op name": ALL, "TF attr string": ALL, "TF attr name": ALL, "TF device": ALL},
            pb=corpus.tf_custom_ops(),
            runs=False,
        ),
    ]
    for case in cases:
        if case.pb is not None:
            case.file_name = "model.pb"
    return cases


CASES = _cases()
CASE_IDS = [c.name for c in CASES]
TRIED = sum(len(indices) for c in CASES for indices in c.positions.values())


@pytest.fixture(scope="module")
def converted(tmp_path_factory, request) -> dict[str, Case]:
    """Every case converted in-process, with the current folder an empty one that must stay empty."""
    root = tmp_path_factory.mktemp("corpus")
    cwd = root / "cwd"
    cwd.mkdir()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        for case in CASES:
            folder = root / case.name
            folder.mkdir()
            case.model_path = folder / case.file_name
            if case.pb is not None:
                case.model_path.write_bytes(case.pb)
            else:
                onnx.save(case.onnx_model, case.model_path)
            case.out = folder / "out"
            try:
                mindgen.convert(case.model_path, case.out)
            except Exception as error:
                case.error = f"{type(error).__name__}: {error}"[:2000]
    finally:
        os.chdir(before)
    assert list(cwd.iterdir()) == []
    strings, positions = N, len({p for c in CASES for p in c.positions})
    request.config.case_counts.append(
        f"injection corpus: {strings} strings x {positions} positions = {TRIED} (string, position) "
        f"pairs in {len(CASES)} models"
    )
    return {c.name: c for c in CASES}


RUNNER = """
import json, sys
import mindspore as ms
import numpy as np
from mindgen.runtime import load_network

ms.set_device("CPU")
results = {}
for job in json.load(open(sys.argv[1])):
    try:
        network = load_network(job["out"])
        feeds = [ms.Tensor(a) for a in np.load(job["feeds"]).values()]
        modes = ["pynative", "graph"] if job["graph"] else ["pynative"]
        for mode in modes:
            ms.set_context(mode=ms.PYNATIVE_MODE if mode == "pynative" else ms.GRAPH_MODE)
            try:
                outputs = network(*feeds)
            except NotImplementedError as error:
                results[job["name"] + ":" + mode] = "placeholder" if not job["expected"] else repr(error)
                continue
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            if not job["expected"]:
                results[job["name"] + ":" + mode] = "ran, but placeholders should raise"
                continue
            expected = list(np.load(job["expected"]).values())
            worst = max(float(np.abs(o.asnumpy() - e).max()) for o, e in zip(outputs, expected, strict=True))
            ok = len(outputs) == len(expected) and worst <= 1e-5
            results[job["name"] + ":" + mode] = "ok" if ok else f"max abs error {worst}"
    except Exception as error:
        results[job["name"]] = f"{type(error).__name__}: {error}"[:2000]
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
json.dump(results, open(sys.argv[2], "w"))
"""


def _feeds(case: Case) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    if case.pb is not None:
        return [rng.standard_normal((3 if case.runs else 2, corpus.WIDTH)).astype(np.float32)]
    graph = case.onnx_model.graph
    shapes = [[d.dim_value or 3 for d in v.type.tensor_type.shape.dim] for v in graph.input]
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _expected(case: Case, feeds: list[np.ndarray]) -> list[np.ndarray]:
    if case.pb is not None:
        return case.reference(*feeds)
    graph = case.onnx_model.graph
    return run_onnxruntime(case.onnx_model, {v.name: f for v, f in zip(graph.input, feeds, strict=True)})


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def ran(converted, tmp_path_factory) -> dict[str, str]:
    """Runs every generated network once in a fresh interpreter whose cwd and HOME are empty folders."""
    root = tmp_path_factory.mktemp("run")
    sandbox, home = root / "sandbox", root / "home"
    sandbox.mkdir()
    home.mkdir()
    jobs = []
    for case in _converted(converted):
        feeds = _feeds(case)
        np.savez(root / f"{case.name}-feeds.npz", *feeds)
        expected = ""
        if case.runs:
            expected = str(root / f"{case.name}-expected.npz")
            np.savez(expected, *_expected(case, feeds))
        jobs.append(
            {
                "name": case.name,
                "out": str(case.out),
                "feeds": str(root / f"{case.name}-feeds.npz"),
                "expected": expected,
                "graph": case.graph_mode,
            }
        )
    (root / "jobs.json").write_text(json.dumps(jobs))
    (root / "runner.py").write_text(RUNNER)
    outputs = {c.name: _listing(c.out) for c in _converted(converted)}
    env = {
        **os.environ,
        "HOME": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    completed = subprocess.run(
        [sys.executable, str(root / "runner.py"), str(root / "jobs.json"), str(root / "results.json")],
        cwd=sandbox,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    # Nothing was written: not in the empty cwd or HOME, not beside the generated code.
    assert _listing(sandbox) == [] and _listing(home) == []
    assert {c.name: _listing(c.out) for c in _converted(converted)} == outputs
    for folder in (root.parent, Path.cwd(), Path("/tmp")):
        assert not (folder / "PWNED").exists()
    return json.loads((root / "results.json").read_text())


def _converted(cases: dict[str, Case]) -> list[Case]:
    return [c for c in cases.values() if not c.error]


def _case(cases: dict[str, Case], name: str) -> Case:
    case = cases[name]
    assert not case.error, f"conversion failed: {case.error}"
    return case


def test_every_network_runs_and_matches_the_source(converted, ran):
    expected = {}
    for case in _converted(converted):
        for mode in ["pynative", "graph"] if case.graph_mode else ["pynative"]:
            expected[f"{case.name}:{mode}"] = "ok" if case.runs else "placeholder"
    assert ran == expected


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _names_in(tree: ast.AST) -> list[str]:
    """Every identifier the code defines or uses."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        elif isinstance(node, ast.keyword) and node.arg:
            names.append(node.arg)
        elif isinstance(node, ast.alias):
            names.append(node.asname or node.name)
    return names


@pytest.mark.parametrize("name", CASE_IDS)
def test_generated_code_is_inert(converted, name):
    _check_inert((_case(converted, name).out / "model.py").read_text(encoding="utf-8"))


def _check_inert(source: str) -> None:
    """model.py parses, holds model text only in literals, and gives every member one assignment."""
    tree = ast.parse(source)
    compile(source, "model.py", "exec")
    # Model text stays in string literals: identifiers are plain ASCII, and no call could run it.
    names = _names_in(tree)
    bad = [n for n in names if not _IDENTIFIER.fullmatch(n.split(".")[0])]
    assert not bad, bad[:5]
    assert not {"__import__", "system", "exec", "eval", "open", "getattr", "globals"} & set(names)
    # No raw control or bidi characters (Trojan Source): repr() spells them as escapes.
    assert all(line.isprintable() for line in source.splitlines()), "non-printable character in model.py"
    # Each class sets each attribute once: distinct source names never share a member.
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        init = next((f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
        targets = [
            t.attr
            for node in ast.walk(init)
            if init
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
        ]
        assert len(targets) == len(set(targets)), cls.name


def test_generated_code_passes_ruff(converted):
    files = [str(c.out / "model.py") for c in _converted(converted)]
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F,E9", *files],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout[-3000:]


def _cells(line: str) -> int:
    """Table cells of a Markdown row: pipes not escaped by a backslash, minus the outer two."""
    count, index = 0, 0
    while index < len(line):
        if line[index] == "\\":
            index += 2
            continue
        count += line[index] == "|"
        index += 1
    return count - 1


@pytest.mark.parametrize("name", CASE_IDS)
def test_report_md_escapes_model_text(converted, name):
    _check_markdown((_case(converted, name).out / "report.md").read_text(encoding="utf-8"))


def _check_markdown(text: str) -> None:
    """No raw HTML, no control or bidi characters, and every table row has its header's cells."""
    assert not re.search(r"<\s*[A-Za-z/!?]", text), "raw HTML tag in report.md"
    lines = text.split("\n")
    assert all(line.isprintable() for line in lines), "control or bidi character in report.md"
    header = None
    for line in lines:
        if not line.startswith("|"):
            header = None
            continue
        assert line.endswith("|") and not line.endswith("\\|"), line[:200]
        if header is None:
            header = _cells(line)
        assert _cells(line) == header, line[:200]


def _texts(indices: list[int]) -> list[str]:
    return [corpus.CORPUS[i] for i in indices]


def _check_json(case: Case, report: dict, weights: list[dict]) -> None:
    """report.json and weight_map.json are the faithful record: the model's strings, exactly."""
    rows = [r["node"] for r in report["nodes"]]
    sources = sorted(e["source_weight"]["name"] for e in weights)
    unmapped = report["unmapped"]
    texts = corpus.CORPUS
    if case.name == "onnx_nodes":
        assert rows == texts
    elif case.name == "onnx_scopes":
        assert rows == [n.name for n in case.onnx_model.graph.node]
    elif case.name == "onnx_values":
        assert [t["name"] for t in report["outputs"]] == texts
    elif case.name == "onnx_initializers":
        assert sources == sorted(texts)
    elif case.name == "onnx_io":
        assert [t["name"] for t in report["inputs"]] == texts
        assert [t["shape"][0] for t in report["inputs"]] == texts
        assert [t["name"] for t in report["outputs"]] == [v.name for v in case.onnx_model.graph.output]
    elif case.name == "onnx_custom":
        assert [u["op_type"] for u in unmapped] == texts
        assert [u["attributes"]["mode"] for u in unmapped] == texts
        assert [list(u["attributes"]["tags"]) for u in unmapped] == [
            [t, texts[-1 - i]] for i, t in enumerate(texts)
        ]
        assert all(texts[(i + 7) % N] in u["attributes"] for i, u in enumerate(unmapped))
    elif case.name == "onnx_domains":
        assert [u["domain"] for u in unmapped] == texts
    elif case.name.startswith("onnx_model_"):
        text = texts[int(case.name.rpartition("_")[2])]
        assert report["source"]["producer"] == f"{text} {text}"
        assert report["source"]["path"] == str(case.model_path)
    elif case.name == "tf_nodes":
        names = _texts(corpus.TF_NAMES)
        assert all(row.startswith(name + "/") for row, name in zip(rows, names, strict=True))
    elif case.name == "tf_consts":
        assert sources == sorted(_texts(corpus.TF_NAMES))
    elif case.name == "tf_custom":
        assert [u["op_type"] for u in unmapped] == texts
        assert [u["attributes"]["mode"] for u in unmapped] == texts
        # TF attributes whose names start with '_' are TensorFlow's internal ones, left out.
        keys = [texts[(i + 7) % N] for i in range(N)]
        assert all(k in u["attributes"] or k.startswith("_") for k, u in zip(keys, unmapped, strict=True))
    else:
        raise AssertionError(f"no JSON check for {case.name}")


@pytest.mark.parametrize("name", CASE_IDS)
def test_json_records_keep_model_text_exactly(converted, name):
    case = _case(converted, name)
    report = json.loads((case.out / "report.json").read_text(encoding="utf-8"))
    weights = json.loads((case.out / "weight_map.json").read_text(encoding="utf-8"))
    _check_json(case, report, weights)
    # Checkpoint names are dotted identifiers, one per parameter.
    names = [e["converted_weight"]["name"] for e in weights]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Za-z_]\w*(\.\w+)*", n, re.ASCII) for n in names), names[:5]


@pytest.mark.parametrize("name", CASE_IDS)
def test_inspect_prints_one_line_per_name(converted, name):
    case = _case(converted, name)
    lines = describe_model(case.model_path).split("\n")
    assert all(line.isprintable() for line in lines)
    op_lines = [line for line in lines if re.match(r"  +\d+  ", line)]
    model = onnx.load(case.model_path) if case.pb is None else None
    if model is not None:
        inputs, outputs = len(model.graph.input), len(model.graph.output)
        assert len(op_lines) == len({(n.domain, n.op_type) for n in model.graph.node})
        # model, format, opset, producer, 'inputs:', inputs, 'outputs:', outputs, histogram, verdict.
        assert len(lines) == 4 + 1 + inputs + 1 + outputs + 1 + len(op_lines) + 1


def test_inspect_command_on_hostile_names(converted):
    case = converted["onnx_io"]
    completed = subprocess.run(
        [sys.executable, "-m", "mindgen", "inspect", str(case.model_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 4 + 1 + N + 1 + N + 1 + 1 + 1
    assert lines[5].startswith(f"  {corpus.CORPUS[0]!r}  [")


@pytest.mark.parametrize("text", [t for t in corpus.CORPUS if t.startswith("^")], ids=["caret"])
def test_tf_names_tensorflow_cannot_reference_are_a_clear_error(tmp_path, text):
    DType, const, graph_def, node, placeholder = corpus._tf()
    path = tmp_path / "m.pb"
    path.write_bytes(
        graph_def(
            placeholder("x", [1, 4]),
            node(text, "Relu", ["x"], T=DType(1)),
            node("y", "Relu", [f"{text}:0"], T=DType(1)),
        )
    )
    with pytest.raises(InputError) as error:
        mindgen.convert(path, tmp_path / "out")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def _mapped_op_model(kind: str, text: str) -> onnx.ModelProto | bytes:
    """One mapped op whose string attribute is text: mappers read these values, not just copy them."""
    if kind.startswith("TF"):
        DType, const, graph_def, node, placeholder = corpus._tf()
        attr = {"padding": text} if kind == "TF Conv2D padding" else {"padding": "SAME", "data_format": text}
        weights = const("w", np.ones((3, 3, 2, 2), np.float32))
        conv = node("c", "Conv2D", ["x", "w"], T=DType(1), strides=[1, 1, 1, 1], **attr)
        return graph_def(placeholder("x", [1, 4, 4, 2]), weights, conv)
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b", "c", "d"])
    if kind == "ONNX Conv auto_pad":
        inits = [numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")]
        node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=text)
    elif kind == "ONNX Pad mode":
        inits = [numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "p")]
        node = helper.make_node("Pad", ["x", "p"], ["y"], mode=text)
    else:
        inits, node = [], helper.make_node("Einsum", ["x"], ["y"], equation=text)
    graph = helper.make_graph([node], "g", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


MAPPED_KINDS = [
    "ONNX Conv auto_pad",
    "ONNX Pad mode",
    "ONNX Einsum equation",
    "TF Conv2D padding",
    "TF Conv2D data_format",
]


@pytest.mark.parametrize("kind", MAPPED_KINDS)
def test_hostile_string_attributes_of_mapped_ops(kind, tmp_path, request):
    """Each ends as a one-line InputError with nothing written, or safe code: never a crash or a guess."""
    outcomes = []
    for i, text in enumerate(corpus.CORPUS):
        model = _mapped_op_model(kind, text)
        path = tmp_path / (f"{i}.pb" if isinstance(model, bytes) else f"{i}.onnx")
        path.write_bytes(model if isinstance(model, bytes) else model.SerializeToString())
        out = tmp_path / f"out{i}"
        try:
            report = mindgen.convert(path, out)
        except InputError as error:
            assert str(error).isprintable(), repr(str(error))
            assert not out.exists()
            outcomes.append("error")
            continue
        _check_inert((out / "model.py").read_text(encoding="utf-8"))
        _check_markdown((out / "report.md").read_text(encoding="utf-8"))
        # Only the spec's own values map; anything else is refused or left as a placeholder.
        outcomes.append("placeholder" if report.unmapped_count else f"mapped {text!r}")
    mapped = {o for o in outcomes if o.startswith("mapped")}
    valid = {"self", "None", "name"} if kind == "ONNX Einsum equation" else set()  # four letters: rank 4
    assert mapped == {f"mapped {t!r}" for t in valid}
    request.config.case_counts.append(f"mapped-op string attribute {kind}: {len(outcomes)} strings")
