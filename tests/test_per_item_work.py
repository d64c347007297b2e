"""The per-item work fact (`analysis/per_item_work.py`) and what the summaries record for
it (`SummaryIndex.cheap`, `SummaryIndex.iterated`): one answer for LG202 and LG303."""

from __future__ import annotations

from leakguard.analysis.cheap_calls import cheap_callee, made_object
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


RECEIVERS = {
    "app/__init__.py": "",
    "app/store.py": """\
import json

import httpx
import redis
from sentence_transformers import SentenceTransformer

from .tables import LABELS

cache = redis.from_url("redis://cache")
table = {"a": 1}
ALLOWED = frozenset({"a", "b"})
GROWN = {"a"}
REBOUND = ("a",)
REBOUND = ("b",)
fields = {"debug": bool}


def grow(name):
    GROWN.add(name)


class Store:
    def __init__(self):
        self.client = httpx.Client()
        self.seen = {}

    def remote(self, url):
        return self.client.get(url)

    def local(self, key):
        return self.seen.get(key)


class Memory:
    def get(self, key):
        return key


def make_client():
    return httpx.Client()


def fetch(client, url):
    return client.get(url)


def forward(client, url):
    return fetch(client, url)


def typed(session: "redis.Redis | None", key: str):
    return session.get(key)


def plain(fields: dict[str, str], key: str):
    return fields.get(key)


def parsed(text):
    return json.loads(text).get("id")


def made_here(key):
    return make_client().get(key)


def with_client(url):
    with httpx.Client() as client:
        return client.get(url)


def embed(text):
    return SentenceTransformer("m").encode(text)


def imported_cache(key):
    return cache.get(key)


def imported_table(key):
    return table.get(key) or LABELS.get(key)


memories = Memory()


def memory(key):
    return memories.get(key)


def hands_client(urls):
    client = httpx.Client()
    return [fetch(client, u) for u in urls]


def hands_dict(keys):
    seen = {}
    return [fetch(seen, k) for k in keys]
""",
    "app/tables.py": """\
LABELS = {"a": "Alpha"}
""",
}


def test_cheap_method_names_on_objects_are_work() -> None:
    index = summary_index_of(RECEIVERS)
    for name in (
        "Store.remote",  # `self.client = httpx.Client()`
        "typed",  # an annotated parameter, through a string and `| None`
        "made_here",  # what a function of the run returns
        "with_client",  # bound by `with`
        "embed",  # a sentence model's `encode`
        "imported_cache",  # a module-level value made by a third-party factory
        "hands_client",  # hands an HTTP client to a helper calling `.get` on it
    ):
        assert not index.cheap(f"app.store:{name}"), name


def test_cheap_method_names_on_data_stay_cheap() -> None:
    index = summary_index_of(RECEIVERS)
    for name in (
        "Store.local",  # `self.seen = {}`
        "plain",  # a `dict[str, str]` parameter
        "parsed",  # `json.loads(...)`'s value
        "imported_table",  # module-level dicts, here and imported
        "memory",  # a class of the run whose own `get` is cheap
        "hands_dict",  # hands a dict literal to the same helper
        "fetch",  # a parameter: its caller decides
        "forward",
    ):
        assert index.cheap(f"app.store:{name}"), name


def test_what_a_helper_calls_on_its_parameters_follows_forwarding() -> None:
    index = summary_index_of(RECEIVERS)
    client = ["via", ["q", "httpx.Client"]]
    entry = ["l", "forward", 0, client, 1]
    assert index._hands_object("app.store", entry, 3)  # forward -> fetch -> client.get
    assert not index._hands_object("app.store", ["l", "forward", 1, client, 1], 3)
    assert not index._hands_object("app.store", [*entry[:3], ["via", ["l", "Memory"]], 1], 3)


def test_makers_from_outside_the_run() -> None:
    assert made_object("httpx.Client")
    assert made_object("redis.Redis")
    assert made_object("sqlalchemy.orm.Session")
    assert made_object("queue.Queue")  # `get` blocks
    assert not made_object("datetime.datetime.now")  # `.replace(...)` of a value
    assert not made_object("base64.b64encode")  # `.decode()` of bytes
    assert not made_object("yaml.safe_load")
    assert not made_object("jwt.decode")  # a third-party function's value: most are data
    assert made_object("redis.from_url")  # a connection factory
    assert not made_object("pydantic.BaseModel")


def test_fixed_collections_are_proven_not_named() -> None:
    index = summary_index_of(RECEIVERS)
    assert index.constant_collection("app.store", ["l", "ALLOWED"])
    assert index.constant_collection("app.store", ["l", "fields"])  # any case, a dict's keys
    assert index.constant_collection("app.routes", ["q", "app.tables.LABELS"])  # no `def`
    assert not index.constant_collection("app.store", ["l", "GROWN"])  # mutated
    assert not index.constant_collection("app.store", ["l", "REBOUND"])  # bound twice
    assert index.constant_collection("app.store", ["l", "table"])  # a dict of constants
    assert not index.constant_collection("app.store", ["l", "cache"])  # made by a call
    assert not index.constant_collection("app.store", ["q", "elsewhere.ALLOWED"])


def test_module_level_facts_read_through_imports_key_the_cache() -> None:
    before = summary_index_of(RECEIVERS).dependencies("app.store")
    edited = {**RECEIVERS, "app/tables.py": 'LABELS = {"a": "Alpha"}\nLABELS = {}\n'}
    after = summary_index_of(edited).dependencies("app.store")
    assert before["values"] != after["values"]  # a fixed collection anywhere
    routes = "from .store import cache\n\ndef read(key):\n    return cache.get(key)\n"
    files = {**RECEIVERS, "app/routes.py": routes}
    reader = summary_index_of(files).dependencies("app.routes")
    grown = {**files, "app/store.py": RECEIVERS["app/store.py"] + "other = make_client()\n"}
    assert summary_index_of(grown).dependencies("app.routes")["values"] != reader["values"]
    # a module whose receivers come from nowhere else does not depend on that edit
    assert summary_index_of(grown).dependencies("app.tables") == summary_index_of(
        files
    ).dependencies("app.tables")
