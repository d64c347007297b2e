"""Function summaries and the call graph (`analysis/summaries.py`): resolution through
imports, aliases, `self`, module-level instances and relative imports; depth-limited,
cycle-safe propagation; provenance of models; cache dependencies."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import jsonschema

from leakguard.analysis.summaries import SummaryIndex, Vocabulary, collect_source
from leakguard.engine import RunResult, check
from leakguard.finding import Related
from leakguard.report import ReportOptions, sarif
from leakguard.report import text as text_report
from leakguard.testing import check_fixture, make_config, summary_index_of

VOCABULARY = Vocabulary(
    blocking=("requests.get", "time.sleep", "open", "joblib.load", "subprocess.*"),
    heavy_modules=("numpy",),
    loaders=("joblib.load",),
    blocking_methods=frozenset({"read_text", "fit"}),
    model_methods=frozenset({"predict"}),
)

FILES = {
    "app/__init__.py": "",
    "app/data.py": """\
import requests
import joblib
from . import deep
from .deep import level2 as second


def load_rows(url):
    return requests.get(url).json()


def fmt(items):
    return ", ".join(str(i) for i in items)


def get_model():
    model = joblib.load("m.joblib")
    return model


def get_model_indirectly():
    return get_model()


def level1(x):
    return deep.level2(x)


def aliased(x):
    return second(x)


def ping(n):
    return pong(n)


def pong(n):
    return ping(n)


def offloaded(loop, url):
    return loop.run_in_executor(None, requests.get, url)


def scores(rows):
    out = []
    for row in rows:
        out.append(get_model().predict([row]))
    return out


class Service:
    def score(self, x):
        return self._inner(x)

    def _inner(self, x):
        return open(x).read()


service = Service()
""",
    "app/deep.py": """\
import time


def level2(x):
    return level3(x)


def level3(x):
    return level4(x)


def level4(x):
    time.sleep(1)
""",
}


def _index(tmp_path: Path) -> SummaryIndex:
    return summary_index_of(FILES)


def _chain(index: SummaryIndex, fid: str, depth: int = 3, kinds: tuple[str, ...] = ("blocks",)):
    found = index.find(fid, VOCABULARY, kinds, depth)
    return found.text() if found else None


def test_direct_blocking_call_is_a_chain_of_one(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert _chain(index, "app.data:load_rows") == "`load_rows()` -> `requests.get` (app/data.py:8)"


def test_string_formatting_helper_has_no_evidence(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert _chain(index, "app.data:fmt", kinds=("blocks", "cpu_heavy", "loops")) is None


def test_self_methods_and_depth(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert _chain(index, "app.data:Service.score") == (
        "`Service.score()` -> `Service._inner()` (app/data.py:53) -> `open` (app/data.py:56)"
    )
    assert _chain(index, "app.data:Service.score", depth=1) is None


def test_relative_module_import_and_the_depth_limit(tmp_path: Path) -> None:
    index = _index(tmp_path)
    # level1 -> level2 -> level3 -> level4 -> time.sleep: four functions deep
    assert _chain(index, "app.data:level1", depth=3) is None
    assert _chain(index, "app.data:level1", depth=4) == (
        "`level1()` -> `level2()` (app/data.py:25) -> `level3()` (app/deep.py:5)"
        " -> `level4()` (app/deep.py:9) -> `time.sleep` (app/deep.py:13)"
    )
    assert _chain(index, "app.deep:level3", depth=2) == (
        "`level3()` -> `level4()` (app/deep.py:9) -> `time.sleep` (app/deep.py:13)"
    )


def test_aliased_import_resolves(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.resolve("app.data", ["q", "app.deep.level2"]) == "app.deep:level2"
    assert _chain(index, "app.data:aliased", depth=4) is not None


def test_module_level_instance_method_resolves_from_another_file(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.resolve("app.main", ["q", "app.data.service.score"]) == "app.data:Service.score"
    assert index.resolve("app.main", ["q", "app.data.nothing_here"]) is None


def test_cycles_end(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert _chain(index, "app.data:ping", depth=6) is None


def test_offloaded_work_is_not_evidence(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert _chain(index, "app.data:offloaded") is None
    assert index.functions["app.data:offloaded"].raw["facts"]["offloads"][1] == 41


def test_models_by_provenance_through_functions(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.returns_model("app.data:get_model", VOCABULARY) is not None
    assert index.returns_model("app.data:get_model_indirectly", VOCABULARY) is not None
    assert index.returns_model("app.data:fmt", VOCABULARY) is None
    chain = index.find("app.data:scores", VOCABULARY, ("cpu_heavy",))
    assert chain is not None and chain.evidence.label == "`get_model().predict()`"
    assert index.find("app.data:scores", VOCABULARY, ("loops",)) is not None


def test_related_steps_name_caller_and_callee(tmp_path: Path) -> None:
    index = _index(tmp_path)
    chain = index.find("app.data:Service.score", VOCABULARY, ("blocks",))
    assert chain is not None
    assert chain.related() == [
        ("app/data.py", 53, "`Service.score()` calls `Service._inner()`"),
        ("app/data.py", 56, "`Service._inner()` calls `open`, which does file I/O synchronously"),
    ]


def test_dependencies_cover_only_what_a_module_reaches(tmp_path: Path) -> None:
    index = _index(tmp_path)
    reached = index.dependencies("app.deep")["reached"]
    assert set(reached) == {"app.deep:level3", "app.deep:level4"}


# -- through the engine: related locations in every format, and the cache --------------

HELPERS = """\
import requests


