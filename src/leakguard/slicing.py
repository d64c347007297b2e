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
import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from leakguard.triage import TriageTree, first_line, growth_root, root_name

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
    __slots__ = ("_tree", "_uses", "first", "imports", "last", "node")

    def __init__(self, first: int, last: int, node: ast.AST, tree: TriageTree) -> None:
        self.first = first
        self.last = last
        self.node = node
        self._tree = tree
        # Names bound by imports inside the unit (filled by `units`): analysis.imports
        # resolves them in the whole file (`def a(): import pickle as p` serves
        # `p.loads` in `def b()`).
        self.imports: set[str] = set()
        self._uses: set[str] | None = None

    @property
    def uses(self) -> set[str]:
        """Names the unit reads, binds or declares `global` (walked on first use: most
        plans ask it of a few units only)."""
        if self._uses is None:
            found: set[str] = set()
            for child in self._tree.walk(self.node):
                if isinstance(child, ast.Name):
                    found.add(child.id)
                elif isinstance(child, (ast.Global, ast.Nonlocal)):
                    found.update(child.names)
            self._uses = found
        return self._uses


def _bound_by(statement: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(statement, ast.Import):
        return {alias.asname or alias.name.split(".", 1)[0] for alias in statement.names}
    return {alias.asname or alias.name for alias in statement.names}


def _candidates(module: ast.Module) -> Iterable[ast.FunctionDef | ast.AsyncFunctionDef]:
    for statement in module.body:
        if isinstance(statement, _FUNCTIONS):
            yield statement
        elif isinstance(statement, ast.ClassDef):
            yield from (s for s in statement.body if isinstance(s, _FUNCTIONS))


def _span(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: Sequence[str]) -> Span | None:
    """The unit's whole lines, or None when they are not its alone (a decorator whose
    `@` sits on an earlier line, code after its end on the last line)."""
    first = first_line(node)
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
        starts = [unit.first for unit in found]
        imports: list[ast.Import | ast.ImportFrom] = [*tree.of(ast.Import)]
        imports.extend(tree.of(ast.ImportFrom))
        for statement in imports:
            index = bisect.bisect_right(starts, statement.lineno) - 1
            if index >= 0 and statement.lineno <= found[index].last:
                found[index].imports |= _bound_by(statement)
        tree.memo["slicing.units"] = found
    return found


def _node_span(node: ast.AST) -> Span:
    first = first_line(node)
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


def module_scope_names(tree: TriageTree) -> set[str]:
    """Names the always-kept code mentions (module-level statements, class headers and
    non-def statements of class bodies), the names of top-level definitions, and names
    declared `global` anywhere: a superset of what `analysis.scopes.module_bindings` and
    `global` declarations can bind at module level."""
    found: set[str] | None = tree.memo.get("slicing.module_names")
    if found is None:
        found = set()
        in_units = {id(unit.node) for unit in units(tree)}
        pending: list[ast.AST] = list(tree.tree.body)
        while pending:
            node = pending.pop()
            if id(node) in in_units:
                continue
            if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
                found.add(node.name)
            elif isinstance(node, ast.Name):
                found.add(node.id)
            elif isinstance(node, ast.alias):
                found.add((node.asname or node.name).split(".", 1)[0])
            pending.extend(ast.iter_child_nodes(node))
        for declaration in tree.of(ast.Global):
            found.update(declaration.names)
        tree.memo["slicing.module_names"] = found
    return found


def units_of(tree: TriageTree) -> list[ast.AST]:
    """The `ast` nodes of the file's units (top-level defs, methods of top-level
    classes)."""
    return [unit.node for unit in units(tree)]


def units_naming(tree: TriageTree, name: str) -> list[ast.AST]:
    """The units that mention `name` (read, bound or declared `global`)."""
    return [unit.node for unit in units(tree) if name in unit.uses]


def container_regions(tree: TriageTree, growths: Iterable[ast.AST]) -> list[ast.AST]:
    """Regions of a rule that judges where a grown container lives and whether anything
    releases it (`analysis.loops.persistence_of` / `release_of`): each growth (a
    `triage.is_growth` shape); the class around it (instance and class attributes are
    bound and released in other methods); for a root name the module may bind (a
    global, a class), every unit naming it and the top-level class of that name; for
    an unknown root (`f().append`), the growth's whole top-level statement."""
    module_names = module_scope_names(tree)
    classes = {s.name: s for s in tree.tree.body if isinstance(s, ast.ClassDef)}
    found: list[ast.AST] = []
    for site, root in ((g, root) for g in growths for root in _growth_roots(g)):
        found.append(site)
        outer = tree.outermost(site)
        if outer is not None and (root is None or isinstance(outer, ast.ClassDef)):
            found.append(outer)
        if root is not None and root in module_names:
            found.extend(units_naming(tree, root))
            if root in classes:
                found.append(classes[root])
    return found


def _growth_roots(growth: ast.AST) -> list[str | None]:
    """`triage.growth_root`, for every target of `a = b[k] = v`."""
    if isinstance(growth, ast.Assign):
        return [root_name(target) for target in growth.targets]
    return [growth_root(growth)]


def class_regions(tree: TriageTree, functions: Iterable[ast.AST]) -> list[ast.AST]:
    """Regions of a rule that judges a function with what its class and the file's
    top-level definitions say about it (attributes bound in other methods, `Klass.attr`
    receivers, methods inherited from base classes of the file, `@cli.command()` of a
    decorated group function): each function, its top-level statement (the whole class
    for a method), the top-level classes and functions it names (decorators included),
    and the base classes of the file those classes derive from, transitively."""
    classes = {s.name: s for s in tree.tree.body if isinstance(s, ast.ClassDef)}
    defined = {s.name: s for s in tree.tree.body if isinstance(s, _FUNCTIONS)}
    found: list[ast.AST] = []
    wanted: list[str] = []
    for function in functions:
        found.append(function)
        outer = tree.outermost(function)
        if isinstance(outer, ast.ClassDef):
            wanted.append(outer.name)
        elif outer is not None:
            found.append(outer)
        named = {node.id for node in tree.walk(function) if isinstance(node, ast.Name)}
        wanted.extend(sorted(named & classes.keys()))
        found.extend(defined[name] for name in sorted(named & defined.keys()))
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        klass = classes.get(name)
        if klass is None or name in seen:
            continue
        seen.add(name)
        found.append(klass)
        wanted.extend(base.id for base in klass.bases if isinstance(base, ast.Name))
    return found


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
