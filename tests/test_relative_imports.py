"""Relative imports in a package's `__init__.py` resolve from the package itself."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from leakguard.analysis.imports import AstImportTable, ImportTable, from_base
from leakguard.analysis.project import is_package_file, module_identity
from leakguard.analysis.summaries import FileSummaryCollector

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
