"""Triage: a cheap structural pass on CPython's `ast` before LibCST parses a file.

LibCST's parser is ~7x slower than CPython's and most files have no candidate site for
any rule, so each rule (and each project fact collector) may declare, next to its
visitor, the structural condition under which it could report in a file: a
`could_fire(tree, spec)` static method on the rule class, a `triage` callable on the
collector. The engine parses a file with LibCST only when some enabled rule or collector
lets it through.

A condition must be conservative: it may let a file through that then has no finding,
it must never drop a file that has one (`tests/test_triage.py` runs every fixture with
triage on and off and requires identical findings). A rule that declares no condition
is always parsed, so a rule added without one stays correct, only slower.

`TriageTree` indexes the `ast` tree once (one `ast.walk`), so conditions are set look-ups
and cost next to nothing beside the parse.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

N = TypeVar("N", bound=ast.AST)

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class TriageTree:
    """One file's `ast` tree with the indexes triage conditions ask about."""

    def __init__(self, tree: ast.Module, project: Any = None) -> None:
        self.tree = tree
        # The run's ProjectIndex during analysis (None in the facts pass).
        self.project = project
        self._by_type: dict[type[ast.AST], list[ast.AST]] = {}
        # Last component of every called name/attribute: `x.append(...)` -> "append".
        self.called: set[str] = set()
        # Every attribute name read or written anywhere: `self.cache` -> "cache".
        self.attributes: set[str] = set()
        # Every bare identifier (Name nodes, parameters, def/class names).
        self.names: set[str] = set()
        # Qualified names of imports: `import numpy as np` -> "numpy";
        # `from a.b import c` -> "a.b.c" (relative imports keep their dots).
        self.imported: set[str] = set()
        # Local name -> qualified name, for every import anywhere in the file.
        self.aliases: dict[str, str] = {}
        self.memo: dict[str, Any] = {}
        by_type = self._by_type
        for node in ast.walk(tree):
            kind = type(node)
            bucket = by_type.get(kind)
            if bucket is None:
                by_type[kind] = [node]
            else:
                bucket.append(node)
        for call in self.of(ast.Call):
            func = call.func
            if isinstance(func, ast.Attribute):
                self.called.add(func.attr)
            elif isinstance(func, ast.Name):
                self.called.add(func.id)
        self.attributes.update(node.attr for node in self.of(ast.Attribute))
        self.names.update(node.id for node in self.of(ast.Name))
        self.names.update(node.arg for node in self.of(ast.arg))
        for node in self.of(ast.Import):
            for alias in node.names:
                self.imported.add(alias.name)
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    self.aliases[root] = root
        for node in self.of(ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            for alias in node.names:
                full = (
                    f"{base}.{alias.name}" if base and not base.endswith(".") else base + alias.name
                )
                self.imported.add(full)
                self.aliases[alias.asname or alias.name] = full

    def of(self, *types: type[N]) -> list[N]:
        """Every node of these exact types, in `ast.walk` order per type."""
        if len(types) == 1:
            return self._by_type.get(types[0], [])  # type: ignore[return-value]
        found: list[N] = []
        for kind in types:
            found.extend(self._by_type.get(kind, []))  # type: ignore[arg-type]
        return found

    def has(self, *types: type[ast.AST]) -> bool:
        return any(kind in self._by_type for kind in types)

    @property
    def functions(self) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        return self.of(*_FUNCTIONS)

    @property
    def loops(self) -> list[ast.For | ast.AsyncFor | ast.While]:
        return self.of(*_LOOPS)

    def qualify(self, node: ast.expr) -> str | None:
        """`np.load` -> `numpy.load` through the file's imports (any scope); unimported
        names stay as written (a builtin, or a name defined in the file)."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        base = self.aliases.get(head)
        if base is None:
            return name
        return f"{base}.{rest}" if rest else base

    def call_names(self) -> set[str]:
        """Every call's qualified name (see `qualify`) and its spelling as written."""
        found = self.memo.get("call_names")
        if found is None:
            found = set()
            for call in self.of(ast.Call):
                written = dotted(call.func)
                if written is None:
                    continue
                found.add(written)
                qualified = self.qualify(call.func)
                if qualified is not None:
                    found.add(qualified)
            self.memo["call_names"] = found
        return found

    def mentions(self, words: Iterable[str]) -> bool:
        """Whether any of `words` is an identifier, attribute, or an import's last part."""
        for word in words:
            if word in self.names or word in self.attributes or word in self.called:
                return True
            if word in self.aliases:
                return True
        return False


def parse_triage(text: str, project: Any = None) -> TriageTree | None:
    """The triage tree of `text`, or None when CPython cannot parse it (then LibCST
    decides, and reports the error)."""
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences in old code warn at parse time; not ours to report.
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return TriageTree(tree, project)


def walk_within(node: ast.AST, stop: tuple[type[ast.AST], ...] = ()) -> Iterator[ast.AST]:
    """`ast.walk` below `node` that does not descend into nodes of the `stop` types."""
    pending = list(ast.iter_child_nodes(node))
    while pending:
        child = pending.pop()
        yield child
        if not isinstance(child, stop):
            pending.extend(ast.iter_child_nodes(child))
