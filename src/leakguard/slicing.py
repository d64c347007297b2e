"""Slicing: LibCST parses only the parts of a file some admitted rule can report in.

File-level triage (`leakguard.triage`) admits a whole file when a rule could fire in
it, yet a finding usually sits in one function of a big file (a `pickle` call in one
test method of a 3,000-line test module). A rule that declares `regions` (next to its
`could_fire`) names the `ast` nodes it needs to see whole; the rest of the file's
*units* are elided before LibCST parses it.

Units are the statements outside functions that no analysis needs unless a region
names them: every `def`/`async def` not nested in a function (at module level, in a
class body at any depth, in a block of an `if`/`try`/`with`/`for`/`while`/`match`
outside functions), each with its decorators, and every string statement there that
spans several lines (docstrings); a unit's lines run from its first decorator to the
last blank or comment line before the next line of code. Everything else (imports,
assignments and other simple statements, the headers of compound statements,
classes' headers and their non-unit statements) is always kept: classes are never
elided whole, so the names a file defines and its class skeletons stay visible to
every analysis. A region node inside a unit keeps that unit; a region node holding
units (a class, a module-level `if`) keeps all of them.

The facts pass (which has the `ast` tree) computes a `Plan` (`plan`): the units' line
spans and, per rule with regions, the units it needs. The analysis phase (which has
no `ast` tree) picks the spans to elide for its admitted rules (`elided`) and replaces
their code (`elide`) so that every kept line keeps its number and columns: positions of
kept code need no mapping, and the original text still serves comments, fingerprints
and source lines. No analysis reads comments from LibCST's tree.
"""

from __future__ import annotations

import ast
import bisect
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from leakguard.analysis.containers import MUTABLE_FACTORIES
from leakguard.triage import (
    SCOPES,
    TriageTree,
    calls_matching,
    enclosing_function,
    first_line,
    growth_root,
    method_owners,
    module_constants,
    root_name,
)

# First and last line of a unit, 1-based, inclusive.
Span = tuple[int, int]

# The verdict key (see `triage.Verdict`) under which the facts pass stores the plan;
# `~` cannot start a rule code, so `triage.admitted` skips it.
PLAN_KEY = "~slices"
# Part of the facts cache key: a cached plan of another shape is never read.
PLAN_VERSION = 2

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Python's tokenizer ends lines at "\r\n", "\r" and "\n" only (`str.splitlines` also
# splits at form feeds and other separators, which are ordinary whitespace in code).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_INDENT = " \t\x0c"


# The separators `str.splitlines` splits at besides Python's line endings.
_OTHER_SEPARATORS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def split_lines(text: str) -> list[str]:
    """The lines of `text` as Python numbers them, each with its own line ending.

    `str.splitlines` does the same (a third of the regular expression's time) when the
    text holds none of the other separators: each is looked for by a fast scan."""
    if not any(separator in text for separator in _OTHER_SEPARATORS):
        return text.splitlines(keepends=True)
    return _LINE.findall(text)


def source_lines(tree: TriageTree) -> list[str]:
    """`split_lines` of the file's text, split once per tree; callers must not change
    the list."""
    found: list[str] | None = tree.memo.get("slicing.lines")
    if found is None:
        found = tree.memo["slicing.lines"] = split_lines(tree.text)
    return found


class _Unit:
    __slots__ = ("_attributes", "_tree", "_uses", "first", "imports", "in_class", "last", "node")

    def __init__(
        self, first: int, last: int, node: ast.stmt, in_class: bool, tree: TriageTree
    ) -> None:
        self.first = first
        self.last = last
        self.node = node
        # A def in a class body is a method, not a module binding.
        self.in_class = in_class
        # Weakly: the tree keeps its units (`memo`), and a unit holding the tree back would
        # make each file's whole `ast` a reference cycle, freed only by the cyclic
        # collector (a tenth of the facts pass's CPU) instead of as soon as it is done.
        self._tree = weakref.ref(tree)
        # Names bound by imports inside the unit (filled by `units`): analysis.imports
        # resolves them in the whole file (`def a(): import pickle as p` serves
        # `p.loads` in `def b()`).
        self.imports: set[str] = set()
        self._uses: set[str] | None = None
        self._attributes: set[str] | None = None

    def _owner(self) -> TriageTree:
        tree = self._tree()
        assert tree is not None, "a unit is used while its tree is alive"
        return tree

    @property
    def uses(self) -> set[str]:
        """Names the unit reads, binds or declares `global` (walked on first use: most
        plans ask it of a few units only)."""
        if self._uses is None:
            found: set[str] = set()
            for child in self._owner().walk(self.node):
                if isinstance(child, ast.Name):
                    found.add(child.id)
                elif isinstance(child, (ast.Global, ast.Nonlocal)):
                    found.update(child.names)
            self._uses = found
        return self._uses

    @property
    def attributes(self) -> set[str]:
        """Attribute names the unit reads or writes (`x.cache` -> "cache"), walked on
        first use."""
        if self._attributes is None:
            self._attributes = {
                child.attr
                for child in self._owner().walk(self.node)
                if isinstance(child, ast.Attribute)
            }
        return self._attributes


