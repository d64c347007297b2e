"""The `ast` triage (leakguard.triage) only saves parses: every fixture gives exactly the
same findings and errors with it on and off, and a rule without a condition is parsed."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import PositionProvider

from leakguard import analyzer
from leakguard.analysis.frameworks import may_have_request_handlers
from leakguard.analysis.project import COLLECTORS, ProjectIndex
from leakguard.analysis.scopes import Storage, locate, possible_storages
from leakguard.analyzer import analyze_text, collect_facts, collect_file, parse_module
from leakguard.config import bundled_rule_specs
from leakguard.context import FileContext
from leakguard.engine import RunResult, check
from leakguard.registry import rule_classes
from leakguard.rule import declares_triage
from leakguard.testing import make_config
from leakguard.triage import (
    SCOPES,
    TriageTree,
    admitted,
    nested_functions,
    parse_ast,
    parse_triage,
    per_tree,
)
from leakguard.walker import walk

TESTS = Path(__file__).parent
REPOSITORY = TESTS.parent
RULE_FIXTURES = TESTS / "fixtures" / "rules"


def _targets() -> list[Path]:
    # One run per rule folder keeps cross-file fixtures (a directory per case) together.
    folders = sorted(p for p in RULE_FIXTURES.iterdir() if p.is_dir())
    return [
        *folders,
        TESTS / "fixtures" / "ml_service_vulnerable",
        REPOSITORY / "services" / "ml-service",
    ]


def _outcome(run: RunResult) -> list[tuple[object, ...]]:
    findings = [(f.path, f.line, f.column, f.rule, f.message, f.suppressed) for f in run.findings]
    errors = [(e.path, e.message) for e in run.errors]
    return [*findings, *errors]


@pytest.mark.parametrize("target", _targets(), ids=lambda p: p.name)
def test_findings_are_identical_with_and_without_triage(target: Path) -> None:
    config = make_config(target, select=["ALL"])
    with_triage = check([target], config, jobs=1, use_cache=False, triage=True)
    without = check([target], config, jobs=1, use_cache=False, triage=False)
    if target.is_relative_to(TESTS):  # the service itself is meant to be clean
        assert with_triage.findings, f"{target} has no findings: the comparison proves nothing"
    assert _outcome(with_triage) == _outcome(without)


def test_triage_spares_files_without_candidates() -> None:
    """A plain file that passes every text prefilter is not parsed by LibCST."""
    source = (
        "import json\n"
        "def f(items, debug=False):\n"
        "    out = []\n"
        "    for item in items:\n"
        "        out.append(item)\n"
        "    try:\n"
        "        return json.dumps(out)\n"
        "    except ValueError as exc:\n"
        "        raise RuntimeError(str(exc)) from exc\n"
    )
    config = make_config(Path.cwd(), select=["ALL"])
    assert not analyze_text(source, "plain.py", config).parsed
    assert analyze_text(source, "plain.py", config, triage=False).parsed


def test_a_rule_without_a_condition_makes_the_file_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = "# pickle is mentioned, never called\nx = 1\n"
    config = make_config(Path.cwd(), select=["LG401"])
    assert not analyze_text(source, "plain.py", config).parsed
    # As if LG401 had been written without a condition: only the base class default.
    monkeypatch.delattr(rule_classes()["LG401"], "could_fire")
    assert not declares_triage(rule_classes()["LG401"])
    assert analyze_text(source, "plain.py", config).parsed


# Rules added later are parsed until they declare a condition (the safe default); these
# must keep theirs, or the triage stops paying for itself.
DECLARED = (
    "LG101",
    "LG102",
    "LG103",
    "LG104",
    "LG105",
    "LG106",
    "LG107",
    "LG108",
    "LG109",
    "LG110",
    "LG201",
    "LG202",
    "LG203",
    "LG204",
    "LG205",
    "LG206",
    "LG301",
    "LG302",
    "LG303",
    "LG401",
    "LG402",
    "LG403",
    "LG501",
    "LG502",
    "LG503",
)


def test_bundled_rules_and_collectors_declare_a_condition() -> None:
    classes = rule_classes()
    undeclared = [code for code in DECLARED if not declares_triage(classes[code])]
    assert not undeclared, f"rules parsed on every file: {undeclared}"
    assert all(c.triage is not None or c.from_source is not None for c in COLLECTORS.values())


def test_a_rule_that_skips_test_files_is_not_triaged_in_one() -> None:
    source = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
    config = make_config(Path.cwd(), select=["LG201"])
    assert [f.rule for f in analyze_text(source, "app.py", config).findings] == ["LG201"]
    # LG201 skips test files (`skips_file`): neither admitted nor parsed there, and the
    # analysis without the triage finds nothing there either.
    tested = analyze_text(source, "test_app.py", config)
    assert not tested.parsed and not tested.findings
    assert not analyze_text(source, "test_app.py", config, triage=False).findings
    assert collect_file(source, "test_app.py", [], config)[1] == {}
    assert collect_file(source, "app.py", [], config)[1]["LG201"] is True


def test_a_failing_condition_lets_the_file_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(tree: TriageTree, spec: object) -> bool:
        raise RuntimeError("bug in a condition")

    cls = rule_classes()["LG401"]
    monkeypatch.setattr(cls, "could_fire", staticmethod(broken))
    config = make_config(Path.cwd(), select=["LG401"])
    result = analyze_text("import pickle\npickle.loads(b'')\n", "x.py", config)
    assert result.parsed and [f.rule for f in result.findings] == ["LG401"]


def test_triage_tree_resolves_imported_call_names() -> None:
    tree = parse_triage("import numpy as np\nfrom pickle import loads as l\nnp.load(f)\nl(b)\n")
    assert tree is not None
    # Resolved the way analysis.imports does: an unimported root is no qualified name.
    assert tree.call_names() == {"numpy.load", "pickle.loads"}
    assert parse_triage("def (:\n") is None


def test_triage_tree_indexes_nodes_as_ast_walk_does() -> None:
    """The index reads child fields from the ASDL signatures: it must give `ast.walk`'s
    nodes (context markers left out), in its order per type, and `iter_child_nodes`'s
    children, on every fixture file (with match statements, `**` in dicts, keyword-only
    defaults of None)."""
    sources = sorted(RULE_FIXTURES.rglob("*.py"))
    extra = (
        "match p:\n    case {'a': 1, **rest}: pass\n    case Point(x=0, y=[1, *more]): pass\n"
        "def f(a, *, b=None, c, **k): return {**k, 'a': a}\n"
        "global_ = lambda *a, **k: (yield)\n"
    )
    parsed = [parse_ast(path.read_text(encoding="utf-8")) for path in sources]
    trees = [tree for tree in parsed if tree is not None]  # some fixtures are invalid
    assert len(trees) > 100
    trees.append(ast.parse(extra))
    for tree in trees:
        index = TriageTree(tree)
        nodes = [n for n in ast.walk(tree) if not isinstance(n, ast.expr_context)]
        by_type: dict[type[ast.AST], list[ast.AST]] = {}
        for node in nodes:
            by_type.setdefault(type(node), []).append(node)
        for kind, expected in by_type.items():
            assert [id(n) for n in index.of(kind)] == [id(n) for n in expected], kind
        for node in nodes:
            kids = [c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.expr_context)]
            assert [id(c) for c in index.children(node)] == [id(c) for c in kids]


def test_nested_functions_from_spans_are_those_below_each_function() -> None:
    """`nested_functions` reads nesting from source spans: every function below another
    (at any depth) must be reached from it, and no other, on every fixture file."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    checked = 0
    for path in sorted(RULE_FIXTURES.rglob("*.py")):
        tree = parse_triage(path.read_text(encoding="utf-8"))
        if tree is None:
            continue
        nested = nested_functions(tree)
        for outer in tree.functions:
            expected = {id(n) for n in tree.within(outer) if isinstance(n, functions)}
            reached: set[int] = set()
            pending = list(nested.get(id(outer), ()))
            while pending:
                inner = pending.pop()
                reached.add(id(inner))
                pending.extend(nested.get(id(inner), ()))
            assert reached == expected, (path, outer.name)
            checked += bool(expected)
    assert checked > 20


