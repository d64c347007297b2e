"""Facts collected from CPython's `ast` instead of LibCST must be the LibCST ones.

The facts pass parses each file with `ast` only; the import table and the async
interfaces collector were moved there from LibCST. The LibCST versions are kept here
as the reference and both run on every fixture file and on dedicated cases.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from leakguard.analysis import async_interfaces
from leakguard.analysis.imports import AstImportTable, ImportTable, dotted_name
from leakguard.analyzer import module_name_for, parse
from leakguard.triage import parse_ast

TESTS = Path(__file__).parent
FIXTURES = sorted((TESTS / "fixtures").rglob("*.py"))

CASES = {
    # Imports: module level, under if/elif/else and try (not finally, not `with`),
    # one-line suites (LibCST's scan skips them), nested scopes where the module does
    # not bind the name, `match` cases (scanned last to first), relative imports.
    "pkg/imports.py": (
        "import os.path as p, typing\n"
        "from . import sibling\nfrom ..up import thing as t\n"
        "if a:\n    import json\nelif b:\n    import ujson as json\nelse: import yaml\n"
        "try:\n    import orjson\nexcept ImportError:\n    orjson = None\n"
        "finally:\n    import atexit\n"
        "with ctx:\n    import shelve\n"
        "def f():\n    import numpy as np\n    if x: import torch\n"
        "    match y:\n        case 1:\n            from a import insert\n"
        "        case _:\n            from b import insert\n"
        "class C:\n    from typing import Protocol\n    import os\n"
        "try:\n    pass\nexcept A:\n    from c import h\nexcept B:\n    from d import h\n"
        "else:\n    from e import g\n"
        "from star import *\n"
    ),
    # Async interfaces: protocol bases (subscripted, qualified, renamed, relative),
    # abstract methods (qualified, called decorator), nested classes, starred bases.
    "svc/interfaces.py": (
        "import typing as ty\nfrom typing_extensions import Protocol as P\n"
        "from abc import abstractmethod\nimport abc\nfrom .typing import Protocol\n"
        "class A(ty.Protocol):\n    async def send(self): ...\n    def sync(self): ...\n"
        "class B(P[int]):\n    async def recv(self): ...\n"
        "class C(Base):\n    @abstractmethod\n    async def close(self): ...\n"
        "    @abc.abstractmethod\n    async def flush(self): ...\n"
        "    @abstractmethod()\n    async def odd(self): ...\n    async def plain(self): ...\n"
        "class D(Protocol):\n    async def relative(self): ...\n"
        "class E(*bases, metaclass=ty.Protocol):\n    async def starred(self): ...\n"
        "def factory():\n    class F(ty.Protocol):\n        async def nested(self): ...\n"
        "    return F\n"
        "class G(ty.Protocol): pass\n"
    ),
}


def _sources() -> list[tuple[str, str]]:
    found = [(str(p.relative_to(TESTS)), p.read_text(encoding="utf-8")) for p in FIXTURES]
    return [*found, *CASES.items()]


def _libcst_async_interfaces(module: cst.Module, imports: ImportTable) -> list[str]:
    """The collector as it was on LibCST (the reference)."""
    names: set[str] = set()
    for node in _descendants(module):
        if not isinstance(node, cst.ClassDef):
            continue
        protocol = False
        for base in node.bases:
            value = base.value.value if isinstance(base.value, cst.Subscript) else base.value
            if imports.qualify(value) in ("typing.Protocol", "typing_extensions.Protocol"):
                protocol = True
        for statement in node.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.asynchronous is not None:
                abstract = any(
                    (dotted_name(d.decorator) or "").rsplit(".", 1)[-1] == "abstractmethod"
                    for d in statement.decorators
                )
                if protocol or abstract:
                    names.add(statement.name.value)
    return sorted(names)


def _descendants(node: cst.CSTNode) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    pending = list(node.children)
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.children)
    return found


@pytest.mark.parametrize("name,text", CASES.items(), ids=list(CASES))
def test_the_dedicated_cases_have_facts(name: str, text: str) -> None:
    tree = parse_ast(text)
    assert tree is not None
    aliases = AstImportTable(tree, text, module_name_for(name)).table.aliases
    if name == "pkg/imports.py":
        assert aliases["json"] == "ujson" and "yaml" not in aliases and "atexit" not in aliases
        assert aliases["insert"] == "a.insert" and aliases["np"] == "numpy"
        assert aliases["h"] == "d.h" and aliases["t"] == "up.thing"
    else:
        assert async_interfaces.collect_source(text, name) == [
            "close",
            "flush",
            "nested",
            "recv",
            "send",
        ]


def test_ast_facts_equal_the_libcst_ones_on_every_fixture() -> None:
    compared = 0
    for name, text in _sources():
        tree = parse_ast(text)
        module = parse(text, name)
        if tree is None or not isinstance(module, cst.Module):
            continue
        module_name = module_name_for(name)
        reference = ImportTable.from_module(module, module_name)
        assert AstImportTable(tree, text, module_name).table.aliases == reference.aliases, name
        expected = _libcst_async_interfaces(module, reference)
        assert async_interfaces.collect_source(text, name) == expected, name
        compared += 1
    assert compared > 400
