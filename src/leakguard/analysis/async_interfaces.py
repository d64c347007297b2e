"""Async interfaces declared anywhere in the run: names of `async def` methods that are
abstract (`@abstractmethod`) or belong to a `typing.Protocol` class.

A subclass that implements such a method has to keep it `async def` even when its own
body never awaits (e.g. `send_eof` of a socket stream), so LG202 does not report it.
Facts are per file (collector `async_interfaces`) and merged across the run; matching is
by method name, for classes that have at least one base class. Collected from CPython's
`ast` (the facts pass's one parse), so the facts pass never parses a file with LibCST
for them.

An interface is also fixed without being declared (`fixed_async_methods`, over the
run's class summaries): a base class of the run, in any file, that defines the method
`async def`; or a *sibling*, a class sharing a base class of the run, that defines it
`async def` and awaits in it. `await session.close()` on either of two session kinds
works only if both stay `async def`, so the one that does not await (removing a
directory, chainlit's `HTTPSession.delete`) cannot become a plain `def`; its blocking
calls are LG201's to report. Siblings that never await fix nothing: each could be a
plain `def`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from leakguard.analysis.imports import AstImportTable, ImportTable
from leakguard.analysis.project import (
    FactCollector,
    module_identity,
    register_collector,
)
from leakguard.context import FileContext
from leakguard.triage import TriageTree, dotted, parse_triage

if TYPE_CHECKING:
    from leakguard.analysis.summaries import SummaryIndex

COLLECTOR = "async_interfaces"
# An async interface needs an `async def` and an `abstractmethod` or `Protocol`.
TOKENS = ("async def",)
MARKERS = ("abstractmethod", "Protocol")
_PROTOCOL_BASES = frozenset({"typing.Protocol", "typing_extensions.Protocol"})


def collect_source(text: str, display: str) -> list[str]:
    tree = parse_triage(text, display=display)
    return [] if tree is None else collect_tree(tree, text, display)


def collect_tree(tree: TriageTree, text: str, display: str) -> list[str]:
    """Sorted names of the file's abstract or protocol `async def` methods (in classes
    at any depth)."""
    if not could_apply(tree):
        return []
    imports: ImportTable | None = None
    names: set[str] = set()
    for klass in tree.of(ast.ClassDef):
        methods = [s for s in klass.body if isinstance(s, ast.AsyncFunctionDef)]
        if not methods:
            continue
        if imports is None:
            imports = AstImportTable(tree.tree, text, *module_identity(display)).table
        protocol = any(_is_protocol_base(base, imports) for base in klass.bases)
        names.update(m.name for m in methods if protocol or _is_abstract(m))
    return sorted(names)


def could_apply(tree: TriageTree) -> bool:
    """A class with an `async def` directly in its body."""
    return any(
        isinstance(statement, ast.AsyncFunctionDef)
        for klass in tree.of(ast.ClassDef)
        for statement in klass.body
    )


register_collector(
    FactCollector(
        COLLECTOR,
        TOKENS,
        also_tokens=MARKERS,
        from_source=collect_source,
        from_tree=collect_tree,
        triage=could_apply,
    )
)


def _is_protocol_base(base: ast.expr, imports: ImportTable) -> bool:
    if isinstance(base, ast.Starred):  # `*bases`
        base = base.value
    if isinstance(base, ast.Subscript):  # Protocol[T]
        base = base.value
    name = dotted(base)
    return name is not None and imports.qualify_dotted(name) in _PROTOCOL_BASES


def _is_abstract(function: ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        name = dotted(decorator) or ""
        if name.rsplit(".", 1)[-1] == "abstractmethod":
            return True
    return False


def interface_methods(context: FileContext) -> frozenset[str]:
    """Abstract/protocol async method names of the whole run (and of this file)."""
    cached = context.memo.get("async_interfaces.names")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    names: set[str] = set()
    names.update(collect_source(context.source, context.path))
    project = context.project
    if project is not None:
        for module_names in project.of(COLLECTOR).values():
            names.update(module_names)
    result = frozenset(names)
    context.memo["async_interfaces.names"] = result
    return result


def fixed_async_methods(index: SummaryIndex, klass: tuple[str, str]) -> frozenset[str]:
    """Names of the `async def` methods of `klass` (module, class of the run) that other
    classes of the run fix as async: a run ancestor defines the method `async def`, or a
    class sharing a run ancestor defines it `async def` and awaits in it."""
    own = {name for name, method in index.methods(klass).items() if method.is_async}
    if not own:
        return frozenset()
    ancestors = index.related(klass, upward=True)
    fixed: set[str] = set()
    for ancestor in ancestors:
        fixed.update(n for n, m in index.methods(ancestor).items() if n in own and m.is_async)
    for ancestor in ancestors:
        for sibling in index.related(ancestor, upward=False):
            if sibling == klass:
                continue
            methods = index.methods(sibling)
            fixed.update(n for n in own if n in methods and methods[n].awaits)
    return frozenset(fixed)