def test_collect_facts_skips_files_without_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real_parse = analyzer.parse

    def counting_parse(text: str, display: str) -> object:
        parsed.append(display)
        return real_parse(text, display)

    monkeypatch.setattr(analyzer, "parse", counting_parse)
    names = sorted(COLLECTORS)
    # Passes every collector's text tokens, has nothing any collector collects.
    plain = "# BaseModel pydantic Protocol async def\ndef f(x):\n    return x\n"
    with_triage = collect_facts(plain, "a.py", names)
    assert not parsed
    assert with_triage == collect_facts(plain, "a.py", names, triage=False)
    assert parsed == ["a.py"]


def test_a_warm_run_of_an_unchanged_tree_parses_nothing(tmp_path: Path) -> None:
    target = tmp_path / "fixtures"
    shutil.copytree(RULE_FIXTURES / "LG401", target)
    config = make_config(tmp_path, select=["ALL"])
    cold = check([target], config, jobs=1)
    warm = check([target], config, jobs=1)
    assert cold.parsed_files > 0
    assert warm.parsed_files == 0
    assert _outcome(warm) == _outcome(cold)


# -- the facts pass triages (one `ast` parse per file), verdicts cached with the facts ----

_MODELS = "from pydantic import BaseModel\n\nclass Item(BaseModel):\n    tags: list[str]\n"
_ROUTES = (
    "from fastapi import FastAPI\nfrom models import Item\n\napp = FastAPI()\n\n"
    "@app.post('/items')\ndef create(item: Item) -> None:\n    return None\n"
)


