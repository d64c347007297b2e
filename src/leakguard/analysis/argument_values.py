"""The values a function's parameter, or a class's field, is given across the whole run.

A cache keyed by a parameter (`LOCKS.setdefault(path, Lock())` in `_load(path)`) is
bounded when every caller passes a value fixed for the process (a literal, a module
constant, a path built from them); an offloaded `spec.normalize` is local work when every
construction of `spec`'s class passes a function of the run that is. Both need every call
site and every construction of the run, in every file:

    values = argument_values(context)               # None: no rule asked for the facts
    values.parameter("app.routes.metrics._load", "path")   # [Value, ...] or None
    values.field("app.sources.Spec", "normalize")          # [Value, ...] or None
    values.per_process(value)     # one value for the process's life (LG108's keys)
    values.run_function(value)    # (module, reference) of a def of the run (LG204)

`None` means *unknown* and must be read as "anything": this is a proof of absence.

**What is recorded per file** (collector `argument_values`, from the facts pass's `ast`,
cached with the other facts): each call whose callee names a function, method or class of
the file or one imported from the run's packages (`_in_run`, as `lifetimes.py`), with a
compact descriptor of each argument (positional, keyword; `*args`/`**kwargs` at the call
make it unknown); the run's names used as values rather than called (a callback, a
decorator's argument, a base class: its calls are not all visible); each function's
signature (defaults, `*args`/`**kwargs`, decorators); NamedTuple/dataclass/pydantic
fields; `self.x = ...` stores per method; attribute names written outside constructors
(`obj.x = v`, `setattr`, `_replace(x=)`, `dataclasses.replace(o, x=)`,
`model_copy(update=)`); module-level names with how often they are bound (a `global`
rebinding counts); the returns of each module-level function.

**Descriptors** (JSON lists): `["k"]` a literal; `["g", qualified]` a module-level name;
`["p", name]` a parameter of the enclosing function; `["self", Class, attr]`; `["a", value,
attr]`; `["c", callee, [args], {kw: value}]` a call; `["m", value, method, [args]]` a method
call; `["s", [values]]` a string/tuple built from values; `["o", [values]]` one of them
(conditional, `or`, a local assigned several times); `["?"]` anything else.

**Following values**: an argument that is a parameter of the caller is followed to the
caller's callers, a `self.x` read to the constructor's stores and its parameters, up to
`_DEPTH` steps; a cycle or a deeper chain is unknown.

**Closed world** (partial runs): the run indexes only the files it is given (pre-commit and
flake8 name one file), so "no other caller seen" proves nothing by itself. A parameter's or
field's values are known only when (a) the run saw at least one call or construction,
(b) the function or class is not used as a value anywhere in the run, and (c) every
caller is visible: the name is private to its module (`_load`, a method of `_Pool`,
`_method`), or every `.py` file of the package directory that holds the definition (up to
the top `__init__.py`) is in the run. A file outside the run may still import a private
name; that convention is accepted (documented in LG108/LG204).

**Per process** (`per_process`): a literal; a module-level name bound once at module level
and never rebound through `global` (whatever it was bound to: it is evaluated once); a
function or class of the run (the object itself); a path or string built from such
(f-strings, `+`, `%`, `str()`, `os.path.*`, `Path`, `.joinpath`, `.format`, ...); an
attribute of such whose name no code of the run writes outside a constructor (nor any
`setattr` with a computed name); a function of the run whose every return is such, called
with such arguments. Not: `uuid4()`, `time.time()`, random, a ContextVar or thread-local
(calls outside the run), request data (a handler's parameter has no caller in the run),
a loop variable, a counter, a class instance made per call.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from leakguard.analysis.project import (
    FactCollector,
    ProjectIndex,
    module_identity,
    register_collector,
)
from leakguard.analysis.pydantic_models import qualified_name
from leakguard.analysis.scopes import BINDING_NODES, FunctionScope, bound_names, function_scope
from leakguard.analysis.summaries import _OFFLOAD_CALLS as OFFLOAD_CALLS
from leakguard.analysis.summaries import _OFFLOAD_METHODS as OFFLOAD_METHODS
from leakguard.analysis.summaries import FileSummaryCollector
from leakguard.context import FileContext
from leakguard.triage import TriageTree, dotted, parse_ast
from leakguard.walker import SCOPE_NODES, descendants

COLLECTOR = "argument_values"

# How many parameters / `self.x` / returns a value is followed through.
_DEPTH = 6
# How deep one argument's descriptor is written (deeper: unknown).
_NESTING = 10
# The longest descriptor kept (characters of its repr); longer ones are unknown.
_LONGEST = 240
UNKNOWN: list[Any] = ["?"]
# A name bound more than once at module level, or rebound through `global`.
_REBOUND = "!"
_DEF = "def"
_CLASS = "class"

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
# Decorators that change no call's arguments.
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod"})
# Bases that make a class a record of fields built by keyword or position (a NamedTuple's
# fields cannot be assigned after construction, only replaced in a copy).
_NAMED_TUPLES = frozenset({"typing.NamedTuple", "typing_extensions.NamedTuple"})
_MODEL_BASES = frozenset({"pydantic.BaseModel"})
_DATACLASS = frozenset({"dataclass", "dataclasses.dataclass"})
# Calls that copy a record with some fields replaced.
_REPLACING_METHODS = frozenset({"_replace", "model_copy", "copy", "evolve"})
# Which copies apply to which records (`kind:field` in the facts' `replaced`).
_NAMED_TUPLE_COPIES = ("_replace",)
_RECORD_COPIES = ("_replace", "model_copy", "copy", "evolve", "replace")
_CHECKS = frozenset({"isinstance", "issubclass"})
# Calls that hand a callable to a thread (LG204 asks about `spec.normalize` there).
_OFFLOADS = frozenset({name.rsplit(".", 1)[-1] for name in OFFLOAD_CALLS} | OFFLOAD_METHODS)
_MODULE_DUNDERS = frozenset({"__file__", "__name__", "__package__", "__spec__"})
_REPLACING_FUNCTIONS = frozenset({"replace", "dataclasses.replace", "attrs.evolve", "attr.evolve"})

# Functions outside the run whose result is fixed by their arguments (pure string and path
# operations): with arguments fixed for the process, so is the result.
PURE_CALLS = frozenset(
    {
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "tuple",
        "frozenset",
        "repr",
        "os.path.join",
        "os.path.abspath",
        "os.path.normpath",
        "os.path.dirname",
        "os.path.basename",
        "os.path.expanduser",
        "os.path.splitext",
        "os.fspath",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "pathlib.PosixPath",
    }
)
# Methods of a string or path that compute on it and their arguments only.
PURE_METHODS = frozenset(
    {
        "format",
        "join",
        "joinpath",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "replace",
        "removeprefix",
        "removesuffix",
        "with_suffix",
        "with_name",
        "as_posix",
        "encode",
        "decode",
        "casefold",
        "title",
    }
)


# -- collection (per file) ---------------------------------------------------------------


def collect_source(text: str, display: str) -> dict[str, Any] | None:
    tree = parse_ast(text)
    return None if tree is None else collect_tree(TriageTree(tree, text), text, display)


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    facts = _FileValues(tree, *module_identity(display))
    facts.run()
    return facts.result(display)


@dataclass
class _Scope:
    """A function being described: its parameters and how its locals are bound."""

    qualname: str
    params: frozenset[str] = frozenset()
    klass: str | None = None  # the class whose method this is (for `self.x`)
    receiver: str | None = None  # `self`/`cls`
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)
    opaque: set[str] = field(default_factory=set)  # bound other than by `name = value`
    # Code whose scope is not followed (a lambda, a class nested in a function): any
    # name may be local there, so a name's value is unknown.
    blind: bool = False
    yields: bool = False  # a generator: its "returns" are not what a call gives


class _FileValues:
    def __init__(self, index: TriageTree, module: str, package: bool) -> None:
        self.index = index
        self.tree = index.tree
        self.module = module
        self.imports = FileSummaryCollector(module, package=package)
        self.defs: dict[str, dict[str, Any]] = {}
        self.classes: dict[str, dict[str, Any]] = {}
        self.globals: dict[str, Any] = {}
        self.calls: list[list[Any]] = []
        self.uses: set[str] = set()
        # Attribute names written outside constructors (`obj.x = v`, `setattr`), names a
        # copy replaces (`_replace(x=...)`), and method or attribute names read or called
        # on receivers the file does not resolve (`obj.load(...)`, `getattr(o, "load")`):
        # a method of the run may be any of them. `*`: any name.
        self.written: set[str] = set()
        self.replaced: set[str] = set()
        self.attributes: set[str] = set()
        self.returns: dict[str, list[Any]] = {}
        self._top: set[str] = set()
        self._done: set[int] = set()
        self._methods: dict[str, set[str]] = {}
        self._own_makers: list[int] = []
        self._referable: set[str] = set()

    # module ------------------------------------------------------------------------------

    def run(self) -> None:
        for node in self.index.of(ast.Import, ast.ImportFrom):
            self.imports.record_import(node)  # type: ignore[arg-type]
        body = self.tree.body
        counts: dict[str, int] = defaultdict(int)
        for statement in _module_statements(body):
            for name in _bound_names(statement):
                counts[name] += 1
        for node in self.index.of(ast.Global):
            for name in node.names:
                counts[name] += 2
        self._top = set(counts)
        self._methods = {
            c.name: {s.name for s in c.body if isinstance(s, _FUNCTIONS)}
            for c in _module_statements(body)
            if isinstance(c, ast.ClassDef)
        }
        module_scope = _Scope("")
        for statement in _module_statements(body):
            if isinstance(statement, _FUNCTIONS):
                self.globals[statement.name] = _DEF
            elif isinstance(statement, ast.ClassDef):
                self.globals[statement.name] = _CLASS
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                names = set(_bound_names(statement))
                for local, target in self.imports.aliases.items():
                    if local in names:
                        self.globals[local] = ["g", target]
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value:
                # Bound once, a name holds one value whatever it was bound to; only an
                # alias of another name (`load = _load`) is kept, for re-exports.
                value = statement.value
                alias = (
                    self.describe(value, module_scope)
                    if isinstance(value, (ast.Name, ast.Attribute))
                    else None
                )
                for name in _bound_names(statement):
                    self.globals[name] = alias if alias and alias[0] == "g" else 1
        for name, count in counts.items():
            if count > 1 or name not in self.globals:
                self.globals[name] = _REBOUND
        self._skip_annotations()
        self._own_makers = _own_makers(self.index)
        self._referable = set(self.globals) | set(self.imports.aliases)
        self._callee_ids = {id(call.func) for call in self.index.of(ast.Call)}
        self._prefix_ids = {id(a.value) for a in self.index.of(ast.Attribute)}
        self._scan(self.index.scope_nodes(body, _SCOPES), module_scope)
        for statement in _module_statements(body):
            if isinstance(statement, _FUNCTIONS):
                self._function(statement, statement.name, None)
            elif isinstance(statement, ast.ClassDef):
                self._class(statement)
        # Everything else (lambdas, classes in functions, ...): calls and uses recorded
        # with arguments described blind, so no call site and no use is ever missed.
        blind = _Scope("<blind>", blind=True)
        rest = [
            node
            for node in (
                *self.index.of(ast.Call),
                *self.index.of(ast.Name),
                *self.index.of(ast.Attribute),
            )
            if id(node) not in self._done
        ]
        self._scan(rest, blind)

    def _asks(self) -> bool:
        """The file has code a rule asks this fact about (a store under a computed key,
        `setdefault`, a call handed an attribute such as `spec.normalize`): only such
        files' findings depend on other files' values (`dependencies`)."""
        for node in self.index.of(ast.Subscript):
            if not isinstance(node.ctx, ast.Load) and not isinstance(node.slice, ast.Constant):
                return True
        for call in self.index.of(ast.Call):
            if isinstance(call.func, ast.Attribute) and call.func.attr == "setdefault":
                return True
            name = dotted(call.func)
            offload = name is not None and name.rsplit(".", 1)[-1] in _OFFLOADS
            if offload and any(isinstance(arg, ast.Attribute) for arg in call.args):
                return True
        return False

    def _skip_annotations(self) -> None:
        """Annotations and `isinstance` checks name a class without making or handing
        on anything: not a use as a value."""
        roots: list[ast.AST] = []
        for arg in self.index.of(ast.arg):
            if arg.annotation is not None:
                roots.append(arg.annotation)
        for plain in self.index.of(ast.FunctionDef):
            if plain.returns is not None:
                roots.append(plain.returns)
        for coroutine in self.index.of(ast.AsyncFunctionDef):
            if coroutine.returns is not None:
                roots.append(coroutine.returns)
        for assign in self.index.of(ast.AnnAssign):
            roots.append(assign.annotation)
        for call in self.index.of(ast.Call):
            if isinstance(call.func, ast.Name) and call.func.id in _CHECKS and len(call.args) == 2:
                roots.append(call.args[1])
        self._done.update(id(node) for node in self.index.scope_nodes(roots, ()))

    def result(self, display: str) -> dict[str, Any] | None:
        if not (self.calls or self.defs or self.classes or self.uses or self.globals):
            # Still a file of the run: the closed-world check counts it.
            return {"path": display}
        return {
            "path": display,
            "asks": self._asks(),
            "defs": self.defs,
            "classes": self.classes,
            "globals": dict(sorted(self.globals.items())),
            "calls": self.calls,
            "uses": sorted(self.uses),
            "written": sorted(self.written),
            "replaced": sorted(self.replaced),
            "attributes": sorted(self.attributes),
            "returns": self.returns,
        }

    def _class(self, classdef: ast.ClassDef) -> None:
        name = classdef.name
        bases = [dotted(base) or "?" for base in classdef.bases]
        qualified = [self.qualify(b) or b for b in bases]
        named_tuple = any(
            q in _NAMED_TUPLES or b in _NAMED_TUPLES for b, q in zip(bases, qualified, strict=True)
        )
        record = named_tuple or any(
            q in _MODEL_BASES or b in _MODEL_BASES for b, q in zip(bases, qualified, strict=True)
        )
        decorators = [
            dotted(d.func) if isinstance(d, ast.Call) else dotted(d)
            for d in classdef.decorator_list
        ]
        dataclass_ = any((self.qualify(d) or d) in _DATACLASS for d in decorators if d)
        record = record or dataclass_
        fields: list[str] = []
        defaults: dict[str, Any] = {}
        scope = _Scope(name)
        for statement in classdef.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                fields.append(statement.target.id)
                if statement.value is not None:
                    defaults[statement.target.id] = self.value(statement.value, scope)
            elif isinstance(statement, _FUNCTIONS):
                self._function(statement, f"{name}.{statement.name}", name)

        self._scan(self.index.scope_nodes(classdef.body, _SCOPES), _Scope(name, blind=True))
        self.classes[name] = {
            "bases": list(qualified),
            "record": record,
            "named_tuple": named_tuple,
            "fields": fields if record else [],
            "defaults": defaults if record else {},
            "decorated": len(decorators) > (1 if dataclass_ else 0),
            "meta": any(k.arg == "metaclass" for k in classdef.keywords),
            "own": any(
                classdef.lineno <= line <= (classdef.end_lineno or line)
                for line in self._own_makers
            ),
            "selfs": self.defs.get(f"{name}.__init__", {}).pop("selfs", {}),
            "methods": [s.name for s in classdef.body if isinstance(s, _FUNCTIONS)],
            # validators and `__post_init__` may change what a construction gave
            "checked": any(
                isinstance(s, _FUNCTIONS) and (bool(s.decorator_list) or s.name == "__post_init__")
                for s in classdef.body
            ),
        }

    def _function(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, klass: str | None
    ) -> None:
        args = function.args
        positional = [a.arg for a in [*args.posonlyargs, *args.args]]
        decorators = [dotted(d) for d in function.decorator_list]
        receiver = None
        if klass is not None and "staticmethod" not in decorators and positional:
            receiver = positional[0]
        scope = _Scope(qualname, frozenset(a.arg for a in _all_args(args)), klass, receiver)
        own = self.index.scope_nodes(function.body, _SCOPES)
        self._locals(own, scope)
        outside = _Scope("<signature>", blind=True)
        defaults: dict[str, Any] = {}
        for arg, default in zip(
            positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
        ):
            defaults[arg] = self.value(default, outside)
        for kwarg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if kw_default is not None:
                defaults[kwarg.arg] = self.value(kw_default, outside)
        entry: dict[str, Any] = {
            "positional": positional,
            "keyword": [a.arg for a in args.kwonlyargs],
            "posonly": len(args.posonlyargs),
            "defaults": defaults,
            "star": args.vararg is not None or args.kwarg is not None,
            "decorated": any(d not in _PLAIN_DECORATORS for d in decorators),
            "bound": receiver is not None,
            "yields": scope.yields,
        }
        if klass is not None and function.name == "__init__" and receiver is not None:
            selfs: dict[str, list[Any]] = defaultdict(list)
            for node in own:
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Attribute) and _self_attribute(target, receiver):
                            selfs[target.attr].append(self.value(node.value, scope))
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Attribute):
                    if _self_attribute(node.target, receiver):
                        value = node.value
                        selfs[node.target.attr].append(
                            UNKNOWN if value is None else self.value(value, scope)
                        )
                elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Attribute):
                    selfs[node.target.attr].append(UNKNOWN)
            entry["selfs"] = dict(selfs)
        self.defs[qualname] = entry
        self.returns[qualname] = [
            self.value(n.value, scope) if n.value is not None else ["k"]
            for n in own
            if isinstance(n, ast.Return)
        ]
        self._scan(own, scope, constructor=function.name == "__init__" and klass is not None)
        for node in own:
            if isinstance(node, _FUNCTIONS) and node is not function:
                # A nested function's parameters have no caller the run names.
                self._function(node, f"{qualname}.<locals>.{node.name}", None)

    def _locals(self, own: Sequence[ast.AST], scope: _Scope) -> None:
        """How the scope binds its names: `name = value` (followed) or otherwise (opaque).
        One pass, by exact node type (the facts pass's hot loop)."""
        assigned = scope.assigned
        opaque = scope.opaque
        simple: set[int] = set()
        stores: list[ast.Name] = []
        for node in own:
            kind = type(node)
            if kind is ast.Name:
                if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    stores.append(node)  # type: ignore[arg-type]
            elif kind is ast.Assign:
                targets = node.targets  # type: ignore[attr-defined]
                if all(type(t) is ast.Name for t in targets):
                    for target in targets:
                        assigned.setdefault(target.id, []).append(node.value)  # type: ignore[attr-defined]
                        simple.add(id(target))
            elif kind is ast.AnnAssign:
                target = node.target  # type: ignore[attr-defined]
                if type(target) is ast.Name and node.value is not None:  # type: ignore[attr-defined]
                    assigned.setdefault(target.id, []).append(node.value)  # type: ignore[attr-defined]
                    simple.add(id(target))
            elif kind is ast.Yield or kind is ast.YieldFrom:
                scope.yields = True
            elif kind in _OPAQUE_BINDERS:
                opaque.update(_binder_names(node))
        for name in stores:
            if id(name) not in simple:
                opaque.add(name.id)

    # calls and uses ------------------------------------------------------------------------

    def _scan(self, own: Sequence[ast.AST], scope: _Scope, constructor: bool = False) -> None:
        done = self._done
        skip = self._callee_ids
        prefixes = self._prefix_ids
        referable = self._referable
        for node in own:
            key = id(node)
            if key in done:
                continue
            done.add(key)
            kind = type(node)
            if kind is ast.Call:
                self._call(node, scope)  # type: ignore[arg-type]
            elif kind is ast.Name:
                if key in skip or key in prefixes or type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    continue
                if node.id in referable:  # type: ignore[attr-defined]
                    target = self._reference(node, scope)  # type: ignore[arg-type]
                    if target is not None:
                        self.uses.add(target)
            elif kind is ast.Attribute:
                assert isinstance(node, ast.Attribute)
                if type(node.ctx) is not ast.Load:
                    if not (
                        constructor and scope.receiver and _self_attribute(node, scope.receiver)
                    ):
                        self.written.add(node.attr)
                    continue
                if key in skip or key in prefixes:
                    continue
                self.attributes.add(node.attr)  # maybe a bound method handed on
                target = self._reference(node, scope)
                if target is not None:
                    self.uses.add(target)
            elif kind is ast.ClassDef or kind in _FUNCTIONS:
                # Its decorators, bases and defaults run in this scope.
                assert isinstance(node, (ast.ClassDef, *_FUNCTIONS))
                heads: list[ast.AST] = list(node.decorator_list)
                if isinstance(node, ast.ClassDef):
                    heads += [*node.bases, *(k.value for k in node.keywords)]
                else:
                    heads += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
                self._scan(self.index.scope_nodes(heads, _SCOPES), scope)

    def _call(self, call: ast.Call, scope: _Scope) -> None:
        func = call.func
        name = dotted(func)
        qualified = (self.qualify(name) or name) if name else None
        if isinstance(func, ast.Attribute) and func.attr in _REPLACING_METHODS:
            self._replaced(call, func.attr)
        elif qualified in _REPLACING_FUNCTIONS:
            self._replaced(call, qualified.rsplit(".", 1)[-1])
        elif qualified in ("setattr", "getattr", "delattr", "hasattr"):
            self._reflective(call, qualified)
        callee = self._reference(func, scope)
        if callee is None:
            if isinstance(func, ast.Attribute):
                self.attributes.add(func.attr)
            return
        star = any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        )
        positional = [self.value(a, scope) for a in call.args if not isinstance(a, ast.Starred)]
        keywords = {k.arg: self.value(k.value, scope) for k in call.keywords if k.arg is not None}
        self.calls.append([callee, scope.qualname, call.lineno, positional, keywords, star])

    def _replaced(self, call: ast.Call, kind: str) -> None:
        """Fields a copy replaces (`kind:field`, `kind:*` for any): their construction
        values are not all they hold."""
        names: set[str] = set()
        for keyword in call.keywords:
            if keyword.arg is None:
                names.add("*")
            elif keyword.arg == "update":
                value = keyword.value
                if isinstance(value, ast.Dict) and all(
                    isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys
                ):
                    names.update(str(k.value) for k in value.keys if isinstance(k, ast.Constant))
                else:
                    names.add("*")
            else:
                names.add(keyword.arg)
        self.replaced.update(f"{kind}:{name}" for name in names)

    def _reflective(self, call: ast.Call, name: str) -> None:
        """`setattr(o, "x", v)` writes `x`; `getattr(o, "load")` reads a method as a value;
        a computed name may be any."""
        attribute = call.args[1] if len(call.args) > 1 else None
        known = (
            attribute.value
            if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str)
            else "*"
        )
        (self.written if name in ("setattr", "delattr") else self.attributes).add(known)

    def _reference(self, node: ast.expr, scope: _Scope) -> str | None:
        """The run's function, method or class `node` names, qualified; None otherwise."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if scope.klass is not None and node.value.id == scope.receiver and not scope.blind:
                if node.attr not in self._methods.get(scope.klass, ()):
                    return None  # an attribute of the instance, not a method
                return f"{self.module}.{scope.klass}.{node.attr}"
            if self.globals.get(node.value.id) == _CLASS and node.value.id not in scope.opaque:
                return f"{self.module}.{node.value.id}.{node.attr}"
        name = dotted(node)
        if name is None:
            return None
        root = name.split(".", 1)[0]
        if root in scope.params or root in scope.assigned or root in scope.opaque:
            return None
        if self.globals.get(root) in (_DEF, _CLASS):
            return f"{self.module}.{name}"
        qualified = self.qualify(name)
        if qualified is None or not self._in_run(qualified):
            return None
        return qualified

    def qualify(self, name: str) -> str | None:
        return self.imports.qualify(name)

    def _in_run(self, qualified: str) -> bool:
        return qualified.split(".", 1)[0] in self.module.split(".")

    # descriptors ---------------------------------------------------------------------------

    def value(self, node: ast.expr, scope: _Scope) -> list[Any]:
        """`describe`, bounded in size for the cache: a long descriptor is unknown."""
        found = self.describe(node, scope)
        return found if len(repr(found)) <= _LONGEST else UNKNOWN

    def describe(
        self, node: ast.expr, scope: _Scope, depth: int = 0, seen: frozenset[str] = frozenset()
    ) -> list[Any]:
        if depth > _NESTING:
            return UNKNOWN
        deeper = depth + 1

        if isinstance(node, ast.Constant):
            return ["k"]
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.describe(v.value, scope, deeper, seen)
                for v in node.values
                if isinstance(v, ast.FormattedValue)
            ]
            return ["s", parts]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod, ast.Div)):
            return [
                "s",
                [
                    self.describe(node.left, scope, deeper, seen),
                    self.describe(node.right, scope, deeper, seen),
                ],
            ]
        if isinstance(node, ast.Tuple):
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return UNKNOWN
            return ["s", [self.describe(e, scope, deeper, seen) for e in node.elts]]
        if isinstance(node, ast.IfExp):
            return [
                "o",
                [
                    self.describe(node.body, scope, deeper, seen),
                    self.describe(node.orelse, scope, deeper, seen),
                ],
            ]
        if isinstance(node, ast.BoolOp):
            return ["o", [self.describe(v, scope, deeper, seen) for v in node.values]]
        if isinstance(node, ast.Name):
            return self._name(node.id, scope, deeper, seen)
        if isinstance(node, ast.Attribute):
            if (
                scope.receiver is not None
                and scope.klass is not None
                and _self_attribute(node, scope.receiver)
            ):
                return ["self", f"{self.module}.{scope.klass}", node.attr]
            name = _free_name(node, scope)
            if name is not None:
                qualified = self.qualify(name)
                root = name.split(".", 1)[0]
                if qualified is not None and root not in self._top - set(self.imports.aliases):
                    return ["g", qualified]
            return ["a", self.describe(node.value, scope, deeper, seen), node.attr]
        if isinstance(node, ast.Call):
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                return UNKNOWN
            args = [self.describe(a, scope, deeper, seen) for a in node.args]
            keywords = {
                k.arg: self.describe(k.value, scope, deeper, seen)
                for k in node.keywords
                if k.arg is not None
            }
            func = node.func
            callee = self._reference(func, scope)
            if callee is None:
                name = _free_name(func, scope)
                if name is not None:
                    root = name.split(".", 1)[0]
                    callee = self.qualify(name) or (name if root not in self._top else None)
            if callee is not None:
                return ["c", callee, args, keywords]
            if isinstance(func, ast.Attribute):
                return [
                    "m",
                    self.describe(func.value, scope, deeper, seen),
                    func.attr,
                    [*args, *keywords.values()],
                ]
            return UNKNOWN
        return UNKNOWN

    def _name(self, name: str, scope: _Scope, depth: int, seen: frozenset[str]) -> list[Any]:
        if name in scope.opaque:
            return UNKNOWN
        assigned = scope.assigned.get(name)
        if name in scope.params:
            if assigned:
                return UNKNOWN  # a parameter rebound in the function: flow not followed
            return ["p", name]
        if assigned is not None:
            if name in seen:
                return UNKNOWN
            inner = seen | {name}
            return ["o", [self.describe(v, scope, depth, inner) for v in assigned]]
        if scope.blind:
            return UNKNOWN
        if name in self._top:
            return ["g", f"{self.module}.{name}"]
        if name in _MODULE_DUNDERS:
            return ["k"]  # fixed for the module
        qualified = self.qualify(name)
        if qualified is not None:
            return ["g", qualified]
        return UNKNOWN


def _module_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, through `if`/`try`/`with` blocks (still run once)."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            inner: list[ast.stmt] = list(statement.body)
            if isinstance(statement, ast.If):
                inner += statement.orelse
            elif isinstance(statement, ast.Try):
                inner += statement.orelse + statement.finalbody
                for handler in statement.handlers:
                    inner += handler.body
            yield from _module_statements(inner)
        elif isinstance(statement, (ast.For, ast.While)):
            # A loop at module level may bind a name many times: count it twice.
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    yield ast.Assign(targets=[node, node], value=ast.Constant(None))


def _free_name(node: ast.expr, scope: _Scope) -> str | None:
    """`node`'s dotted name when its root is no name of the scope (a parameter or local)."""
    name = dotted(node)
    if name is None:
        return None
    root = name.split(".", 1)[0]
    if root in scope.params or root in scope.assigned or root in scope.opaque:
        return None
    return name


