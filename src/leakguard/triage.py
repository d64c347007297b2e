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

`TriageTree` indexes the `ast` tree once (node types, children), so conditions are set
look-ups and walks over the index that cost little beside the parse; conditions walk
with `tree.walk` / `tree.within`, not `ast.walk`.
"""

from __future__ import annotations

import ast
import builtins
import operator
import re
import warnings
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from functools import cached_property, wraps
from operator import attrgetter
from typing import Any, TypeVar

from leakguard.analysis.project import from_base, module_identity

N = TypeVar("N", bound=ast.AST)
R = TypeVar("R")

_BUILTINS = frozenset(dir(builtins))

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_ATTR, _ID, _ARG = attrgetter("attr"), attrgetter("id"), attrgetter("arg")
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def per_tree(scan: Callable[..., R]) -> Callable[..., R]:
    """Remember `scan(tree, *args)` on the tree: a rule's `could_fire` and `regions`
    both ask for its candidates. Kept with the arguments it was computed for (a rule's
    spec), so a call with other ones computes again instead of reading another's answer."""
    key = f"{scan.__module__}.{scan.__qualname__}"

    @wraps(scan)
    def remembered(tree: TriageTree, *args: Any) -> R:
        kept = tree.memo.get(key)
        if kept is not None and len(kept[0]) == len(args) and all(map(operator.is_, kept[0], args)):
            return kept[1]  # type: ignore[no-any-return]
        found = scan(tree, *args)
        tree.memo[key] = (args, found)
        return found

    return remembered


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    # Asked ~2,000 times per 1,000 lines: exact-type tests (the parser makes no subclass
    # of `Name` or `Attribute`), and a node that is neither answered at once.
    kind = type(node)
    if kind is _NAME:  # most calls and references: no list, no join
        return node.id  # type: ignore[attr-defined,no-any-return]
    if kind is not _ATTRIBUTE:
        return None
    parts: list[str] = []
    while type(node) is _ATTRIBUTE:
        parts.append(node.attr)
        node = node.value
    if type(node) is not _NAME:
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


_NAME, _ATTRIBUTE = ast.Name, ast.Attribute


# A run-level part of a condition: `(query name, names)`, answered against the run's
# project facts once they are known (see `TriageTree.in_run`).
RunCondition = tuple[str, tuple[str, ...]]

# Query name -> `(project or None, names) -> bool`; None (the run is not known) must
# answer True. Registered by the analysis module that owns the facts.
RUN_QUERIES: dict[str, Callable[[Any, frozenset[str]], bool]] = {}


def run_query(
    name: str,
) -> Callable[[Callable[[Any, frozenset[str]], bool]], Callable[[Any, frozenset[str]], bool]]:
    def register(
        query: Callable[[Any, frozenset[str]], bool],
    ) -> Callable[[Any, frozenset[str]], bool]:
        RUN_QUERIES[name] = query
        return query

    return register


# Node type -> a function returning its children as a new list (None among them for
# an absent optional field), or None when the type has no child fields.
_NO_CHILDREN: list[ast.AST] = []
_ChildGetter = Callable[[ast.AST], list[Any]] | None
_CHILD_GETTERS: dict[type[ast.AST], _ChildGetter] = {}
# Field types of the ASDL grammar that never hold a node (or only a context marker).
_SCALAR_FIELDS = frozenset({"identifier", "int", "string", "constant", "expr_context"})
_FIELD = re.compile(r"(\w+)([?*]?) (\w+)")


def _child_getter(kind: type[ast.AST]) -> _ChildGetter:
    """How to read `kind`'s children, from the ASDL signature CPython puts in each node
    class's docstring (`BinOp(expr left, operator op, expr right)`); a class whose
    docstring does not match its `_fields` falls back to reading every field.

    The getter is one generated list display (`[n.left, n.op, n.right]`, `*n.body` for a
    list field): the index calls it for each of a file's ~2,000 nodes per 1,000 lines,
    and a display costs a third of reading the fields in a loop. Field names come from
    `_fields` and match `\\w+`, so the generated source is only attribute reads."""
    head, _, rest = (kind.__doc__ or "").partition("(")
    declared = _FIELD.findall(rest.rpartition(")")[0])
    if head.strip() != kind.__name__ or [name for _, _, name in declared] != list(kind._fields):
        return _generic_children
    parts = [
        f"*node.{name}" if mark == "*" else f"node.{name}"
        for field, mark, name in declared
        if field not in _SCALAR_FIELDS
    ]
    if not parts:
        return None
    namespace: dict[str, Any] = {}
    exec(f"def children(node): return [{', '.join(parts)}]", namespace)
    getter: Callable[[ast.AST], list[Any]] = namespace["children"]
    return getter