def _index(files: dict[str, dict[str, object]]) -> ProjectIndex:
    index = ProjectIndex()
    for module, facts in files.items():
        for collector, value in facts.items():
            index.facts.setdefault(collector, {})[module] = value
    return index


def test_lg301_admits_a_class_only_when_the_run_takes_it_from_requests() -> None:
    config = make_config(Path.cwd(), select=["LG301"])
    models, verdict = collect_file(_MODELS, "models.py", sorted(COLLECTORS), config)
    # Before the run's facts are known, the class's verdict is a question to the run.
    assert verdict == {"LG301": [["request_models", ["Item"]]]}
    routes, _ = collect_file(_ROUTES, "routes.py", sorted(COLLECTORS), config)
    served = _index({"models": models, "routes": routes})
    assert admitted(verdict, served) == ["LG301"]
    assert admitted(verdict, _index({"models": models})) == []
    other = _MODELS.replace("Item", "Other")
    _, verdict = collect_file(other, "models.py", sorted(COLLECTORS), config)
    assert admitted(verdict or {}, served) == []


def test_an_admitted_file_is_not_triaged_again(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_second_parse(text: str, project: object = None) -> None:
        raise AssertionError("triaged twice")

    monkeypatch.setattr(analyzer, "parse_triage", no_second_parse)
    config = make_config(Path.cwd(), select=["LG401"])
    source = "import pickle\npickle.loads(b'')\n"
    _, verdict = collect_file(source, "x.py", [], config)
    assert verdict == {"LG401": True}
    result = analyze_text(source, "x.py", config, admitted=admitted(verdict, None))
    assert [f.rule for f in result.findings] == ["LG401"]
    assert not analyze_text("x = 1\n", "y.py", config, admitted=[]).parsed


def test_the_triage_verdict_is_cached_with_the_facts(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(_MODELS)
    (tmp_path / "routes.py").write_text(_ROUTES)
    config = make_config(tmp_path, select=["ALL"])
    cold = check([tmp_path], config, jobs=1)
    # The facts entries are kept in the run's facts file (`<name>.facts.json`).
    [facts] = (tmp_path / config.cache_dir).rglob("*.facts.json")
    entries = json.loads(facts.read_text())["entries"].values()
    verdicts = [e["triage"] for e in entries if isinstance(e, dict) and "triage" in e]
    assert {"LG301": [["request_models", ["Item"]]]} in verdicts
    assert [f.rule for f in cold.findings] == ["LG301"]
    # The routes change (the models file's facts digest with it): findings are
    # re-computed from the cached verdicts, and LG301 is no longer admitted in models.py.
    (tmp_path / "routes.py").write_text(_ROUTES.replace("item: Item", "item: int"))
    warm = check([tmp_path], config, jobs=1)
    assert not warm.findings
    assert warm.parsed_files <= 1  # routes.py only (a request handler)


# -- tightened conditions: each drops a look-alike and keeps the shape the rule reports --


def _could_fire(code: str, source: str) -> bool:
    tree = parse_triage(source)
    assert tree is not None
    return rule_classes()[code].could_fire(tree, bundled_rule_specs()[code])


def test_lg103_needs_a_sized_value_in_a_loop_with_no_known_count() -> None:
    # A repetition elsewhere in the file does not make an unknown-count loop's growth large.
    elsewhere = (
        "PAD = '-' * 80\nOUT = []\n"
        "def f(items):\n    for item in items:\n        OUT.append(item)\n"
    )
    assert not _could_fire("LG103", elsewhere)
    inside = elsewhere.replace("OUT.append(item)", "OUT.append('x' * 100000)")
    assert _could_fire("LG103", inside)
    # A local list dies with the call, whatever it holds.
    assert not _could_fire(
        "LG103", inside.replace("OUT", "out").replace("    for", "    out = []\n    for")
    )
    array = (
        "import numpy as np\nCACHE = []\ndef f(q):\n    while q:\n"
        "        CACHE.append(np.zeros((4096, 4096)))\n"
    )
    assert _could_fire("LG103", array)


def test_lg106_needs_a_captured_container_or_the_yielded_one() -> None:
    own_local = (
        "def outer():\n    seen = []\n    def inner(x):\n        seen = []\n"
        "        seen.append(x)\n        return seen\n    return inner\n"
    )
    assert not _could_fire("LG106", own_local)
    captured = own_local.replace("        seen = []\n        seen.append", "        seen.append")
    assert _could_fire("LG106", captured)
    # One fixed slot is no growth, unless LibCST sees several literals (`"a" "b"`).
    slot = (
        "def outer():\n    state = {}\n    def inner(x):\n        state['last'] = x\n"
        "    return inner\n"
    )
    assert not _could_fire("LG106", slot)
    assert _could_fire("LG106", slot.replace("'last'", "'la' 'st'"))
    assert _could_fire("LG106", slot.replace("'last'", "x"))
    # A sized deque is a sliding window: it never grows past its size.
    window = (
        "import collections\ndef outer():\n    tail = collections.deque(maxlen=10)\n"
        "    def inner(x):\n        tail.append(x)\n    return inner\n"
    )
    assert not _could_fire("LG106", window)
    assert _could_fire("LG106", window.replace("maxlen=10", "maxlen=None"))
    # A test's callbacks and their state end with the test.
    assert not _could_fire("LG106", captured.replace("def outer", "def test_outer"))
    other_yield = (
        "def gen(rows):\n    batch = []\n    for row in rows:\n        batch.append(row)\n"
        "        yield row\n"
    )
    assert not _could_fire("LG106", other_yield)
    assert _could_fire("LG106", other_yield.replace("yield row", "yield list(batch)"))


def test_request_handlers_need_a_route_path_or_a_resolved_route_factory() -> None:
    def handlers(source: str) -> bool:
        tree = parse_triage(source)
        assert tree is not None
        return may_have_request_handlers(tree)

    # `patch` is an HTTP verb, but a mock target is no route path.
    assert not handlers("from unittest import mock\n@mock.patch('os.getcwd')\ndef t(m): ...\n")
    assert handlers("@router.patch('/items/{id}')\ndef update(id): ...\n")
    assert handlers("@app.get(PREFIX)\ndef index(): ...\n")
    assert handlers("@app.route(methods=['GET'])\ndef index(): ...\n")
    # `get` ends `aiohttp.web.get`, a route factory; `os.environ.get` does not resolve to it.
    assert not handlers("import os\nhome = os.environ.get('HOME')\n")
    assert handlers("from aiohttp import web\nroutes = [web.get('/', index)]\n")
    assert handlers("from django.urls import path\nurlpatterns = [path('items/', items)]\n")


def test_lg108_needs_a_cache_name_a_read_by_key_or_a_model_for_a_store() -> None:
    registry = (
        "from fastapi import FastAPI\napp = FastAPI()\nROUTES = {}\n"
        "def register(name, handler):\n    ROUTES[name] = handler\n"
    )
    # A web framework import alone no longer lets a write-only registry through.
    assert not _could_fire("LG108", registry)
    assert _could_fire("LG108", registry.replace("ROUTES", "_cache"))
    models = registry.replace("= handler", "= joblib.load(handler)")
    assert _could_fire("LG108", "import joblib\n" + models)


def test_lg502_needs_a_registered_exception_handler_not_its_name() -> None:
    # asyncio's loop API and optparse's keyword name handlers no client reaches.
    lookalike = (
        "def report(loop, job):\n    try:\n        return job()\n"
        "    except RuntimeError as error:\n"
        "        loop.call_exception_handler({'message': str(error)})\n"
        "        return str(error)\n"
        "def parser():\n    return optparse.OptionParser(conflict_handler='resolve')\n"
    )
    assert not _could_fire("LG502", lookalike)
    decorated = "@app.exception_handler(Exception)\nasync def on_error(request, exc):\n"
    assert _could_fire("LG502", decorated + "    return JSONResponse({'detail': str(exc)})\n")
    registered = "def on_error(request, exc):\n    return str(exc)\n"
    assert _could_fire("LG502", registered + "app.add_exception_handler(Exception, on_error)\n")
    mapping = registered + "app = Starlette(exception_handlers={Exception: on_error})\n"
    assert _could_fire("LG502", mapping)
    routed = lookalike + "app.add_url_rule('/', view_func=report)\n"
    assert _could_fire("LG502", routed)


def test_lg205_needs_a_fan_out_shape() -> None:
    # The names alone (`gather`, `submit`, `map`) are no fan-out.
    plain = (
        "import asyncio\nasync def f(a, b, ex, df):\n    await asyncio.gather(a, b)\n"
        "    ex.submit(work)\n    return df.map(str)\n"
    )
    assert not _could_fire("LG205", plain)
    assert _could_fire("LG205", plain.replace("gather(a, b)", "gather(*jobs)"))
    looped = plain.replace(
        "    ex.submit(work)\n", "    for x in xs:\n        ex.submit(work, x)\n"
    )
    assert _could_fire("LG205", looped)
    assert _could_fire("LG205", plain.replace("df.map(str)", "pool.map(work, items)"))
    renamed = (
        "from asyncio import create_task as spawn\n"
        "async def f(xs):\n    [spawn(g(x)) for x in xs]\n"
    )
    assert _could_fire("LG205", renamed)


def test_lg108_needs_a_dict_that_outlives_the_call() -> None:
    # Read by key, yet a local, a parameter or an imported module's mapping: no cache.
    local = (
        "def f(items):\n    seen = {}\n    for k in items:\n"
        "        if k not in seen:\n            seen[k] = 1\n"
    )
    assert not _could_fire("LG108", local)
    parameter = "def f(**kwargs):\n    kwargs['a'] = kwargs.pop('b')\n"
    assert not _could_fire("LG108", parameter)
    module = "import os\ndef f(k, v):\n    if k not in os.environ:\n        os.environ[k] = v\n"
    assert not _could_fire("LG108", module)
    # The same shapes on a module global, a closure's dict, `self` and a class attribute.
    assert _could_fire("LG108", "seen = {}\n" + local.replace("    seen = {}\n", ""))
    closure = (
        "def outer():\n    seen = {}\n    def f(k):\n        if k not in seen:\n"
        "            seen[k] = 1\n    return f\n"
    )
    assert _could_fire("LG108", closure)
    method = (
        "class A:\n    def f(this, k):\n        if k not in this.seen:\n"
        "            this.seen[k] = 1\n"
    )
    assert _could_fire("LG108", method)
    assert _could_fire("LG108", method.replace("this.seen", "A.seen"))
    declared = "seen = {}\ndef f(k):\n    global seen\n    if k not in seen:\n        seen[k] = 1\n"
    assert _could_fire("LG108", declared)


def _cst_storages(text: str) -> dict[tuple[int, int, int, int], Storage]:
    """`locate`'s storage of each name and `x.y` in a function body, by position."""
    module = parse_module(text)
    context = FileContext("t.py", text, module)
    positions = context.metadata_wrapper.resolve(PositionProvider)
    found: dict[tuple[int, int, int, int], Storage] = {}

    def visit(node: cst.CSTNode) -> None:
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return
        if isinstance(node, cst.Attribute) and not isinstance(node.value, cst.Name):
            return
        scope = context.enclosing(cst.FunctionDef, cst.Lambda, cst.ClassDef)
        if not isinstance(scope, cst.FunctionDef) or all(
            a is not scope.body for a in context.ancestors()
        ):
            return
        where = positions[node]
        key = (where.start.line, where.start.column, where.end.line, where.end.column)
        found[key] = locate(node, context).storage

    walk(context.module, visit, stack=context.stack)
    return found


def test_possible_storages_hold_what_locate_finds() -> None:
    """The triage's guess at where a container lives (`scopes.possible_storages`) never
    leaves out what the analysis finds, on every fixture."""
    compared = 0
    for path in sorted(RULE_FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        tree = parse_triage(text)
        if tree is None or not text.isascii():  # `ast` columns count bytes
            continue
        guessed: dict[tuple[int, int, int, int], set[Storage]] = {}
        for function in tree.functions:
            for node in tree.scope_nodes(function.body, SCOPES):
                if isinstance(node, ast.Name) or (
                    isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                ):
                    key = (
                        node.lineno,
                        node.col_offset,
                        node.end_lineno or 0,
                        node.end_col_offset or 0,
                    )
                    guessed[key] = possible_storages(tree, function, node)
        for key, storage in _cst_storages(text).items():
            if key in guessed:
                compared += 1
                assert storage in guessed[key], (path.name, key, storage, guessed[key])
    assert compared > 1000


def test_lg107_needs_a_grown_attribute_no_method_releases_by_a_call() -> None:
    manager = (
        "class Capture:\n    def __init__(self):\n        self.items = []\n"
        "    def __enter__(self):\n        return self\n"
        "    def __exit__(self, *exc):\n        return None\n"
        "    def add(self, x):\n        self.items.append(x)\n"
    )
    assert _could_fire("LG107", manager)
    # Filled only by the constructor, or emptied by another method: nothing to report.
    assert not _could_fire(
        "LG107", manager.replace("    def add(self, x):\n", "    def __new__(self, x):\n")
    )
    released = manager + "    def reset(self):\n        self.items.clear()\n"
    assert not _could_fire("LG107", released)
    # A reset on entry binds a fresh list that outlives the block: no release.
    assert _could_fire("LG107", released.replace("def reset", "def __enter__"))


def test_per_tree_remembers_a_scan_for_the_same_arguments_only() -> None:
    calls: list[object] = []

    @per_tree
    def scan(tree: TriageTree, spec: object) -> list[object]:
        calls.append(spec)
        return [spec]

    tree = parse_triage("x = 1\n")
    assert tree is not None
    first, other = object(), object()
    assert scan(tree, first) == [first]
    assert scan(tree, first) == [first]
    assert calls == [first]
    assert scan(tree, other) == [other]  # another spec is never served the first's answer
    assert calls == [first, other]


_STATE_SHAPES = [
    "def f(request, body):\n    request.state.body = body\n",
    "def f(request, body):\n    request.state.body['k'] = body\n",
    "def f(request):\n    request.state.n += 1\n",
    "def f(request, body):\n    request.state.a, request.state.b = body\n",
    "def f(request, body):\n    s = request.state\n    s.body = body\n",
    "def f(request, defaults):\n    request.state.body.update(defaults)\n",
    "def f(request, defaults):\n    request.state.__dict__.update(defaults)\n",
    "def f(request, name, v):\n    setattr(request.state, name, v)\n",
    "def f(request, fill):\n    fill(request.state)\n",
    "def f(request, fill):\n    fill(*request.state)\n",
    "def f(request, fill):\n    fill(target=request.state)\n",
    "def f(scope, v):\n    scope['state']['k'] = v\n",
    "def f(scope):\n    scope['state'] = {}\n",
    "from contextlib import asynccontextmanager\n\n@asynccontextmanager\n"
    "async def lifespan(app):\n    yield {'model': 1}\n",
]


@pytest.mark.parametrize("text", _STATE_SHAPES)
def test_request_state_triage_admits_every_shape_the_collector_records(text: str) -> None:
    # The request's state collector parses with LibCST only files its `ast` condition
    # admits; most files that read some `x.state` are not admitted (session 16: the
    # loose condition cost 25 % of a cold run's CPU on the stdlib sample).
    collector = COLLECTORS["request_state"]
    assert collector.triage is not None
    context = FileContext("t.py", text, parse_module(text))
    assert collector.facts_of(context) is not None
    assert collector.triage(TriageTree(ast.parse(text), text))


def test_request_state_triage_refuses_reads_of_a_state() -> None:
    text = (
        "def step(machine, event):\n    if machine.state == 'idle':\n"
        "        return machine.state\n    return log(machine.state.name)\n"
        "def gen(items):\n    for item in items:\n        yield item, {}\n"
    )
    collector = COLLECTORS["request_state"]
    assert collector.triage is not None
    assert not collector.triage(TriageTree(ast.parse(text), text))
