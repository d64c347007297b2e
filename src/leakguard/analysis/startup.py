"""Start-up reach across the run: functions that only a process's start-up runs.

Collected once per file from its `ast` (the facts pass's parse) and merged across the run
(`analysis/project.py`). For each file the collector records:

- *roots*: functions that run once per process by what they are: an entry point
  (`main`/`cli`, a command of a command-line framework), a life-cycle hook by decorator
  (`@app.on_event("startup")`, `@app.before_serving`, a `lifespan` context manager, ...);
- *references*: every mention of a possible function of the run (a name, `self.f`,
  `module.f`, `instance.method` of a local built from a class) with the function that
  makes it and how: `call` (called, outside loops), `repeat` (called in a `for`/`while`
  loop, a comprehension or a lambda: any number of times, maybe forever), `root` (handed
  over as an entry: `parser.set_defaults(func=f)`, `Process(target=f)`, `lifespan=f`,
  `on_startup=[f]`, `add_event_handler("startup", f)`, `app.router.on_startup.append(f)`,
  a call in the `__main__` block), `spawn` (a call whose coroutine `create_task`,
  `ensure_future` or `start_soon` makes a task of: it runs beside the requests served
  next, not before them) or `value` (anything else: a callback, a registration, a
  decorator: it may run at any time);
- *methods*: calls of `.m(...)` on a receiver the collector cannot tell (per method
  name): whoever makes them may be calling the method of a class of the run;

A loop over a literal list of functions that calls each element once
(`for step in [self._init_user, self._init_cluster]: await step(session)`) calls each
element once: its elements count as `call`, not `value`.

A function under a decorator other than `staticmethod`/`classmethod` may be registered by
it and run at any time, unless the decorator is a retry (`tenacity.retry`,
`backoff.on_exception`, ... by qualified name): a retried body runs only inside a call of
its name, so the name's callers are its callers.

An entry point by name (`main`) is a root for its own module's uses only: another
module's references to it must pass like any function's.

`startup_only(function, context)`: every path to the function starts at a root, through
calls made outside loops, in functions that themselves only start-up reaches; no request
handler of the run reaches it; nothing passes it around as a value. What runs there
runs once per process, before (or after) the requests it serves.
"""

from __future__ import annotations

import ast
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import libcst as cst

from leakguard.analysis.imports import ast_import_bindings
from leakguard.analysis.project import (
    FactCollector,
    ProjectIndex,
    facts_digest,
    module_identity,
    register_collector,
)
from leakguard.analysis.run_modules import production_modules
from leakguard.analysis.summaries import MAX_SUPPORTED_DEPTH, SummaryIndex, summaries_of
from leakguard.context import FileContext
from leakguard.triage import TriageTree
from leakguard.triage import dotted as ast_dotted

COLLECTOR = "startup"
_STDLIB = frozenset(sys.stdlib_module_names)

_MAIN_NAMES = frozenset({"main", "cli", "_main", "run_cli"})
_CLI_MODULES = frozenset({"click", "asyncclick", "rich_click", "cloup", "typer"})
_CLI_DECORATORS = frozenset({"command", "group"})
# Decorators of one-shot life-cycle hooks (Flask/Quart/Sanic), by last name.
_ONE_SHOT_DECORATORS = frozenset(
    {"before_first_request", "before_serving", "after_serving", "on_startup", "on_shutdown"}
)
_LIFECYCLE_EVENTS = frozenset(
    {
        "startup",
        "shutdown",
        "before_server_start",
        "after_server_start",
        "before_server_stop",
        "after_server_stop",
    }
)
# Callers up that start-up reach follows: a process's start-up nests deeper than the calls
# a finding names (`cli` -> `run_worker` -> `Worker.start` -> `start_async` -> `_register`
# -> `register_with_server` -> `_register_worker` is seven).
STARTUP_DEPTH = 10
# Decorators that leave a method a plain method (anything else may register it).
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod"})
# Retry decorators (qualified): the body runs only inside a call of the decorated name,
# however many attempts that call makes, so the name's callers are the body's: a retried
# registration called by start-up code is start-up code.
_RETRY_DECORATORS = frozenset(
    {
        "tenacity.retry",
        "backoff.on_exception",
        "backoff.on_predicate",
        "retrying.retry",
        "retry.retry",
        "stamina.retry",
    }
)
# (call's last name, keyword): the keyword's value is handed over as a process's entry:
# argparse's sub-command idiom (`parser.set_defaults(func=run)`, then `args.func(args)`
# once per invocation) and a new process's target (`multiprocessing.Process(target=f)`).
PROCESS_HANDOFFS = (("set_defaults", "func"), ("Process", "target"))
# ... or as a process's entry or a life-cycle hook, run once.
_HANDOFF_KEYWORDS = frozenset(
    {
        *PROCESS_HANDOFFS,
        ("", "lifespan"),
        ("", "on_startup"),
        ("", "on_shutdown"),
    }
)
# Calls that run the coroutine function they are handed (at that position) to the end on
# an event loop of their own, in another thread (fsspec's I/O loop), not on the caller's:
# blocking there stalls no loop that serves requests.
_OWN_LOOP_RUNNERS = {"fsspec.asyn.sync": 1, "gradio_client.utils.synchronize_async": 0}
OWN_LOOP = "own loop"
# Calls that schedule the coroutine they are handed as a task of the running loop and
# return at once: it runs beside whatever the process does next (serving requests), not
# before it, even when start-up code spawns it.
_SPAWNERS = frozenset({"create_task", "ensure_future", "start_soon"})
# Methods that add to a collection of hooks (`app.router.on_startup.append(f)`).
_APPENDS = frozenset({"append", "extend", "insert"})
_LOOPS = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Lambda,
)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# The same as sets of exact types, for `_code`'s per-node dispatch.
_LOOP_TYPES: frozenset[type[ast.AST]] = frozenset(_LOOPS)
_FUNCTION_TYPES: frozenset[type[ast.AST]] = frozenset(_FUNCTIONS)
_FOR_TYPES: frozenset[type[ast.AST]] = frozenset({ast.For, ast.AsyncFor})
# The owner of module-level code and of the `__main__` block.
MODULE = ""
MAIN = "__main__"
# The root a function is by its name alone (`main`, `cli`).
ENTRY_POINT = "entry point"


