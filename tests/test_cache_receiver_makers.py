"""A warm run gives the cold run's findings when another module changes what makes an
imported receiver (`from .b import client`; `client.get(u)` per request item is work on
an HTTP client, none on a dict): the maker in the importing module, or a function of a
third module that makes it, or a class whose method becomes work."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.testing import make_config, warm_and_cold

ROUTES = """\
from fastapi import FastAPI
from pydantic import BaseModel
from .b import client

app = FastAPI()


class Batch(BaseModel):
    urls: list[str]


@app.post("/fetch")
def fetch_all(batch: Batch) -> list[object]:
    return [client.get(u) for u in batch.urls]
"""
ROUTES_ATTR = ROUTES.replace("from .b import client", "from . import b").replace(
    "client.get", "b.client.get"
)

# a function, so that each module is summarised (a module without one is not)
PAD = "\n\ndef unused():\n    return None\n"

CASES = {
    "direct": ({"b.py": "import httpx\nclient = httpx.Client()\n"}, {"b.py": "client = {}\n"}),
    "direct_rev": ({"b.py": "client = {}\n"}, {"b.py": "import httpx\nclient = httpx.Client()\n"}),
    "via_c": (
        {
            "b.py": "from .c import make\nclient = make()\n",
            "c.py": "import httpx\ndef make():\n    return httpx.Client()\n",
        },
        {"b.py": "from .c import make\nclient = make()\n", "c.py": "def make():\n    return {}\n"},
    ),
    "via_c_rev": (
        {"b.py": "from .c import make\nclient = make()\n", "c.py": "def make():\n    return {}\n"},
        {
            "b.py": "from .c import make\nclient = make()\n",
            "c.py": "import httpx\ndef make():\n    return httpx.Client()\n",
        },
    ),
    "class_c": (
        {
            "b.py": "from .c import Store\nclient = Store()\n",
            "c.py": "class Store:\n    def get(self, k):\n        return k\n",
        },
        {
            "b.py": "from .c import Store\nclient = Store()\n",
            "c.py": (
                "import httpx\nclass Store:\n    def get(self, k):\n        return httpx.get(k)\n"
            ),
        },
    ),
    "reexport": (
        {"b.py": "from .c import client\n", "c.py": "client = {}\n"},
        {"b.py": "from .c import client\n", "c.py": "import httpx\nclient = httpx.Client()\n"},
    ),
}


def _package(tmp_path: Path, routes: str, modules: dict[str, str], pad: str = "") -> Path:
    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "routes.py").write_text(routes)
    for name, text in modules.items():
        (pkg / name).write_text(text + pad)
    return pkg


@pytest.mark.parametrize("routes", [ROUTES, ROUTES_ATTR], ids=["from", "attr"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_warm_equals_cold(tmp_path: Path, case: str, routes: str) -> None:
    before, after = CASES[case]
    pkg = _package(tmp_path, routes, before, PAD)
    config = make_config(tmp_path, select=["LG303", "LG202"])

    def edit() -> None:
        for name, text in after.items():
            (pkg / name).write_text(text + PAD)

    warm_and_cold(tmp_path, config, edit)


@pytest.mark.parametrize("routes", [ROUTES, ROUTES_ATTR], ids=["from", "attr"])
@pytest.mark.parametrize("case", ["direct", "direct_rev", "reexport"])
def test_modules_without_functions(tmp_path: Path, case: str, routes: str) -> None:
    """A module holding only its client (or a re-export of it) is summarised too: the
    warm run follows an edit there, and the client's `get` is work per item."""
    before, after = CASES[case]
    pkg = _package(tmp_path, routes, before)
    config = make_config(tmp_path, select=["LG303", "LG202"])

    def edit() -> None:
        for name, text in after.items():
            (pkg / name).write_text(text)

    first, cold = warm_and_cold(tmp_path, config, edit)
    client_first = "httpx" in "".join(before.values())
    with_client, without = (first, cold) if client_first else (cold, first)
    assert [f.rule for f in with_client.findings] == ["LG303"]
    assert not without.findings