def _generic_children(node: ast.AST) -> list[ast.AST]:
    children = ast.iter_child_nodes(node)
    return [child for child in children if not isinstance(child, ast.expr_context)]


# Stop types -> every node class of `ast` that is one of them (a subclass included), or
# None when one of them has a metaclass of its own (`ast.Num`'s answers `isinstance` for
# `Constant` nodes): `type(node) in` the set is then what `isinstance(node, stop)` says
# for every node the parser makes, at the cost of one hash look-up.
_STOP_TYPES: dict[tuple[type[ast.AST], ...], frozenset[type] | None] = {}


def _stop_types(stop: tuple[type[ast.AST], ...]) -> frozenset[type] | None:
    known = _STOP_TYPES.get(stop, _UNKNOWN)
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    found: frozenset[type] | None = None
    if all(type(kind) is type for kind in stop):
        classes: set[type] = set()
        pending: list[type] = [ast.AST]
        while pending:
            kind = pending.pop()
            if kind not in classes:
                classes.add(kind)
                pending.extend(kind.__subclasses__())
        found = frozenset(kind for kind in classes if issubclass(kind, stop))
    _STOP_TYPES[stop] = found
    return found


_UNKNOWN = object()


class NodesByType:
    """Nodes by exact type (the parser makes no subclass of a node type), each type's in
    the order they were given: for the passes that ask about a few types."""

    def __init__(self, nodes: Iterable[ast.AST] = ()) -> None:
        by_type: defaultdict[type[ast.AST], list[ast.AST]] = defaultdict(list)
        for node in nodes:
            by_type[type(node)].append(node)
        self._by_type: dict[type[ast.AST], list[ast.AST]] = dict(by_type)

    def of(self, *types: type[N]) -> list[N]:
        """Every node of these exact types, type by type; callers must not change the
        list."""
        if len(types) == 1:
            return self._by_type.get(types[0], [])  # type: ignore[return-value]
        found: list[N] = []
        for kind in types:
            found.extend(self._by_type.get(kind, []))  # type: ignore[arg-type]
        return found

    def has(self, *types: type[ast.AST]) -> bool:
        return any(kind in self._by_type for kind in types)