def _bound_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".", 1)[0] for a in statement.names if a.name != "*"]
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = list(statement.targets)
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        if isinstance(statement, ast.AnnAssign) and statement.value is None:
            return []
        targets = [statement.target]
    names: list[str] = []
    for target in targets:
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    if isinstance(statement, ast.AugAssign) and names:
        names = names * 2  # a module-level counter: rebound
    return names


def _all_args(args: ast.arguments) -> list[ast.arg]:
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg is not None:
        found.append(args.vararg)
    if args.kwarg is not None:
        found.append(args.kwarg)
    return found


def _self_attribute(node: ast.AST, receiver: str) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == receiver
    )


_OPAQUE_BINDERS = frozenset(
    {
        ast.Global,
        ast.Nonlocal,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Import,
        ast.ImportFrom,
        ast.ExceptHandler,
        ast.NamedExpr,
    }
)


def _binder_names(node: ast.AST) -> list[str]:
    """Names a statement binds other than by `name = value`."""
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".", 1)[0] for a in node.names]
    if isinstance(node, ast.ExceptHandler):
        return [node.name] if node.name else []
    if isinstance(node, ast.NamedExpr):
        return [node.target.id]
    return []


def _own_makers(index: TriageTree) -> list[int]:
    """Lines of `cls(...)`, `type(self)(...)`, `self.__class__(...)`: instances a class
    makes that its call sites do not show."""
    lines: list[int] = []
    for call in index.of(ast.Call):
        func = call.func
        if (
            (isinstance(func, ast.Name) and func.id == "cls")
            or (isinstance(func, ast.Call) and dotted(func.func) == "type")
            or (isinstance(func, ast.Attribute) and func.attr == "__class__")
        ):
            lines.append(call.lineno)
    return lines


