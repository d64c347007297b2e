"""Where values go after a call makes them: classes whose every instance dies with a call.

An instance dict cache (`self._memo[key] = value` filled in methods) grows for as long as
its object lives. When every construction of the class in the run is a value used and
dropped inside one call (a local, a local container, a closure that does not leave the
call), the cache dies with the request or job that built it: no leak. The run says so
from the constructions, across files:

    instances_die_with_call(context, "RetentionGate")   # a class of the analysed file

A small escape analysis on `ast`, per function, follows each value a construction makes:

- a local name (every use of the name counts, flow-insensitively), a local container it
  is stored or appended into, a `with ... as` target, a `for` over a tracked container,
  `x or y` / `a if c else b`, a tuple or list literal (as a container);
- method calls on the object, attribute writes into it, comparisons, truth tests and
  f-strings keep it in the call; an element read out of the object is another value;
- a closure (lambda or nested `def`) that uses the name has the closure's own fate;
- returned from a module-level function: the value goes wherever that function's calls
  put theirs, in its own file and in every other file of the run that calls it (each
  such file records where its calls' results go); at least one call must exist, and a
  file that names the function without calling it (a re-export, a callback) keeps it;
- passed to a module-level function of the same file or of another module of the run as
  argument `i` or keyword `k`: the fate of that parameter inside the function (for a
  container of it: same file only); an undecorated function only (a decorator such as
  `lru_cache` may keep its arguments);
- returned by a lambda handed to such a function (`make=lambda ws: build(ws)`): where
  that function puts what calling the parameter returns (any other use of the
  parameter hands the callable on: kept);
- stored in Flask's `g` or in `request.state` of a request parameter (annotated
  `Request`, or an unannotated `request`; not `request.app.state`): gone with the request;
- `getattr(obj, "name")` reads as `obj.name`; `setattr(obj, ...)` writes into `obj`;
- the class itself used as a value (`{"vllm": VLLMSelector}` in a function): an element
  read out of the map is the class again, a static or class method called on it makes no
  instance, and calling it makes one whose fate is followed;
- anything else (a module global, `self.x` or any attribute, a class body, a module-level
  call, `yield`, `*args`, an argument to a method or to code outside the run, the class
  returned or passed on as a value (`factory=Cls`, `partial(Cls)`)) may outlive the call.

The class side (recorded by the file that defines it): no method stores or hands on
`self` (a registry of its instances, a bound method given as a callback to anything but
a function of the run that only calls it, `return self` outside `__enter__`); no
`cls(...)`/`type(self)(...)` construction; no metaclass, no decorator but `dataclass`; its
bases are the run's own classes with the same property (or `object`, `ABC`, `Generic`,
`Protocol`); no class of the run subclasses it.

A construction or subclass through a package that re-exports the class under its own
name (`from app.selectors import Selector`) counts as one of the class (`_reexported_as`),
and so does one in the package's own `__init__` (`from .base import Selector`), and one
through a module that re-exports it under another name (`from .base import Selector as
Base`: that file's "renamed").

Limits (each keeps the finding, never silences it): methods returning values made inside
them (their callers' receivers are not resolved), bound methods passed to the object's
own methods, values kept as `self.x` of another object (however short-lived that object
is), code outside the run (a library's public API called by its users; "the run's"
packages are those named by the calling file's own module path) and test modules (not
deployed) are not followed.

Per file: {"made": {class key: "!" (an instance may outlive its call) or [needs]},
"selfs": {class key: [[base keys], [needs]]} for classes whose methods keep no `self`,
"bases": [class keys the file subclasses], "used": [functions the file imports or calls
from other modules; `module.*` for a star import], "results": {another module's function:
"!" or [needs] of its calls' results here}, "params": {function of the file: {position,
keyword, or `()` + either for what calling it returns: "!" or [needs]}}, "renamed":
{`module.Alias`: the run's name the file imports as `Alias`}. A need is a
function of the file whose other callers the run must check (`?` first: the file does
not call it), or an edge into another module's function (`~>f#p`, `~()f#p`).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from leakguard.analysis.project import (
    FactCollector,
    ProjectIndex,
    module_identity,
    register_collector,
)
from leakguard.analysis.summaries import FileSummaryCollector
from leakguard.context import FileContext
from leakguard.triage import TriageTree, dotted, parse_triage

COLLECTOR = "lifetimes"

# Fates of a value, as `_Flow` finds them: dies with the call, may outlive it, returned
# from a function of the file (`<-name`), passed to its parameter (`->name#param`, or
# `=>name#param` inside a container).
LOCAL = ""
KEPT = "!"
_RETURNED = "<-"
_PASSED = "->"
_PASSED_IN_CONTAINER = "=>"
# Edges the run resolves from other files' facts: passed to parameter `param` of another
# module's function (`~>module.function#param`), returned from a function no call of its
# own file uses (`?module.function`: other files must call it).
_EXTERNAL = "~>"
_UNCALLED = "?"
# What calling a parameter returns: `()name#param` (a function of the file),
# `~()module.function#param` (another module's).
_CALLED = "()"
_EXTERNAL_CALLED = "~()"
# Passed to a method of the receiver's own class (`self.skip(self.find)`): followed into
# that method, which holds when no class of the run subclasses the class (`^module.Class`;
# a prefix no other fate starts with: `=>` is a same-file edge the file resolves itself).
_FINAL = "^"

_Function = ast.FunctionDef | ast.AsyncFunctionDef

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
# The node types `_FileFacts._index` treats apart from names and attributes.
_INDEX_SPECIAL = frozenset(
    {
        ast.arg,
        ast.AnnAssign,
        *_SCOPES,
        ast.Import,
        ast.ImportFrom,
        ast.Global,
        ast.Nonlocal,
        ast.ClassDef,
    }
)

# Builtins that look at a value and keep nothing of it.
_INSPECTING = frozenset(
    {
        "isinstance",
        "issubclass",
        "len",
        "id",
        "repr",
        "str",
        "print",
        "type",
        "bool",
        "hash",
        "hasattr",
        "callable",
        "format",
        "int",
        "float",
        "any",
        "all",
        "sum",
        "min",
        "max",
        "super",
    }
)
# Builtins that build a new container of the value's elements.
_COPYING = frozenset(
    {"list", "tuple", "set", "frozenset", "sorted", "reversed", "iter", "enumerate", "zip"}
)
# Container methods that put their argument into the receiver.
_INSERTING = frozenset({"append", "add", "appendleft", "insert", "extend", "update", "setdefault"})
_NEW_CONTAINERS = frozenset(
    {
        "dict",
        "list",
        "set",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.deque",
        "collections.Counter",
    }
)
# Namespaces that live for one request (Flask's and Quart's application-context `g`).
_REQUEST_SCOPED = frozenset({"flask.g", "quart.g"})
# Request types whose `.state` lives for one request (Starlette's, which FastAPI re-exports).
_REQUEST_TYPES = frozenset({"Request", "HTTPConnection", "WebSocket"})
_HARMLESS_BASES = frozenset(
    {"object", "abc.ABC", "typing.Generic", "typing.Protocol", "typing_extensions.Protocol"}
)
_HARMLESS_DECORATORS = frozenset({"dataclass"})
# Annotations whose values are no instance of the run's classes and no callable.
_SCALARS = frozenset({"str", "int", "float", "bool", "bytes", "complex", "None"})
_ENTER = frozenset({"__enter__", "__aenter__"})
# How far a value or a chain of functions is followed before it counts as kept.
_DEEPEST = 60


def collect_source(text: str, display: str) -> dict[str, Any] | None:
    tree = parse_triage(text, display=display)
    return None if tree is None else collect_tree(tree, text, display)


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    from leakguard.analysis.asyncio_facts import is_test_file

    if is_test_file(display):
        return None  # a test's instances do not live in the service
    facts = _FileFacts(tree, *module_identity(display))
    facts.run()
    renamed = facts.renamed()
    if not (facts.made or facts.selfs or facts.bases or facts.used or facts.params or renamed):
        return None
    return {
        "results": {
            key: KEPT if needs is None else sorted(needs)
            for key, needs in sorted(facts.results.items())
        },
        "params": {
            function: {
                param: KEPT if needs is None else sorted(needs)
                for param, needs in sorted(fates.items())
            }
            for function, fates in sorted(facts.params.items())
        },
        "made": {
            key: KEPT if needs is None else sorted(needs)
            for key, needs in sorted(facts.made.items())
        },
        "selfs": {key: [sorted(b), sorted(n)] for key, (b, n) in sorted(facts.selfs.items())},
        "bases": sorted(facts.bases),
        "used": sorted(facts.used),
        "renamed": renamed,
    }


class _FileFacts:
    """One traversal indexes the file (parents, the scope of each node, name loads,
    calls); then each construction, and each class's `self`, is followed."""

    def __init__(self, index: TriageTree, module: str, package: bool = False) -> None:
        self.tree = tree = index.tree
        # The facts pass's index of the tree: child look-ups, not `ast.iter_child_nodes`.
        self.index = index
        self.module = module
        self.imports = FileSummaryCollector(module, package=package)
        self.functions = {s.name: s for s in tree.body if isinstance(s, _FUNCTIONS)}
        self.classes = {s.name: s for s in tree.body if isinstance(s, ast.ClassDef)}
        self.defined = self.functions.keys() | self.classes.keys()
        self.parents: dict[int, ast.AST] = {}
        # (id of the innermost scope, name) -> loads of the name there.
        self.loads: dict[tuple[int, str], list[ast.Name]] = defaultdict(list)
        self.nested: dict[int, list[ast.AST]] = defaultdict(list)  # scope -> inner scopes
        self.stores: dict[int, set[str]] = defaultdict(set)
        self.binds: dict[tuple[int, str], list[ast.Name]] = defaultdict(list)
        self.globals: dict[int, set[str]] = defaultdict(set)
        self.locals: dict[int, set[str]] = {}
        self.loaded: list[ast.expr] = []  # dotted loads, for constructions and references
        # Attribute names written or deleted anywhere (`obj.skip = hook` shadows a method).
        self.attribute_stores: set[str] = set()
        self.calls_of: dict[str, list[ast.Call]] = defaultdict(list)  # of the file's functions
        self.referenced: set[str] = set()  # the file's functions used as values
        self.made: dict[str, set[str] | None] = {}
        self.selfs: dict[str, tuple[set[str], set[str]]] = {}
        self.bases: set[str] = set()
        self.used: set[str] = set()
        # Other files' functions this file calls: where the results go (None: may outlive
        # the call), and the fates of this file's functions' parameters.
        self.results: dict[str, set[str] | None] = {}
        self.params: dict[str, dict[str, set[str] | None]] = {}
        self._resolved: dict[str, set[str] | None] = {}
        self._resolving: set[str] = set()

    def run(self) -> None:
        self._index()
        for node in self.loaded:
            self._record(node)
        for statement in self.tree.body:
            if isinstance(statement, ast.ClassDef):
                self._class(statement)
        for name in self.used:
            if self._in_run(name):
                self.results.setdefault(name, None)  # imported, not called: handed on
        for function in self.functions.values():
            self._parameters(function)

    def renamed(self) -> dict[str, str]:
        """Names of the run bound here under another name (`from .base import Memo as
        FastMemo`): `module.FastMemo` is `app.sel.base.Memo` to the files importing it."""
        return {
            f"{self.module}.{local}": target
            for local, target in sorted(self.imports.aliases.items())
            if target.rsplit(".", 1)[-1] != local and self._in_run(target)
        }

    def _in_run(self, qualified: str) -> bool:
        """`qualified` may name a module of the run: its package is one this file's module
        path names (other packages' functions are not the run's and are never asked)."""
        return qualified.split(".", 1)[0] in self.module.split(".")

    def _parameters(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Where each parameter's value goes, by position and by keyword, for other files
        that pass their values in (`->module.function#param`). A decorated function may
        be wrapped by something that keeps its arguments (`lru_cache`): not recorded.
        Each parameter's flow is the file's own edge (`->f#param`, `()f#param`), resolved
        once in `resolve`'s memo, whether this file's calls or the run ask first. A
        parameter annotated as a scalar (`str`, `int`...) receives no instance and no
        callable: not followed (absent, an edge into it keeps the value)."""
        if function.decorator_list:
            return
        args = function.args
        name = function.name
        fates: dict[str, set[str] | None] = {}
        positional = [*args.posonlyargs, *args.args]
        keywords = len(args.posonlyargs)
        for position, parameter in enumerate([*positional, *args.kwonlyargs]):
            if _scalar(parameter.annotation):
                continue
            param = parameter.arg
            passed = self.resolve({f"{_PASSED}{name}#{param}"})
            called = self.resolve({f"{_CALLED}{name}#{param}"})
            if position < len(positional):
                fates[str(position)] = passed
                fates[_CALLED + str(position)] = called
            if position >= keywords:  # positional only: no keyword reaches it
                fates[param] = passed
                fates[_CALLED + param] = called
        if fates:
            self.params[f"{self.module}.{name}"] = fates

    def _index(self) -> None:
        parents = self.parents
        loads = self.loads
        loaded = self.loaded
        # `self.index.children`, its dictionary read here (a call less per node)
        kids_of = self.index.children_by_id
        # Nodes as `Any`: the loop tells their types by `type(node) is`, which mypy does
        # not follow through a local alias.
        stack: list[tuple[Any, ast.AST | None]] = [(s, None) for s in self.tree.body]
        pop, push_all = stack.pop, stack.extend
        # Every node of the file passes here: one exact-type test sends the common ones
        # (not a name, an attribute, or a node in `_INDEX_SPECIAL`) to their children.
        name_type, attribute_type, load_type = ast.Name, ast.Attribute, ast.Load
        special = _INDEX_SPECIAL
        while stack:
            node, scope = pop()
            kind = type(node)
            # (the parser makes no subclass of these types: `type(x) is` is `isinstance`)
            if kind is name_type:
                key = id(scope)
                if type(node.ctx) is load_type:
                    loads[(key, node.id)].append(node)
                    if type(parents.get(id(node))) is not attribute_type:
                        loaded.append(node)
                else:
                    self.stores[key].add(node.id)
                    self.binds[(key, node.id)].append(node)
                continue
            if kind is attribute_type:
                if type(node.ctx) is not load_type:
                    self.attribute_stores.add(node.attr)
                elif type(parents.get(id(node))) is not attribute_type:
                    loaded.append(node)
            elif kind in special and self._special(node, scope, stack):
                continue
            kids = kids_of(id(node))
            if kids:
                parents.update(zip(map(id, kids), repeat(node)))
                push_all(zip(kids, repeat(scope)))

    def _special(
        self, node: ast.AST, scope: ast.AST | None, stack: list[tuple[Any, ast.AST | None]]
    ) -> bool:
        """`_index` for the node types of `_INDEX_SPECIAL`; True when it pushed onto
        `stack` what is to be indexed below `node` itself (or nothing), so the children
        are not pushed."""
        key = id(scope)
        if isinstance(node, ast.arg):
            return True  # an annotation: it names a type
        if isinstance(node, ast.AnnAssign):
            for part in (node.target, node.value):
                if part is not None:
                    self.parents[id(part)] = node
                    stack.append((part, scope))
            return True
        if isinstance(node, _SCOPES):
            self.nested[key].append(node)
            if isinstance(node, ast.Lambda):
                inner: list[ast.AST] = list(self.index.children(node))
            else:
                self.stores[key].add(node.name)
                # Decorators and defaults run in the enclosing scope; the return
                # annotation names a type.
                for outside in (*node.decorator_list, node.args):
                    self.parents[id(outside)] = node
                    stack.append((outside, scope))
                inner = list(node.body)
            for statement in inner:
                self.parents[id(statement)] = node
                stack.append((statement, node))
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self._import(node)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            self.globals[key].update(node.names)
        elif isinstance(node, ast.ClassDef):
            self.stores[key].add(node.name)
        return False

    def scope_of(self, node: ast.AST) -> ast.AST | None:
        """The innermost function or lambda whose body holds `node` (None: module level
        or a class body)."""
        below, above = node, self.parents.get(id(node))
        while above is not None:
            if isinstance(above, _SCOPES) and below is not above.args:
                if not isinstance(above, ast.Lambda) and any(
                    d is below for d in above.decorator_list
                ):
                    below, above = above, self.parents.get(id(above))
                    continue
                return above
            below, above = above, self.parents.get(id(above))
        return None

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.imports.record_import(node)
        if not isinstance(node, ast.ImportFrom):
            return
        for alias in node.names:
            if alias.name == "*":
                # The module's name as this file resolves it (relative levels included).
                scratch = FileSummaryCollector(self.module, package=self.imports.package)
                scratch.record_import(
                    ast.ImportFrom(module=node.module, names=[ast.alias("_")], level=node.level)
                )
                self.used.add(f"{(scratch.qualify('_') or '_')[:-1]}*")
            elif alias.name[:1].islower() or alias.name[:1] == "_":
                self.used.add(self.imports.qualify(alias.asname or alias.name) or alias.name)

    def other_function(self, func: ast.expr) -> str | None:
        """The qualified name of a function of another module of the run that `func` (a
        call's callee) names, else None."""
        key = self._key(func)
        if key is None or key.startswith(f"{self.module}.") or not self._in_run(key):
            return None
        last = key.rsplit(".", 1)[-1]
        return key if last[:1].islower() or last[:1] == "_" else None

    def _key(self, expr: ast.expr) -> str | None:
        written = dotted(expr)
        if written is None:
            return None
        return self._key_of(written)

    def _key_of(self, written: str) -> str | None:
        """`_key` of an expression written `written` (a dotted name)."""
        if written.split(".", 1)[0] in self.defined:
            return f"{self.module}.{written}"
        return self.imports.qualify(written)

    # -- constructions and references ------------------------------------------------------

    def _record(self, node: ast.expr) -> None:
        """A dotted name (the whole chain): the fates of what a call of a class makes; a
        class handed on as a value makes instances no call site shows; calls of the
        file's own functions are indexed for `_returned`; other modules' functions the
        file uses are recorded for the run."""
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Attribute):
            return  # a prefix of a longer chain
        written = dotted(node)
        if written is None:
            return
        call = parent if isinstance(parent, ast.Call) and parent.func is node else None
        if "." not in written and written in self.functions:
            if call is not None:
                self.calls_of[written].append(call)
            else:
                self.referenced.add(written)
            return
        key = self._key_of(written)  # `_key(node)`, its dotted name already read
        if key is None:
            return
        last = key.rsplit(".", 1)[-1]
        if not last[:1].isupper():
            if "." in written:
                self.used.add(key)
            if self._in_run(key) and key in self.used:
                needs = None if call is None else self.resolve(self.call_fates(call))
                known = self.results.get(key, set())
                self.results[key] = None if needs is None or known is None else known | needs
            return
        if call is not None:
            fates = self.call_fates(call)
            needs = self.resolve(fates)
            known = self.made.get(key, set())
            self.made[key] = None if needs is None or known is None else known | needs
        elif not _inspected_only(node, parent, self.parents):
            # The class as a value (`{"vllm": VLLMSelector}`): where it is called.
            scope = self.scope_of(node)
            needs = None
            if isinstance(scope, _FUNCTIONS):
                needs = self.resolve(_Flow(self, scope, klass=True).value(node, container=False))
            known = self.made.get(key, set())
            self.made[key] = None if needs is None or known is None else known | needs

    def call_fates(self, call: ast.Call) -> set[str]:
        scope = self.scope_of(call)
        if isinstance(scope, ast.Lambda) and scope.body is call:
            return self.lambda_results(scope)
        if not isinstance(scope, _FUNCTIONS):
            return {KEPT}  # module level, a class body, a lambda's result
        return _Flow(self, scope).value(call, container=False)

    def lambda_results(self, lam: ast.Lambda) -> set[str]:
        """Where the values a lambda returns go: a lambda handed as an argument to a
        function of the file or of another module (`make=lambda xs: build(xs)`) returns
        them where that function calls its parameter (`()f#p`, `~()module.f#p`).
        Anywhere else: kept."""
        parent = self.parents.get(id(lam))
        keyword = None
        if isinstance(parent, ast.keyword) and parent.arg is not None:
            keyword, parent = parent.arg, self.parents.get(id(parent))
        if not isinstance(parent, ast.Call) or lam is parent.func:
            return {KEPT}
        if keyword is None:
            if lam not in parent.args or any(isinstance(a, ast.Starred) for a in parent.args):
                return {KEPT}
            keyword = str(parent.args.index(lam))
        func = parent.func
        if isinstance(func, ast.Name) and func.id in self.functions:
            return {f"{_CALLED}{func.id}#{keyword}"}
        target = self.other_function(func)
        return {KEPT} if target is None else {f"{_EXTERNAL_CALLED}{target}#{keyword}"}

    def called_results(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str
    ) -> set[str]:
        """Where the values go that calling parameter `name` returns in `function`; any use
        of the parameter but a call in the function's own body or a comparison (`is None`)
        hands the callable on: kept."""
        fates: set[str] = set()
        scopes: list[ast.AST] = [function]
        while scopes:
            scope = scopes.pop()
            for use in self.loads.get((id(scope), name), ()):
                parent = self.parents.get(id(use))
                if isinstance(parent, ast.Compare):
                    continue
                if scope is not function or not (
                    isinstance(parent, ast.Call) and parent.func is use
                ):
                    return {KEPT}
                fates |= _Flow(self, function).value(parent, container=False)
            scopes.extend(self.nested[id(scope)])
        return fates

    def parameter(self, function: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> str | None:
        """The name of the parameter a call's argument `param` (a position or a keyword)
        binds; None for `*args` and `**kwargs`."""
        args = function.args
        positional = [a.arg for a in [*args.posonlyargs, *args.args]]
        if param.isdigit():
            index = int(param)
            return positional[index] if index < len(positional) else None
        names = positional[len(args.posonlyargs) :] + [a.arg for a in args.kwonlyargs]
        return param if param in names else None

    def resolve(self, fates: set[str]) -> set[str] | None:
        """None: the value may outlive its call; else the file's functions whose callers
        must all be in this file for that to hold."""
        needs: set[str] = set()
        # In a fixed order: a cycle answers None where it is met, and `_resolved` keeps
        # what was found meanwhile, so set order would make the answer vary between runs.
        for fate in sorted(fates):
            if fate == LOCAL:
                continue
            if fate.startswith((_EXTERNAL, _EXTERNAL_CALLED, _FINAL)):
                needs.add(fate)  # another file's function or class: the run resolves it
                continue
            if fate == KEPT or fate in self._resolving or len(self._resolving) > _DEEPEST:
                return None  # kept, a cycle, or a chain too long to follow: keep reporting
            if fate not in self._resolved:
                self._resolving.add(fate)
                self._resolved[fate] = self._resolve_edge(fate)
                self._resolving.discard(fate)
            found = self._resolved[fate]
            if found is None:
                return None
            needs |= found
        return needs

    def _method_calls(self, name: str) -> list[ast.Call] | None:
        """The calls of private method `Class.method`: `self.method(...)` in the class's
        own methods, or in a lambda or nested function inside one that does not rebind
        `self` (`make=lambda ws: self._build(ws)`). None when the file names the method
        any other way (`callback=self.method`, `other.method(...)`): then its callers are
        not all seen. By the private-name convention no other file calls it."""
        class_name, _, method = name.partition(".")
        calls: list[ast.Call] = []
        for node in self.loaded:
            if not isinstance(node, ast.Attribute) or node.attr != method:
                continue
            call = self.parents.get(id(node))
            if not (
                isinstance(call, ast.Call)
                and call.func is node
                and isinstance(node.value, ast.Name)
                and self.receiver_class(node.value.id, self.scope_of(node)) == class_name
            ):
                return None
            calls.append(call)
        return calls

    def receiver_class(self, name: str, scope: ast.AST | None) -> str | None:
        """The module-level class whose method's receiver `name` is, read in `scope`:
        the method's own body, or closures inside it that do not bind `name`."""
        while isinstance(scope, _SCOPES):
            owner = self.parents.get(id(scope))
            if isinstance(scope, _FUNCTIONS) and isinstance(owner, ast.ClassDef):
                if name != _receiver(scope) or name in self.stores[id(scope)]:
                    return None
                return owner.name if owner in self.tree.body else None
            args = scope.args
            parameters = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg]
            if name in self.stores[id(scope)] or any(
                a is not None and a.arg == name for a in [*parameters, args.kwarg]
            ):
                return None  # bound by the closure: another object
            scope = self.scope_of(scope)
        return None

    def own_method(self, func: ast.expr, scope: ast.AST | None) -> tuple[str, _Function] | None:
        """`self.method` in a method of a class of the file (or a closure inside one)
        where `method` is an undecorated instance method the class itself defines: the
        class and the method (`self.method(...)` runs it, unless a subclass overrides it:
        the need `^Class`)."""
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return None
        class_name = self.receiver_class(func.value.id, scope)
        klass = self.classes.get(class_name or "")
        if klass is None or func.attr in self.attribute_stores:
            return None  # written on an instance (`self.skip = hook`): maybe not the method
        # The class body's last binding of the name is what `self.method` finds.
        method = next((s for s in reversed(klass.body) if _binds(s, func.attr)), None)
        if not isinstance(method, _FUNCTIONS) or method.decorator_list or _receiver(method) is None:
            return None
        return f"{_FINAL}{self.module}.{klass.name}", method

    def _resolve_edge(self, fate: str) -> set[str] | None:
        if fate.startswith(_RETURNED):
            name = fate[len(_RETURNED) :]
            calls = self._method_calls(name) if "." in name else self.calls_of.get(name, [])
            if name in self.referenced:
                return None  # handed on: its callers are not seen
            if not calls:
                # A private method never called, or a function only other files may call:
                # the run must show at least one caller (`_UNCALLED`).
                return None if "." in name else {f"{_UNCALLED}{self.module}.{name}"}
            fates: set[str] = set()
            for call in calls:
                fates |= self.call_fates(call)
            needs = self.resolve(fates)
            if needs is None or "." in name:
                return needs
            return needs | {f"{self.module}.{name}"}
        called = fate.startswith(_CALLED)
        container = fate.startswith(_PASSED_IN_CONTAINER)
        name, _, param = fate[len(_PASSED) :].partition("#")
        function = self.functions[name]
        parameter = self.parameter(function, param)
        if parameter is None or function.decorator_list:
            return None  # into `*args` or `**kwargs`, or through a decorator
        if parameter != param:  # by position: the same flow as by keyword, memoised once
            return self.resolve({f"{fate[: len(_PASSED)]}{name}#{parameter}"})
        if called:
            return self.resolve(self.called_results(function, parameter))
        return self.resolve(_Flow(self, function).uses(parameter, container))

    # -- classes ---------------------------------------------------------------------------

    def _class(self, classdef: ast.ClassDef) -> None:
        key = f"{self.module}.{classdef.name}"
        bases: set[str] = set()
        for base in classdef.bases:
            qualified = self._key(base)
            if qualified is not None:
                self.bases.add(qualified)
                if qualified not in _HARMLESS_BASES:
                    bases.add(qualified)
            elif dotted(base) != "object":
                return  # a base this file cannot name
        needs = self._self_needs(classdef)
        if needs is not None:
            self.selfs[key] = (bases, needs)

    def _self_needs(self, classdef: ast.ClassDef) -> set[str] | None:
        """Where the class's methods put `self` (None: somewhere it may outlive a call)."""
        if classdef.keywords or any(
            (dotted(d.func if isinstance(d, ast.Call) else d) or "").rsplit(".", 1)[-1]
            not in _HARMLESS_DECORATORS
            for d in classdef.decorator_list
        ):
            return None  # a metaclass or a class decorator may register the class
        methods = frozenset(s.name for s in classdef.body if isinstance(s, _FUNCTIONS))
        fates: set[str] = set()
        for method in classdef.body:
            if not isinstance(method, _FUNCTIONS):
                continue
            receiver = _receiver(method)
            if _builds_own_class(self.index, method, receiver):
                return None
            if receiver is not None:
                fates |= _Flow(self, method, bound=methods).uses(receiver, container=False)
        return self.resolve(fates)


@dataclass
class _Flow:
    """Fates of values inside one function (`function`), nested closures included."""

    facts: _FileFacts
    function: ast.FunctionDef | ast.AsyncFunctionDef
    # Tracking `self`: method names whose unbound attribute load is a bound method.
    bound: frozenset[str] | None = None
    # Tracking a class handed on as a value (`{"a": ClsA}`): where it is called.
    klass: bool = False
    seen: set[tuple[str, bool]] = field(default_factory=set)
    depth: int = 0

    def _locals(self) -> set[str]:
        """Names the function binds itself (not parameters, not globals)."""
        key = id(self.function)
        known = self.facts.locals.get(key)
        if known is None:
            args = self.function.args
            params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
            known = self.facts.locals[key] = (
                self.facts.stores[key] - params - self.facts.globals[key]
            )
        return known

    def uses(self, name: str, container: bool) -> set[str]:
        """Fates of the value held by `name` in this function (a local or a parameter)."""
        if (name, container) in self.seen:
            return set()
        self.seen.add((name, container))
        fates: set[str] = set()
        # (scope, the closure directly inside the function that holds it, if any)
        scopes: list[tuple[ast.AST, ast.AST | None]] = [(self.function, None)]
        while scopes:
            scope, closure = scopes.pop()
            for use in self.facts.loads.get((id(scope), name), ()):
                fates |= self.value(use, container)
                if closure is not None:  # captured: it lives as long as the closure
                    fates |= self._closure(closure)
            scopes.extend((inner, closure or inner) for inner in self.facts.nested[id(scope)])
        return fates or {LOCAL}

    def _closure(self, closure: ast.AST) -> set[str]:
        if isinstance(closure, ast.Lambda):
            return self.value(closure, container=False)
        if isinstance(closure, _FUNCTIONS) and not closure.decorator_list:
            return self._name(closure.name, container=False)
        return {KEPT}

    def _name(self, name: str, container: bool) -> set[str]:
        if name not in self._locals():
            return {KEPT}
        return self.uses(name, container)

    def value(self, node: ast.AST, container: bool) -> set[str]:
        """Fates of the value `node` evaluates to, from where it is used. A chain of
        aliases too long to follow (generated code) keeps the value, and no recursion
        error drops the file's facts (a lost record could only silence findings)."""
        if self.depth > _DEEPEST:
            return {KEPT}
        self.depth += 1
        try:
            return self._value(node, container)
        finally:
            self.depth -= 1

    def _value(self, node: ast.AST, container: bool) -> set[str]:
        parent = self.facts.parents.get(id(node))
        if parent is None:
            return {KEPT}
        if self.facts.scope_of(node) is not self.function and isinstance(
            parent, (ast.Return, ast.Lambda)
        ):
            return {KEPT}  # the closure's own result: its callers are not followed
        if self.klass:
            as_class = self._class_value(node, parent, container)
            if as_class is not None:
                return as_class
        if isinstance(parent, ast.Expr):
            return {LOCAL}
        if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            if parent.value is not node:
                return {LOCAL}
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            fates: set[str] = set()
            for target in targets:
                fates |= self._target(target, container)
            if isinstance(parent, ast.NamedExpr):
                fates |= self.value(parent, container)
            return fates
        if isinstance(parent, ast.Return):
            if self.bound is not None and self.function.name in _ENTER:
                return {LOCAL}  # `with Cls() as x`: the `as` target is followed
            if self.bound is None and self.facts.functions.get(self.function.name) is self.function:
                return {f"{_RETURNED}{self.function.name}"}
            owner = self.facts.parents.get(id(self.function))
            name = self.function.name
            if (
                self.bound is None
                and isinstance(owner, ast.ClassDef)
                and name.startswith("_")
                and not name.endswith("__")
                and _receiver(self.function) is not None
            ):
                return {f"{_RETURNED}{owner.name}.{name}"}  # a private method
            return {KEPT}
        if isinstance(parent, ast.Attribute):
            if not isinstance(parent.ctx, ast.Load):
                return {LOCAL}  # a write into the object
            grand = self.facts.parents.get(id(parent))
            if isinstance(grand, ast.Call) and grand.func is parent:
                return self.value(grand, container=True) if container else {LOCAL}
            if self.bound is not None and parent.attr not in self.bound:
                return {LOCAL}  # a value the object holds, not the object
            return self.value(parent, container)  # a bound method keeps its object
        if isinstance(parent, ast.Subscript):
            if parent.value is node:
                if not isinstance(parent.ctx, ast.Load):
                    return {LOCAL}
                return self.value(parent, container=True) if container else {LOCAL}
            if isinstance(parent.ctx, ast.Store):  # a key of a container
                return self._holder(parent.value)
            return {LOCAL}
        if isinstance(parent, ast.Call):
            if parent.func is node:
                return {LOCAL}
            return self._argument(parent, node, container)
        if isinstance(parent, ast.keyword):
            call = self.facts.parents.get(id(parent))
            if isinstance(call, ast.Call) and parent.arg is not None:
                return self._argument(call, node, container, parent.arg)
            return {KEPT}
        if isinstance(parent, (ast.Compare, ast.FormattedValue, ast.Assert)):
            return {LOCAL}
        if isinstance(parent, ast.UnaryOp):
            return {LOCAL} if isinstance(parent.op, ast.Not) else {KEPT}
        if isinstance(parent, (ast.If, ast.While)):
            return {LOCAL}  # only its test is a value
        if isinstance(parent, ast.IfExp):
            return {LOCAL} if parent.test is node else self.value(parent, container)
        if isinstance(parent, (ast.BoolOp, ast.Await)):
            return self.value(parent, container)
        if isinstance(parent, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
            return self.value(parent, container=True)
        if isinstance(parent, ast.withitem):
            alias = parent.optional_vars
            return {LOCAL} if alias is None else self._target(alias, container)
        if isinstance(parent, (ast.For, ast.AsyncFor)) and parent.iter is node:
            if not container:
                return {LOCAL}
            names = [n for n in ast.walk(parent.target) if isinstance(n, ast.Name)]
            return set().union(*(self._name(n.id, container=True) for n in names))
        if isinstance(parent, ast.comprehension) and parent.iter is node:
            return {KEPT} if container else {LOCAL}
        return {KEPT}

    def _class_value(self, node: ast.AST, parent: ast.AST, container: bool) -> set[str] | None:
        """Where a class (or a container of classes) used as a value goes, where that
        differs from an object: calling it makes an instance, whose fates are followed;
        an element read out of a container is the class again; a static or class method
        called on it makes none (the class side vetoes `cls(...)`). Returned, passed on or
        anything else not followed: kept. None: as for an object."""
        if isinstance(parent, ast.Call):
            if parent.func is not node:
                if isinstance(parent.func, ast.Name) and parent.func.id in _INSPECTING:
                    return None
                return {KEPT}
            if container:
                return {KEPT}
            return _Flow(self.facts, self.function).value(parent, container=False)
        if isinstance(parent, ast.Attribute):
            if not isinstance(parent.ctx, ast.Load):
                return {KEPT}  # a class attribute written: other code may read it
            grand = self.facts.parents.get(id(parent))
            if not (isinstance(grand, ast.Call) and grand.func is parent):
                return {KEPT}  # a method or attribute handed on
            if not container:
                return {LOCAL}
            return self.value(grand, container=False) if parent.attr == "get" else {KEPT}
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if not isinstance(parent.ctx, ast.Load) or not container:
                return {KEPT}  # `Cls[int]` is a generic alias that makes instances
            return self.value(parent, container=False)
        if isinstance(
            parent, (ast.Return, ast.keyword, ast.withitem, ast.Await, ast.For, ast.AsyncFor)
        ):
            return {KEPT}
        if isinstance(parent, ast.comprehension):
            return {KEPT}
        return None

    def _target(self, target: ast.expr, container: bool) -> set[str]:
        if isinstance(target, ast.Name):
            return self._name(target.id, container)
        if isinstance(target, ast.Subscript):
            return self._holder(target.value)
        if isinstance(target, ast.Attribute) and self._request_scoped(target.value):
            return {LOCAL}  # `flask.g.x = value`: gone with the request
        return {KEPT}

    def _holder(self, holder: ast.expr) -> set[str]:
        """The value went into `holder` (a container): it lives as long as that does,
        when the container is the function's own (every binding of the name makes a new
        one); a name bound to an existing container (`cache = CACHE`) may be anything."""
        if not isinstance(holder, ast.Name) or holder.id not in self._locals():
            return {KEPT}
        for bound in self.facts.binds.get((id(self.function), holder.id), ()):
            statement = self.facts.parents.get(id(bound))
            if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or not self._fresh(
                statement.value
            ):
                return {KEPT}
        return self._name(holder.id, container=True)

    def _fresh(self, value: ast.expr | None) -> bool:
        """A new container, or the request's own (`flask.g.setdefault("memo", {})`)."""
        if isinstance(
            value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
        ):
            return True
        if not isinstance(value, ast.Call):
            return False
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr in ("setdefault", "get"):
            return self._request_scoped(func.value)
        qualified = self.facts.imports.qualify(dotted(func) or "") or dotted(func)
        return qualified in _NEW_CONTAINERS

    def _request_scoped(self, namespace: ast.expr) -> bool:
        """Flask's `g`, or Starlette's `request.state` of a request parameter (not
        `request.app.state`, which lives as long as the app)."""
        if self.facts.imports.qualify(dotted(namespace) or "") in _REQUEST_SCOPED:
            return True
        if not (
            isinstance(namespace, ast.Attribute)
            and namespace.attr == "state"
            and isinstance(namespace.value, ast.Name)
        ):
            return False
        name = namespace.value.id
        scope: ast.AST | None = self.function
        while isinstance(scope, _SCOPES):
            if name in self.facts.stores[id(scope)]:
                return False  # bound here (`request = request.app`): maybe not the request
            args = scope.args
            for parameter in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if parameter.arg == name:
                    return _is_request_parameter(parameter)
            scope = self.facts.scope_of(scope)
        return False

    def _reflective(self, call: ast.Call, node: ast.AST, container: bool) -> set[str]:
        """`getattr(obj, "name"[, default])` reads an attribute as `obj.name` does;
        `setattr(obj, name, value)` writes into `obj`. The value handed to `setattr` (or
        used as a default) goes wherever that object goes: may outlive the call."""
        args = call.args
        if call.keywords or not args or args[0] is not node:
            return {KEPT}
        if isinstance(call.func, ast.Name) and call.func.id == "setattr":
            return {LOCAL}
        attribute = args[1] if len(args) > 1 else None
        if self.bound is not None and not (
            isinstance(attribute, ast.Constant) and attribute.value in self.bound
        ):
            if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str):
                return {LOCAL}  # a value the object holds, not a bound method
            return {KEPT}  # a name chosen at run time may be a method
        return self.value(call, container)

    def _argument(
        self, call: ast.Call, node: ast.AST, container: bool, keyword: str | None = None
    ) -> set[str]:
        func = call.func
        if isinstance(func, ast.Name) and func.id not in self.facts.defined:
            if func.id in _INSPECTING and self.facts.imports.qualify(func.id) is None:
                return {LOCAL}
            if func.id in ("getattr", "setattr") and self.facts.imports.qualify(func.id) is None:
                return self._reflective(call, node, container)
            if func.id in _COPYING and self.facts.imports.qualify(func.id) is None:
                return self.value(call, container=True) if container else {LOCAL}
        if isinstance(func, ast.Attribute) and func.attr in _INSERTING:
            fates = self._holder(func.value)
            if func.attr == "setdefault":
                fates |= self.value(call, container)
            return fates
        if keyword is None:
            if node not in call.args:
                return {KEPT}  # *args
            position = next(i for i, a in enumerate(call.args) if a is node)
            if any(isinstance(a, ast.Starred) for a in call.args[:position]):
                return {KEPT}
            name = str(position)
        else:
            name = keyword
        own = self.facts.own_method(func, self.facts.scope_of(call))
        if own is not None:
            final, method = own
            parameter = self.facts.parameter(method, str(int(name) + 1) if name.isdigit() else name)
            if parameter is None or parameter == _receiver(method):
                return {KEPT}
            flow = _Flow(self.facts, method, depth=self.depth + 1)
            return {final, *flow.uses(parameter, container)}
        if not isinstance(func, ast.Name) or func.id not in self.facts.functions:
            target = None if container else self.facts.other_function(func)
            if target is None:
                return {KEPT}  # a method, a class, code outside the run: may keep it
            return {f"{_EXTERNAL}{target}#{name}"}
        marker = _PASSED_IN_CONTAINER if container else _PASSED
        return {f"{marker}{func.id}#{name}"}


def _binds(statement: ast.stmt, name: str) -> bool:
    """`statement` of a class body binds `name` (a `def`, an assignment, an import, a
    `def` under an `if`...)."""
    if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
        return statement.name == name
    for node in ast.walk(statement):
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name) == name:
            return True
    return False