class TriageTree(NodesByType):
    """One file's `ast` tree with the indexes triage conditions ask about; `of` and `has`
    answer in `ast.walk` order per type."""

    def __init__(
        self,
        tree: ast.Module,
        text: str = "",
        project: Any = None,
        *,
        deferring: bool = False,
        display: str | None = None,
    ) -> None:
        self.tree = tree
        self.text = text
        # What the file's relative imports resolve against, as `FileContext` resolves them
        # (from the display path); None when the caller does not know the file.
        self.module = None if display is None else module_identity(display)
        # The run's ProjectIndex during analysis (None in the facts pass).
        self.project = project
        # In the facts pass the run is not known yet: `in_run` records its question
        # here (and answers False), to be answered once the facts are in.
        self.deferring = deferring
        self.deferred: list[RunCondition] = []
        super().__init__()  # the nodes by type: filled by `_index`
        # Last component of every called name/attribute: `x.append(...)` -> "append".
        self.called: set[str] = set()
        # Qualified names of imports: `import numpy as np` -> "numpy";
        # `from a.b import c` -> "a.b.c" (relative imports keep their dots).
        self.imported: set[str] = set()
        # Local name -> qualified name, for every import anywhere in the file.
        self.aliases: dict[str, str] = {}
        self.memo: dict[str, Any] = {}
        # Each node's children, by id (the tree keeps the nodes alive): conditions walk
        # subtrees many times (every loop, every function), and a look-up here is ~10x
        # cheaper than `ast.iter_child_nodes`.
        self._children: dict[int, list[ast.AST]] = {}
        self._within: dict[tuple[int, tuple[type[ast.AST], ...]], list[ast.AST]] = {}
        # `scope_nodes`' answers, by the ids of the roots: each answer holds its roots, so
        # no id of a key is reused while it is kept (a root from outside the tree too).
        self._scopes: dict[
            tuple[tuple[int, ...], tuple[type[ast.AST], ...], bool], list[ast.AST]
        ] = {}
        self._index(tree)
        # Every qualified name each local name may stand for (a name imported twice
        # in different functions may mean either); relative imports keep their dots.
        self.targets: dict[str, set[str]] = {}
        for plain in self.of(ast.Import):
            for alias in plain.names:
                self.imported.add(alias.name)
                if alias.asname:
                    self._bind(alias.asname, alias.name)
                else:
                    root = alias.name.split(".")[0]
                    self._bind(root, root)
        for source in self.of(ast.ImportFrom):
            base = "." * source.level + (source.module or "")
            for alias in source.names:
                if alias.name == "*":
                    continue
                joiner = "." if base and not base.endswith(".") else ""
                full = f"{base}{joiner}{alias.name}"
                self.imported.add(full)
                self._bind(alias.asname or alias.name, full)
        for call in self.of(ast.Call):
            func = call.func
            if isinstance(func, ast.Attribute):
                self.called.add(func.attr)
            elif isinstance(func, ast.Name):
                self.called.add(func.id)
        # A renamed import (`from time import sleep as nap`) is called by its real name too.
        for name in [n for n in self.called if n in self.aliases]:
            self.called.add(self.aliases[name].rsplit(".", 1)[-1])

    def _index(self, tree: ast.Module) -> None:
        """One breadth-first pass (`ast.walk` order) filling the type and child indexes.
        `Load`/`Store`/`Del` markers and scalar fields are left out (no condition asks
        for them; the markers are a third of all nodes): each node type's child fields
        are read by one generated list display (`_child_getter`)."""
        by_type: defaultdict[type[ast.AST], list[ast.AST]] = defaultdict(list)
        children = self._children
        getters = _CHILD_GETTERS
        queue: list[ast.AST] = [tree]
        # Iterating a list while appending to it visits the appended nodes too, in order.
        for node in queue:
            kind = type(node)
            by_type[kind].append(node)
            try:
                getter = getters[kind]
            except KeyError:
                getter = getters[kind] = _child_getter(kind)
            if getter is None:
                continue
            kids = getter(node)
            if kids:
                if None in kids:  # an absent optional field, `Dict.keys` of `**spread`
                    kids = [kid for kid in kids if kid is not None]
                    if not kids:
                        continue
                children[id(node)] = kids
                queue.extend(kids)
        self._by_type = dict(by_type)

    # `names` and `attributes` are collected when first asked: few conditions ask
    # (collecting them for every file was ~10% of building the tree).

    @cached_property
    def attributes(self) -> set[str]:
        """Every attribute name read or written anywhere: `self.cache` -> "cache"."""
        return set(map(_ATTR, self.of(ast.Attribute)))

    @cached_property
    def names(self) -> set[str]:
        """Every bare identifier: Name nodes and parameters."""
        found = set(map(_ID, self.of(ast.Name)))
        found.update(map(_ARG, self.of(ast.arg)))
        return found

    @property
    def children_by_id(self) -> Callable[[int], list[ast.AST] | None]:
        """`children` for the hottest loops: the index's look-up by `id(node)` (None for a
        node without children); callers must not change the lists."""
        return self._children.get

    def children(self, node: ast.AST) -> list[ast.AST]:
        """`ast.iter_child_nodes(node)` from the index (context markers left out); callers
        must not change the list."""
        return self._children.get(id(node), _NO_CHILDREN)

    def walk(self, node: ast.AST) -> Iterator[ast.AST]:
        """`ast.walk(node)` from the child index (context markers left out)."""
        children = self._children
        pending = [node]
        while pending:
            current = pending.pop()
            yield current
            kids = children.get(id(current))
            if kids:
                pending.extend(kids)

    def within(self, node: ast.AST, stop: tuple[type[ast.AST], ...] = ()) -> list[ast.AST]:
        """The nodes below `node`, not descending into nodes of the `stop` types (which
        are themselves included): `walk_within` from the child index. Remembered per
        node and stop (conditions ask the same loops and functions again); callers
        must not change the list."""
        key = (id(node), stop)
        found = self._within.get(key)
        if found is None:
            found = self._within[key] = self._collect_within(node, stop)
        return found

    def _collect_within(self, node: ast.AST, stop: tuple[type[ast.AST], ...]) -> list[ast.AST]:
        return self._scope_nodes(self.children(node), stop, False)

    def scope_nodes(
        self, roots: Sequence[ast.AST], stop: tuple[type[ast.AST], ...], *, in_order: bool = False
    ) -> list[ast.AST]:
        """The nodes of the subtrees of `roots` (the roots included), not descending into
        nodes of the `stop` types (which are included): what a scope's own code is, for
        the fact collectors. Each node comes before its descendants; the last root's
        subtree and each node's last child come first, or, `in_order`, source order.

        Several collectors ask for the same scope (each function's own code, for the
        summaries, the curated exceptions, the singletons): the answer is remembered
        per roots, stop and order, and each caller gets its own copy of it."""
        key = (tuple(map(id, roots)), stop, in_order)
        known = self._scopes.get(key)
        if known is not None:
            return known.copy()
        found = self._scope_nodes(roots, stop, in_order)
        self._scopes[key] = found
        return found.copy()

    def _scope_nodes(
        self, roots: Sequence[ast.AST], stop: tuple[type[ast.AST], ...], in_order: bool
    ) -> list[ast.AST]:
        # The hottest loop of the facts pass: bound methods held in locals, one loop per
        # order, and the stop test a set look-up of the node's exact type (`_stop_types`).
        # The children list is handed on as it is, not through `iter` (a call and an
        # iterator per node cost more than testing `in_order`: ~20% of this loop).
        get = self._children.get
        found: list[ast.AST] = []
        keep = found.append
        pending = list(reversed(roots)) if in_order else list(roots)
        pop, push = pending.pop, pending.extend
        stopping = _stop_types(stop)
        if stopping is None:  # a type whose `isinstance` is its own: asked as it is
            while pending:
                current = pop()
                keep(current)
                if not isinstance(current, stop):
                    kids = get(id(current))
                    if kids:
                        push(reversed(kids) if in_order else kids)
        elif in_order:
            while pending:
                current = pop()
                keep(current)
                if type(current) not in stopping:
                    kids = get(id(current))
                    if kids:
                        push(reversed(kids))
        else:
            while pending:
                current = pop()
                keep(current)
                if type(current) not in stopping:
                    kids = get(id(current))
                    if kids:
                        push(kids)
        return found

    def walk_order(self, roots: Sequence[ast.AST]) -> list[ast.AST]:
        """`[n for root in roots for n in ast.walk(root)]` from the child index: each
        root's subtree breadth-first, in `ast.walk`'s order, context markers left out.
        For collectors whose one pass relies on that order (a `with` before its items)."""
        get = self._children.get
        found: list[ast.AST] = []
        for root in roots:
            queue = [root]
            # Iterating a list while appending to it visits the appended nodes too, in order.
            for node in queue:
                kids = get(id(node))
                if kids:
                    queue.extend(kids)
            found.extend(queue)
        return found

    def _bind(self, local: str, qualified: str) -> None:
        self.aliases[local] = qualified
        self.targets.setdefault(local, set()).add(qualified)

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
        """Every call's possible qualified names, resolved like analysis.imports
        (`ImportTable.call_name`): the root must be imported (any import in the file
        counts) or a builtin called by its bare name; relative imports keep their dots."""
        found = self.memo.get("call_names")
        if found is None:
            found = set()
            for names in self.names_by_call().values():
                found.update(names)
            self.memo["call_names"] = found
        return found

    def absolute_call_names(self) -> Collection[str]:
        """`call_names` made `absolute` (a set, as `_names_match` looks names up), once per
        tree: every rule's triage asks."""
        found: Collection[str] | None = self.memo.get("absolute_call_names")
        if found is None:
            found = self.memo["absolute_call_names"] = set(self.absolute(self.call_names()))
        return found

    def absolute(self, names: Collection[str]) -> Collection[str]:
        """`names` with relative ones (`.load`) resolved against the file's package when
        the tree knows its module (`from_base`, as the analysis resolves them); a name
        above the run's top package, or of a file not known, keeps its dots."""
        if self.module is None or not any(name.startswith(".") for name in names):
            return names
        name_of_module, package = self.module
        found = []
        for name in names:
            level = len(name) - len(name.lstrip("."))
            found.append(from_base(name_of_module, name[level:], level, package) if level else name)
        return found

    def names_of_call(self, call: ast.Call) -> tuple[str, ...]:
        """One call's possible qualified names (see `call_names`)."""
        return self.names_by_call().get(id(call), ())

    def names_by_call(self) -> dict[int, tuple[str, ...]]:
        """`id(call)` -> its possible qualified names (`names_of_call`), for the calls
        that have some, in `ast.walk` order: resolved once per tree, as most calls are
        asked about by several rules and collectors."""
        found: dict[int, tuple[str, ...]] | None = self.memo.get("names_by_call")
        if found is None:
            found = {}
            targets = self.targets
            for call in self.of(ast.Call):
                written = dotted(call.func)
                if written is None:
                    continue
                root, _, rest = written.partition(".")
                names = [f"{target}.{rest}" if rest else target for target in targets.get(root, ())]
                if not rest and root in _BUILTINS:
                    names.append(root)
                if names:
                    found[id(call)] = tuple(names)
            self.memo["names_by_call"] = found
        return found

    def in_run(self, query: str, names: Iterable[str] = ()) -> bool:
        """A run-level question (`RUN_QUERIES[query]`) about `names` of this file.

        Conditions ask it last (`file_part or in_run(...)`) and only positively: in the
        facts pass, where the run is not known yet, it is recorded and answers False, and
        the rule is admitted later if any recorded question is answered True."""
        chosen = tuple(sorted(set(names)))
        if self.deferring:
            self.deferred.append((query, chosen))
            return False
        return RUN_QUERIES[query](self.project, frozenset(chosen))

    def outermost(self, node: ast.AST) -> ast.stmt | None:
        """The top-level statement holding `node` (a whole class for a method's node):
        what a rule's `regions` returns when its analysis looks beyond the function."""
        line = getattr(node, "lineno", None)
        if line is None:
            return None
        for statement in self.tree.body:
            first = first_line(statement)
            if first <= line <= (statement.end_lineno or statement.lineno):
                return statement
        return None

    def mentions(self, words: Iterable[str]) -> bool:
        """Whether any of `words` is an identifier, attribute, or an import's last part."""
        for word in words:
            if word in self.names or word in self.attributes or word in self.called:
                return True
            if word in self.aliases:
                return True
        return False


