"""The run-wide fact "the values a parameter or a field is given" (`analysis/argument_values`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from leakguard.analysis.argument_values import ArgumentValues, collect_source
from leakguard.analysis.project import module_name_for


def _run(tmp_path: Path, files: dict[str, str], given: list[str] | None = None) -> ArgumentValues:
    """The fact over `files` written under `tmp_path` (the working directory); `given`:
    the files the run names (default: all), the others exist on disk only."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    facts = {
        module_name_for(name): collect_source(textwrap.dedent(files[name]), name)
        for name in (given if given is not None else list(files))
    }
    return ArgumentValues(facts)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _per_process(values: ArgumentValues, function: str, param: str) -> bool | None:
    found = values.parameter(function, param)
    return None if found is None else all(values.per_process(v) for v in found)


_CACHE = """
import time, uuid
from pathlib import Path

BASE = "/srv"
ROOT = Path(BASE) / "data"
_LOCKS = {}

def _load(path):
    return _LOCKS.setdefault(path, object())
"""


def test_constants_and_paths_of_every_caller_are_per_process(tmp_path: Path) -> None:
    values = _run(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/cache.py": _CACHE
            + """
def builtin_path():
    return os.path.join(BASE, "metrics.yaml")

import os

def handler_a():
    return _load(builtin_path())

def handler_b(flag: bool):
    custom = f"{ROOT}/custom.yaml"
    chosen = custom if flag else ROOT.joinpath("x.yaml")
    return _load(chosen)
""",
        },
    )
    assert _per_process(values, "pkg.cache._load", "path") is True


@pytest.mark.parametrize(
    "caller",
    [
        "def handler(user_id: str):\n    return _load(f'{user_id}')",  # request data
        "def handler():\n    return _load(uuid.uuid4().hex)",
        "def handler():\n    return _load(time.time())",
        "def handler(items):\n    for item in items:\n        _load(item)",  # loop variable
        "def handler():\n    n = 0\n    n += 1\n    return _load(n)",  # a counter
        "def handler(xs):\n    return _load(*xs)",  # *args at the call site
    ],
)
def test_a_caller_with_an_open_value_makes_it_open(tmp_path: Path, caller: str) -> None:
    """A constant in one caller and request data in another: not per process."""
    values = _run(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/cache.py": _CACHE + "\ndef fixed():\n    return _load('a')\n\n" + caller + "\n",
        },
    )
    assert _per_process(values, "pkg.cache._load", "path") is not True


def test_module_name_rebound_through_global_is_not_per_process(tmp_path: Path) -> None:
    source = (
        _CACHE
        + """
CURRENT = "a"

def switch(name):
    global CURRENT
    CURRENT = name

def handler():
    return _load(CURRENT)
"""
    )
    values = _run(tmp_path, {"pkg/__init__.py": "", "pkg/cache.py": source})
    assert _per_process(values, "pkg.cache._load", "path") is False
    once = source.replace("    global CURRENT\n    CURRENT = name\n", "    return name\n")
    values = _run(tmp_path, {"pkg/__init__.py": "", "pkg/cache.py": once})
    assert _per_process(values, "pkg.cache._load", "path") is True


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return time.time()", False),
        ("return REQUEST_ID.get()", False),  # a ContextVar
        ("return os.path.join(BASE, 'cfg.yaml')", True),
        ("if BASE:\n        return 'a'\n    return str(ROOT)", True),
    ],
)
def test_zero_argument_function_of_the_run(tmp_path: Path, body: str, expected: bool) -> None:
    source = (
        _CACHE
        + f"""
import os
from contextvars import ContextVar
REQUEST_ID = ContextVar("rid")

def config_path():
    {body}

def handler():
    return _load(config_path())
"""
    )
    values = _run(tmp_path, {"pkg/__init__.py": "", "pkg/cache.py": source})
    assert _per_process(values, "pkg.cache._load", "path") is expected


def test_parameters_are_followed_to_the_callers_callers_and_cycles_are_open(tmp_path: Path) -> None:
    source = (
        _CACHE
        + """
def _outer(name, depth=0):
    return _load(name)

def a():
    return _outer("x")

def b():
    return _outer(BASE, depth=2)
"""
    )
    values = _run(tmp_path, {"pkg/__init__.py": "", "pkg/cache.py": source})
    assert _per_process(values, "pkg.cache._load", "path") is True
    cyclic = source + "\ndef _ping(n):\n    _outer(n)\n    return _ping(n)\n"
    values = _run(tmp_path, {"pkg/__init__.py": "", "pkg/cache.py": cyclic})
    assert _per_process(values, "pkg.cache._load", "path") is False


def test_constructor_parameter_stored_on_self_and_read_by_a_method(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/settings.py": "import os\nREDIS_URL = os.environ.get('REDIS_URL')\n",
        "pkg/pool.py": _CACHE
        + """
class _Store:
    def __init__(self, url, name="x"):
        self.url = url

    def client(self):
        return _load(self.url)
""",
        "pkg/main.py": """
from pkg.pool import _Store
from pkg.settings import REDIS_URL
STORE = _Store(REDIS_URL)
OTHER = _Store("redis://localhost", name="y")
""",
    }
    values = _run(tmp_path, files)
    assert _per_process(values, "pkg.pool._load", "path") is True
    files["pkg/api.py"] = (
        "from pkg.pool import _Store\n\ndef handler(url: str):\n    return _Store(url)\n"
    )
    values = _run(tmp_path, files)
    assert _per_process(values, "pkg.pool._load", "path") is False