def load_rows(url):
    return requests.get(url, timeout=5).json()
"""

HELPERS_EDITED = """\
import requests

TIMEOUT = 5


def load_rows(url):
    return requests.get(url, timeout=TIMEOUT).json()
"""

ROUTES = """\
from fastapi import FastAPI

from .helpers import load_rows

app = FastAPI()


@app.get("/rows")
async def rows(url: str):
    return load_rows(url)
"""

UNRELATED = """\
async def ping{n}():
    return {{"ok": {n}}}


def local_{n}(value):
    return value + {n}
"""


def _service(root: Path, helpers: str = HELPERS, unrelated: int = 9) -> None:
    package = root / "app"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(helpers)
    (package / "routes.py").write_text(ROUTES)
    for n in range(unrelated):  # enough files for the engine to use a process pool
        (package / f"other_{n}.py").write_text(UNRELATED.format(n=n))


def _check(root: Path, *, jobs: int = 1, use_cache: bool = True) -> RunResult:
    config = make_config(root, select=["LG201", "LG202"])
    return check([root / "app"], config, jobs=jobs, use_cache=use_cache)


def test_chain_finding_carries_related_locations(tmp_path: Path) -> None:
    _service(tmp_path)
    result = _check(tmp_path, use_cache=False)
    assert not result.errors
    [finding] = [f for f in result.findings if f.rule == "LG201"]
    assert (finding.path, finding.line) == ("app/routes.py", 10)
    assert finding.message == (
        "`load_rows()` calls `requests.get` (helpers.py:5) in `async def rows`, blocking the loop"
    )
    assert finding.help.startswith("`requests.get` does network I/O synchronously; offload")
    assert finding.related == (
        Related(
            "app/helpers.py",
            5,
            "`load_rows()` calls `requests.get`, which does network I/O synchronously",
        ),
    )
    assert finding.to_json()["related"] == [
        {"path": "app/helpers.py", "line": 5, "message": finding.related[0].message}
    ]
    [lg202] = [f for f in result.findings if f.rule == "LG202"]
    assert [r.path for r in lg202.related] == ["app/routes.py", "app/helpers.py"]
    assert all("related" not in f.to_json() for f in result.findings if not f.related)


def test_related_locations_in_sarif_and_text(tmp_path: Path) -> None:
    _service(tmp_path)
    result = _check(tmp_path, use_cache=False)
    options = ReportOptions(config=make_config(tmp_path, select=["LG201"]), color=False)
    document = sarif.to_document(result, options)
    [lg201] = [r for r in document["runs"][0]["results"] if r["ruleId"] == "LG201"]
    [related] = lg201["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "app/helpers.py"
    assert related["physicalLocation"]["region"] == {"startLine": 5}
    flow = lg201["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [step["location"]["physicalLocation"]["region"]["startLine"] for step in flow] == [
        10,
        5,
    ]
    # Validated against the schema where it is available (vendored in the package, or
    # next to the checkout as tests/test_sarif.py looks for it); the shape is checked above.
    project = Path(__file__).resolve().parents[1]
    candidates = [
        *(project / "src" / "leakguard" / "_bundled").rglob("sarif-schema-2.1.0.json"),
        *(
            p
            for p in (
                Path(os.environ.get("LEAKGUARD_SARIF_SCHEMA", "/nonexistent")),
                project.parent / "shared" / "sarif" / "sarif-schema-2.1.0.json",
            )
            if p.is_file()
        ),
    ]
    if candidates:
        jsonschema.validate(document, json.loads(candidates[0].read_text(encoding="utf-8")))
    out = io.StringIO()
    text_report.write(result, out, options)
    assert "    app/helpers.py:5: `load_rows()` calls `requests.get`" in out.getvalue()


def test_findings_with_related_locations_survive_the_cache(tmp_path: Path) -> None:
    _service(tmp_path)
    cold = _check(tmp_path)
    warm = _check(tmp_path)
    assert all(r.from_cache for r in warm.results)
    assert warm.findings == cold.findings
    assert any(f.related for f in warm.findings)


def test_editing_a_helper_reanalyses_only_the_files_that_reach_it(tmp_path: Path) -> None:
    _service(tmp_path)
    first = _check(tmp_path, jobs=2)
    assert {(f.path, f.line, f.rule) for f in first.findings} == {
        ("app/routes.py", 10, "LG201"),
        ("app/routes.py", 9, "LG202"),
    }
    (tmp_path / "app" / "helpers.py").write_text(HELPERS_EDITED)
    second = _check(tmp_path, jobs=2)
    analysed = {r.path for r in second.results if not r.from_cache}
    assert analysed == {"app/helpers.py", "app/routes.py"}
    [finding] = [f for f in second.findings if f.rule == "LG201"]
    assert "(helpers.py:7)" in finding.message  # the new line of the call


def test_max_call_depth_bounds_the_chains_lg201_follows() -> None:
    fixture = Path(__file__).parent / "fixtures" / "rules" / "LG201"
    fixture = fixture / "pos_interprocedural_same_file.py"
    expected, reported = check_fixture(fixture, "LG201")
    assert reported == expected
    _, shallow = check_fixture(fixture, "LG201", {"max_call_depth": 1})
    # `refresh()` (2 deep), `rebuild()` (3) and `repository.load()` (2) drop out.
    assert sorted(line for _, line, _ in expected - shallow) == [58, 59, 60]
    _, none = check_fixture(fixture, "LG201", {"max_call_depth": 0})
    assert sorted(line for _, line, _ in none) == []


MLX_SOURCE = """
import mlx.nn as nn
import torch
from mlx_lm import load