def first_line(node: ast.AST) -> int:
    """The first line of `node`, its decorators' included."""
    line: int = getattr(node, "lineno", 1)
    decorator: ast.expr
    for decorator in getattr(node, "decorator_list", ()):
        line = min(line, decorator.lineno)
    return line


def parse_ast(text: str) -> ast.Module | None:
    """CPython's `ast` of `text`, or None when CPython cannot parse it (then LibCST
    decides, and reports the error)."""
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences in old code warn at parse time; not ours to report.
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def parse_triage(text: str, project: Any = None, display: str | None = None) -> TriageTree | None:
    """The triage tree of `text` (the file `display`), or None when CPython cannot parse it."""
    tree = parse_ast(text)
    return None if tree is None else TriageTree(tree, text, project, display=display)


# A file's triage verdict, computed once in the facts pass (JSON, cached with the file's
# facts): rule code -> True (may fire) or the run conditions under which it may fire.
Verdict = dict[str, Any]


def admitted(verdict: Verdict, project: Any) -> list[str]:
    """The rules a verdict admits, its run conditions answered against `project`."""
    found = []
    for code, value in verdict.items():
        if code.startswith("~"):  # not a rule: the slicing plan (`leakguard.slicing`)
            continue
        if value is True or any(
            RUN_QUERIES[query](project, frozenset(names)) for query, names in value
        ):
            found.append(code)
    return sorted(found)