# -- the run (lazy, once per run) ----------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """One value given somewhere in the run: its descriptor, the module it was written in,
    and the function it was written in (`""`: module level)."""

    module: str
    scope: str
    descriptor: Sequence[Any]


class ArgumentValues:
    def __init__(self, facts: Mapping[str, Any], root: str = "") -> None:
        self.facts = facts
        self._modules = sorted(facts, key=len)
        self._resolved: dict[str, tuple[str, str] | None] = {}
        self._closed: dict[str, bool] = {}
        self._digests: dict[str, str] | None = None
        self._shared = ""
        self._root = root
        self._run_paths = {self._on_disk(file["path"]) for file in facts.values() if file}
        self.calls: dict[str, list[tuple[str, list[Any]]]] = defaultdict(list)
        self.uses: set[str] = set()
        self.written: set[str] = set()
        self.replaced: set[str] = set()
        self.attributes: set[str] = set()
        self.bases: set[str] = set()  # canonical names and last segments of every base
        for module, file in facts.items():
            if not file or "calls" not in file:
                continue
            for call in file["calls"]:
                self.calls[self.canonical(call[0])].append((module, call))
            self.uses.update(self.canonical(use) for use in file["uses"])
            self.written.update(file["written"])
            self.replaced.update(file["replaced"])
            self.attributes.update(file["attributes"])
            for entry in file["classes"].values():
                for base in entry["bases"]:
                    self.bases.add(self.canonical(base))
                    self.bases.add(base.rsplit(".", 1)[-1])

    def canonical(self, qualified: str) -> str:
        """`pkg.f` re-exported by `pkg/__init__.py` from `pkg.mod`: `pkg.mod.f`, where it
        is defined (so calls through either name are calls of one function)."""
        found, rest = self._named(qualified)
        if found is None:
            return qualified
        name = f"{found[0]}.{found[1]}"
        return f"{name}.{rest}" if rest else name

    def _named(self, qualified: str) -> tuple[tuple[str, str, Any] | None, str]:
        """The module-level binding a qualified name's head resolves to (through
        re-exports), and the attribute path after it."""
        where = self.split(qualified)
        if where is None:
            return None, ""
        head, _, rest = where[1].partition(".")
        return self._global(where[0], head), rest

    def dependencies(self, module: str) -> Any:
        """Digests of the facts `module`'s answers can read (see `_dependencies`)."""
        if self._digests is None:
            self._digests = {}
            self._links: dict[str, set[str]] = defaultdict(set)
            for other, file in self.facts.items():
                self._digests[other] = hashlib.sha256(
                    json.dumps(file, sort_keys=True, default=str).encode()
                ).hexdigest()[:16]
            for callee, calls in self.calls.items():
                where = self.split(callee)
                if where is None:
                    continue
                for caller, _ in calls:
                    self._links[where[0]].add(caller)  # its callers' values
                    self._links[caller].add(where[0])  # the callee's returns
            for other, file in self.facts.items():
                for binding in (file or {}).get("globals", {}).values():
                    if isinstance(binding, list) and binding[0] == "g":
                        where = self.split(binding[1])
                        if where is not None:
                            self._links[other].add(where[0])
            shared = [sorted(self.written), sorted(self.replaced), sorted(self.attributes)]
            self._shared = hashlib.sha256(json.dumps(shared).encode()).hexdigest()[:16]
        reached = {module}
        frontier = {module}
        for _ in range(_DEPTH):
            frontier = {n for m in frontier for n in self._links.get(m, ())} - reached
            if not frontier:
                break
            reached |= frontier
        return [self._shared, {m: self._digests.get(m) for m in sorted(reached)}]

    # names ------------------------------------------------------------------------------

    def split(self, qualified: str) -> tuple[str, str] | None:
        """(module of the run, name inside it) for a qualified name, by the longest module
        prefix (module names of the run may carry a path prefix: suffix match)."""
        if qualified in self._resolved:
            return self._resolved[qualified]
        found: tuple[str, str] | None = None
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            wanted = ".".join(parts[:cut])
            module = self._module(wanted)
            if module is not None:
                found = (module, ".".join(parts[cut:]))
                break
        self._resolved[qualified] = found
        return found

    def _module(self, wanted: str) -> str | None:
        if wanted in self.facts:
            return wanted
        for module in self._modules:
            if module.endswith("." + wanted):
                return module
        return None

    def _file(self, module: str) -> Mapping[str, Any]:
        return self.facts.get(module) or {}

    def _global(self, module: str, name: str, depth: int = 0) -> tuple[str, str, Any] | None:
        """(module, name, binding) a module-level name resolves to, through re-exports."""
        binding = self._file(module).get("globals", {}).get(name)
        if binding is None:
            return None
        if isinstance(binding, list) and binding[0] == "g" and depth < _DEPTH:
            target = self.split(binding[1])
            if target is not None:
                again = self._global(target[0], target[1], depth + 1)
                if again is not None:
                    return again
        return module, name, binding

    def _callers_visible(self, module: str, name: str) -> bool:
        """Every call of `module.name` is in the run (the module docstring's (c))."""
        segments = name.split(".")
        if any(s.startswith("_") and not s.startswith("__") for s in segments):
            return True
        if module in self._closed:
            return self._closed[module]
        path = self._file(module).get("path")
        closed = path is not None and self._package_in_run(path)
        self._closed[module] = closed
        return closed

    def _on_disk(self, display: str) -> str:
        """A file name of the run (relative to the run's root, or absolute) on disk."""
        return os.path.normcase(os.path.abspath(os.path.join(self._root, display)))

    def _package_in_run(self, path: str) -> bool:
        directory = os.path.dirname(self._on_disk(path))
        top = directory
        while os.path.exists(os.path.join(top, "__init__.py")):
            parent = os.path.dirname(top)
            if parent == top or not os.path.exists(os.path.join(parent, "__init__.py")):
                break
            top = parent
        try:
            walked = (
                list(os.walk(top))
                if top != directory or os.path.exists(os.path.join(top, "__init__.py"))
                else [(top, [], os.listdir(top))]
            )
        except OSError:
            return False
        for root, _, files in walked:
            for file in files:
                if file.endswith(".py"):
                    full = os.path.normcase(os.path.join(root, file))
                    if full not in self._run_paths:
                        return False
        return True

    # parameters and fields --------------------------------------------------------------------

    def parameter(self, function: str, param: str) -> list[Value] | None:
        """Every value `param` of the run's function `function` (qualified, methods as
        `module.Class.method`) is given, defaults included; None: unknown."""
        function = self.canonical(function)
        where = self.split(function)
        if where is None:
            return None
        module, name = where
        entry = self._file(module).get("defs", {}).get(name)
        if entry is None or entry["decorated"] or entry["star"] or "<" in name:
            return None
        if function in self.uses or not self._callers_visible(module, name):
            return None
        calls = self.calls.get(function, [])
        owner, _, method = name.rpartition(".")
        if owner and method == "__init__":
            klass = f"{module}.{owner}"
            if not self._class_sealed(klass):
                return None
            calls = calls + self.calls.get(klass, [])
        elif owner and (
            self._subclassed(f"{module}.{owner}")
            or method in self.attributes
            or "*" in self.attributes
        ):
            # a subclass may call it through `super()`; a receiver the run does not
            # resolve (`obj.method(...)`, `getattr`) may be an instance of the class
            return None
        if not calls:
            return None  # no caller seen proves nothing
        positional = list(entry["positional"])
        if entry["bound"] and positional:
            positional = positional[1:]
        values: list[Value] = []
        for caller_module, call in calls:
            given = self._bind(call, positional, entry["posonly"], param, entry["keyword"])
            if given is _MISSING:
                default = entry["defaults"].get(param)
                if default is None:
                    return None
                values.append(Value(module, "", default))
            elif given is None:
                return None
            else:
                values.append(Value(caller_module, call[1], given))
        return values

    def field(self, klass: str, name: str) -> list[Value] | None:
        """Every value field `name` of the run's NamedTuple/dataclass/pydantic class
        `klass` is constructed with; None: unknown (written after construction, copied with
        a replacement, the class used as a value or subclassed, or a construction hidden)."""
        klass = self.canonical(klass)
        where = self.split(klass)
        if where is None:
            return None
        module, short = where
        entry = self._file(module).get("classes", {}).get(short)
        if entry is None or not entry["record"] or entry["own"] or entry["meta"]:
            return None
        if entry["decorated"] or name not in entry["fields"]:
            return None
        copies = _NAMED_TUPLE_COPIES if entry["named_tuple"] else _RECORD_COPIES
        if any(
            f"{kind}:{name}" in self.replaced or f"{kind}:*" in self.replaced for kind in copies
        ):
            return None  # a copy with the field replaced (`_replace(normalize=...)`)
        if not entry["named_tuple"] and (
            name in self.written or "*" in self.written or entry["checked"]
        ):
            return None  # assigned after construction, or changed by a validator
        if not self._class_sealed(klass) or not self._callers_visible(module, short):
            return None
        calls = self.calls.get(klass, [])
        if not calls:
            return None
        values: list[Value] = []
        for caller_module, call in calls:
            given = self._bind(call, list(entry["fields"]), 0, name, [])
            if given is _MISSING:
                default = entry["defaults"].get(name)
                if default is None:
                    return None
                values.append(Value(module, short, default))
            elif given is None:
                return None
            else:
                values.append(Value(caller_module, call[1], given))
        return values

    def _class_sealed(self, klass: str) -> bool:
        """No code of the run uses the class as a value, subclasses it or calls a
        constructor it inherits (`_make`, `model_validate`)."""
        if klass in self.uses or self._subclassed(klass):
            return False
        where = self.split(klass)
        assert where is not None
        methods = set(self._file(where[0]).get("classes", {}).get(where[1], {}).get("methods", ()))
        prefix = klass + "."
        for callee in self.calls:
            if callee.startswith(prefix) and callee[len(prefix) :] not in methods:
                return False
        return not any(use.startswith(prefix) for use in self.uses)

    def _subclassed(self, klass: str) -> bool:
        return klass in self.bases or klass.rsplit(".", 1)[-1] in self.bases

    @staticmethod
    def _bind(
        call: Sequence[Any], positional: list[str], posonly: int, param: str, keyword: list[str]
    ) -> Any:
        """The descriptor `call` gives `param`; `_MISSING` when it gives none, None when
        unknown (`*args`/`**kwargs` at the call)."""
        _, _, _, args, keywords, star = call
        if star:
            return None
        if param in positional:
            index = positional.index(param)
            if index < len(args):
                return args[index]
            if index >= posonly and param in keywords:
                return keywords[param]
            return _MISSING
        if param in keyword:
            return keywords.get(param, _MISSING)
        return None

    # classification ---------------------------------------------------------------------------

    def per_process(self, value: Value, depth: int = 0) -> bool:
        """The value is one for the process's life (see the module docstring)."""
        return self._per_process(
            value.module, value.scope, value.descriptor, depth, frozenset(), None
        )

    def _per_process(
        self,
        module: str,
        scope: str,
        desc: Sequence[Any],
        depth: int,
        stack: frozenset[str],
        bound: Mapping[str, list[Value]] | None,
    ) -> bool:
        if depth > _DEPTH:
            return False
        kind = desc[0]
        deeper = depth + 1

        def again(d: Sequence[Any]) -> bool:
            return self._per_process(module, scope, d, deeper, stack, bound)

        if kind == "k":
            return True
        if kind in ("s", "o"):
            return all(again(d) for d in desc[1])
        if kind == "g":
            return self._global_per_process(desc[1])
        if kind == "p":
            if bound is not None:
                given = bound.get(desc[1])
                return given is not None and all(
                    self._per_process(v.module, v.scope, v.descriptor, deeper, stack, None)
                    for v in given
                )
            key = f"{module}.{scope}#{desc[1]}"
            if key in stack or not scope or "<" in scope:
                return False
            values = self.parameter(f"{module}.{scope}", desc[1])
            return values is not None and all(
                self._per_process(v.module, v.scope, v.descriptor, deeper, stack | {key}, None)
                for v in values
            )
        if kind == "self":
            return self._self_per_process(desc[1], desc[2], deeper, stack)
        if kind == "a":
            return desc[2] not in self.written and "*" not in self.written and again(desc[1])
        if kind == "m":
            return desc[2] in PURE_METHODS and again(desc[1]) and all(again(d) for d in desc[3])
        if kind == "c":
            args = [*desc[2], *desc[3].values()]
            if not all(again(d) for d in args):
                return False
            if desc[1] in PURE_CALLS:
                return True
            return self._returns_per_process(desc[1], module, scope, desc, deeper, stack)
        return False

    def _global_per_process(self, qualified: str) -> bool:
        found, rest = self._named(qualified)
        if found is None:
            return False
        binding = found[2]
        if binding == _REBOUND:
            return False
        if rest:
            # `Color.RED`, `settings.redis_url`: an attribute nobody writes after start-up
            return (
                all(part not in self.written for part in rest.split("."))
                and "*" not in self.written
            )
        return True

    def _self_per_process(self, klass: str, attr: str, depth: int, stack: frozenset[str]) -> bool:
        key = f"{klass}.{attr}"
        if key in stack or attr in self.written or "*" in self.written:
            return False
        where = self.split(klass)
        if where is None:
            return False
        entry = self._file(where[0]).get("classes", {}).get(where[1])
        if entry is None or attr not in entry["selfs"]:
            return False
        scope = f"{where[1]}.__init__"
        return all(
            self._per_process(where[0], scope, d, depth, stack | {key}, None)
            for d in entry["selfs"][attr]
        )

    def _returns_per_process(
        self,
        callee: str,
        module: str,
        scope: str,
        desc: Sequence[Any],
        depth: int,
        stack: frozenset[str],
    ) -> bool:
        """A function of the run whose every return is per process, given this call's
        (per-process) arguments for its parameters."""
        if callee in stack:
            return False
        where = self.split(callee)
        if where is None:
            return False
        target = (
            self._global(where[0], where[1]) if "." not in where[1] else (where[0], where[1], _DEF)
        )
        if target is None or target[2] != _DEF:
            return False
        file = self._file(target[0])
        entry = file.get("defs", {}).get(target[1])
        returns = file.get("returns", {}).get(target[1])
        if (
            entry is None
            or returns is None
            or entry["decorated"]
            or entry["star"]
            or entry["yields"]
        ):
            return False
        if entry["bound"]:
            return False  # a method's result may depend on its object's state
        bound: dict[str, list[Value]] = {}
        call = [callee, scope, 0, desc[2], desc[3], False]
        every = [*entry["positional"], *entry["keyword"]]
        for param in every:
            given = self._bind(
                call, list(entry["positional"]), entry["posonly"], param, entry["keyword"]
            )
            if given is _MISSING:
                default = entry["defaults"].get(param)
                if default is None:
                    return False
                bound[param] = [Value(target[0], "", default)]
            elif given is None:
                return False
            else:
                bound[param] = [Value(module, scope, given)]
        inner = stack | {callee}
        if not returns:
            return True  # returns None
        return all(self._per_process(target[0], target[1], r, depth, inner, bound) for r in returns)

    def run_function(self, value: Value) -> tuple[str, list[str]] | None:
        """(module, summaries reference) of the run's function `value` names (`["l",
        name]` in its module), through re-exports; None when it names anything else."""
        desc = value.descriptor
        if desc[0] != "g":
            return None
        where = self.split(desc[1])
        if where is None or "." in where[1]:
            return None
        found = self._global(where[0], where[1])
        if found is None or found[2] != _DEF:
            return None
        entry = self._file(found[0]).get("defs", {}).get(found[1])
        if entry is None or entry["decorated"]:
            return None  # a decorator may replace the function with anything
        return found[0], ["l", found[1]]