# -- collection -----------------------------------------------------------------------


def collect_tree(tree: TriageTree, text: str, display: str) -> dict[str, Any] | None:
    """The start-up facts of one file (JSON-serialisable). Whether the run holds a
    module's package (`StartupIndex.whole`) is `run_modules`' to say."""
    from leakguard.analysis.asyncio_facts import is_test_file

    if is_test_file(display):
        return None  # nothing outside the tests calls a test module's functions
    module, package = module_identity(display)
    return _FileCollector(module, package, tree).run(tree.tree, display)


def collect_source(text: str, display: str) -> dict[str, Any] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return collect_tree(TriageTree(tree, text, display=display), text, display)


class _FileCollector:
    def __init__(self, module: str, package: bool, tree: TriageTree) -> None:
        self.module = module
        self.package = package
        # the facts pass's indexed tree: its child lists are ~10x cheaper to walk
        self.tree = tree
        # What `_function` and `_confined_calls` ask of a node's parent, from the
        # tree's per-type lists (a map of every node's parent cost a walk of the file):
        # the ids of the attributes' receivers, and each single assignment by its value.
        self.receivers: set[int] = set()
        self.assignments: dict[int, ast.Assign] = {}
        # The lines of the `for` loops and of the functions (`_called_once_elements` and
        # `_direct_functions` look for them).
        self.for_lines: list[int] = []
        self.function_lines: list[int] = []
        self.aliases: dict[str, str] = {}
        self.module_names: set[str] = set()  # module-level functions and classes
        self.roots: dict[str, str] = {}
        self.references: list[list[Any]] = []
        self.methods: dict[str, list[list[Any]]] = {}
        self.methods_defined: list[str] = []
        self.called: dict[int, int] = {}  # id of a call's callee -> id of the call
        self.spawned: set[int] = set()  # ids of callees whose coroutine becomes a task
        self.escaping: set[str] = set()  # classes whose methods hand `self` out
        self.seen: set[tuple[str, ...]] = set()
        self.cli_file = False

    def run(self, tree: ast.Module, display: str) -> dict[str, Any]:
        imports: list[ast.Import | ast.ImportFrom] = [
            *self.tree.of(ast.Import),
            *self.tree.of(ast.ImportFrom),
        ]
        for node in imports:
            self.aliases.update(ast_import_bindings(node, self.module, self.package))
        self.receivers = {id(attribute.value) for attribute in self.tree.of(ast.Attribute)}
        self.assignments = {id(assign.value): assign for assign in self.tree.of(ast.Assign)}
        self.for_lines = sorted({loop.lineno for loop in self.tree.of(ast.For)})
        self.function_lines = sorted({function.lineno for function in self.tree.functions})
        self.cli_file = any(t.split(".")[0] in _CLI_MODULES for t in self.aliases.values())
        for statement in tree.body:
            if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)):
                self.module_names.add(statement.name)
        for statement in tree.body:
            if isinstance(statement, _FUNCTIONS):
                self._function(statement, statement.name, None, None, {})
            elif isinstance(statement, ast.ClassDef):
                # a base class or a metaclass is a use of the class as a value
                self._code(
                    [*statement.bases, *statement.keywords], MODULE, None, {}, frozenset(), {}
                )
                for item in statement.body:
                    if isinstance(item, _FUNCTIONS):
                        qualname = f"{statement.name}.{item.name}"
                        self.methods_defined.append(qualname)
                        self._function(item, qualname, statement.name, None, {})
                    else:
                        self._code([item], MODULE, None, {}, frozenset(), {})
            elif _is_main_block(statement):
                self._code(statement.body, MAIN, None, {}, frozenset(), {})  # type: ignore[attr-defined]
            else:
                self._code([statement], MODULE, None, {}, frozenset(), {})
        # never empty: `startup_index` tells a run that collected these facts (and
        # found no root, no reference) from one that did not ask for them
        facts: dict[str, Any] = {"path": display}
        if self.roots:
            facts["roots"] = self.roots
        if self.references:
            facts["references"] = self.references
        if self.methods:
            facts["methods"] = self.methods
        if self.methods_defined:
            facts["methods_defined"] = self.methods_defined
        if self.escaping:
            facts["escaping"] = sorted(self.escaping)
        return facts

    # functions ------------------------------------------------------------------------

    def _function(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        qualname: str,
        owner: str | None,
        enclosing: _Scope | None,
        nested: Mapping[str, str],
    ) -> None:
        """Record `function`'s references; `enclosing` is the scope of the function it is
        nested in (its receiver is a closure variable here), None at the top."""
        root = self._root(function, qualname, owner, enclosing is not None)
        if root is not None:
            self.roots[qualname] = root
        elif any(not self._calls_through(d) for d in function.decorator_list):
            self.roots[qualname] = ""  # registered by its decorator: runs any time
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        bound = {a.arg for a in [*positional, *args.kwonlyargs, args.vararg, args.kwarg] if a}
        static = any(
            (ast_dotted(d) or "").rsplit(".", 1)[-1] == "staticmethod"
            for d in function.decorator_list
        )
        if enclosing is None:
            receiver = (
                positional[0].arg if owner is not None and positional and not static else None
            )
        else:
            receiver = enclosing.receiver if enclosing.receiver not in bound else None
        inner = dict(nested)
        for defined in self._direct_functions(function):
            inner[defined.name] = f"{qualname}.{defined.name}"
        nodes = self.tree.scope_nodes([function], ())  # `walk`'s order, as a list
        stores: dict[str, int] = {}
        made: dict[str, ast.expr] = {}
        loads: list[ast.Name] = []
        calls: list[ast.Call] = []  # what `_confined_calls` looks at, in order
        for node in nodes:
            kind = type(node)
            if kind is ast.Call:
                calls.append(node)  # type: ignore[arg-type]
            elif kind is ast.Name:
                marker = type(node.ctx)  # type: ignore[attr-defined]
                if marker is ast.Store:
                    stores[node.id] = stores.get(node.id, 0) + 1  # type: ignore[attr-defined]
                elif marker is ast.Load:
                    loads.append(node)  # type: ignore[arg-type]
            elif (
                kind is ast.Assign
                and len(node.targets) == 1  # type: ignore[attr-defined]
                and isinstance(node.targets[0], ast.Name)  # type: ignore[attr-defined]
                and isinstance(node.value, ast.Call)  # type: ignore[attr-defined]
            ):
                made[node.targets[0].id] = node.value.func  # type: ignore[attr-defined]
        bound.update(stores)
        receivers = self.receivers
        if (
            enclosing is None
            and receiver is not None
            and owner is not None
            and any(n.id == receiver and id(n) not in receivers for n in loads)
        ):
            self.escaping.add(owner)
        confined = _confined_calls(calls, loads, stores, receivers, self.assignments)
        # `worker = Worker(cfg)`, assigned once: `worker.start()` calls `Worker.start`
        instances: dict[str, list[str]] = {}
        for local, maker in made.items():
            klass = self._reference(maker, None, None, bound - {local}, {})
            if stores.get(local) == 1 and klass is not None and klass[0] in ("q", "l"):
                instances[local] = klass
        context = _Scope(
            qualname, owner, receiver, frozenset(bound - set(inner)), instances, confined
        )
        self._code(function.body, qualname, context, inner, frozenset(), {})

    def _direct_functions(self, function: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        """The functions defined in `function`'s own body (not in nested ones or
        classes)."""
        found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        first = getattr(function, "lineno", None)
        last = getattr(function, "end_lineno", None)
        if first is not None and last is not None:
            # its nested functions' `def` lines follow its own, within its lines
            at = bisect_right(self.function_lines, first)
            if at == len(self.function_lines) or self.function_lines[at] > last:
                return found
        stack = list(self.tree.children(function))
        while stack:
            node = stack.pop()
            if isinstance(node, _FUNCTIONS):
                found.append(node)
            elif not isinstance(node, (ast.ClassDef, ast.Lambda)):
                stack.extend(self.tree.children(node))
        return found

    def _root(
        self,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        qualname: str,
        owner: str | None,
        nested: bool,
    ) -> str | None:
        if owner is None and not nested and function.name in _MAIN_NAMES:
            return ENTRY_POINT
        for decorator in function.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call is not None else decorator
            written = ast_dotted(target) or ""
            last = written.rsplit(".", 1)[-1]
            qualified = self._qualify(written) or ""
            if qualified.split(".")[0] in _CLI_MODULES or (
                self.cli_file and last in _CLI_DECORATORS
            ):
                return "command"
            if last in _ONE_SHOT_DECORATORS:
                return "life-cycle hook"
            if last in ("on_event", "listener") and call is not None and call.args:
                first = call.args[0]
                if isinstance(first, ast.Constant) and first.value in _LIFECYCLE_EVENTS:
                    return "life-cycle hook"
            if last in ("asynccontextmanager", "contextmanager") and "lifespan" in qualname:
                return "life-cycle hook"
        return None

    def _calls_through(self, decorator: ast.expr) -> bool:
        """The decorated name, when called, runs the body then and only then."""
        if _plain_decorator(decorator):
            return True
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        return self._qualify(ast_dotted(target) or "") in _RETRY_DECORATORS

    def _qualify(self, dotted: str) -> str | None:
        root, _, rest = dotted.partition(".")
        target = self.aliases.get(root)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    # references -----------------------------------------------------------------------

    def _reference(
        self,
        expression: ast.expr,
        scope: _Scope | None,
        owner_class: str | None,
        bound: Iterable[str],
        nested: Mapping[str, str],
    ) -> list[str] | None:
        """The reference `expression` makes to a possible function of the run: ["q",
        qualified], ["l", module-level name], ["n", nested function's qualname], ["s",
        "Class.method"], or ["a", method] for a method on a receiver of unknown class."""
        written = ast_dotted(expression)
        if written is None:
            if isinstance(expression, ast.Attribute):
                return ["a", expression.attr]
            return None
        root, _, rest = written.partition(".")
        if scope is not None and rest and "." not in rest:
            if root == scope.receiver and scope.owner is not None:
                return ["s", f"{scope.owner}.{rest}"]
            made = scope.instances.get(root)
            if made is not None:
                return [made[0], f"{made[1]}.{rest}"]
        if root in nested and not rest:
            return ["n", nested[root]]
        if root in bound or root in nested:
            return ["a", written.rsplit(".", 1)[-1]] if rest else None
        if root in self.aliases:
            qualified = self._qualify(written)
            return ["q", qualified] if qualified is not None else None
        if root in self.module_names:
            return ["l", written]
        return ["a", written.rsplit(".", 1)[-1]] if rest else None

    def _code(
        self,
        body: Sequence[ast.AST],
        owner: str,
        scope: _Scope | None,
        nested: Mapping[str, str],
        once: frozenset[int],
        handed: dict[int, str],
    ) -> None:
        """Record the references of `body` (statements of `owner`), nested functions as
        functions of their own."""
        once_called = set(once) | self._called_once_elements(body)
        bound = scope.bound if scope is not None else frozenset()
        stack: list[tuple[Any, bool]] = [(node, False) for node in reversed(body)]
        pop, push, push_all = stack.pop, stack.append, stack.extend
        children_of = self.tree.children_by_id
        # Every node of the file's code passes here: one exact-type test per node sends
        # it on (the parser makes no subclass of these types, so `type(node) is` and
        # `in` a set of them answer as `isinstance` would, for a fraction of the cost).
        call_type, name_type, attribute_type = ast.Call, ast.Name, ast.Attribute
        load_type = ast.Load
        while stack:
            node, repeated = pop()
            kind = type(node)
            if kind is call_type:
                self.called[id(node.func)] = id(node)
                self._handoffs(node, handed)
            elif kind is name_type or kind is attribute_type:
                if type(node.ctx) is load_type:
                    self._mention(node, owner, scope, nested, bound, repeated, once_called, handed)
                    if kind is attribute_type:
                        push_all((c, repeated) for c in _receiver_children(node))
                    continue
            elif kind in _FUNCTION_TYPES:
                name = nested.get(node.name, f"{owner}.{node.name}")
                for decorator in node.decorator_list:
                    push((decorator, repeated))
                self._function(node, name, scope.owner if scope else None, scope, nested)
                continue
            elif kind is ast.ClassDef:
                continue  # a class in a function: its methods are never proven start-up
            elif kind in _FOR_TYPES:
                # the iterable is evaluated once; the body (and `else`) repeats
                push_all((c, True) for c in reversed([*node.body, node.target]))
                push_all((c, repeated) for c in reversed(node.orelse))
                push((node.iter, repeated))
                continue
            children = children_of(id(node))
            if children:
                push_all(zip(reversed(children), repeat(repeated or kind in _LOOP_TYPES)))

    def _mention(
        self,
        node: ast.Name | ast.Attribute,
        owner: str,
        scope: _Scope | None,
        nested: Mapping[str, str],
        bound: frozenset[str],
        repeated: bool,
        once_called: set[int],
        handed: dict[int, str],
    ) -> None:
        reference = self._reference(node, scope, scope.owner if scope else None, bound, nested)
        if reference is None:
            return
        if id(node) in handed:
            how = "own-loop" if handed[id(node)] == OWN_LOOP else "root"
        elif id(node) in self.spawned:
            how = "repeat" if repeated else "spawn"
        elif id(node) in self.called or id(node) in once_called:
            how = "repeat" if repeated else "call"
        else:
            how = "value"
        if owner == MAIN and how == "call":
            how = "root"
        if reference[0] == "q" and reference[1].split(".")[0] in _STDLIB:
            return  # never a function of the run
        if how in ("call", "root") and scope is not None:
            call = self.called.get(id(node))
            if call is not None and call in scope.confined:
                how += "/confined"
        key = (owner, *reference, how)
        if key in self.seen:
            return  # the first of each is enough: the query asks how, not how often
        self.seen.add(key)
        line = getattr(node, "lineno", 0)
        if reference[0] == "a":
            self.methods.setdefault(reference[1], []).append([owner, how, line])
            return
        self.references.append([owner, *reference, how, line])

    def _may_hold_for(self, body: Sequence[ast.AST]) -> bool:
        """Whether a `for` loop starts on a line of `body` (its loops lie within its
        lines): most code has none, and is then not walked for them."""
        for node in body:
            first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
            if first is None or last is None:
                return True
            if _any_within(self.for_lines, first, last):
                return True
        return False

    def _called_once_elements(self, body: Sequence[ast.AST]) -> set[int]:
        """Elements of a literal list of functions that a `for` loop of `body` calls
        once each (`steps = [a, b]` then `for step in steps: step(x)`): their ids."""
        if not self._may_hold_for(body):
            return set()
        literals: dict[str, list[ast.expr]] = {}
        stores: dict[str, int] = {}
        loops: list[ast.For] = []
        scope_nodes = self.tree.scope_nodes
        for statement in body:
            # `walk`'s order (a later literal of a name wins); one exact-type test a node
            for node in scope_nodes([statement], ()):
                kind = type(node)
                if kind is ast.Name:
                    if type(node.ctx) is ast.Store:  # type: ignore[attr-defined]
                        stores[node.id] = stores.get(node.id, 0) + 1  # type: ignore[attr-defined]
                elif kind is ast.Assign:
                    if (
                        len(node.targets) == 1  # type: ignore[attr-defined]
                        and isinstance(node.targets[0], ast.Name)  # type: ignore[attr-defined]
                        and isinstance(node.value, (ast.List, ast.Tuple))  # type: ignore[attr-defined]
                    ):
                        literals[node.targets[0].id] = list(node.value.elts)  # type: ignore[attr-defined]
                elif kind is ast.For:  # not `async for`
                    loops.append(node)  # type: ignore[arg-type]
        if not loops:
            return set()
        found: set[int] = set()
        for loop in loops:
            if not isinstance(loop.target, ast.Name):
                continue
            variable = loop.target.id
            if isinstance(loop.iter, (ast.List, ast.Tuple)):
                elements = list(loop.iter.elts)
            elif isinstance(loop.iter, ast.Name) and stores.get(loop.iter.id) == 1:
                elements = literals.get(loop.iter.id, [])
            else:
                continue
            inside = [n for statement in loop.body for n in self.tree.walk(statement)]
            callees = {id(n.func) for n in inside if isinstance(n, ast.Call)}
            uses = [n for n in inside if isinstance(n, ast.Name) and n.id == variable]
            if uses and all(id(n) in callees for n in uses):
                found.update(id(e) for e in elements if isinstance(e, (ast.Name, ast.Attribute)))
        return found

    def _handoffs(self, call: ast.Call, handed: dict[int, str]) -> None:
        """Mark the callee as called, and the functions `call` hands over as a process's
        entry or a life-cycle hook."""
        func = call.func
        written = ast_dotted(func) or ""
        last = written.rsplit(".", 1)[-1] if written else getattr(func, "attr", "")
        if last in _SPAWNERS and call.args and isinstance(call.args[0], ast.Call):
            self.spawned.add(id(call.args[0].func))
        position = _OWN_LOOP_RUNNERS.get(self._qualify(written) or "") if written else None
        if position is not None and len(call.args) > position:
            handed[id(call.args[position])] = OWN_LOOP
        for keyword in call.keywords:
            if keyword.arg is None:
                continue
            if (last, keyword.arg) in _HANDOFF_KEYWORDS or ("", keyword.arg) in _HANDOFF_KEYWORDS:
                for value in _listed(keyword.value):
                    handed[id(value)] = keyword.arg
        if last == "add_event_handler" and len(call.args) >= 2:
            event = call.args[0]
            if isinstance(event, ast.Constant) and event.value in _LIFECYCLE_EVENTS:
                for value in _listed(call.args[1]):
                    handed[id(value)] = "add_event_handler"
        if isinstance(func, ast.Attribute) and func.attr in _APPENDS:
            hooks = func.value
            name = hooks.attr if isinstance(hooks, ast.Attribute) else getattr(hooks, "id", "")
            if "startup" in name or "shutdown" in name:
                for argument in call.args:
                    for value in _listed(argument):
                        handed[id(value)] = name


@dataclass(frozen=True)
class _Scope:
    qualname: str
    owner: str | None  # the class of a method (or of the method a function is nested in)
    receiver: str | None
    bound: frozenset[str]
    instances: Mapping[str, list[str]]
    # calls whose result stays in the function: `Worker(cfg).start()`, or assigned once to
    # a local used only as a receiver (`worker = Worker(cfg); worker.start()`)
    confined: frozenset[int] = frozenset()


def _any_within(lines: list[int], first: int, last: int) -> bool:
    """Whether the sorted `lines` hold one from `first` to `last`."""
    at = bisect_left(lines, first)
    return at < len(lines) and lines[at] <= last


def _confined_calls(
    nodes: Sequence[ast.AST],
    loads: Sequence[ast.Name],
    stores: Mapping[str, int],
    receivers: Set[int],
    assignments: Mapping[int, ast.Assign],
) -> frozenset[int]:
    """Ids of the calls among a function's `nodes` whose result never leaves it: the
    receiver of an attribute (`Worker(cfg).start()`), or assigned once to a local that is
    only ever the receiver of an attribute (`worker = Worker(cfg); worker.start()`).
    `receivers`: the ids of the file's attributes' receivers; `assignments`: its
    assignments by the id of their value."""
    found: set[int] = set()
    only_receivers: dict[str, bool] = {}
    for name in loads:
        only_receivers[name.id] = only_receivers.get(name.id, True) and id(name) in receivers
    for node in nodes:
        if type(node) is not ast.Call:
            continue
        assign = assignments.get(id(node))
        if id(node) in receivers or (
            assign is not None
            and len(assign.targets) == 1
            and isinstance(assign.targets[0], ast.Name)
            and stores.get(assign.targets[0].id) == 1
            and only_receivers.get(assign.targets[0].id, False)
        ):
            found.add(id(node))
    return frozenset(found)


def _listed(value: ast.expr) -> list[ast.expr]:
    if isinstance(value, (ast.List, ast.Tuple)):
        return list(value.elts)
    return [value]


def _receiver_children(node: ast.Attribute) -> list[ast.AST]:
    """What an attribute chain evaluates besides names: the arguments of calls and
    subscripts inside it (`get(x).y`: `get` and `x`)."""
    inner = node.value
    while isinstance(inner, ast.Attribute):
        inner = inner.value
    return [] if isinstance(inner, ast.Name) else [inner]


def _plain_decorator(decorator: ast.expr) -> bool:
    return (ast_dotted(decorator) or "").rsplit(".", 1)[-1] in _PLAIN_DECORATORS


def _is_main_block(statement: ast.stmt) -> bool:
    if not isinstance(statement, ast.If) or not isinstance(statement.test, ast.Compare):
        return False
    test = statement.test
    parts = [test.left, *test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    strings = {p.value for p in parts if isinstance(p, ast.Constant)}
    return "__name__" in names and "__main__" in strings


# -- the run's view ----------------------------------------------------------------------


@dataclass
class StartupIndex:
    """Start-up facts of the run, resolved through the summaries' call resolution."""

    facts: Mapping[str, Any]
    summaries: SummaryIndex
    # The run's modules other than test code (`run_modules.production_modules`): what
    # `whole` and `import_root` ask, whether the module has start-up facts or not.
    modules: frozenset[str] = frozenset()
    _callers: dict[str, list[tuple[str, str, str, int]]] | None = None
    _methods: dict[str, list[tuple[str, str, str, int]]] | None = None
    _classes: dict[tuple[str, str], list[tuple[str, str, str, int]]] | None = None
    _memo: dict[Any, bool] = field(default_factory=dict)
    _named: dict[Any, frozenset[str]] = field(default_factory=dict)
    _upstream: dict[str, set[str]] | None = None
    _digests: dict[str, str] = field(default_factory=dict)

    def _defined(self, module: str, qualname: str) -> bool:
        return f"{module}:{qualname}" in self.summaries.functions

    def callers(self, fid: str) -> list[tuple[str, str, str, int]]:
        """(module, owner, how, line) of every reference of the run to `fid`."""
        if self._callers is None:
            table: dict[str, list[tuple[str, str, str, int]]] = {}
            methods: dict[str, list[tuple[str, str, str, int]]] = {}
            classes: dict[tuple[str, str], list[tuple[str, str, str, int]]] = {}
            for module, value in self.facts.items():
                if not isinstance(value, dict):
                    continue
                for owner, kind, name, how, line in value.get("references", ()):
                    target = self._resolve(module, str(kind), str(name))
                    if target is None and self._class_method(module, str(kind), str(name)):
                        # a method the class of the run inherits (or one not found): a
                        # method of that name on any class may be the one called
                        methods.setdefault(str(name).rsplit(".", 1)[-1], []).append(
                            (module, str(owner), str(how), int(line))
                        )
                        continue
                    if target is not None:
                        table.setdefault(target, []).append(
                            (module, str(owner), str(how), int(line))
                        )
                        continue
                    klass = self.summaries.class_named(module, [str(kind), str(name)])
                    if klass is not None:
                        classes.setdefault(klass, []).append(
                            (module, str(owner), str(how), int(line))
                        )
                for method, entries in value.get("methods", {}).items():
                    for owner, how, line in entries:
                        methods.setdefault(method, []).append(
                            (module, str(owner), str(how), int(line))
                        )
            self._callers, self._methods, self._classes = table, methods, classes
        return list(self._callers.get(fid, ()))

    def _class_method(self, module: str, kind: str, name: str) -> bool:
        """`name` is `Class.method` of a class of the run (`self.method` included)."""
        if kind == "s":
            return True
        head = name.rpartition(".")[0]
        return bool(head) and self.summaries.class_named(module, [kind, head]) is not None

    def _resolve(self, module: str, kind: str, name: str) -> str | None:
        if kind == "n":
            return f"{module}:{name}"
        if kind == "s":
            return f"{module}:{name}" if self._defined(module, name) else None
        if kind == "l" and self._defined(module, name):
            return f"{module}:{name}"
        return self.summaries.resolve(module, [kind, name])

    def dependencies(self, module: str) -> Any:
        """What the findings of `module` can depend on (for the cache key): the facts of
        every module that mentions, up to `STARTUP_DEPTH` callers up, a function,
        class or method name of it, with which of their packages the run holds, and the
        functions their modules define. Editing a helper that `module` calls, not the
        reverse, leaves it out."""
        self.callers("")
        upstream = self._upstream_modules()
        seen = {module}
        frontier = [module]
        for _ in range(STARTUP_DEPTH + 1):
            following = []
            for current in frontier:
                for caller in upstream.get(current, ()):
                    if caller not in seen:
                        seen.add(caller)
                        following.append(caller)
            frontier = following
        return {found: self._module_digest(found) for found in sorted(seen)}

    def _module_digest(self, module: str) -> str:
        """The digest of what a key holds of an upstream module, once per run: its
        start-up facts, whether the run holds its package, its import root and the
        functions it defines. A module's key names most modules of a large run (every
        module mentioning a method name of it): serialising their facts whole for each
        key cost the parent a serial 0.4 s on a cold run of the stdlib sample."""
        found = self._digests.get(module)
        if found is None:
            found = self._digests[module] = facts_digest(
                [
                    self.facts.get(module),
                    module.rpartition(".")[0] in self.modules,
                    self.import_root(module),
                    self.summaries.in_module(module),
                ]
            )
        return found

    def _upstream_modules(self) -> dict[str, set[str]]:
        """Module -> the modules that mention a function, a class or (on a receiver of
        unknown class) a method name of it."""
        cached = self._upstream
        if cached is not None:
            return cached
        assert self._callers is not None and self._classes is not None
        assert self._methods is not None
        found: dict[str, set[str]] = {}
        for fid, entries in self._callers.items():
            target = fid.partition(":")[0]
            found.setdefault(target, set()).update(entry[0] for entry in entries)
        for (target, _), entries in self._classes.items():
            found.setdefault(target, set()).update(entry[0] for entry in entries)
        for target, value in self.facts.items():
            if not isinstance(value, dict):
                continue
            for qualname in value.get("methods_defined", ()):
                method = str(qualname).rpartition(".")[2]
                for entry in self._methods.get(method, ()):
                    found.setdefault(target, set()).add(entry[0])
        self._upstream = found
        return found

    def confined(self, module: str, klass: str, depth: int, own_loop: bool = False) -> bool:
        """Every instance of `klass` is made by start-up code and stays there: built in
        a function only start-up reaches (or the `__main__` block) and only used as a
        receiver there, never handed out by its own methods (`self`), never subclassed
        or used as a value in the run. A method of it can only be called through those
        instances (resolved calls), whatever other calls of a method of that name do."""
        self.callers("")
        assert self._classes is not None
        if klass in self._facts_of(module).get("escaping", ()):
            return False
        made = self._classes.get((module, klass), [])
        if not made:
            return False
        for caller_module, owner, how, _ in made:
            if how == "root/confined" and owner == MAIN:
                continue
            if how != "call/confined" or owner in (MODULE, MAIN):
                return False
            if not self.startup_only(caller_module, owner, depth - 1, own_loop):
                return False
        return True

    def method_callers(self, method: str, module: str) -> list[tuple[str, str, str, int]]:
        """Mentions of `.method` on receivers of unknown class in the modules of the run
        that may hold an instance of a class of `module`: those under its import root
        (every top-level package of its project: a route of `server` reaches a
        `storage` object through `request.app.state` without naming `storage`) and
        those that name something of its top-level package (a run of several unrelated
        projects at once does not mix their methods up)."""
        self.callers("")
        assert self._methods is not None
        top = self.top_package(module)
        root = self.import_root(module)
        return [
            entry
            for entry in self._methods.get(method, ())
            if self.import_root(entry[0]) == root or top in self._packages_named(entry[0])
        ]

    def top_package(self, module: str) -> str:
        """The top-level package of `module` as imported (below its import root):
        `gradio` for `src.gradio-6.31.0.gradio.helpers`, not `src`, the run's folder
        every project of the corpus lies under."""
        root = self.import_root(module)
        return (module[len(root) + 1 :] if root else module).split(".", 1)[0]

    def import_root(self, module: str) -> str:
        """The directory (as a dotted prefix) that holds `module`'s top-level package, the
        entry of `sys.path` it imports from: `""` for `server.routes` run from the
        project's root, `gradio-6.31.0` for `gradio-6.31.0.gradio.helpers` (each project
        of the corpus's run in a directory of its own, without an `__init__.py`)."""
        package = module.rpartition(".")[0]
        while package and package in self.modules:
            package = package.rpartition(".")[0]
        return package

    def _packages_named(self, module: str) -> frozenset[str]:
        """The top-level packages of the run's modules that `module` names (its own
        included), through the qualified names it references."""
        key = ("packages", module)
        found = self._named.get(key)
        if found is None:
            tops = {self.top_package(module)}
            for _, kind, name, _, _ in self._facts_of(module).get("references", ()):
                if kind != "q":
                    continue
                parts = str(name).split(".")
                for cut in range(len(parts), 0, -1):
                    target = self.summaries.module_named(".".join(parts[:cut]))
                    if target is not None:
                        tops.add(self.top_package(target))
                        break
            found = self._named[key] = frozenset(tops)
        return found

    def _facts_of(self, module: str) -> Mapping[str, Any]:
        value = self.facts.get(module)
        return value if isinstance(value, dict) else {}

    def _root(self, module: str, qualname: str) -> str | None:
        root = self._facts_of(module).get("roots", {}).get(qualname)
        return None if root is None else str(root)

    def whole(self, module: str) -> bool:
        """The run holds the package `module` lies in (its `__init__.py`): a run of some
        of a package's files, named one by one, does not see the callers in the others.
        A module at the run's top has no package to ask about; one in a directory
        without an `__init__.py` cannot be told from a partial run and proves nothing."""
        parent = module.rpartition(".")[0]
        return module in self.modules and (not parent or parent in self.modules)

    def startup_only(
        self,
        module: str,
        qualname: str,
        depth: int = STARTUP_DEPTH,
        own_loop: bool = False,
    ) -> bool:
        """See the module docstring; `depth` callers up at most. With `own_loop`, a
        function handed to a runner of a loop of its own (`_OWN_LOOP_RUNNERS`) counts as
        reached from start-up: it never runs on a loop that serves requests either
        (what LG201 asks; not what "once per process" means)."""
        key = (module, qualname, depth, own_loop)
        if key not in self._memo:
            self._memo[key] = False  # a cycle proves nothing
            self._memo[key] = self._startup_only(module, qualname, depth, own_loop)
        return self._memo[key]

    def _startup_only(self, module: str, qualname: str, depth: int, own_loop: bool) -> bool:
        if self.summaries.handler_chain(module, qualname, MAX_SUPPORTED_DEPTH) is not None:
            return False
        root = self._root(module, qualname)
        if root == "":
            return False  # registered by a decorator
        fid = f"{module}:{qualname}"
        if root == ENTRY_POINT:
            # a name is a guess: its own module runs it (`asyncio.run(main())`,
            # `typer.run(main)`), but another module that imports a script's `main` may
            # schedule it or call it per request like any function
            foreign = [r for r in self.callers(fid) if r[0] != module]
            return not foreign or (depth > 0 and self._run_once_by(foreign, fid, depth, own_loop))
        if root is not None:
            return True
        if depth <= 0 or not self.whole(module):
            return False
        references = self.callers(fid)
        klass, _, method = qualname.partition(".")
        if qualname in self._facts_of(module).get("methods_defined", ()) and not self.confined(
            module, klass, depth, own_loop
        ):
            # `obj.method()` on a receiver of unknown class may call it
            references += self.method_callers(method, module)
        return bool(references) and self._run_once_by(references, fid, depth, own_loop)

    def _run_once_by(
        self,
        references: Sequence[tuple[str, str, str, int]],
        fid: str,
        depth: int,
        own_loop: bool,
    ) -> bool:
        """Every one of `references` to `fid` runs it once per process: handed over as
        an entry or hook, or called outside loops at import time, in the `__main__`
        block or by a function only start-up reaches."""
        for caller_module, owner, written, _ in references:
            how = written.split("/", 1)[0]
            if how == "root" or (how == "own-loop" and own_loop):
                continue
            if how != "call":
                return False
            if owner in (MODULE, MAIN):
                continue  # import time or the `__main__` block: once per process
            if f"{caller_module}:{owner}" == fid:
                return False  # recursion: any number of times
            if not self.startup_only(caller_module, owner, depth - 1, own_loop):
                return False
        return True


def _dependencies(project: ProjectIndex, module: str) -> Any:
    index = startup_index(project)
    if index is None:
        return None
    return index.dependencies(module)


def startup_index(project: ProjectIndex | None) -> StartupIndex | None:
    if project is None:
        return None
    summaries = summaries_of(project)
    if summaries is None or COLLECTOR not in project.facts:
        return None
    found = project.derived.get(COLLECTOR)
    if not isinstance(found, StartupIndex):
        found = StartupIndex(project.of(COLLECTOR), summaries, production_modules(project))
        project.derived[COLLECTOR] = found
    return found


def qualname_of(function: cst.FunctionDef, context: FileContext) -> str | None:
    """`f`, `Class.method` or `outer.inner` for the function being visited (`function`
    on the context's stack), None for anything else (a class in a function)."""
    names: list[str] = []
    for node in context.stack:
        if isinstance(node, cst.FunctionDef):
            names.append(node.name.value)
            if node is function:
                return ".".join(names)
        elif isinstance(node, cst.ClassDef):
            if names:
                return None
            names.append(node.name.value)
    return None


def startup_only(
    function: cst.FunctionDef, context: FileContext, *, own_loop: bool = False
) -> bool:
    """`function` runs only as part of a process's start-up (or shutdown), by the run's
    facts (see the module docstring); with `own_loop`, or on a loop of its own
    (`StartupIndex.startup_only`). Unlike `entrypoints.process_startup`, it does not
    trust the file alone: a partial run, or a run without these facts (a rule must ask
    for `COLLECTOR`), proves nothing."""
    index = startup_index(context.project)
    if index is None:
        return False
    qualname = qualname_of(function, context)
    if qualname is None:
        return False
    return index.startup_only(context.module_name, qualname, own_loop=own_loop)


register_collector(
    FactCollector(
        COLLECTOR,
        ("",),  # references are any names: every file may hold some
        from_source=collect_source,
        from_tree=collect_tree,
        dependencies=_dependencies,
        # only LG201 and LG202 ask, of coroutines
        gated_by_readers=True,
    )
)
