"""Async interfaces declared anywhere in the run: names of `async def` methods that are
abstract (`@abstractmethod`) or belong to a `typing.Protocol` class.

A subclass that implements such a method has to keep it `async def` even when its own
body never awaits (e.g. `send_eof` of a socket stream), so LG202 does not report it.
Facts are per file (collector `async_interfaces`) and merged across the run; matching is
by method name, for classes that have at least one base class.
"""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.imports import dotted_name
from leakguard.analysis.project import FactCollector, register_collector
from leakguard.context import FileContext
from leakguard.triage import TriageTree
from leakguard.walker import descendants

COLLECTOR = "async_interfaces"
# An async interface needs an `async def` and an `abstractmethod` or `Protocol`.
TOKENS = ("async def",)
MARKERS = ("abstractmethod", "Protocol")
_PROTOCOL_BASES = frozenset({"typing.Protocol", "typing_extensions.Protocol"})


def collect(context: FileContext) -> list[str]:
    """Sorted names of the file's abstract or protocol `async def` methods."""
    names: set[str] = set()
    for node in descendants(context.module):
        if not isinstance(node, cst.ClassDef):
            continue
        protocol = any(_is_protocol_base(base.value, context) for base in node.bases)
        for statement in node.body.body:
            if (
                isinstance(statement, cst.FunctionDef)
                and statement.asynchronous is not None
                and (protocol or _is_abstract(statement))
            ):
                names.add(statement.name.value)
    return sorted(names)


def could_apply(tree: TriageTree) -> bool:
    """A class with an `async def` directly in its body."""
    return any(
        isinstance(statement, ast.AsyncFunctionDef)
        for klass in tree.of(ast.ClassDef)
        for statement in klass.body
    )


register_collector(
    FactCollector(COLLECTOR, TOKENS, collect, also_tokens=MARKERS, triage=could_apply)
)


def _is_protocol_base(base: cst.BaseExpression, context: FileContext) -> bool:
    if isinstance(base, cst.Subscript):  # Protocol[T]
        base = base.value
    return context.imports.qualify(base) in _PROTOCOL_BASES


def _is_abstract(function: cst.FunctionDef) -> bool:
    for decorator in function.decorators:
        name = dotted_name(decorator.decorator) or ""
        if name.rsplit(".", 1)[-1] == "abstractmethod":
            return True
    return False


def interface_methods(context: FileContext) -> frozenset[str]:
    """Abstract/protocol async method names of the whole run (and of this file)."""
    cached = context.memo.get("async_interfaces.names")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    names: set[str] = set()
    names.update(collect(context))
    project = context.project
    if project is not None:
        for module_names in project.of(COLLECTOR).values():
            names.update(module_names)
    result = frozenset(names)
    context.memo["async_interfaces.names"] = result
    return result