def _scalar(annotation: ast.expr | None) -> bool:
    """An annotation naming only builtin scalars (`str`, `int | None`, `Optional[bytes]`):
    no instance of a class of the run and no callable is passed there."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _scalar(annotation.left) and _scalar(annotation.right)
    if isinstance(annotation, ast.Subscript) and dotted(annotation.value) in (
        "Optional",
        "typing.Optional",
    ):
        return _scalar(annotation.slice)
    if isinstance(annotation, ast.Constant):
        return annotation.value is None
    return isinstance(annotation, ast.Name) and annotation.id in _SCALARS


def _is_request_parameter(parameter: ast.arg) -> bool:
    """A parameter annotated as a Starlette/FastAPI request (`Request`), or an
    unannotated one named `request`."""
    annotation = parameter.annotation
    if annotation is None:
        return parameter.arg == "request"
    written = dotted(annotation) or ""
    return written.rsplit(".", 1)[-1] in _REQUEST_TYPES


def _inspected_only(node: ast.expr, parent: ast.AST | None, parents: Mapping[int, ast.AST]) -> bool:
    """A class named in `isinstance`/`issubclass`/`super`, an `except` clause or a base
    list: no instance is made or handed on."""
    if isinstance(parent, ast.Tuple):
        node, parent = parent, parents.get(id(parent))
    if isinstance(parent, ast.ExceptHandler):
        return True
    if isinstance(parent, ast.ClassDef):
        return node in parent.bases
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and (
            (
                parent.func.id in ("isinstance", "issubclass")
                and len(parent.args) > 1
                and parent.args[1] is node
            )
            or parent.func.id == "super"
        )
    )


def _receiver(method: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for decorator in method.decorator_list:
        name = dotted(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
        if name.rsplit(".", 1)[-1] in ("staticmethod", "classmethod"):
            return None
    if method.name in ("__new__", "__init_subclass__", "__class_getitem__"):
        return None
    params = [*method.args.posonlyargs, *method.args.args]
    return params[0].arg if params else None


def _builds_own_class(
    index: TriageTree, method: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str | None
) -> bool:
    """`cls(...)` in a class method, `type(self)(...)`, `self.__class__(...)`: instances
    made where no call site of the class's name shows them."""
    params = [*method.args.posonlyargs, *method.args.args]
    first = params[0].arg if params and receiver is None else None
    # Each shape needs a name the file calls or reads somewhere: most files have none,
    # and then no method's subtree is walked.
    called = index.called
    if first not in called and "type" not in called and "__class__" not in index.attributes:
        return False
    for node in index.scope_nodes([method], ()):
        if type(node) is not ast.Call:  # the parser makes no subclass of `Call`
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == first:
            return True
        if isinstance(func, ast.Call) and dotted(func.func) == "type":
            return True
        if isinstance(func, ast.Attribute) and func.attr == "__class__":
            return True
    return False