def _bound_by(statement: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(statement, ast.Import):
        return {alias.asname or alias.name.split(".", 1)[0] for alias in statement.names}
    return {alias.asname or alias.name for alias in statement.names}


def statement_blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists of a compound statement (`else`, `except`, `finally` and
    `case` blocks included)."""
    for _, value in ast.iter_fields(statement):
        if isinstance(value, list) and value:
            if isinstance(value[0], ast.stmt):
                yield value
            elif isinstance(value[0], (ast.ExceptHandler, ast.match_case)):
                yield from (item.body for item in value)


def outside_functions(tree: TriageTree) -> list[tuple[ast.stmt, bool]]:
    """Every statement not nested in a function, in line order, each with whether it
    sits in a class body (the file's skeleton and its units; remembered on the tree)."""
    found: list[tuple[ast.stmt, bool]] | None = tree.memo.get("slicing.outside")
    if found is None:
        found = []
        pending: list[tuple[list[ast.stmt], bool]] = [(tree.tree.body, False)]
        while pending:
            body, in_class = pending.pop()
            for statement in body:
                found.append((statement, in_class))
                if isinstance(statement, ast.ClassDef):
                    pending.append((statement.body, True))
                elif not isinstance(statement, _FUNCTIONS):
                    pending.extend((block, in_class) for block in statement_blocks(statement))
        found.sort(key=lambda pair: (pair[0].lineno, pair[0].col_offset))
        tree.memo["slicing.outside"] = found
    return found


def _is_unit(statement: ast.stmt, future_line: int) -> bool:
    if isinstance(statement, _FUNCTIONS):
        return True
    # A string statement that spans one line would save no line. One before a
    # `from __future__` import stays: `pass` there would make that import invalid.
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
        and (statement.end_lineno or statement.lineno) > statement.lineno
        and statement.lineno > future_line
    )


def _span(node: ast.stmt, lines: Sequence[str]) -> Span | None:
    """The unit's whole lines, or None when they are not its alone (a decorator whose
    `@` sits on an earlier line, code before its start or after its end on the same
    line)."""
    first = first_line(node)
    last = node.end_lineno
    if last is None or last > len(lines):
        return None
    if isinstance(node, _FUNCTIONS):
        head = lines[first - 1].lstrip(_INDENT)
        if not head.startswith(("@", "def", "async")):
            return None
    elif _column_text(lines[first - 1], 0, node.col_offset).strip(_INDENT):
        return None
    tail = _column_text(lines[last - 1], node.end_col_offset or 0, None)
    rest = tail.strip().lstrip(";").strip()
    if rest == "\\":
        return first, last
    if rest and not rest.startswith("#"):
        return None
    # The blank and comment-only lines up to the next line of code hold no token (the
    # unit's last token is behind them): LibCST makes them empty lines of whatever
    # follows, and they go with the unit.
    while last < len(lines) and lines[last].lstrip(_INDENT).startswith(("#", "\r", "\n")):
        last += 1
    return first, last


def _column_text(line: str, start: int, end: int | None) -> str:
    """The text of `line` between two `ast` columns (which count UTF-8 bytes)."""
    return line.encode("utf-8")[start:end].decode("utf-8", "replace")


def units(tree: TriageTree) -> list[_Unit]:
    """The file's elidable units, in line order (remembered on the tree)."""
    found: list[_Unit] | None = tree.memo.get("slicing.units")
    if found is None:
        lines = source_lines(tree)
        future = [
            s.lineno
            for s in tree.tree.body
            if isinstance(s, ast.ImportFrom) and s.module == "__future__"
        ]
        future_line = max(future, default=0)
        found = []
        for node, in_class in outside_functions(tree):
            if not _is_unit(node, future_line):
                continue
            span = _span(node, lines)
            if span is not None:
                found.append(_Unit(span[0], span[1], node, in_class, tree))
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
    # Units are disjoint and in line order: those overlapping a region are a run.
    firsts = [unit.first for unit in found]
    lasts = [unit.last for unit in found]
    kept: set[int] = set()
    for first, last in (_node_span(region) for region in regions):
        kept.update(range(bisect.bisect_left(lasts, first), bisect.bisect_right(firsts, last)))
    used: set[str] = set()
    for index in kept:
        used |= found[index].uses
    kept.update(index for index, unit in enumerate(found) if unit.imports & used)
    return sorted(kept)


def module_scope_names(tree: TriageTree) -> set[str]:
    """Names the always-kept code mentions (module-level statements, class headers and
    non-unit statements of class bodies), the names of the functions and classes the
    module binds (`module_definitions`), and names declared `global` anywhere: a
    superset of what `analysis.scopes.module_bindings` and `global` declarations can
    bind at module level."""
    found: set[str] | None = tree.memo.get("slicing.module_names")
    if found is None:
        found = set(module_definitions(tree))
        in_units = {id(unit.node) for unit in units(tree)}
        pending: list[ast.AST] = list(tree.tree.body)
        while pending:
            node = pending.pop()
            if id(node) in in_units:
                continue
            if isinstance(node, ast.ClassDef):
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


def module_definitions(tree: TriageTree) -> dict[str, list[ast.stmt]]:
    """The functions and classes the module binds, by name: defined at top level or in
    a block of a module-level `if`/`try`/... (`try: from x import f` / `except
    ImportError: def f(): ...` binds `f` twice)."""
    found: dict[str, list[ast.stmt]] | None = tree.memo.get("slicing.definitions")
    if found is None:
        found = {}
        for statement, in_class in outside_functions(tree):
            if not in_class and isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
                found.setdefault(statement.name, []).append(statement)
        tree.memo["slicing.definitions"] = found
    return found


def module_classes(tree: TriageTree) -> dict[str, list[ast.ClassDef]]:
    """The classes the module binds, by name (`module_definitions`)."""
    return {
        name: classes
        for name, statements in module_definitions(tree).items()
        if (classes := [s for s in statements if isinstance(s, ast.ClassDef)])
    }


def enclosing_class(tree: TriageTree, node: ast.AST) -> ast.ClassDef | None:
    """The outermost class outside functions whose span holds `node` (a class of the
    module, at top level or in a module-level block, around a method or a nested
    class's method), `node` itself excluded."""
    line = getattr(node, "lineno", None)
    if line is None:
        return None
    spans: list[tuple[int, int, ast.ClassDef]] | None = tree.memo.get("slicing.classes")
    if spans is None:
        spans = []
        for statement, _ in outside_functions(tree):
            # Line order: a class inside the previous outermost one is not outermost.
            if isinstance(statement, ast.ClassDef) and not (
                spans and statement.lineno <= spans[-1][1]
            ):
                last = statement.end_lineno or statement.lineno
                spans.append((first_line(statement), last, statement))
        tree.memo["slicing.classes"] = spans
    index = bisect.bisect_right(spans, line, key=lambda span: span[0]) - 1
    if index < 0 or line > spans[index][1] or spans[index][2] is node:
        return None
    return spans[index][2]


def units_of(tree: TriageTree) -> list[ast.AST]:
    """The `ast` nodes of the file's units (defs outside functions, docstrings)."""
    return [unit.node for unit in units(tree)]


def units_naming(tree: TriageTree, name: str) -> list[ast.AST]:
    """The units that mention `name` (read, bound or declared `global`)."""
    return [unit.node for unit in units(tree) if name in unit.uses]


def units_naming_attribute(tree: TriageTree, name: str) -> list[ast.AST]:
    """The units that mention the attribute `name` (`anything.name`)."""
    return [unit.node for unit in units(tree) if name in unit.attributes]


def container_regions(tree: TriageTree, growths: Iterable[ast.AST]) -> list[ast.AST]:
    """Regions of a rule that judges where a grown container lives and whether anything
    releases it (`analysis.loops.persistence_of` / `release_of`): each growth (a
    statement `analysis.loops.growth_container` accepts); the class around it
    (instance and class attributes are bound and released in other methods); for a
    root name the module may bind (a global, a class), every unit naming it and the
    module's classes of that name; for an unknown root (`f().append`), the growth's
    whole top-level statement."""
    module_names = module_scope_names(tree)
    classes = module_classes(tree)
    found: list[ast.AST] = []
    for site, root in ((g, root) for g in growths for root in _growth_roots(g)):
        found.append(site)
        klass = enclosing_class(tree, site)
        if klass is not None:
            found.append(klass)
        if root is None:
            found.extend(s for s in [tree.outermost(site)] if s is not None)
        elif root in module_names:
            found.extend(units_naming(tree, root))
            found.extend(classes.get(root, ()))
    return found


# Constructors of mutable containers, by their last name (`collections.deque`, an alias
# imported under another name is resolved from the file's imports).
_CONTAINER_FACTORIES = frozenset(name.rsplit(".", 1)[-1] for name in MUTABLE_FACTORIES)
_CONTAINER_DISPLAYS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


def module_containers(tree: TriageTree) -> set[str]:
    """Names the module binds at top level (or in a top-level block) to a mutable
    container display or constructor: a superset of what
    `analysis.arguments.filled_at_runtime` asks about."""
    found: set[str] | None = tree.memo.get("slicing.module_containers")
    if found is None:
        factories = set(_CONTAINER_FACTORIES)
        for source in tree.of(ast.ImportFrom):
            factories.update(a.asname for a in source.names if a.asname and a.name in factories)
        found = set()
        for statement, in_class in outside_functions(tree):
            value = getattr(statement, "value", None)
            if in_class or not isinstance(statement, (ast.Assign, ast.AnnAssign)):
                continue
            if isinstance(value, ast.Call):
                func = value.func
                last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if last not in factories:
                    continue
            elif not isinstance(value, _CONTAINER_DISPLAYS):
                continue
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            found.update(t.id for t in targets if isinstance(t, ast.Name))
        tree.memo["slicing.module_containers"] = found
    return found


def container_filler_regions(tree: TriageTree, nodes: Iterable[ast.AST]) -> list[ast.AST]:
    """Regions of a rule that asks whether a module-level container `nodes` read is
    filled by a function of the file (`analysis.arguments.filled_at_runtime`): every
    unit naming such a container."""
    return _units_naming_what_nodes_read(tree, nodes, module_containers(tree))


def constant_user_regions(tree: TriageTree, nodes: Iterable[ast.AST]) -> list[ast.AST]:
    """Regions of a rule that reads every use of a module constant `nodes` mention
    (`analysis.integrity.private_round_trip`: who else writes the file it names): every
    unit naming such a constant that may hold text (`module_text_constants`)."""
    return _units_naming_what_nodes_read(tree, nodes, module_text_constants(tree))


def module_text_constants(tree: TriageTree) -> set[str]:
    """`module_constants` less the names every top-level binding of which is a literal
    other than text (`ET = None`, `DEBUG = False`, `RETRIES = 3`): the file names
    `analysis.integrity` follows fold from `str` constants alone (`private_round_trip`,
    `_folded_text`). A test module's `ET = None` read in one test method otherwise keeps
    every method naming `ET` (~1,300 more lines parsed on the stdlib's test_xml_etree)."""
    constants = module_constants(tree)
    literal: set[str] = set()
    text: set[str] = set()
    for statement in tree.tree.body:
        if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or statement.value is None:
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        value = statement.value
        other = isinstance(value, ast.Constant) and not isinstance(value.value, str)
        (literal if other else text).update(t.id for t in targets if isinstance(t, ast.Name))
    return constants - (literal - text)


def format_pair_regions(
    tree: TriageTree,
    functions: Sequence[ast.AST],
    directory_writers: Iterable[str],
) -> list[ast.AST]:
    """Regions of a rule that asks `analysis.integrity.own_format_round_trip` about the
    loads of `functions`, for those that read a module constant (the pair's file name
    is built only from them; a test method's `pickle.loads(blob)` keeps the file
    sliced): the class around each (another method may fill the receiver's attribute
    the load reads as a directory) with the functions its code names, and every
    function calling one of `directory_writers` (the module may fill a directory its
    callers hand it)."""
    constants = module_constants(tree)
    pairs = [
        f
        for f in functions
        if any(isinstance(n, ast.Name) and n.id in constants for n in tree.walk(f))
    ]
    if not pairs:
        return []
    classes = [k for f in pairs if (k := enclosing_class(tree, f)) is not None]
    writers = [
        f
        for call in calls_matching(tree, sorted(directory_writers))
        if (f := enclosing_function(tree, call)) is not None
    ]
    return [*classes, *callee_regions(tree, classes, 1), *writers]


def _units_naming_what_nodes_read(
    tree: TriageTree, nodes: Iterable[ast.AST], names: set[str]
) -> list[ast.AST]:
    """The units naming one of `names` that `nodes` read."""
    if not names:
        return []
    wanted = names & {n.id for node in nodes for n in tree.walk(node) if isinstance(n, ast.Name)}
    return [unit.node for unit in units(tree) if unit.uses & wanted] if wanted else []


def _growth_roots(growth: ast.AST) -> list[str | None]:
    """`triage.growth_root`, for every target of `a = b[k] = v`."""
    if isinstance(growth, ast.Assign):
        return [root_name(target) for target in growth.targets]
    return [growth_root(growth)]


def class_regions(
    tree: TriageTree, functions: Iterable[ast.AST], *, owner: bool = True
) -> list[ast.AST]:
    """Regions of a rule that judges a function with what its class and the file's
    module-level definitions say about it (attributes bound in other methods,
    `Klass.attr` receivers, methods inherited from base classes of the file,
    `@cli.command()` of a decorated group function): each function, the whole class
    around it (`enclosing_class`; not with `owner=False`, when the class's other
    methods do not matter), the module's classes and functions it names (decorators
    included), and the base classes of the file those classes derive from,
    transitively."""
    definitions = module_definitions(tree)
    classes = module_classes(tree)
    found: list[ast.AST] = []
    wanted: list[ast.ClassDef] = []
    for function in functions:
        found.append(function)
        klass = enclosing_class(tree, function) if owner else None
        if klass is not None:
            wanted.append(klass)
        named = sorted({node.id for node in tree.walk(function) if isinstance(node, ast.Name)})
        for name in named:
            for statement in definitions.get(name, ()):
                if isinstance(statement, ast.ClassDef):
                    wanted.append(statement)
                else:
                    found.append(statement)
    seen: set[int] = set()
    while wanted:
        klass = wanted.pop()
        if id(klass) in seen:
            continue
        seen.add(id(klass))
        found.append(klass)
        for base in klass.bases:
            if isinstance(base, ast.Name):
                wanted.extend(classes.get(base.id, ()))
    return found


def caller_regions(
    tree: TriageTree, functions: Iterable[ast.FunctionDef | ast.AsyncFunctionDef], depth: int
) -> list[ast.AST]:
    """Regions of a rule whose analysis follows calls by name into `functions` (as
    `analysis.request_paths` does: `f()`, `x.f()`, `Klass()` for `Klass.__init__`, a
    function handed over as an argument): each of them and every function whose own
    code mentions the name one of them is called by, transitively, `depth` calls back."""
    owners = method_owners(tree)

    def called_by(function: ast.AST) -> set[str]:
        name = getattr(function, "name", "")
        if name == "__init__" and id(function) in owners:
            return {name, owners[id(function)].name}
        return {name}

    seeds = list({id(function): function for function in functions}.values())
    if not seeds:  # nothing to follow: the file's index of mentions is not built
        return []
    return [*seeds, *_closure(seeds, called_by, _mentions(tree), depth)]


def callee_regions(tree: TriageTree, nodes: Iterable[ast.AST], depth: int = 1) -> list[ast.AST]:
    """Regions of a rule whose analysis looks up, by name, the functions of the file that
    `nodes` call or hand over (`f(x)`, `self.f(x)`, `submit(f, x)`, `Klass(x)` for
    `Klass.__init__`): every function named by a name or an attribute in them, and in
    those, `depth` calls deep."""
    by_name: dict[str, list[ast.AST]] = {}
    owners = method_owners(tree)
    for function in tree.functions:
        by_name.setdefault(function.name, []).append(function)
        if function.name == "__init__" and id(function) in owners:
            by_name.setdefault(owners[id(function)].name, []).append(function)

    return _closure(list(nodes), lambda node: _words(tree.walk(node)), by_name, depth)


def _words(nodes: Iterable[ast.AST]) -> set[str]:
    """The names and attributes' names among `nodes` (what a look-up by name may use)."""
    words: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
    return words


def _closure(
    seeds: Sequence[ast.AST],
    words_of: Callable[[ast.AST], set[str]],
    targets: Mapping[str, Sequence[ast.AST]],
    depth: int,
) -> list[ast.AST]:
    """Breadth-first from `seeds`, `depth` steps: the `targets` of every word `words_of`
    gives for the last step's nodes (each node once; a seed only when a word names it)."""
    found: list[ast.AST] = []
    seen: set[int] = set()
    frontier = list(seeds)
    for _ in range(depth):
        words: set[str] = set()
        for node in frontier:
            words |= words_of(node)
        frontier = []
        for word in sorted(words):
            for node in targets.get(word, ()):
                if id(node) not in seen:
                    seen.add(id(node))
                    found.append(node)
                    frontier.append(node)
        if not frontier:
            break
    return found


def _mentions(
    tree: TriageTree,
) -> dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Word (a name, or an attribute's name) -> the functions whose own code (their
    decorators and parameters included, nested scopes left out) mentions it."""
    found: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] | None = tree.memo.get(
        "slicing.mentions"
    )
    if found is None:
        found = {}
        for function in tree.functions:
            for word in _words(tree.within(function, SCOPES)):
                found.setdefault(word, []).append(function)
        tree.memo["slicing.mentions"] = found
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
    declared its regions. Adjacent units (nothing kept between them) make one span,
    blanked with one `pass` at the first one's indentation: a later unit follows the
    first one's block or the statements around it in its own (a class's last method
    and the next top-level def), so every block keeps a statement."""
    if not isinstance(plan, dict):
        return []
    needs = plan.get("needs", {})
    kept: set[int] = set()
    for code in rules:
        indexes = needs.get(code)
        if indexes is None:
            return []
        kept.update(indexes)
    found: list[Span] = []
    for index, (first, last) in enumerate(plan["units"]):
        if index in kept:
            continue
        if found and found[-1][1] + 1 == first:
            found[-1] = (found[-1][0], last)
        else:
            found.append((first, last))
    return found


def elide(text: str, spans: Sequence[Span]) -> str:
    """`text` with each span's code replaced by a statement LibCST reads cheaply, so
    that every kept line keeps its number, its line ending and its columns.

    A span of one line becomes `pass` at the unit's own indentation (the enclosing
    block stays non-empty). A longer one becomes `pass;` and an opening triple quote
    on its first line, empty inner lines and the closing triple quote at the start of
    its last line: one string token spans the lines, where empty lines would each cost
    LibCST a tokenised, built and walked `EmptyLine` node (~27% of the parse of sliced
    files). The quotes cannot clash with the span's text: every character of it but
    the first line's indentation and the line endings is dropped. The leading `pass`
    keeps the string out of a docstring's place (`get_docstring`, `__doc__`), and every
    body starts with the same statement as where a one-line span was elided."""
    if not spans:
        return text
    lines = split_lines(text)
    for first, last in spans:
        line = lines[first - 1]
        body = line.rstrip("\r\n")
        indent = body[: len(body) - len(body.lstrip(_INDENT))]
        if first == last:
            lines[first - 1] = f"{indent}pass{line[len(body) :]}"
            continue
        lines[first - 1] = f'{indent}pass; """{line[len(body) :]}'
        for index in range(first, last):
            line = lines[index]
            lines[index] = line[len(line.rstrip("\r\n")) :]
        lines[last - 1] = f'"""{lines[last - 1]}'
    return "".join(lines)


def parsed_lines(lines: int, spans: Sequence[Span]) -> int:
    """Lines LibCST parses of a file of `lines` lines with `spans` elided: each elided
    span costs one line, its first (`pass`, or `pass` and the string's opening quote:
    the string's other lines are characters of one token, no node is built for them)."""
    return lines - sum(last - first for first, last in spans)