_MISSING = object()


def _dependencies(project: ProjectIndex, module: str) -> Any:
    """What the findings of `module` may depend on: nothing when the file asks nothing of
    this fact; else the facts of the modules that call into it or that it (or they) name,
    a few hops out, and the run-wide sets of written, replaced and read attribute names."""
    own = project.of(COLLECTOR).get(module)
    if not own or not own.get("asks"):
        return None
    values = argument_values_of(project)
    return None if values is None else values.dependencies(module)


def argument_values_of(project: ProjectIndex | None) -> ArgumentValues | None:
    if project is None:
        return None
    root = project.root
    return project.view(COLLECTOR, lambda facts: ArgumentValues(facts, root))


def argument_values(context: FileContext) -> ArgumentValues | None:
    """The run's argument values (built once per run, when first asked); None when no
    enabled rule asked for the facts."""
    return argument_values_of(context.project)


def parameter_field(
    target: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> list[Value] | None:
    """`spec.normalize` in `function`, with `spec` a parameter annotated with a record
    class of the run (`spec: SourceConfigSpec`) that the function never rebinds: the values
    every construction of the class in the run gives the field (`field`); None otherwise.
    The annotation is trusted (as the summaries trust annotated parameters)."""
    values = argument_values(context)
    if values is None or not isinstance(target, cst.Attribute):
        return None
    receiver = target.value
    if not isinstance(receiver, cst.Name):
        return None
    scope = function_scope(function, context)
    if receiver.value not in scope.params or receiver.value in scope.locals:
        return None
    annotation = next(
        (p.annotation for p in _parameters(function.params) if p.name.value == receiver.value),
        None,
    )
    if annotation is None or not isinstance(annotation.annotation, (cst.Name, cst.Attribute)):
        return None
    klass = qualified_name(annotation.annotation, context)
    return None if klass is None else values.field(klass, target.attr.value)


def key_per_process(
    key: cst.BaseExpression, function: cst.FunctionDef, context: FileContext
) -> bool:
    """A dict key in `function` that is one value per process for every call the run
    makes (LG108: a cache keyed only by such values has a finite key set): built from
    literals and parameters of `function` (a module-level function or a method of a
    module-level class) that no code of the function rebinds, through locals assigned
    once, tuples, conditionals and pure calls (`str`, `tuple`, `os.path.join`), where
    every value the run gives each parameter is per process (`ArgumentValues.per_process`)."""
    values = argument_values(context)
    owner = _direct_owner(function, context)
    if values is None or owner is None:
        return False
    qualname = f"{context.module_name}.{owner}{function.name.value}"
    scope = function_scope(function, context)
    return _key_per_process(key, values, qualname, scope, function, context, 0)


def _key_per_process(
    node: cst.BaseExpression,
    values: ArgumentValues,
    qualname: str,
    scope: FunctionScope,
    function: cst.FunctionDef,
    context: FileContext,
    depth: int,
) -> bool:
    if depth > _DEPTH:
        return False
    again = depth + 1
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)):
        return True
    if isinstance(node, cst.Name):
        name = node.value
        if name in ("True", "False", "None"):
            return True
        if name in scope.params:
            if name in scope.locals:
                return False  # rebound in the function: not only what callers gave
            given = values.parameter(qualname, name)
            return given is not None and all(values.per_process(v) for v in given)
        if name in scope.locals:
            assigned = _assigned_once(function, name)
            return assigned is not None and _key_per_process(
                assigned, values, qualname, scope, function, context, again
            )
        return False
    if isinstance(node, cst.Tuple):
        return all(
            isinstance(e, cst.Element)
            and _key_per_process(e.value, values, qualname, scope, function, context, again)
            for e in node.elements
        )
    if isinstance(node, cst.IfExp):
        return all(
            _key_per_process(b, values, qualname, scope, function, context, again)
            for b in (node.body, node.orelse)
        )
    if isinstance(node, cst.Call):
        callee = context.imports.call_name(node)
        return (
            callee in PURE_CALLS
            and all(a.star == "" and a.keyword is None for a in node.args)
            and all(
                _key_per_process(a.value, values, qualname, scope, function, context, again)
                for a in node.args
            )
        )
    return False