# -- the run ---------------------------------------------------------------------------------


def _names(a: str, b: str) -> bool:
    """One name is the other or a dotted suffix of it: files are named from their path in
    the run, imports from the package root."""
    a, b = a.lstrip("."), b.lstrip(".")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def _reexported_as(made: str, key: str) -> bool:
    """`made` may be class `key` reached through a package that re-exports it
    (`app.selectors.Selector` for `app.selectors.base.Selector`): the same class name, and
    a package of the class's module names it. Matched so that such a construction, or a
    subclass written so, counts (either may keep an instance)."""
    made_module, _, made_name = made.lstrip(".").rpartition(".")
    key_module, _, key_name = key.lstrip(".").rpartition(".")
    # `.app.selectors.` within `.app.selectors.base`: a package above the module.
    return bool(made_module) and made_name == key_name and f".{made_module}." in f".{key_module}"


def _renamed_to(
    key: str, renamed: Mapping[str, str], by_last: Mapping[str, list[str]]
) -> list[str]:
    """The keys `key` names through renaming re-exports (`app.sel.FastMemo` ->
    `app.sel.base.Memo`), followed a few steps."""
    found: list[str] = []
    for _ in range(8):
        aliases = by_last.get(key.rsplit(".", 1)[-1], ())
        targets = [renamed[alias] for alias in aliases if _names(key, alias)]
        if not targets or targets[0] in found:
            return found
        key = targets[0]
        found.append(key)
    return found