def walk_within(node: ast.AST, stop: tuple[type[ast.AST], ...] = ()) -> Iterator[ast.AST]:
    """`ast.walk` below `node` that does not descend into nodes of the `stop` types."""
    pending = list(ast.iter_child_nodes(node))
    while pending:
        child = pending.pop()
        yield child
        if not isinstance(child, stop):
            pending.extend(ast.iter_child_nodes(child))


# -- shared conditions ---------------------------------------------------------------------

# What starts a new LibCST scope for the rules (walker.SCOPE_NODES, plus async defs,
# which LibCST folds into FunctionDef).
SCOPES: tuple[type[ast.AST], ...] = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
)


def calls_resolve_to(tree: TriageTree, patterns: Iterable[str]) -> bool:
    """Whether some call's qualified name may match `patterns` the way
    `analysis.imports.matches_any(context.imports.call_name(call), patterns)` does.

    A relative import resolves against the file's package; where the triage does not
    know the file (`TriageTree.absolute`), any pattern may match a name ending like the
    call's."""
    return _names_match(tree.absolute_call_names(), list(patterns))


def calls_resolving_to(tree: TriageTree, patterns: Iterable[str]) -> list[ast.Call]:
    """The calls `calls_resolve_to` answers for, one by one: each call some of whose
    possible qualified names may match `patterns` (a rule's regions)."""
    wanted = list(patterns)
    # `_names_match` only grows with its names: no call matches when all of them together
    # do not, and calls written alike share one answer.
    if not _names_match(tree.absolute_call_names(), wanted):
        return []
    by_call = tree.names_by_call()
    matching = {
        names for names in set(by_call.values()) if _names_match(tree.absolute(names), wanted)
    }
    return [call for call in tree.of(ast.Call) if by_call.get(id(call), ()) in matching]


