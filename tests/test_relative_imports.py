"""Relative imports in a package's `__init__.py` resolve from the package itself."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest

from leakguard.analysis.imports import AstImportTable, ImportTable, from_base
from leakguard.analysis.project import is_package_file, module_identity
from leakguard.analysis.summaries import FileSummaryCollector
from leakguard.analyzer import analyze_text
from leakguard.rules.serialization.lg401_unsafe_deserialization import UnsafeDeserialization
from leakguard.testing import make_config
from leakguard.triage import parse_triage

SOURCE = "from .base import Selector\nfrom ..util import sort_workers\nfrom . import sibling\n"


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        (
            "app/selectors/__init__.py",
            {
                "Selector": "app.selectors.base.Selector",
                "sort_workers": "app.util.sort_workers",
                "sibling": "app.selectors.sibling",
            },
        ),
        (
            "app/selectors/main.py",
            {
                "Selector": "app.selectors.base.Selector",
                "sort_workers": "app.util.sort_workers",
                "sibling": "app.selectors.sibling",
            },
        ),
    ],
)
def test_every_import_table_resolves_relative_imports_of_a_package(
    display: str, expected: dict[str, str]
) -> None:
    module, package = module_identity(display)
    libcst_table = ImportTable.from_module(cst.parse_module(SOURCE), module, package)
    ast_table = AstImportTable(ast.parse(SOURCE), SOURCE, module, package).table
    summaries = FileSummaryCollector(module, package=package)
    for node in ast.parse(SOURCE).body:
        assert isinstance(node, ast.ImportFrom)
        summaries.record_import(node)
    for name, qualified in expected.items():
        assert libcst_table.qualify_dotted(name) == qualified
        assert ast_table.qualify_dotted(name) == qualified
        assert summaries.qualify(name) == qualified


def test_from_base() -> None:
    assert from_base("pkg", "x", 1, package=True) == "pkg.x"
    assert from_base("pkg", "x", 1) == "x"  # the top-level module `pkg.py`: no package
    assert from_base("pkg.sub", "", 2, package=True) == "pkg"
    assert from_base("pkg.sub.mod", "x", 2) == "pkg.x"
    assert from_base("pkg.sub.mod", "x", 3) == "x"  # the run's root: its top-level modules


def test_from_base_above_the_top_package_resolves_to_no_module() -> None:
    # More dots than packages above the file: an ImportError at run time. It took a
    # negative slice and named a module of the run (`pkg.x`, the top-level `x`).
    assert from_base("pkg.sub.mod", "x", 4) == "....x"
    assert from_base("pkg", "x", 3, package=True) == "...x"
    assert from_base("mod", "x", 2) == "..x"
    table = AstImportTable(ast.parse("from .... import x\n"), "", *module_identity("pkg/a/b.py"))
    resolved = table.table.qualify_dotted("x")  # `pkg.x` before
    assert resolved is not None and resolved.startswith("....")
    assert is_package_file("a/b/__init__.py") and is_package_file("a\\__init__.pyi")
    assert not is_package_file("a/b/init.py")


@pytest.mark.parametrize("display", ["app/selectors/__init__.py", "app/selectors/main.py"])
def test_the_triage_resolves_relative_names_as_the_analysis_does(display: str) -> None:
    tree = parse_triage(SOURCE, display=display)
    assert tree is not None
    absolute = {
        local: next(iter(tree.absolute(sorted(targets)))) for local, targets in tree.targets.items()
    }
    module, package = module_identity(display)
    libcst_table = ImportTable.from_module(cst.parse_module(SOURCE), module, package)
    assert absolute == {name: libcst_table.qualify_dotted(name) for name in absolute}
    # a tree that does not know its file keeps the dots (matched by suffix, to be safe)
    unknown = parse_triage(SOURCE)
    assert unknown is not None and unknown.absolute([".base.Selector"]) == [".base.Selector"]


_LOAD_OF_THE_PACKAGE = (
    "import pickle\nfrom . import load\n\n\ndef restore(path):\n    return load(path), pickle\n"
)


@pytest.mark.parametrize(
    ("display", "may_fire"),
    [
        ("bentoml/serving.py", False),  # bentoml.load: no unsafe loader
        ("pickle/tool.py", True),  # pickle.load, as the analysis resolves it
        (None, True),  # a file not known: any name ending in `.load` may be one
    ],
)
def test_a_rule_triage_resolves_a_relative_call(display: str | None, may_fire: bool) -> None:
    """LG401's triage admitted every `from . import load` (bentoml's serving.py was parsed
    whole); knowing the file, it admits only what the analysis can report."""
    tree = parse_triage(_LOAD_OF_THE_PACKAGE, display=display)
    assert tree is not None
    config = make_config(Path("."), select=["LG401"])
    assert UnsafeDeserialization.could_fire(tree, config.rules["LG401"]) is may_fire
    if display is not None:
        on = analyze_text(_LOAD_OF_THE_PACKAGE, display, config)
        off = analyze_text(_LOAD_OF_THE_PACKAGE, display, config, triage=False)
        assert [(f.rule, f.line) for f in on.findings] == [(f.rule, f.line) for f in off.findings]
        assert bool(off.findings) is may_fire
