"""Slicing: LibCST parses only the parts of a file some admitted rule can report in.

File-level triage (`leakguard.triage`) admits a whole file when a rule could fire in
it, yet a finding usually sits in one function of a big file (a `pickle` call in one
test method of a 3,000-line test module). A rule that declares `regions` (next to its
`could_fire`) names the `ast` nodes it needs to see whole; the rest of the file's
*units* are elided before LibCST parses it.

Units are the top-level `def`/`async def` statements and the methods directly in
top-level classes, each with its decorators. Everything else (imports, module-level
statements, `if`/`try` blocks, class headers and the non-def statements of class
bodies) is always kept: classes are never elided whole, so the names a file defines
and its class skeletons stay visible to every analysis.

The facts pass (which has the `ast` tree) computes a `Plan` (`plan`): the units' line
spans and, per rule with regions, the units it needs. The analysis phase (which has
no `ast` tree) picks the spans to elide for its admitted rules (`elided`) and blanks
them (`elide`) so that every kept line keeps its number and columns: positions of
kept code need no mapping, and the original text still serves comments, fingerprints
and source lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from leakguard.triage import TriageTree

# First and last line of a unit, 1-based, inclusive.
Span = tuple[int, int]

# The verdict key (see `triage.Verdict`) under which the facts pass stores the plan;
# `~` cannot start a rule code, so `triage.admitted` skips it.
PLAN_KEY = "~slices"
# Part of the facts cache key: a cached plan of another shape is never read.
PLAN_VERSION = 1

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Python's tokenizer ends lines at "\r\n", "\r" and "\n" only (`str.splitlines` also
# splits at form feeds and other separators, which are ordinary whitespace in code).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_INDENT = " \t\x0c"


def split_lines(text: str) -> list[str]:
    """The lines of `text` as Python numbers them, each with its own line ending."""
    return _LINE.findall(text)


class _Unit:
    __slots__ = ("first", "imports", "last", "uses")

    def __init__(self, first: int, last: int, node: ast.AST, tree: TriageTree) -> None:
        self.first = first
        self.last = last
        # Names bound by imports inside the unit: analysis.imports resolves them in the
        # whole file (`def a(): import pickle as p` serves `p.loads` in `def b()`).
        self.imports: set[str] = set()
        self.uses: set[str] = set()
        for child in tree.walk(node):
            if isinstance(child, ast.Name):
                self.uses.add(child.id)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    self.imports.add(alias.asname or alias.name.split(".", 1)[0])
            elif isinstance(child, ast.ImportFrom):
                self.imports.update(alias.asname or alias.name for alias in child.names)


def _candidates(module: ast.Module) -> Iterable[ast.FunctionDef | ast.AsyncFunctionDef]:
    for statement in module.body:
        if isinstance(statement, _FUNCTIONS):
            yield statement
        elif isinstance(statement, ast.ClassDef):
            yield from (s for s in statement.body if isinstance(s, _FUNCTIONS))


def _span(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: Sequence[str]) -> Span | None:
    """The unit's whole lines, or None when they are not its alone (a decorator whose
    `@` sits on an earlier line, code after its end on the last line)."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    last = node.end_lineno
    if last is None or last > len(lines):
        return None
    head = lines[first - 1].lstrip(_INDENT)
    if not head.startswith(("@", "def", "async")):
        return None
    # `ast` columns count UTF-8 bytes.
    tail = lines[last - 1].encode("utf-8")[node.end_col_offset or 0 :].decode("utf-8", "replace")
    rest = tail.strip().lstrip(";").strip()
    if rest and not rest.startswith("#") and rest != "\\":
        return None
    return first, last


def units(tree: TriageTree) -> list[_Unit]:
    """The file's elidable units, in line order (remembered on the tree)."""
    found: list[_Unit] | None = tree.memo.get("slicing.units")
    if found is None:
        lines = split_lines(tree.text)
        found = []
        for node in _candidates(tree.tree):
            span = _span(node, lines)
            if span is not None:
                found.append(_Unit(span[0], span[1], node, tree))
        tree.memo["slicing.units"] = found
    return found


def _node_span(node: ast.AST) -> Span:
    first = getattr(node, "lineno", 1)
    decorators = getattr(node, "decorator_list", ())
    first = min([first, *(d.lineno for d in decorators)])
    return first, getattr(node, "end_lineno", None) or first


def needed_units(tree: TriageTree, regions: Iterable[ast.AST]) -> list[int]:
    """Indexes of the units overlapping any of `regions`, with the units whose imports
    bind a name those units use (the import table is file-wide)."""
    found = units(tree)
    spans = [_node_span(region) for region in regions]
    kept = {
        index
        for index, unit in enumerate(found)
        if any(first <= unit.last and unit.first <= last for first, last in spans)
    }
    used: set[str] = set()
    for index in kept:
        used |= found[index].uses
    kept.update(index for index, unit in enumerate(found) if unit.imports & used)
    return sorted(kept)


def plan(tree: TriageTree, regions: Mapping[str, list[ast.AST] | None]) -> dict[str, Any] | None:
    """The JSON plan of one file: its units' spans and, per rule code whose regions are
    known, the indexes of the units it needs (a rule left out needs the whole file).
    None when nothing could be elided."""
    found = units(tree)
    if not found:
        return None
    needs = {
        code: needed_units(tree, nodes) for code, nodes in regions.items() if nodes is not None
    }
    if not needs:
        return None
    return {"units": [[unit.first, unit.last] for unit in found], "needs": needs}


def elided(plan: Any, rules: Iterable[str]) -> list[Span]:
    """The spans to blank for these admitted rules: none unless every one of them
    declared its regions."""
    if not isinstance(plan, dict):
        return []
    needs = plan.get("needs", {})
    kept: set[int] = set()
    for code in rules:
        indexes = needs.get(code)
        if indexes is None:
            return []
        kept.update(indexes)
    return [(first, last) for index, (first, last) in enumerate(plan["units"]) if index not in kept]


def elide(text: str, spans: Sequence[Span]) -> str:
    """`text` with the lines of each span blanked: the first becomes `pass` at the
    unit's own indentation (the enclosing block stays non-empty), the others become
    empty; every line keeps its line ending, so kept code keeps its lines and columns."""
    if not spans:
        return text
    lines = split_lines(text)
    for first, last in spans:
        line = lines[first - 1]
        body = line.rstrip("\r\n")
        indent = body[: len(body) - len(body.lstrip(_INDENT))]
        lines[first - 1] = f"{indent}pass{line[len(body) :]}"
        for index in range(first, last):
            line = lines[index]
            lines[index] = line[len(line.rstrip("\r\n")) :]
    return "".join(lines)


def parsed_lines(lines: int, spans: Sequence[Span]) -> int:
    """Lines LibCST parses of a file of `lines` lines with `spans` elided: each elided
    unit still costs its one `pass` line."""
    return lines - sum(last - first for first, last in spans)