def _assigned_once(function: cst.FunctionDef, name: str) -> cst.BaseExpression | None:
    """The value of `name = value`, when that is the function's only binding of `name`
    (flow-insensitive: a second binding anywhere makes it unknown)."""
    found: list[cst.BaseExpression] = []
    others = 0
    for node in _own_statements(function):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value == name:
                    found.append(node.value)
                elif name in bound_names(target.target):
                    others += 1
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For)) and name in bound_names(
            node.target
        ):
            if isinstance(node, cst.AnnAssign) and node.value is not None:
                found.append(node.value)
            else:
                others += 1
        elif isinstance(node, cst.NamedExpr) and name in bound_names(node.target):
            others += 1
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            others += name in bound_names(node.asname.name)
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            others += name in bound_names(node.name.name)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            others += any(n.name.value == name for n in node.names)
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            others += name in cst.Module([]).code_for_node(node)  # imports are rare here
    return found[0] if len(found) == 1 and not others else None


def _own_statements(function: cst.FunctionDef) -> list[cst.CSTNode]:
    return list(descendants(function.body, stop_at=SCOPE_NODES, only=BINDING_NODES))


def _direct_owner(function: cst.FunctionDef, context: FileContext) -> str | None:
    """`""` for a module-level function, `Class.` for a method of a module-level class;
    None for a nested function (its callers are not in the run's facts)."""
    for statement in context.module.body:
        if statement is function:
            return ""
        if isinstance(statement, cst.ClassDef):
            body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
            if any(s is function for s in body):
                return f"{statement.name.value}."
    return None


def _parameters(params: cst.Parameters) -> list[cst.Param]:
    return [*params.posonly_params, *params.params, *params.kwonly_params]


register_collector(
    FactCollector(
        COLLECTOR,
        # Every file: the closed-world check needs to know each file the run names.
        ("",),
        from_source=collect_source,
        from_tree=collect_tree,
        dependencies=_dependencies,
    )
)
