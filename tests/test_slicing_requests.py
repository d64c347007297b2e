"""Regions of the request-facing rules (LG110, LG301-LG303, LG502, LG503): what each
keeps beyond its candidates, and that a sliced file reports what the whole one does."""

from __future__ import annotations

import ast
from pathlib import Path

from leakguard.analysis.frameworks import handler_regions
from leakguard.analysis.project import COLLECTORS
from leakguard.analyzer import analyze_text, collect_file
from leakguard.finding import Finding
from leakguard.slicing import PLAN_KEY, callee_regions, elided, needed_units, units
from leakguard.testing import make_config
from leakguard.triage import TriageTree, admitted, parse_triage


def _tree(text: str) -> TriageTree:
    tree = parse_triage(text)
    assert tree is not None
    return tree


def _kept(tree: TriageTree, nodes: list[ast.AST]) -> list[str]:
    found = units(tree)
    return [getattr(found[index].node, "name", "") for index in needed_units(tree, nodes)]


def _elided_functions(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """The functions of `text` whose `def` line falls in an elided span: asserting
    names, not line counts, keeps these tests about what the regions keep."""
    return sorted(
        node.name
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and any(first <= node.lineno <= last for first, last in spans)
    )


def _sliced_and_whole(
    text: str, codes: list[str]
) -> tuple[list[Finding], list[Finding], list[str]]:
    """Findings of `codes` on `text` sliced and whole, and the functions elided."""
    config = make_config(Path("."), select=codes)
    _, verdict = collect_file(text, "app.py", sorted(COLLECTORS), config)
    assert verdict is not None and PLAN_KEY in verdict
    rules = admitted(verdict, None)
    spans = elided(verdict[PLAN_KEY], rules)
    sliced = analyze_text(text, "app.py", config, admitted=rules, elide_spans=spans)
    whole = analyze_text(text, "app.py", config, admitted=rules)
    return sliced.findings, whole.findings, _elided_functions(text, spans)


_CALLS = """\
import asyncio
class Loader:
    def __init__(self):
        self.model = build()
    def unrelated(self):
        pass
def build():
    return deep()
def deep():
    return deeper()
def deeper():
    pass
def get_db():
    pass
def load(path):
    pass
def handler(db=Depends(get_db)):
    Loader()
    asyncio.to_thread(load, "m.bin")
def unrelated():
    pass
"""


def test_calls_reach_functions_by_name_handed_on_and_constructors() -> None:
    tree = _tree(_CALLS)
    handler = next(f for f in tree.functions if f.name == "handler")
    reached = callee_regions(tree, [handler], 2)
    assert sorted(f.name for f in reached) == ["__init__", "build", "get_db", "load"]
    deeper = callee_regions(tree, [handler], 4)
    assert sorted(f.name for f in deeper) == [
        "__init__",
        "build",
        "deep",
        "deeper",
        "get_db",
        "load",
    ]


_ROUTES = """\
from flask import Flask
from flask.views import MethodView
class Items(MethodView):
    def get(self):
        pass
    def helper(self):
        pass
class Plain:
    def post(self):
        pass
def create_app():
    app = Flask(__name__)
    app.add_url_rule("/x", view_func=registered)
    return app
def registered():
    pass
@app.post("/y")
def decorated():
    pass
def unrelated():
    pass
"""


def test_handlers_are_decorated_registered_or_view_methods() -> None:
    tree = _tree(_ROUTES)
    kept = _kept(tree, handler_regions(tree))
    assert kept == ["get", "create_app", "registered", "decorated"]


_MODELS = """\
from fastapi import FastAPI
from pydantic import BaseModel, field_validator

class Batch(BaseModel):
    items: list[int]
    tags: list[int]

    @field_validator("items")
    @classmethod
    def few(cls, value):
        if len(value) > 100:
            raise ValueError("too many")
        return value

    def describe(self):
        return "batch"

def create_app():
    app = FastAPI()
    app.add_api_route("/batch", take, methods=["POST"])
    return app

def take(batch: Batch):
    return summarise(batch)

def summarise(batch):
    return [len(tag) for tag in batch.tags]

def unrelated():
    return 1
"""


def test_request_model_rules_keep_handlers_registrations_and_validators() -> None:
    """The validator bounds `items` (elided, `items` would be reported too), the model
    is a request body only through a handler registered in `create_app`."""
    sliced, whole, elided = _sliced_and_whole(_MODELS, ["LG301", "LG302", "LG303"])
    assert [(f.rule, f.line) for f in sliced] == [("LG301", 6)]
    assert sliced == whole
    assert elided == ["describe", "unrelated"]


_ERRORS = """\
import traceback
from fastapi import FastAPI
from fastapi.responses import JSONResponse

def on_error(request, exc):
    return JSONResponse({"detail": str(exc)})

def create_app():
    app = FastAPI()
    app.add_exception_handler(Exception, on_error)
    return app

def add_routes(app):
    app.add_api_route("/run", run)

def run():
    try:
        work()
    except Exception as e:
        return {"error": str(e)}

def trace():
    return traceback.format_exc()

def work():
    return 1
"""


def test_exception_text_keeps_its_scopes_handlers_and_registrations() -> None:
    sliced, whole, elided = _sliced_and_whole(_ERRORS, ["LG502"])
    assert sorted((f.rule, f.line) for f in sliced) == [("LG502", 6), ("LG502", 20)]
    assert sliced == whole
    assert elided == ["trace", "work"]  # `trace`: its text goes to no client


_DEBUG = """\
from flask import Flask

def make():
    return Flask(__name__)

def build():
    return make()

def unrelated():
    return 1

service = build()

if __name__ == "__main__":
    service.run(debug=True)
"""


def test_debug_mode_keeps_the_factories_an_app_comes_from() -> None:
    sliced, whole, elided = _sliced_and_whole(_DEBUG, ["LG503"])
    assert [(f.rule, f.line) for f in sliced] == [("LG503", 15)]
    assert sliced == whole
    assert elided == ["unrelated"]


_LOADS = """\
import joblib
from fastapi import FastAPI

app = FastAPI()

def read_model(path):
    return joblib.load(path)

def get_model():
    return read_model("m.pkl")

@app.post("/predict")
def predict(x: int):
    model = get_model()
    return model.predict([[x]])

def unrelated():
    return joblib.load("other.pkl")
"""


def test_model_loads_keep_the_request_paths() -> None:
    """`read_model` loads per request two calls below the handler; `unrelated` loads
    too, but on no request path."""
    sliced, whole, elided = _sliced_and_whole(_LOADS, ["LG110"])
    assert [(f.rule, f.line) for f in sliced] == [("LG110", 7)]
    assert sliced == whole
    assert elided == ["unrelated"]


_MEMORY = """\
import psutil

class Monitor:
    def __init__(self):
        self.proc = psutil.Process()

    def report(self):
        print(self.proc.memory_info().rss)

    def unrelated(self):
        return 1
"""


def test_memory_readings_keep_where_the_process_is_bound() -> None:
    sliced, whole, elided = _sliced_and_whole(_MEMORY, ["LG105"])
    assert [(f.rule, f.line) for f in sliced] == [("LG105", 8)]
    assert sliced == whole
    assert elided == ["unrelated"]