model, tokenizer = load("mlx-community/tiny")
torch_model = torch.load("m.pt")


class Base(nn.Module):
    pass


class Net(Base):
    pass


class Plain:
    pass


net = Net()
plain = Plain()


async def handler(x):
    model(x)
    tokenizer(x)
    net(x)
    plain(x)
    torch_model(x)
    pair, tok = load("other")
    pair(x)
"""


def test_called_mlx_models_by_provenance() -> None:
    """Calling the model of an `mlx_lm.load` pair or an `mlx.nn.Module` instance runs model
    code; the tokenizer, other instances and torch models called directly do not."""
    facts = collect_source(MLX_SOURCE, "app/mlx_app.py")
    assert facts is not None
    index = SummaryIndex.build({"app.mlx_app": facts})
    assert index.called_model_at("app.mlx_app", 27, "model") == "mlx_lm.load"
    assert index.called_model_at("app.mlx_app", 28, "tokenizer") is None
    assert index.called_model_at("app.mlx_app", 29, "net") == "mlx.nn.Module"
    assert index.called_model_at("app.mlx_app", 30, "plain") is None
    assert index.called_model_at("app.mlx_app", 31, "torch_model") is None
    assert index.called_model_at("app.mlx_app", 33, "pair") == "mlx_lm.load"
    chain = index.find("app.mlx_app:handler", VOCABULARY, ("cpu_heavy",))
    assert chain is None  # async defs are not followed; their calls are reported in place
    assert index.direct("app.mlx_app:handler", VOCABULARY, ("cpu_heavy",)) is not None


SCORING = """\
import asyncio