def call_resolves_to(tree: TriageTree, call: ast.Call, patterns: Iterable[str]) -> bool:
    """Whether one call is among `calls_resolving_to(tree, patterns)`: some of its
    possible qualified names may match `patterns` (for a rule that asks about a few
    calls, not every call of the file)."""
    return _names_match(tree.absolute(tree.names_of_call(call)), list(patterns))


def _names_match(names: Collection[str], patterns: list[str]) -> bool:
    relative = [name.lstrip(".") for name in names if name.startswith(".")]
    for pattern in patterns:
        if pattern.endswith(".*"):
            prefix = pattern[:-1]
            if relative or any(name.startswith(prefix) for name in names):
                return True
        elif pattern in names or (
            # most files import nothing relatively: no generator made per pattern
            relative and any(pattern == name or pattern.endswith("." + name) for name in relative)
        ):
            return True
    return False


def calls_match(tree: TriageTree, patterns: Iterable[str]) -> bool:
    """Whether some call could stand for one of `patterns` (`tracemalloc.start`,
    `numpy.*`) however it is reached: compares last segments (of the call as written
    and through renaming imports), so receivers the analysis resolves (a module bound to
    another name) are covered; a wildcard pattern is matched as by `calls_resolve_to`."""
    for pattern in patterns:
        if pattern.endswith(".*"):
            if calls_resolve_to(tree, [pattern]):
                return True
        elif pattern.rsplit(".", 1)[-1] in tree.called:
            return True
    return False


def calls_matching(tree: TriageTree, patterns: Iterable[str]) -> list[ast.Call]:
    """The calls `calls_match` answers for, one by one (a rule's regions)."""
    wanted = list(patterns)
    if not calls_match(tree, wanted):
        return []
    wildcards = [pattern for pattern in wanted if pattern.endswith(".*")]
    lasts = {pattern.rsplit(".", 1)[-1] for pattern in wanted if not pattern.endswith(".*")}
    return [
        call
        for call in tree.of(ast.Call)
        if last_names(tree, call.func) & lasts
        or (wildcards and _names_match(tree.names_of_call(call), wildcards))
    ]


def in_function(tree: TriageTree, node: ast.AST) -> bool:
    """Whether `node` sits in a function or lambda (not at module or class level)."""
    return bool(_scopes_around(tree, node, (*_FUNCTIONS, ast.Lambda)))


