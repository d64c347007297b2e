"""Cleanup facts: is a container released, evicted or bounded?

Shared by the memory rules (LG102, LG103, LG106, LG107, LG108, LG109). A container is
named by its *key*, the dotted text of the expression that refers to it (`CACHE`,
`self.items`, `state`). A *release* of a key is one of:

- `key.clear()`                                    -> ReleaseKind.CLEAR
- `del key`, `del key[:]`, `del key[k]`            -> ReleaseKind.DELETE
- `key = <anything that is not key grown>`         -> ReleaseKind.REASSIGN
  (`key = []`, `key = None`, `key = key[-100:]`; not `key = key + [x]`)
- `key.pop(...)`, `popitem`, `popleft`, `remove`,  -> ReleaseKind.EVICT
  `discard` (an eviction path)
- `gc.collect()` (any key; only when asked for,    -> ReleaseKind.GC_COLLECT
  since it frees unreachable cycles, not a container that is still referenced)

Public API (stable; other rules import it):

- `container_key(expr)`: the key of a Name/Attribute chain, else None.
- `release_at(node, key, context, include_gc=False)`: is this one node a release?
- `find_release(root, key, context, ...)`: the first release of `key` under `root`,
  optionally ignoring the binding statements and module-level statements before a node.
- `class_release(classdef, attribute, context, methods=None)`: a release of
  `self.<attribute>` in the class's methods (all, or only the named ones, e.g.
  `("__exit__", "__aexit__")`), outside the constructors.
- `is_bounded_container(value, context)`: `deque(maxlen=N)`, `cachetools.*Cache`.
- `is_weak_container(value, context)`: `weakref.WeakValueDictionary()` and friends.
- `binding_value(name, scope, context)`: the value first assigned to `name` directly in
  `scope` (a function or the module), for "what kind of container is it" questions.
- `attribute_binding(classdef, attribute, context)`: the value first assigned to
  `self.<attribute>` (constructors first) or to `<attribute>` in the class body.
- `with_bound(name, context)`: is `name` bound by an enclosing `with ... as name`?
- `contents_reads(method, attribute, mutators)`: where the method reads what
  `self.<attribute>` holds (a lookup, an iteration, the container passed on or returned),
  as opposed to growing, releasing, measuring (`len`, truthiness) or membership tests.
- `releases_each_element(method, attribute)`: `for x in self.<attribute>: x.join()`, the
  method shuts down every element the container holds (threads, handles).
- `constructor_helpers(methods, constructors)`: private methods called only from the
  constructors (or from other such helpers): they fill the object once while building it.

All scans are bounded to one scope tree and memoised in `context.memo`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

import libcst as cst

from leakguard.analysis.calls import keyword_arg, positional_arg
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.context import FileContext
from leakguard.walker import SCOPE_NODES, descendants, iter_children, walk


class ReleaseKind(str, Enum):
    CLEAR = "clear()"
    DELETE = "del"
    REASSIGN = "reassignment"
    EVICT = "pop/remove eviction"
    GC_COLLECT = "gc.collect()"


@dataclass(frozen=True)
class Release:
    kind: ReleaseKind
    node: cst.CSTNode = field(repr=False)
    key: str = ""


CLEAR_METHODS = frozenset({"clear"})
EVICT_METHODS = frozenset({"pop", "popitem", "popleft", "remove", "discard"})
GC_COLLECT_CALLS = ("gc.collect",)
CONSTRUCTOR_NAMES = frozenset(
    {"__init__", "__new__", "__post_init__", "setUp", "__init_subclass__"}
)
EXIT_METHODS = ("__exit__", "__aexit__")

BOUNDED_TYPES = (
    "cachetools.Cache",
    "cachetools.LRUCache",
    "cachetools.LFUCache",
    "cachetools.TTLCache",
    "cachetools.TLRUCache",
    "cachetools.RRCache",
    "cachetools.FIFOCache",
    "cachetools.MRUCache",
    "functools.lru_cache",
)
WEAK_TYPES = (
    "weakref.WeakValueDictionary",
    "weakref.WeakKeyDictionary",
    "weakref.WeakSet",
    "weakref.WeakMethod",
    "weakref.ref",
    "weakref.proxy",
)
_DEQUE = "collections.deque"


def container_key(expr: cst.BaseExpression) -> str | None:
    """`self.items` for `self.items`, `CACHE` for `CACHE`; None for calls/subscripts."""
    return dotted_name(expr)


def _mentions_grown(value: cst.BaseExpression, key: str) -> bool:
    """`key + [x]` / `[*key, x]` / `key | {x}`: a reassignment that keeps the contents."""
    if isinstance(value, cst.BinaryOperation):
        return (
            container_key(value.left) == key
            or container_key(value.right) == key
            or _mentions_grown(value.left, key)
            or _mentions_grown(value.right, key)
        )
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        return any(
            isinstance(e, cst.StarredElement) and container_key(e.value) == key
            for e in value.elements
        )
    if isinstance(value, cst.Call) and value.args:
        # list(key) / dict(key) copies: still holds everything
        return any(container_key(a.value) == key for a in value.args)
    return False


def release_at(
    node: cst.CSTNode, key: str, context: FileContext, include_gc: bool = False
) -> Release | None:
    """A release of `key` performed by this very node, else None."""
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in CLEAR_METHODS or method in EVICT_METHODS:
                if container_key(func.value) == key:
                    kind = ReleaseKind.CLEAR if method in CLEAR_METHODS else ReleaseKind.EVICT
                    return Release(kind, node, key)
                return None
        is_collect = (isinstance(func, cst.Attribute) and func.attr.value == "collect") or (
            isinstance(func, cst.Name) and func.value == "collect"
        )
        if (
            include_gc
            and is_collect
            and matches_any(context.imports.qualify(func), GC_COLLECT_CALLS)
        ):
            return Release(ReleaseKind.GC_COLLECT, node, key)
        return None
    if isinstance(node, cst.Del):
        return _del_release(node, node.target, key)
    if isinstance(node, cst.Assign):
        for target in node.targets:
            if _target_is(target.target, key) and _replaces(node.value, key, context):
                return Release(ReleaseKind.REASSIGN, node, key)
        return None
    if (
        isinstance(node, cst.AnnAssign)
        and node.value is not None
        and _target_is(node.target, key)
        and _replaces(node.value, key, context)
    ):
        return Release(ReleaseKind.REASSIGN, node, key)
    return None


# Conversions to a structure that no longer grows: `xs = np.array(xs)` after a loop
# drops the list (a benchmark's timings turned into an array), it does not keep it.
_CONVERSIONS = frozenset(
    {
        "numpy.array",
        "numpy.asarray",
        "numpy.stack",
        "numpy.vstack",
        "numpy.hstack",
        "numpy.concatenate",
        "numpy.fromiter",
        "torch.tensor",
        "torch.as_tensor",
        "torch.stack",
        "torch.cat",
        "pandas.DataFrame",
        "pandas.Series",
        "pandas.concat",
        "tuple",
        "frozenset",
    }
)


def _replaces(value: cst.BaseExpression, key: str, context: FileContext) -> bool:
    """A reassignment that drops what the container held: a fresh value, or a conversion
    of the container to an array, frame or tuple; not `key + [x]` or `list(key)`."""
    if not _mentions_grown(value, key):
        return True
    return isinstance(value, cst.Call) and context.imports.call_name(value) in _CONVERSIONS


def _target_is(target: cst.BaseExpression, key: str) -> bool:
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_target_is(e.value, key) for e in target.elements)
    return container_key(target) == key


def _del_release(node: cst.Del, target: cst.BaseExpression, key: str) -> Release | None:
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            found = _del_release(node, element.value, key)
            if found is not None:
                return found
        return None
    if isinstance(target, cst.Subscript):
        target = target.value
    if container_key(target) == key:
        return Release(ReleaseKind.DELETE, node, key)
    return None


def find_release(
    root: cst.CSTNode,
    key: str,
    context: FileContext,
    *,
    include_gc: bool = False,
    into_functions: bool = False,
    skip_direct_assignments: bool = False,
    module_statements_after: cst.CSTNode | None = None,
) -> Release | None:
    """The first release of `key` under `root` (root included), or None.

    - `into_functions`: also look inside nested functions and classes (e.g. a `reset()`
      function that clears a module global is an eviction path for it).
    - `skip_direct_assignments`: ignore reassignments directly in `root`'s own body
      (outside nested functions): there they are the binding, not a release.
    - `module_statements_after`: statements of `root` outside functions count only when
      they come after this node in source order (module code runs once, top to bottom).
    """
    memo_key = (
        "cleanup.find_release",
        id(root),
        key,
        include_gc,
        into_functions,
        skip_direct_assignments,
        id(module_statements_after),
    )
    if memo_key in context.memo:
        return context.memo[memo_key]  # type: ignore[no-any-return]
    found = None
    passed = module_statements_after is None
    for node, nested in _walk_scope(root, into_functions):
        if not passed and node is module_statements_after:
            passed = True
        release = release_at(node, key, context, include_gc)
        if release is None:
            continue
        if not nested:
            if skip_direct_assignments and release.kind is ReleaseKind.REASSIGN:
                continue
            if not passed:
                continue
        found = release
        break
    context.memo[memo_key] = found
    return found


def _walk_scope(root: cst.CSTNode, into_functions: bool) -> Iterator[tuple[cst.CSTNode, bool]]:
    """(node, inside a nested function/class?) in source order, root first."""
    todo: list[tuple[cst.CSTNode, bool]] = [(root, False)]
    while todo:
        node, nested = todo.pop()
        yield node, nested
        is_scope = node is not root and isinstance(node, SCOPE_NODES)
        if is_scope and not into_functions:
            continue
        children = list(iter_children(node))
        children.reverse()
        todo.extend((child, nested or is_scope) for child in children)


def class_methods(classdef: cst.ClassDef) -> Iterator[cst.FunctionDef]:
    for statement in classdef.body.body:
        if isinstance(statement, cst.FunctionDef):
            yield statement
        elif isinstance(statement, cst.If):  # methods defined conditionally
            for inner in statement.body.body:
                if isinstance(inner, cst.FunctionDef):
                    yield inner


def receiver_name(method: cst.FunctionDef) -> str | None:
    params = method.params
    first = [*params.posonly_params, *params.params]
    return first[0].name.value if first else None


def self_calls(method: cst.FunctionDef) -> set[str]:
    """Names of the methods it calls on its own receiver (`self.<name>(...)`)."""
    receiver = receiver_name(method)
    names: set[str] = set()
    if receiver is None:
        return names
    for node in descendants(method.body, stop_at=SCOPE_NODES, only=(cst.Call,)):
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and isinstance(node.func.value, cst.Name)
            and node.func.value.value == receiver
        ):
            names.add(node.func.attr.value)
    return names


def class_release(
    classdef: cst.ClassDef,
    attribute: str,
    context: FileContext,
    methods: Iterable[str] | None = None,
    include_gc: bool = False,
    binding_methods: Iterable[str] | None = None,
) -> Release | None:
    """A release of `self.<attribute>` in the class's methods.

    Constructors (`__init__`, `__new__`, ...) bind the attribute rather than release it,
    so reassignments there do not count. `methods` limits the search to those names;
    `binding_methods` replaces the constructor list (e.g. to add `__enter__`, whose
    reset binds a fresh container that then outlives `__exit__`).
    """
    wanted = frozenset(methods) if methods is not None else None
    binders = frozenset(binding_methods) if binding_methods is not None else CONSTRUCTOR_NAMES
    for method in class_methods(classdef):
        name = method.name.value
        if wanted is not None and name not in wanted:
            continue
        receiver = receiver_name(method)
        if receiver is None:
            continue
        found = find_release(
            method,
            f"{receiver}.{attribute}",
            context,
            include_gc=include_gc,
            skip_direct_assignments=name in binders,
        )
        if found is not None:
            return found
    return None


def is_bounded_container(
    value: cst.BaseExpression | None,
    context: FileContext,
    bounded_types: Iterable[str] = BOUNDED_TYPES,
) -> bool:
    """`deque(..., maxlen=N)` with N not None, or a bounded cache type."""
    if not isinstance(value, cst.Call):
        return False
    name = context.imports.qualify(value.func)
    if name == _DEQUE:
        maxlen = keyword_arg(value, "maxlen") or positional_arg(value, 1)
        return maxlen is not None and not (
            isinstance(maxlen.value, cst.Name) and maxlen.value.value == "None"
        )
    return matches_any(name, bounded_types)


def is_weak_container(value: cst.BaseExpression | None, context: FileContext) -> bool:
    """A weakref container or reference: it does not keep its referents alive."""
    if not isinstance(value, cst.Call):
        return False
    return matches_any(context.imports.qualify(value.func), WEAK_TYPES)


def _assigned_value(statement: cst.CSTNode, name: str) -> cst.BaseExpression | None:
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    for small in statement.body:
        if isinstance(small, cst.Assign):
            if any(_target_is(t.target, name) for t in small.targets):
                return small.value
        elif (
            isinstance(small, cst.AnnAssign)
            and small.value is not None
            and _target_is(small.target, name)
        ):
            return small.value
    return None


def binding_value(name: str, scope: cst.CSTNode, context: FileContext) -> cst.BaseExpression | None:
    """The value first assigned to `name` directly in `scope` (not in nested scopes).

    `scope` is a FunctionDef or the Module. Statements under `if`/`try`/`with`/loops of
    that scope count; nested functions and classes do not.
    """
    memo_key = ("cleanup.binding_value", id(scope), name)
    if memo_key in context.memo:
        return context.memo[memo_key]  # type: ignore[no-any-return]
    found: cst.BaseExpression | None = None
    for node, _ in _walk_scope(scope, into_functions=False):
        if isinstance(node, cst.SimpleStatementLine):
            found = _assigned_value(node, name)
            if found is not None:
                break
    context.memo[memo_key] = found
    return found


def attribute_binding(
    classdef: cst.ClassDef, attribute: str, context: FileContext
) -> cst.BaseExpression | None:
    """The value first assigned to `self.<attribute>` (constructors first), or to
    `<attribute>` in the class body."""
    memo_key = ("cleanup.attribute_binding", id(classdef), attribute)
    if memo_key in context.memo:
        return context.memo[memo_key]  # type: ignore[no-any-return]
    found: cst.BaseExpression | None = None
    for statement in classdef.body.body:
        found = _assigned_value(statement, attribute)
        if found is not None:
            break
    if found is None:
        methods = sorted(
            class_methods(classdef), key=lambda m: m.name.value not in CONSTRUCTOR_NAMES
        )
        for method in methods:
            receiver = receiver_name(method)
            if receiver is None:
                continue
            found = binding_value(f"{receiver}.{attribute}", method, context)
            if found is not None:
                break
    context.memo[memo_key] = found
    return found


def with_bound(name: str, context: FileContext) -> bool:
    """Is `name` bound by a `with ... as name` around the current node?"""
    for ancestor in context.ancestors():
        if isinstance(ancestor, cst.With):
            for item in ancestor.items:
                if item.asname is not None and container_key(item.asname.name) == name:
                    return True
        elif isinstance(ancestor, SCOPE_NODES):
            return False
    return False


def constructor_helpers(
    methods: dict[str, cst.FunctionDef], constructors: Iterable[str] = CONSTRUCTOR_NAMES
) -> set[str]:
    """Private methods reached only from constructors (`self._read_index()` in
    `__init__`, and what that helper calls in turn): they fill the object once while
    building it, not per use."""
    builders = frozenset(constructors)
    calls = {name: self_calls(method) for name, method in methods.items()}
    helpers: set[str] = set()
    while True:
        setup = builders | helpers
        from_setup = set().union(*(calls[name] for name in setup if name in calls))
        from_elsewhere = set().union(*(found for name, found in calls.items() if name not in setup))
        grown = {
            name
            for name in from_setup - from_elsewhere - builders
            if name.startswith("_") and not name.startswith("__") and name in methods
        }
        if grown <= helpers:
            return helpers
        helpers |= grown


# Uses of a container that are not a read of its contents.
_MEASURING_CALLS = frozenset({"len", "bool", "id", "isinstance", "type"})


def contents_reads(
    method: cst.FunctionDef, attribute: str, mutators: Iterable[str] = ()
) -> list[cst.CSTNode]:
    """Where `method` reads what `<receiver>.<attribute>` holds: a key or index lookup
    (`self.x[k]`), an iteration, a call of a non-mutating method (`self.x.get(k)`,
    `self.x.items()`), or the container itself used as a value (passed on, returned,
    unpacked, put in another structure). Not reads: growth and release calls (the
    method names in `mutators` and the release methods), stores, `del`, `len(...)`,
    truthiness tests and `in` membership tests, which look at the container without
    using what it holds."""
    receiver = receiver_name(method)
    if receiver is None:
        return []
    ignored = frozenset(mutators) | CLEAR_METHODS | EVICT_METHODS
    found: list[cst.CSTNode] = []
    path: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if not (
            isinstance(node, cst.Attribute)
            and node.attr.value == attribute
            and isinstance(node.value, cst.Name)
            and node.value.value == receiver
        ):
            return
        parent = path[-2] if len(path) > 1 else None
        grand = path[-3] if len(path) > 2 else None
        if isinstance(parent, cst.Attribute) and parent.value is node:
            if parent.attr.value not in ignored:
                found.append(parent)  # `self.x.get(k)`, `self.x.items()`
            return
        if isinstance(parent, cst.Subscript) and parent.value is node:
            if not _is_store_target(parent, path[:-2]):
                found.append(parent)  # `self.x[k]` loaded
            return
        if isinstance(parent, (cst.AssignTarget, cst.Del)):
            return
        if isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is node:
            return
        if (
            isinstance(parent, cst.Arg)
            and isinstance(grand, cst.Call)
            and isinstance(grand.func, cst.Name)
            and grand.func.value in _MEASURING_CALLS
            and parent.star == ""
        ):
            return
        if isinstance(parent, (cst.If, cst.While)) and parent.test is node:
            return
        if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            return
        if isinstance(parent, cst.ComparisonTarget) and isinstance(
            parent.operator, (cst.In, cst.NotIn)
        ):
            return
        found.append(node)

    walk(method.body, visit, stack=path)
    return found


_ENUMERATING = frozenset({"items", "keys", "values", "copy"})


def enumerates_contents(method: cst.FunctionDef, attribute: str) -> bool:
    """`method` lists what `<receiver>.<attribute>` holds (iterates it, `.items()`,
    `.keys()`, `.values()`, copies it or hands the whole container on) rather than only
    looking entries up by key: the container is the object's inventory, its output."""
    return any(
        isinstance(node, cst.Attribute)
        and (node.attr.value in _ENUMERATING or node.attr.value == attribute)
        for node in contents_reads(method, attribute)
    )


def _is_store_target(subscript: cst.Subscript, ancestors: list[cst.CSTNode]) -> bool:
    parent = ancestors[-1] if ancestors else None
    if isinstance(parent, (cst.AssignTarget, cst.Del)):
        return True
    return isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is subscript


def releases_each_element(method: cst.FunctionDef, attribute: str) -> bool:
    """`for worker in self.<attribute>: worker.join()`: the method shuts down each
    element (calls a method on the loop variable), so the container holds the object's
    own components and the method is where they are released."""
    receiver = receiver_name(method)
    if receiver is None:
        return False
    key = f"{receiver}.{attribute}"
    for node in descendants(method.body, stop_at=SCOPE_NODES):
        if not (
            isinstance(node, cst.For)
            and isinstance(node.target, cst.Name)
            and container_key(node.iter) == key
        ):
            continue
        element = node.target.value
        for inner in descendants(node.body, stop_at=SCOPE_NODES):
            if (
                isinstance(inner, cst.Call)
                and isinstance(inner.func, cst.Attribute)
                and isinstance(inner.func.value, cst.Name)
                and inner.func.value.value == element
            ):
                return True
    return False
