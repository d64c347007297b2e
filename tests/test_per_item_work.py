"""The per-item work fact (`analysis/per_item_work.py`) and what the summaries record for
it (`SummaryIndex.cheap`, `SummaryIndex.iterated`): one answer for LG202 and LG303."""

from __future__ import annotations

from leakguard.analysis.cheap_calls import cheap_callee
from leakguard.analysis.summaries import SummaryIndex
from leakguard.testing import summary_index_of

FILES = {
    "svc/__init__.py": "",
    "svc/helpers.py": """\
import json
import yaml
from typing import get_origin


def same(a, b):
    for key, value in a.items():
        if b.get(key) != value:
            return False
    return True


def coerce(kind, value):
    if get_origin(kind) is dict:
        return json.loads(value)
    return same({}, {}) and str(value)


def parse(text):
    return yaml.safe_load(text)


def via_parse(text):
    return coerce(dict, parse(text))


def run_callable(fn, x):
    return fn(x)


def authors(chat):
    messages = list(chat.get("messages", []))
    for message in messages:
        message["seen"] = True


async def search(query):
    return query


def recursive(x):
    return recursive(x)
""",
}


def _index() -> SummaryIndex:
    return summary_index_of(FILES)


def test_functions_doing_only_cheap_conversions_are_cheap() -> None:
    index = _index()
    assert index.cheap("svc.helpers:same")
    assert index.cheap("svc.helpers:coerce")  # json.loads, typing, a cheap run function
    assert index.cheap("svc.helpers:recursive")  # a cycle is judged by its other calls


def test_unknown_calls_and_coroutines_are_work() -> None:
    index = _index()
    assert not index.cheap("svc.helpers:parse")  # a third-party library
    assert not index.cheap("svc.helpers:via_parse")  # through a function that calls one
    assert not index.cheap("svc.helpers:run_callable")  # a callable it is handed
    assert not index.cheap("svc.helpers:search")  # an async def's work runs when awaited
    assert not index.cheap("svc.helpers:missing")
    assert not index.cheap("svc.helpers:via_parse", depth=1)  # deeper than allowed


def test_parameters_a_function_loops_over() -> None:
    index = _index()
    assert index.iterated("svc.helpers:same") == [("a", 0)]
    assert index.iterated("svc.helpers:authors") == [("chat", 0)]  # through a local
    assert index.iterated("svc.helpers:coerce") == []


def test_a_module_function_named_like_a_cheap_method_is_not_one() -> None:
    aliases = {"requests": "requests", "db": "app.store.db", "json": "json"}
    assert not cheap_callee("requests.get", "get", aliases)
    assert cheap_callee("db.values", "values", aliases)  # an imported object's method
    assert cheap_callee("json.loads", "loads", aliases)
    assert cheap_callee(None, "model_dump", aliases)  # `rows[0].model_dump()`
    assert cheap_callee("len", None, aliases)
    assert not cheap_callee("len", None, {"len": "mylib.len"})