def enclosing_function(
    tree: TriageTree, node: ast.AST
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The innermost function around `node`, its decorators included, lambdas skipped
    (`FileContext.enclosing_function` on CPython's `ast`)."""
    found = _scopes_around(tree, node, _FUNCTIONS)
    return found[-1] if found else None  # type: ignore[return-value]


def enclosing_functions(
    tree: TriageTree, nodes: Iterable[ast.AST]
) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The function around each of `nodes` (`enclosing_function`), those at module or
    class level left out: the regions of rules that judge a call by its function."""
    around = (enclosing_function(tree, node) for node in nodes)
    return [function for function in around if function is not None]


_Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def _scopes_around(
    tree: TriageTree, node: ast.AST, kinds: tuple[type[_Scope], ...]
) -> list[_Scope]:
    """The scopes of these kinds that hold `node`, outermost first."""
    where = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
    found: list[tuple[tuple[int, int], _Scope]] = []
    scope: _Scope
    for scope in tree.of(*kinds):
        if scope is node:
            continue
        if isinstance(scope, ast.Lambda):
            start = (scope.lineno, scope.col_offset)
        else:
            start = (first_line(scope), 0)
        end = (scope.end_lineno or scope.lineno, scope.end_col_offset or 0)
        if start <= where <= end:
            found.append((start, scope))
    found.sort(key=lambda pair: pair[0])
    return [scope for _, scope in found]


def last_names(tree: TriageTree, func: ast.expr) -> set[str]:
    """What a rule's `visit_Call` may see as the called name: an attribute, or a name as
    written or through any import that binds it (`from time import sleep as nap`)."""
    if isinstance(func, ast.Attribute):
        return {func.attr}
    if isinstance(func, ast.Name):
        return {func.id, *(t.rsplit(".", 1)[-1] for t in tree.targets.get(func.id, ()))}
    return set()


def last_parts(tree: TriageTree, node: ast.expr) -> set[str]:
    """The last part of `node`'s dotted name as written and as the file's imports qualify
    it (`BaseModel` for both `pydantic.BaseModel` and `from pydantic import BaseModel as
    BM`'s `BM`)."""
    return {(dotted(node) or "").rsplit(".", 1)[-1], (tree.qualify(node) or "").rsplit(".", 1)[-1]}


def imports_any(tree: TriageTree, roots: Iterable[str]) -> bool:
    """Whether the file imports (anywhere) from one of these top-level packages."""
    imported = {
        name.lstrip(".").split(".", 1)[0] for names in tree.targets.values() for name in names
    }
    return any(root in imported for root in roots)


def module_level_names(tree: TriageTree) -> set[str]:
    """Names assigned by top-level statements (where module constants come from)."""
    found = tree.memo.get("module_level_names")
    if found is None:
        found = set()
        for statement in tree.tree.body:
            targets: list[ast.expr] = []
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
                targets = [statement.target]
            found.update(t.id for t in targets if isinstance(t, ast.Name))
        tree.memo["module_level_names"] = found
    return found


def module_constants(tree: TriageTree) -> set[str]:
    """Top-level names whose value may fold (analysis.constants.ConstantTable keeps
    names assigned once at top level to a foldable value; this keeps a superset)."""
    found = tree.memo.get("module_constants")
    if found is None:
        names = module_level_names(tree)
        found = set()
        for statement in tree.tree.body:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value:
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                if _may_fold(statement.value, names):
                    found.update(t.id for t in targets if isinstance(t, ast.Name))
        tree.memo["module_constants"] = found
    return found


def _may_fold(node: ast.expr, constants: set[str]) -> bool:
    """Whether analysis.constants could fold `node` to a value (never False when it can)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in constants
    if isinstance(node, ast.UnaryOp):
        return _may_fold(node.operand, constants)
    if isinstance(node, ast.JoinedStr):
        # an f-string of constants (`f"pipeline.{API_VERSION}.pkl"`): a file name
        # `analysis.integrity` folds
        return all(
            isinstance(v, ast.Constant)
            or (isinstance(v, ast.FormattedValue) and _may_fold(v.value, constants))
            for v in node.values
        )
    if isinstance(node, ast.BinOp):
        return _may_fold(node.left, constants) and _may_fold(node.right, constants)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "len" and len(node.args) == 1:
            return _may_have_length(node.args[0], constants)
        return node.func.id == "int" and len(node.args) == 1
    return False


def _may_have_length(node: ast.expr, constants: set[str]) -> bool:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
        return True
    return _may_fold(node, constants)


def may_fold(tree: TriageTree, node: ast.expr) -> bool:
    """Whether analysis.constants could fold `node` to a value."""
    return _may_fold(node, module_constants(tree))


def may_know_count(tree: TriageTree, iterable: ast.expr) -> bool:
    """Whether `for _ in iterable` may have an iteration count the analysis folds
    (analysis.constants.ConstantTable.iteration_count); False only when it cannot."""
    constants = module_constants(tree)
    if isinstance(iterable, ast.Call):
        func = iterable.func
        name = func.id if isinstance(func, ast.Name) else None
        if name == "range":
            return all(_may_fold(a, constants) for a in iterable.args)
        if name in ("enumerate", "reversed", "list", "tuple", "sorted") and iterable.args:
            return may_know_count(tree, iterable.args[0])
        if name == "zip" and iterable.args:
            return all(may_know_count(tree, a) for a in iterable.args)
        return False
    return _may_have_length(iterable, constants)


def loops_with_known_count(tree: TriageTree) -> list[ast.For | ast.AsyncFor]:
    found = tree.memo.get("known_loops")
    if found is None:
        loops: list[ast.For | ast.AsyncFor] = [*tree.of(ast.For), *tree.of(ast.AsyncFor)]
        found = [loop for loop in loops if may_know_count(tree, loop.iter)]
        tree.memo["known_loops"] = found
    return found


def nested_functions(
    tree: TriageTree,
) -> dict[int, list[ast.FunctionDef | ast.AsyncFunctionDef]]:
    """`id(function)` -> the functions directly below it (through classes, lambdas and
    blocks, not through another function), for the functions that have some. Found
    from the source spans (a function lies below another exactly when its span lies
    within the other's), so no subtree is walked."""
    found: dict[int, list[ast.FunctionDef | ast.AsyncFunctionDef]] | None = tree.memo.get(
        "nested_functions"
    )
    if found is None:
        found = {}
        ordered = sorted(tree.functions, key=lambda f: (f.lineno, f.col_offset))
        enclosing: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        for function in ordered:
            end = (function.end_lineno or 0, function.end_col_offset or 0)
            while (
                enclosing
                and (
                    enclosing[-1].end_lineno or 0,
                    enclosing[-1].end_col_offset or 0,
                )
                < end
            ):
                enclosing.pop()
            if enclosing:
                found.setdefault(id(enclosing[-1]), []).append(function)
            enclosing.append(function)
        tree.memo["nested_functions"] = found
    return found


def method_owners(tree: TriageTree) -> dict[int, ast.ClassDef]:
    """`id(function)` -> the class whose body holds `function` directly (through blocks,
    not through another function or class): the file's methods."""
    found: dict[int, ast.ClassDef] | None = tree.memo.get("method_owners")
    if found is None:
        found = {
            id(node): klass
            for klass in tree.of(ast.ClassDef)
            for node in tree.within(klass, SCOPES)
            if isinstance(node, _FUNCTIONS)
        }
        tree.memo["method_owners"] = found
    return found


def spans_any(node: ast.AST, positions: list[tuple[int, int]]) -> bool:
    """Whether one of the sorted `(line, column)` start positions lies within `node`'s
    source span."""
    start = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
    end = (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)
    index = bisect_left(positions, start)
    return index < len(positions) and positions[index] <= end


def growth_root(growth: ast.AST) -> str | None:
    """The name at the root of the container a growth adds to (`self` for
    `self.items.append(x)`), when it is a plain name chain."""
    if isinstance(growth, ast.Call) and isinstance(growth.func, ast.Attribute):
        return root_name(growth.func.value)
    if isinstance(growth, ast.Assign):
        return root_name(growth.targets[0])
    if isinstance(growth, ast.AugAssign):
        return root_name(growth.target)
    return None


def root_name(expression: ast.expr) -> str | None:
    """The name at the root of an attribute and subscript chain (`a` for `a.b[k].c`)."""
    while isinstance(expression, (ast.Attribute, ast.Subscript)):
        expression = expression.value
    return expression.id if isinstance(expression, ast.Name) else None


def exact_count(iterable: ast.expr) -> int | None:
    """The iteration count of a `for` over literals (`range(10)`, `(a, b)`), or None
    when the triage cannot tell it exactly (it may still be known to the analysis)."""
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name):
        name = iterable.func.id
        args = iterable.args
        if name == "range" and 1 <= len(args) <= 3 and not iterable.keywords:
            values = [a.value for a in args if isinstance(a, ast.Constant) and type(a.value) is int]
            if len(values) == len(args):
                try:
                    return len(range(*values))
                except (ValueError, OverflowError):
                    return None
            return None
        if name in ("enumerate", "reversed", "list", "tuple", "sorted") and len(args) == 1:
            return exact_count(args[0])
        return None
    if isinstance(iterable, (ast.List, ast.Tuple, ast.Set)):
        if any(isinstance(e, ast.Starred) for e in iterable.elts):
            return None
        return len(iterable.elts)
    if isinstance(iterable, ast.Dict):
        return None if None in iterable.keys else len(iterable.keys)
    if isinstance(iterable, ast.Constant) and isinstance(iterable.value, str):
        return len(iterable.value)
    return None


def nested_in_scope(tree: TriageTree, first: ast.AST, second: ast.AST) -> bool:
    """Whether one node lies inside the other within the same scope."""
    return any(n is second for n in tree.within(first, SCOPES)) or any(
        n is first for n in tree.within(second, SCOPES)
    )


def is_repetition(tree: TriageTree, node: ast.BinOp) -> bool:
    """`"x" * n`, `b"x" * n`, `[0] * n` (what analysis.sizes estimates): a product with
    a string, bytes, list or tuple side, a `str()`-like call, or a module constant."""
    if not isinstance(node.op, ast.Mult):
        return False
    constants = module_constants(tree)
    for side in (node.left, node.right):
        if isinstance(side, (ast.JoinedStr, ast.List, ast.Tuple)):
            return True
        if isinstance(side, ast.Constant) and isinstance(side.value, (str, bytes)):
            return True
        if isinstance(side, ast.Name) and side.id in constants:
            return True
        func = side.func if isinstance(side, ast.Call) else None
        if isinstance(func, ast.Name) and func.id in ("str", "chr", "repr"):
            return True
    return False
