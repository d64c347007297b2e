"""The run-wide start-up reach (`analysis/startup.py`, LG201): a partial run sees the
callers in the files it leaves out (`leakguard.project_context`), proves nothing without
them, and a warm run gives the cold
run's findings when another module starts or stops calling a start-up function per
request."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard import project_context
from leakguard.engine import check
from leakguard.testing import finding_places, make_config, warm_and_cold, write_package

CLI = """\
import argparse
import asyncio

from app.gateway import ensure_secret


def run(args: argparse.Namespace) -> None:
    asyncio.run(ensure_secret(args.keyfile))


def setup(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("start").set_defaults(func=run)
"""
GATEWAY = """\
async def ensure_secret(keyfile: str) -> bytes:
    with open(keyfile, "rb") as handle:
        return handle.read()
"""
HANDLER = """\
from fastapi import FastAPI

from app.gateway import ensure_secret

app = FastAPI()


@app.post("/secret")
async def rotate(keyfile: str) -> dict:
    await ensure_secret(keyfile)
    return {}
"""
UNRELATED = """\
def job() -> None:
    return None
"""


def _package(root: Path, other: str | None) -> Path:
    return write_package(root, {"cli.py": CLI, "gateway.py": GATEWAY, "other.py": other})


def test_whole_run_proves_start_up_only(tmp_path: Path) -> None:
    _package(tmp_path, UNRELATED)
    config = make_config(tmp_path, select=["LG201"])
    assert finding_places(check([tmp_path], config, jobs=1, use_cache=False)) == []


def test_partial_run_sees_the_project(tmp_path: Path) -> None:
    # The files left out are the run's context (`leakguard.project_context`): the run
    # knows that no other module calls `ensure_secret` per request, as the whole run does.
    package = _package(tmp_path, UNRELATED)
    config = make_config(tmp_path, select=["LG201"])
    run = check([package / "cli.py", package / "gateway.py"], config, jobs=1, use_cache=False)
    assert finding_places(run) == []


def test_partial_run_without_context_proves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over the context bound, without the package's `__init__.py` (and whatever else it
    # holds) the run cannot tell that no other module calls `ensure_secret` per request
    # (`StartupIndex.whole`).
    monkeypatch.setattr(project_context, "MAX_PROJECT_FILES", 1)
    package = _package(tmp_path, UNRELATED)
    config = make_config(tmp_path, select=["LG201"])
    run = check([package / "cli.py", package / "gateway.py"], config, jobs=1, use_cache=False)
    assert finding_places(run) == [("gateway.py", 2)]


@pytest.mark.parametrize(
    ("before", "after"),
    [(UNRELATED, HANDLER), (HANDLER, UNRELATED), (None, HANDLER), (HANDLER, None)],
    ids=["handler_edited_in", "handler_edited_out", "handler_added", "handler_removed"],
)
def test_warm_equals_cold(tmp_path: Path, before: str | None, after: str | None) -> None:
    _package(tmp_path, before)
    config = make_config(tmp_path, select=["LG201"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _package(tmp_path, after))
    for run, other in ((first, before), (cold, after)):
        assert finding_places(run) == ([("gateway.py", 2)] if other == HANDLER else [])


STORE = """\
class ModelStore:
    def __init__(self, index_file: str) -> None:
        self.index_file = index_file
        self.names: list[str] = []

    async def reload(self) -> None:
        with open(self.index_file) as handle:
            self.names = handle.read().split()
"""
LIFESPAN = """\
from contextlib import asynccontextmanager

from fastapi import FastAPI

from storage.store import ModelStore


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.store = ModelStore("models.txt")
    await app.state.store.reload()
    yield


app = FastAPI(lifespan=lifespan)
"""
STATE_ROUTE = """\
from fastapi import APIRouter, Request

router = APIRouter()


@router.post("/admin/reload")
async def reload_models(request: Request) -> dict:
    await request.app.state.store.reload()
    return {}
"""


def test_method_through_app_state_in_a_sibling_package(tmp_path: Path) -> None:
    # `server` and `storage` are two top-level packages of one project (one import
    # root): the route reaches the store through `request.app.state` and names nothing
    # of `storage`, yet it calls `ModelStore.reload` per request.
    for package, files in {
        "server": {"app.py": LIFESPAN, "routes.py": STATE_ROUTE},
        "storage": {"store.py": STORE},
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        for name, text in files.items():
            (tmp_path / package / name).write_text(text)
    config = make_config(tmp_path, select=["LG201"])
    assert finding_places(check([tmp_path], config, jobs=1, use_cache=False)) == [("store.py", 7)]


BOOT = """\
import asyncio

from app.core.settings import load_settings


def main() -> None:
    asyncio.run(load_settings("settings.toml"))
"""
SETTINGS = """\
async def load_settings(path: str) -> str:
    with open(path) as handle:
        return handle.read()
"""
SETTINGS_ROUTE = """\
from fastapi import FastAPI

from app.core.settings import load_settings

app = FastAPI()


@app.get("/settings")
async def settings() -> str:
    return await load_settings("settings.toml")
"""


def test_run_of_one_subpackage_proves_nothing(tmp_path: Path) -> None:
    layout = {
        "app": {},
        "app/core": {"boot.py": BOOT, "settings.py": SETTINGS},
        "app/api": {"routes.py": SETTINGS_ROUTE},
    }
    for package, files in layout.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        for name, text in files.items():
            (tmp_path / package / name).write_text(text)
    config = make_config(tmp_path, select=["LG201"])
    whole = check([tmp_path], config, jobs=1, use_cache=False)
    assert finding_places(whole) == [("settings.py", 2)]
    partial = check([tmp_path / "app" / "core"], config, jobs=1, use_cache=False)
    assert finding_places(partial) == [("settings.py", 2)]


def _state_project(root: Path, route: bool) -> None:
    for package, files in {"server": {"app.py": LIFESPAN}, "storage": {"store.py": STORE}}.items():
        (root / package).mkdir(exist_ok=True)
        (root / package / "__init__.py").write_text("")
        for name, text in files.items():
            (root / package / name).write_text(text)
    routes = root / "server" / "routes.py"
    routes.write_text(STATE_ROUTE if route else UNRELATED)


@pytest.mark.parametrize("before", [True, False], ids=["route_edited_out", "route_edited_in"])
def test_warm_equals_cold_across_packages(tmp_path: Path, before: bool) -> None:
    # the store's findings depend on a module of another top-level package that never
    # names it (`request.app.state.store.reload()`): the cache must see that edit
    _state_project(tmp_path, before)
    config = make_config(tmp_path, select=["LG201"])
    first, cold = warm_and_cold(tmp_path, config, lambda: _state_project(tmp_path, not before))
    expected = [("store.py", 7)]
    assert finding_places(first) == (expected if before else [])
    assert finding_places(cold) == ([] if before else expected)


EXAMPLES_MAIN = """\
import asyncio

from web.examples import Examples

examples = Examples("cache.txt")  # built at import time: not confined to start-up


def main() -> None:
    asyncio.run(examples.cache())
"""
EXAMPLES = """\
class Examples:
    def __init__(self, path: str) -> None:
        self.path = path

    async def cache(self) -> None:
        with open(self.path, "a") as handle:
            handle.write("cached\\n")
"""
# Another project of the run: calls a `.cache()` of its own on a receiver of unknown class.
OTHER_PROJECT_ROUTE = """\
from fastapi import FastAPI

app = FastAPI()


@app.post("/warm")
async def warm(store) -> dict:
    await store.cache()
    return {}
"""


def test_unrelated_projects_under_one_folder_do_not_mix_their_methods(tmp_path: Path) -> None:
    # `projects/web` and `projects/tool` are two projects (two import roots) under a
    # folder of the run's root, as the corpus's `src/<name>-<version>/`: the second's
    # `.cache()` calls cannot reach the first's `Examples.cache`, run once at start-up.
    web = tmp_path / "projects" / "web-1.0"
    tool = tmp_path / "projects" / "tool-2.0"
    web.mkdir(parents=True)
    tool.mkdir(parents=True)
    write_package(web, {"main.py": EXAMPLES_MAIN, "examples.py": EXAMPLES}, name="web")
    write_package(tool, {"routes.py": OTHER_PROJECT_ROUTE}, name="tool")
    config = make_config(tmp_path, select=["LG201"])
    alone = finding_places(check([web], config, jobs=1, use_cache=False))
    together = finding_places(check([web, tool], config, jobs=1, use_cache=False))
    assert alone == together == []
    # The same route in the first project may be handed its `Examples`: it keeps firing.
    write_package(web, {"routes.py": OTHER_PROJECT_ROUTE}, name="web")
    assert finding_places(check([web, tool], config, jobs=1, use_cache=False)) == [
        ("examples.py", 6)
    ]
