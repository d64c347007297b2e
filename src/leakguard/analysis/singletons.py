"""Process-wide instances: classes the run only ever instantiates once per process.

A class whose every construction in the run happens at import time (module-level code,
`registry = StoreRegistry()`) or is stored into a module global from a function (the lazy
singleton: `global _registry; _registry = StoreRegistry()`, directly or through a local
assigned to the global) has one live instance per process. Anything tied to that instance
(an `lru_cache` on one of its methods keeping `self` alive) costs nothing more than the
instance itself. One construction anywhere else (in a function, not kept in a global)
makes the class an ordinary one again. A subclass anywhere in the run (by name, through
any number of levels) must be a process singleton by the same test: its instances run the
inherited methods (and their caches) without constructing the class (mlflow's
`TrackingStoreRegistryWrapper`, built once at import like its base, keeps it one).

Collected once per file from the `ast` tree (test modules are skipped: their instances do
not live in the service) and merged across the run:

    is_process_singleton(context, "StoreRegistry")   # for a class of the analysed file

Constructions are recognised as calls of a capitalised name, leading underscores aside
(`_PostHogCapture()`, a private class), as the summaries' module-level instances are, that
is a class of the file or an imported name; the key is the
qualified name through the file's imports, matched across the run by dotted suffix, since
files are named from their path in the run and imports from the package root.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leakguard.analysis.project import (
    FactCollector,
    ProjectIndex,
    module_identity,
    register_collector,
)
from leakguard.analysis.summaries import FileSummaryCollector
from leakguard.context import FileContext
from leakguard.triage import TriageTree, parse_triage
from leakguard.triage import dotted as ast_dotted

COLLECTOR = "singletons"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# A scope's own code ends at nested functions (scanned as scopes of their own) and lambdas
# (whose calls run later, if ever).
_NESTED = (*_FUNCTIONS, ast.Lambda)
_FUNCTION_TYPES: frozenset[type[ast.AST]] = frozenset(_FUNCTIONS)


def collect_source(text: str, display: str) -> dict[str, Any] | None:
    tree = parse_triage(text, display=display)
    return None if tree is None else collect_tree(tree, text, display)


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    """{"once": [class keys constructed once per process], "other": [the rest],
    "bases": {class name: [the last names in its bases]}, when the file has such classes}."""
    from leakguard.analysis.asyncio_facts import is_test_file

    if is_test_file(display):
        return None
    module, package = module_identity(display)
    imports = FileSummaryCollector(module, package=package)
    body = tree.tree.body
    classes = {statement.name for statement in body if isinstance(statement, ast.ClassDef)}
    # One traversal records the imports and the calls; calls are qualified afterwards, once
    # every import of the file (function-level ones too) is known.
    calls: list[tuple[ast.expr, bool]] = []
    _scan(tree, body, None, imports, calls)
    once: set[str] = set()
    other: set[str] = set()
    for func, at_import_time in calls:
        key = _class_key(func, module, imports, classes)
        if key is not None:
            (once if at_import_time else other).add(key)
    for reference in _handed_over(tree):
        key = _class_key(reference, module, imports, classes)
        if key is not None:
            other.add(key)
    other.update(f"{module}.{name}" for name in _built_through_own_class(tree, classes))
    bases = _class_bases(tree)
    if not once and not other and not bases:
        return None
    facts: dict[str, Any] = {"once": sorted(once), "other": sorted(other)}
    if bases:
        facts["bases"] = bases
    return facts


# Calls whose arguments name classes without building them.
_TYPE_TESTS = frozenset({"isinstance", "issubclass", "cast", "TypeVar", "NewType"})


def _handed_over(tree: TriageTree) -> list[ast.expr]:
    """References to names the file uses as a value other than by calling them: a class
    handed on as a factory (`Depends(RequestScope)`, `registry.register("s3", S3Store)`,
    `defaultdict(Node)`) may be built by the callee on every call, anywhere. Not counted:
    a call's callee, an attribute's receiver (`Store.create`, checked by
    `_built_through_own_class`), base lists, annotations and subscripts (type
    expressions), `except` clauses, comparisons, and type tests (`isinstance(x, Store)`).

    Every node of the file passes here: a loop over a stack (in no particular order, the
    caller keeps a set), each node sent on by one exact-type test (the parser makes no
    subclass of these node types, so `type(node) is` answers as `isinstance`)."""
    found: list[ast.expr] = []
    pending: list[Any] = [tree.tree]
    pop, push, push_all = pending.pop, pending.append, pending.extend
    children_of = tree.children
    name_type, attribute_type, call_type = ast.Name, ast.Attribute, ast.Call
    load_type = ast.Load

    def push_receiver(node: ast.expr) -> None:
        # `Store.create(...)`, `registry[Store]`: the receiver's own parts may hand on.
        kind = type(node)
        if kind is not name_type and kind is not attribute_type:
            push(node)

    while pending:
        node = pop()
        kind = type(node)
        if kind is name_type or kind is attribute_type:
            if type(node.ctx) is load_type:
                found.append(node)
            continue  # an attribute's receiver is no value handed on
        if kind is call_type:
            func = node.func
            called = type(func)
            if called is name_type:
                if func.id in _TYPE_TESTS:
                    continue
            elif called is attribute_type:
                push_receiver(func.value)
            else:
                push(func)
            push_all(node.args)
            push_all([keyword.value for keyword in node.keywords])
        elif kind is ast.ClassDef:
            push_all(node.decorator_list)
            push_all(node.body)
        elif kind in _FUNCTION_TYPES:
            push_all(node.decorator_list)
            push_all(node.args.defaults)
            push_all(node.body)
            push_all([d for d in node.args.kw_defaults if d is not None])
        elif kind is ast.AnnAssign:
            if node.value is not None:
                push(node.value)
        elif kind is ast.ExceptHandler:
            push_all(node.body)
        elif kind is ast.Subscript:
            push_receiver(node.value)
        elif kind is ast.Compare:
            push_receiver(node.left)
            for part in node.comparators:
                push_receiver(part)
        else:
            push_all(children_of(node))  # the facts pass's child index
    return found


def _built_through_own_class(tree: TriageTree, classes: set[str]) -> set[str]:
    """Module-level classes one of whose methods builds an instance of its own class
    without naming it: `cls(...)` in a class method (an alternate constructor),
    `type(self)(...)` or `self.__class__(...)`. Such a method may run per request, so
    the class is built where it runs, not only where its name is called."""
    found: set[str] = set()
    for classdef in tree.tree.body:
        if not isinstance(classdef, ast.ClassDef) or classdef.name not in classes:
            continue
        for method in classdef.body:
            if classdef.name in found:
                break  # one such method is enough
            if not isinstance(method, _FUNCTIONS) or not method.args.args:
                continue
            first = method.args.args[0].arg
            for call in tree.scope_nodes([method], ()):
                if type(call) is ast.Call and _builds_own_class(call.func, first):
                    found.add(classdef.name)
                    break
    return found


def _builds_own_class(func: ast.expr, first: str) -> bool:
    """`cls(...)`, `type(self)(...)`, `self.__class__(...)` with `first` the method's
    first parameter."""
    if isinstance(func, ast.Name):
        return func.id == first and first != "self"
    if isinstance(func, ast.Attribute):
        return (
            func.attr == "__class__" and isinstance(func.value, ast.Name) and func.value.id == first
        )
    return (
        isinstance(func, ast.Call)
        and isinstance(func.func, ast.Name)
        and func.func.id == "type"
        and len(func.args) == 1
        and isinstance(func.args[0], ast.Name)
        and func.args[0].id == first
    )


def _class_bases(tree: TriageTree) -> dict[str, list[str]]:
    """For every class of the file with bases (nested ones too), every name in its base
    list by its last part: `Base` of `pkg.Base`, `Generic[T]` names `Generic` and `T`; a
    base built by a call (`with_metaclass(Meta, Base)`) names all its parts.
    Over-approximate: a name that is no class only adds a subclass to check, which can
    only keep a finding."""
    found: dict[str, set[str]] = {}
    for classdef in tree.of(ast.ClassDef):
        names = found.setdefault(classdef.name, set())
        for base in classdef.bases:
            for node in ast.walk(base):
                if isinstance(node, ast.Name):
                    names.add(node.id)
                elif isinstance(node, ast.Attribute):
                    names.add(node.attr)
    return {name: sorted(bases) for name, bases in sorted(found.items()) if bases}


def _scan(
    tree: TriageTree,
    body: Sequence[ast.stmt],
    function: ast.FunctionDef | ast.AsyncFunctionDef | None,
    imports: FileSummaryCollector,
    calls: list[tuple[ast.expr, bool]],
) -> None:
    """Record one scope's imports and its calls, each with whether the value it makes lives
    once per process (module level, or kept in a module global); then the nested scopes."""
    nested: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    globals_: set[str] = set()
    # The scope's own assignments and calls, in order; one exact-type test per node (the
    # parser makes no subclass of these node types).
    assigns: list[ast.Assign] = []
    own_calls: list[ast.Call] = []
    for node in tree.scope_nodes(body, _NESTED):
        kind = type(node)
        if kind is ast.Call:
            own_calls.append(node)  # type: ignore[arg-type]
        elif kind is ast.Assign:
            assigns.append(node)  # type: ignore[arg-type]
        elif kind in _FUNCTION_TYPES:
            nested.append(node)  # type: ignore[arg-type]
        elif kind is ast.Import or kind is ast.ImportFrom:
            imports.record_import(node)  # type: ignore[arg-type]
        elif kind is ast.Global:
            globals_.update(node.names)  # type: ignore[attr-defined]
    kept: set[int] = set()
    # Module-level calls all count as made once; in a function, only those stored in a
    # global it declares (none: nothing to look for).
    if function is not None and globals_:
        # Locals handed to a global (`registry = Cls(); ...; _registry = registry`).
        to_global = {
            node.value.id
            for node in assigns
            if isinstance(node.value, ast.Name)
            and all(isinstance(t, ast.Name) and t.id in globals_ for t in node.targets)
        }
        for node in assigns:
            if isinstance(node.value, ast.Call):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if len(names) == len(node.targets) and all(
                    n in globals_ or n in to_global for n in names
                ):
                    kept.add(id(node.value))
    calls.extend((node.func, function is None or id(node) in kept) for node in own_calls)
    for inner in nested:
        _scan(tree, inner.body, inner, imports, calls)


def _class_key(
    func: ast.expr, module: str, imports: FileSummaryCollector, classes: set[str]
) -> str | None:
    dotted = ast_dotted(func)
    if dotted is None or not dotted.rsplit(".", 1)[-1].lstrip("_")[:1].isupper():
        return None
    if dotted in classes:
        return f"{module}.{dotted}"
    return imports.qualify(dotted)


@dataclass(frozen=True)
class _Constructions:
    once: frozenset[str]
    other: frozenset[str]
    # A base class's last name -> the names of the run's classes naming it as a base.
    subclasses: Mapping[str, frozenset[str]]

    @classmethod
    def build(cls, facts: Mapping[str, Any]) -> _Constructions:
        once: set[str] = set()
        other: set[str] = set()
        subclasses: dict[str, set[str]] = {}
        for value in facts.values():
            if isinstance(value, dict):
                once.update(value.get("once", ()))
                other.update(value.get("other", ()))
                for name, bases in value.get("bases", {}).items():
                    for base in bases:
                        subclasses.setdefault(base, set()).add(name)
        return cls(
            frozenset(once),
            frozenset(other),
            {base: frozenset(names) for base, names in subclasses.items()},
        )

    def family(self, class_name: str) -> set[str]:
        """The class's name and those of its subclasses in the run, at any depth."""
        seen = {class_name}
        pending = [class_name]
        while pending:
            for subclass in self.subclasses.get(pending.pop(), ()):
                if subclass not in seen:
                    seen.add(subclass)
                    pending.append(subclass)
        return seen