def _by_last(keys: Mapping[str, Any]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        index[key.rsplit(".", 1)[-1]].append(key)
    return dict(index)


@dataclass
class _Lifetimes:
    made: dict[str, frozenset[str] | None]
    selfs: dict[str, tuple[frozenset[str], frozenset[str]]]
    bases: frozenset[str]
    blocked: frozenset[str]
    stars: frozenset[str]
    # Per function of the run, what each other file's calls do with its result.
    results: dict[str, list[frozenset[str] | None]] = field(default_factory=dict)
    params: dict[str, dict[str, frozenset[str] | None]] = field(default_factory=dict)
    made_index: dict[str, list[str]] = field(default_factory=dict)
    selfs_index: dict[str, list[str]] = field(default_factory=dict)
    blocked_index: dict[str, list[str]] = field(default_factory=dict)
    results_index: dict[str, list[str]] = field(default_factory=dict)
    params_index: dict[str, list[str]] = field(default_factory=dict)
    _checked: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def build(cls, facts: Mapping[str, Any]) -> _Lifetimes:
        made: dict[str, set[str] | None] = {}
        selfs: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        bases: set[str] = set()
        used: set[str] = set()
        blocked: set[str] = set()
        results: dict[str, list[frozenset[str] | None]] = defaultdict(list)
        params: dict[str, dict[str, frozenset[str] | None]] = {}
        renamed: dict[str, str] = {}
        for fact in facts.values():
            if not isinstance(fact, dict):
                continue
            renamed.update(fact.get("renamed", {}))
            for key, needs in fact.get("made", {}).items():
                known = made.get(key, set())
                made[key] = None if needs == KEPT or known is None else known | set(needs)
            for key, (base_keys, needs) in fact.get("selfs", {}).items():
                selfs[key] = (frozenset(base_keys), frozenset(needs))
            bases.update(fact.get("bases", ()))
            used.update(fact.get("used", ()))
            blocked.update(set(fact.get("used", ())) - set(fact.get("results", {})))
            for key, needs in fact.get("results", {}).items():
                results[key].append(None if needs == KEPT else frozenset(needs))
            for key, fates in fact.get("params", {}).items():
                params[key] = {
                    p: None if needs == KEPT else frozenset(needs) for p, needs in fates.items()
                }
        # A construction or subclass through a renaming re-export is also one of the
        # class it names (the original key is kept too).
        by_last = _by_last(renamed)
        for key, needs in list(made.items()):
            for target in _renamed_to(key, renamed, by_last):
                known = made.get(target, set())
                made[target] = None if needs is None or known is None else known | needs
        bases.update(t for base in list(bases) for t in _renamed_to(base, renamed, by_last))
        stars = frozenset(u[:-2] for u in used if u.endswith(".*"))
        lifetimes = cls(
            {k: None if v is None else frozenset(v) for k, v in made.items()},
            selfs,
            frozenset(bases),
            frozenset(u for u in blocked if not u.endswith("*")),
            stars,
            dict(results),
            params,
        )
        lifetimes.made_index = _by_last(lifetimes.made)
        lifetimes.selfs_index = _by_last(lifetimes.selfs)
        lifetimes.blocked_index = _by_last(dict.fromkeys(lifetimes.blocked))
        lifetimes.results_index = _by_last(lifetimes.results)
        lifetimes.params_index = _by_last(lifetimes.params)
        return lifetimes

    def _holds(self, need: str, stack: tuple[str, ...]) -> bool:
        """A need of a construction (see `_FileFacts.resolve`) holds across the run: the
        function's callers in other files use its result in the call too (`?`: and
        there is one), or another file's function keeps nothing of the parameter."""
        known = self._checked.get(need)
        if known is not None:
            return known
        if need in stack or len(stack) > _DEEPEST:
            return False  # a cycle, or a chain too long to follow: keep reporting
        stack = (*stack, need)
        if need.startswith(_FINAL):
            key = need[len(_FINAL) :]
            held = not any(_names(key, base) or _reexported_as(base, key) for base in self.bases)
        elif need.startswith((_EXTERNAL, _EXTERNAL_CALLED)):
            called = need.startswith(_EXTERNAL_CALLED)
            function, _, param = need[len(_EXTERNAL_CALLED if called else _EXTERNAL) :].partition(
                "#"
            )
            if called:
                param = _CALLED + param
            found = [
                self.params[k]
                for k in self.params_index.get(function.rsplit(".", 1)[-1], ())
                if _names(k, function)
            ]
            held = len(found) == 1 and self._all_hold(found[0].get(param), stack)
        else:
            uncalled = need.startswith(_UNCALLED)
            function = need.removeprefix(_UNCALLED)
            module = function.rsplit(".", 1)[0]
            callers = [
                needs
                for k in self.results_index.get(function.rsplit(".", 1)[-1], ())
                if _names(k, function)
                for needs in self.results[k]
            ]
            held = (
                not any(_names(module, star) for star in self.stars)
                and not (uncalled and not callers)
                and all(self._all_hold(needs, stack) for needs in callers)
                and not self._is_used_uncalled(function)
            )
        if len(stack) == 1:
            self._checked[need] = held
        return held

    def _all_hold(self, needs: frozenset[str] | None, stack: tuple[str, ...]) -> bool:
        return needs is not None and all(self._holds(n, stack) for n in needs)

    def _is_used_uncalled(self, function: str) -> bool:
        """A file uses `function` and recorded no result for it (a package its module
        path does not name, `_FileFacts._in_run`): its callers are not all seen."""
        last = function.rsplit(".", 1)[-1]
        return any(_names(function, u) for u in self.blocked_index.get(last, ()))

    def _self_needs(self, key: str, stack: tuple[str, ...]) -> set[str] | None:
        if key in stack or len(stack) > 8:
            return None
        found = [k for k in self.selfs_index.get(key.rsplit(".", 1)[-1], ()) if _names(k, key)]
        if not found:
            return None  # the class is not the run's, or a method keeps `self`
        needs: set[str] = set()
        for name in found:
            base_keys, own = self.selfs[name]
            needs |= own
            for base in base_keys:
                inherited = self._self_needs(base, (*stack, key))
                if inherited is None:
                    return None
                needs |= inherited
        return needs

    def instances_die_with_call(self, key: str) -> bool:
        if any(_names(key, base) or _reexported_as(base, key) for base in self.bases):
            return False  # a subclass makes instances no construction of `key` shows
        found = [
            k
            for k in self.made_index.get(key.rsplit(".", 1)[-1], ())
            if _names(k, key) or _reexported_as(k, key)
        ]
        if not found:
            return False  # never built in the run: its users are not seen
        needs: set[str] = set()
        for name in found:
            made = self.made[name]
            if made is None:
                return False
            needs |= made
        own = self._self_needs(key, ())
        if own is None:
            return False
        return all(self._holds(need, ()) for need in needs | own)


def _lifetimes(project: ProjectIndex | None) -> _Lifetimes | None:
    return None if project is None else project.view(COLLECTOR, _Lifetimes.build)


def instances_die_with_call(context: FileContext, class_name: str) -> bool:
    """Every instance of the module-level class `class_name` of the analysed file that the
    run makes dies with the call that made it (see the module's docstring)."""
    lifetimes = _lifetimes(context.project)
    if lifetimes is None:
        return False
    return lifetimes.instances_die_with_call(f"{context.module_name}.{class_name}")


register_collector(
    FactCollector(
        COLLECTOR,
        # `as`: a file of imports only may re-export a class under another name.
        ("(", " as "),
        from_source=collect_source,
        from_tree=collect_tree,
    )
)