import joblib

MODEL = joblib.load("model.joblib")


def _predict(rows):
    return MODEL.predict(rows)


async def predict(rows):
    return await asyncio.to_thread(_predict, rows)
"""

HANDLER = """\
import asyncio

from fastapi import FastAPI

from .scoring import predict

app = FastAPI()


@app.post("/score")
async def score(rows: list[list[float]]):
    return await predict(rows)
"""

HANDLER_BOUNDED = HANDLER.replace(
    "    return await predict(rows)",
    "    async with asyncio.timeout(5):\n        return await predict(rows)",
)


def test_editing_a_handler_rechecks_the_files_it_reaches_for_lg204(tmp_path: Path) -> None:
    """LG204 in `scoring.py` depends on how `routes.py` calls it: bounding the call there
    re-analyses `scoring.py` (and nothing unrelated), and the finding goes."""
    _service(tmp_path)
    (tmp_path / "app" / "scoring.py").write_text(SCORING)
    (tmp_path / "app" / "api.py").write_text(HANDLER)
    config = make_config(tmp_path, select=["LG204"])
    first = check([tmp_path / "app"], config, jobs=2)
    assert {(f.path, f.line) for f in first.findings} == {("app/scoring.py", 13)}
    [finding] = first.findings
    # the message names the handler and the evidence; the handler's file and the
    # calls leading to the model are related locations
    assert "request handler `score`" in finding.message
    assert finding.message.endswith("runs a model")
    assert ("app/scoring.py", 9) in [(r.path, r.line) for r in finding.related]
    assert (finding.related[0].path, finding.related[0].line) == ("app/api.py", 12)
    (tmp_path / "app" / "api.py").write_text(HANDLER_BOUNDED)
    second = check([tmp_path / "app"], config, jobs=2)
    analysed = {r.path for r in second.results if not r.from_cache}
    assert analysed == {"app/api.py", "app/scoring.py"}
    assert second.findings == []


MODEL_REGISTRY = """\
import joblib

MODELS = {"small": joblib.load("small.pkl")}


def registry():
    return MODELS


def refresh(extra):
    MODELS.merge(extra)
    return MODELS["small"].predict([[0]])
"""


def test_a_module_level_dict_of_models_is_no_model_itself() -> None:
    """The dict is no model, its entries are: `return MODELS` raised in the collector (the
    whole file then had no summaries), and a method of the dict was recorded as a model
    call the run's queries could not judge."""
    facts = collect_source(MODEL_REGISTRY, "app/models.py")
    assert facts is not None
    functions = facts["functions"]
    assert "returns_model" not in functions["registry"].get("facts", {})
    assert functions["refresh"]["model_calls"] == [
        [["model", "registry"], "MODELS['small'].predict()", 12]
    ]