def _constructions(project: ProjectIndex | None) -> _Constructions | None:
    return None if project is None else project.view(COLLECTOR, _Constructions.build)


def _names(target: str, key: str) -> bool:
    """`key` (as imported) names `target` (as the run names it): equal or a dotted suffix."""
    key = key.lstrip(".")
    return target == key or target.endswith("." + key)


def is_process_singleton(context: FileContext, class_name: str) -> bool:
    """The module-level class `class_name` of the analysed file is constructed somewhere in
    the run, and only at import time or into a module global, and so is every subclass of
    it in the run (matched by name). A same-named class built anywhere else, or a subclass
    the run never builds, counts against it (the cheaper mistake is to keep reporting)."""
    made = _constructions(context.project)
    if made is None:
        return False
    target = f"{context.module_name}.{class_name}"
    if not any(_names(target, key) for key in made.once):
        return False
    # Each subclass must itself be built in the run, and only once per process: one the
    # run never builds may be built anywhere by code outside it.
    family = made.family(class_name)
    if any(key.rsplit(".", 1)[-1] in family for key in made.other):
        return False
    built_once = {key.rsplit(".", 1)[-1] for key in made.once}
    return family - {class_name} <= built_once


register_collector(
    FactCollector(
        COLLECTOR,
        ("(",),
        from_source=collect_source,
        from_tree=collect_tree,
    )
)
