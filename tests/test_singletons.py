"""Process-wide instances across files (`analysis/singletons.py`), as LG108 uses them:
`lru_cache` on a method of a class built only at import time or into a module global in
*another* file is silent; one construction elsewhere (per call) brings the finding back,
also through the result cache."""

from __future__ import annotations

from pathlib import Path

from leakguard.analysis.singletons import collect_source
from leakguard.engine import check
from leakguard.testing import make_config

REGISTRY = """\
from functools import lru_cache


class StoreRegistry:
    @lru_cache(maxsize=100)
    def get_store(self, uri):
        return uri
"""

UTILS = """\
from .store.registry import StoreRegistry

_registry = StoreRegistry()
"""

PER_CALL = """

def fresh_store(uri):
    return StoreRegistry().get_store(uri)
"""


def _project(root: Path, utils: str) -> Path:
    package = root / "app"
    (package / "store").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "store" / "__init__.py").write_text("")
    (package / "store" / "registry.py").write_text(REGISTRY)
    (package / "utils.py").write_text(utils)
    return package


def _lines(root: Path) -> list[tuple[str, int]]:
    result = check([root / "app"], make_config(root, select=["LG108"]), jobs=1)
    return [(Path(f.path).name, f.line) for f in result.findings]


def test_collects_import_time_lazy_and_per_call_constructions() -> None:
    source = (
        "from pkg.reg import Registry, Other\n"
        "_r = Registry()\n"
        "_lazy = None\n"
        "def lazy():\n"
        "    global _lazy\n"
        "    made = Other()\n"
        "    _lazy = made\n"
        "def per_call():\n"
        "    return Registry()\n"
    )
    facts = collect_source(source, "app/utils.py")
    assert facts == {"once": ["pkg.reg.Other", "pkg.reg.Registry"], "other": ["pkg.reg.Registry"]}


def test_instance_built_at_import_in_another_file_is_silent(tmp_path: Path) -> None:
    _project(tmp_path, UTILS)
    assert _lines(tmp_path) == []


def test_construction_per_call_elsewhere_reports_again_through_the_cache(
    tmp_path: Path,
) -> None:
    package = _project(tmp_path, UTILS)
    assert _lines(tmp_path) == []
    (package / "utils.py").write_text(UTILS + PER_CALL)
    assert _lines(tmp_path) == [("registry.py", 5)]


def test_private_class_names_and_base_names_are_collected() -> None:
    source = (
        "from pkg.reg import _Registry, Base\n"
        "_default = _Registry()\n"
        "class _Local(Base):\n"
        "    pass\n"
        "class Typed(typing.Generic[T]):\n"
        "    pass\n"
        "def per_call():\n"
        "    return _Local()\n"
    )
    facts = collect_source(source, "app/utils.py")
    assert facts == {
        "once": ["pkg.reg._Registry"],
        "other": ["app.utils._Local"],
        "bases": {"Typed": ["Generic", "T", "typing"], "_Local": ["Base"]},
    }


SUBCLASS = """\
from .store.registry import StoreRegistry


class TenantRegistry(StoreRegistry):
    pass


def tenant_store(uri):
    return TenantRegistry().get_store(uri)
"""


SUBCLASS_ONCE = """\
from .store.registry import StoreRegistry


class ServerRegistry(StoreRegistry):
    pass


_server_registry = ServerRegistry()
"""


def test_subclass_in_another_file_reports_again_through_the_cache(tmp_path: Path) -> None:
    """Its instances run the inherited cached method without constructing the base: a
    subclass built once keeps the base a singleton; built per call, or never built in the
    run (code outside it may build it), it does not."""
    package = _project(tmp_path, UTILS)
    assert _lines(tmp_path) == []
    (package / "server.py").write_text(SUBCLASS_ONCE)
    assert _lines(tmp_path) == []
    (package / "server.py").write_text(SUBCLASS_ONCE.split("\n\n\n_server")[0] + "\n")
    assert _lines(tmp_path) == [("registry.py", 5)]
    (package / "server.py").write_text(SUBCLASS_ONCE)
    (package / "tenants.py").write_text(SUBCLASS)
    assert _lines(tmp_path) == [("registry.py", 5)]


HANDED_ON = """

def store_factories(registry):
    registry.register("store", StoreRegistry)
"""


def test_class_handed_on_as_a_factory_elsewhere_reports_again_through_the_cache(
    tmp_path: Path,
) -> None:
    """Handing the class on (a factory the callee may call per request) counts as a
    construction anywhere, warm as cold."""
    package = _project(tmp_path, UTILS)
    assert _lines(tmp_path) == []
    (package / "utils.py").write_text(UTILS + HANDED_ON)
    assert _lines(tmp_path) == [("registry.py", 5)]
    (package / "utils.py").write_text(UTILS)
    assert _lines(tmp_path) == []


def test_partial_run_without_the_per_call_construction_keeps_the_finding(
    tmp_path: Path,
) -> None:
    """Checking only the registry and the module that builds it once (a pre-commit run of
    the changed files) cannot see the per-call construction in the file left out."""
    package = _project(tmp_path, UTILS)
    (package / "routes.py").write_text("from .store.registry import StoreRegistry\n" + PER_CALL)
    files = [package / "store" / "registry.py", package / "utils.py"]
    result = check(files, make_config(tmp_path, select=["LG108"]), jobs=1)
    assert [(Path(f.path).name, f.line) for f in result.findings] == [("registry.py", 5)]