def test_partial_run_sees_no_caller_outside_it(tmp_path: Path) -> None:
    """A public function whose package the run does not wholly name: unknown, even when
    every caller the run sees passes a constant (pre-commit on one changed file)."""
    files = {
        "pkg/__init__.py": "",
        "pkg/cache.py": (
            "CACHE = {}\n\ndef load(path):\n    CACHE[path] = 1\n\ndef a():\n    load('x')\n"
        ),
        "pkg/api.py": "from pkg.cache import load\n\ndef handler(p):\n    load(p)\n",
    }
    partial = _run(tmp_path, files, given=["pkg/cache.py"])
    assert partial.parameter("pkg.cache.load", "path") is None
    whole = _run(tmp_path, files)
    found = whole.parameter("pkg.cache.load", "path")
    assert found is not None
    assert not all(whole.per_process(v) for v in found)
    # no caller at all proves nothing
    alone = _run(tmp_path, {"pkg/__init__.py": "", "pkg/solo.py": "def _f(x):\n    return x\n"})
    assert alone.parameter("pkg.solo._f", "x") is None


@pytest.mark.parametrize(
    "use",
    [
        "register(_load)",  # passed as a callback
        "HANDLERS = {'a': _load}",  # stored
        # a decorated caller: its own parameter's callers are not all visible
        "@decorate\ndef _other(path):\n    return _load(path)\n\nx = _other('a')",
    ],
)
def test_function_used_as_a_value(tmp_path: Path, use: str) -> None:
    source = (
        _CACHE
        + "\ndef register(f):\n    return f\n\ndecorate = register\n\ndef a():\n    _load('x')\n\n"
        + use
    )
    values = _run(tmp_path, {"pkg/__init__.py": "", "pkg/cache.py": source})
    found = values.parameter("pkg.cache._load", "path")
    if "_other" in use:
        # the decorated caller's own parameter has callers the run cannot see
        assert found is not None
        assert not all(values.per_process(v) for v in found)
    else:
        assert found is None


_SPEC = """
from typing import NamedTuple, Callable

class Spec(NamedTuple):
    name: str
    normalize: Callable[[str], str]
    strict: bool = False
"""


def test_named_tuple_field_values_across_files(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/spec.py": _SPEC,
        "pkg/a.py": (
            "from pkg.spec import Spec\n\ndef _norm(t):\n    return t.strip()\n\n"
            "A = Spec('a', normalize=_norm)\n"
        ),
        "pkg/b.py": (
            "from pkg import spec\nfrom pkg.util import clean\n\nB = spec.Spec('b', clean, True)\n"
        ),
        "pkg/util.py": "def clean(t):\n    return t\n",
    }
    values = _run(tmp_path, files)
    found = values.field("pkg.spec.Spec", "normalize")
    assert found is not None
    assert sorted(values.run_function(v) or ("?", []) for v in found) == [
        ("pkg.a", ["l", "_norm"]),
        ("pkg.util", ["l", "clean"]),
    ]
    strict = values.field("pkg.spec.Spec", "strict")
    assert strict is not None and all(values.per_process(v) for v in strict)


@pytest.mark.parametrize(
    ("extra", "known"),
    [
        (
            "from pkg.b import B\n\ndef f(user_fn):\n    return B._replace(normalize=user_fn)\n",
            False,
        ),
        ("from pkg.spec import Spec\n\ndef f(fn):\n    return Spec('c', fn)\n", True),
        ("from pkg.spec import Spec\n\ndef f(kw):\n    return Spec(**kw)\n", False),
        ("from pkg.spec import Spec\n\nFACTORY = Spec\n", False),
        ("from pkg.spec import Spec\n\nclass Sub(Spec):\n    pass\n", False),
        ("from pkg.spec import Spec\n\nC = Spec._make(['c', len])\n", False),
    ],
)
def test_field_values_hostile(tmp_path: Path, extra: str, known: bool) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/spec.py": _SPEC,
        "pkg/b.py": "from pkg.spec import Spec\n\ndef _n(t):\n    return t\n\nB = Spec('b', _n)\n",
        "pkg/c.py": extra,
    }
    values = _run(tmp_path, files)
    found = values.field("pkg.spec.Spec", "normalize")
    if not known:
        assert found is None
    else:
        # a construction with a parameter's value: known, but not a function of the run
        assert found is not None
        assert [values.run_function(v) for v in found].count(None) == 1


def test_reexported_function_is_one_function(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "from pkg.cache import _load as load\n",
        "pkg/cache.py": _CACHE + "\ndef a():\n    _load('x')\n",
        "pkg/api.py": "from pkg import load\n\ndef handler(p):\n    load(p)\n",
    }
    values = _run(tmp_path, files)
    found = values.parameter("pkg.cache._load", "path")
    assert found is not None
    assert len(found) == 2
    assert not all(values.per_process(v) for v in found)


def test_method_called_through_an_unresolved_receiver_is_open(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/pool.py": _CACHE
        + """
class Pool:
    def get(self, key):
        return _load(key)

    def warm(self):
        return self.get("a")
""",
        "pkg/api.py": "def handler(pool, key):\n    return pool.get(key)\n",
    }
    values = _run(tmp_path, files)
    assert values.parameter("pkg.pool.Pool.get", "key") is None
    assert _per_process(values, "pkg.pool._load", "path") is False
