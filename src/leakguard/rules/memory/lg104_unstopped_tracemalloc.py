"""LG104 unstopped-tracemalloc: `tracemalloc.start()` whose `stop()` is not guaranteed.

From the start call, the rule walks outwards through the enclosing blocks of its
function (or module) and accepts the start when one of these guarantees a stop:

- a `try` around the start whose `finally` stops tracing;
- a later statement of the same block (or of an enclosing block) that stops tracing,
  with no explicit early exit (`return`, `raise`, `break`/`continue` leaving the block,
  `yield` in a generator) in between. Decorator wrappers are stricter: the wrapped call
  may raise on any call, so there only a stop in a `finally` counts;
- the stop function registered as a callback (`self.addCleanup(tracemalloc.stop)`,
  `atexit.register(tracemalloc.stop)`, `stack.callback(tracemalloc.stop)`);
- a stop in the class's `__exit__`/`__aexit__` (or unittest/pytest teardown), directly or
  through a `self.method()` it calls, for a start in any method of that class.

A start that switches tracing on for the process's life on purpose is not reported:
under `if not tracemalloc.is_tracing():` and an opt-in configuration test
(`tracemalloc_facts.opt_in_switch`), in a module-level function that only the process's
start-up runs (`entrypoints.process_startup`).

A call that merely *may* raise between a plain start and stop is not treated as an exit:
otherwise every sequential start/stop would be reported; the doc recommends `try/finally`.
"""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.cleanup import self_calls
from leakguard.analysis.entrypoints import process_startup
from leakguard.analysis.imports import matches_any
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.analysis.tracemalloc_facts import (
    BLOCK_TYPES,
    LOOP_TYPES,
    TRY_TYPES,
    calls_to,
    contains_call,
    exits_in,
    last_segments,
    opt_in_switch,
    references_callable,
)
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.rule import LintRule
from leakguard.triage import TriageTree, calls_match, calls_matching, in_function
from leakguard.walker import SCOPE_NODES, descendants

_ENTER_METHODS = ("__enter__", "__aenter__")
_EXIT_METHODS = ("__exit__", "__aexit__")
_FIX_FINALLY = (
    "Put the traced code in `try:` and call `tracemalloc.stop()` in `finally:` "
    "(or use a context manager whose `__exit__` stops it)."
)
_FIX_WRAPPER = (
    "Stop it in a `finally`: `tracemalloc.start()`, then `try: return func(*args, **kwargs)` "
    "`finally: tracemalloc.stop()`."
)
_FIX_EXIT = "Call `tracemalloc.stop()` in `__exit__` (it runs even when the `with` body raises)."


class UnstoppedTracemalloc(LintRule):
    code = "LG104"
    # `entrypoints.process_startup` asks who calls a function across the run.
    PROJECT_FACTS = (SUMMARIES,)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call that may start tracing."""
        return calls_match(tree, spec.option("start_calls"))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Each start call's top-level statement (a method's whole class: its
        `__exit__`/`tearDown` may stop tracing); a start outside any function looks for
        a stop in the whole module. A start in a module-level function that tests
        `is_tracing()` (or in a file importing it by name, maybe under another one) may be
        a process's start-up switch: `entrypoints.process_startup` reads every use of its
        function's name (the whole file). A start in a class never is one."""
        found: list[ast.AST] = []
        imported_by_name = any(
            alias.name == "is_tracing" for node in tree.of(ast.ImportFrom) for alias in node.names
        )
        for call in calls_matching(tree, spec.option("start_calls")):
            outer = tree.outermost(call)
            if outer is None or not in_function(tree, call):
                return None
            if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                imported_by_name or _tests_is_tracing(tree, outer)
            ):
                return None
            found.append(outer)
        return found

    def __init__(self, context: FileContext, spec: RuleSpec) -> None:
        super().__init__(context, spec)
        self._start_calls: list[str] = list(self.option("start_calls"))
        self._stop_calls: list[str] = list(self.option("stop_calls"))
        self._start_segments = last_segments(self._start_calls)
        self._stop_segments = last_segments(self._stop_calls)

    def visit_Call(self, node: cst.Call) -> None:
        if not calls_to(node, self._start_calls, self._start_segments, self.context):
            return
        path = list(self.context.stack)
        function_index = _innermost_scope(path)
        function = path[function_index] if function_index is not None else None
        if function is not None and not isinstance(function, cst.FunctionDef):
            return  # a lambda: nothing sensible to pair with
        owner = _owner_class(path, function_index)
        is_wrapper = function is not None and self._is_wrapper(function, path, function_index)
        scope_root: cst.CSTNode = function if function is not None else self.context.module
        if references_callable(scope_root, self._stop_calls, self._stop_segments, self.context):
            return
        count_yield = function is None or not self._is_fixture(function)
        problem = self._climb(path, function_index, is_wrapper, count_yield)
        if problem is None:
            return
        if owner is not None and function is not None and self._class_stops(owner, function):
            return
        if (
            function is not None
            and owner is None
            and not is_wrapper
            and opt_in_switch(path, function, self.context)
            and process_startup(function, self.context)
        ):
            return  # tracing switched on for the process's life, on purpose, at start-up
        self._report(node, function, owner, is_wrapper, problem)

    # -- path analysis ------------------------------------------------------------------

    def _climb(
        self,
        path: list[cst.CSTNode],
        function_index: int | None,
        is_wrapper: bool,
        count_yield: bool,
    ) -> tuple[str, cst.CSTNode | None, cst.CSTNode | None] | None:
        """None when a stop is guaranteed, else (kind, stop node, exit node) for the message.

        kinds: "none" (no stop on the path), "skipped" (an exit before the stop),
        "not_finally" (a wrapper whose stop is not in a finally).
        """
        floor = function_index if function_index is not None else -1
        exits: list[cst.CSTNode] = []
        skipped: tuple[cst.CSTNode, cst.CSTNode] | None = None
        not_finally: cst.CSTNode | None = None
        for index in range(len(path) - 2, floor, -1):
            parent, child = path[index], path[index + 1]
            if isinstance(parent, BLOCK_TYPES):
                siblings = list(parent.body)
                position = next(i for i, item in enumerate(siblings) if item is child)
                for sibling in siblings[position + 1 :]:
                    if isinstance(sibling, TRY_TYPES) and sibling.finalbody is not None:
                        stop_in_finally = self._stop_in(sibling.finalbody)
                        if stop_in_finally is not None and not exits:
                            return None
                    stop = self._stop_in(sibling)
                    if stop is not None:
                        if exits:
                            skipped = skipped or (stop, exits[0])
                        elif is_wrapper:
                            not_finally = not_finally or stop
                        else:
                            return None
                    exits.extend(exits_in(sibling, count_yield=count_yield))
            elif isinstance(parent, TRY_TYPES):
                if (
                    parent.finalbody is not None
                    and child is not parent.finalbody
                    and self._stop_in(parent.finalbody) is not None
                ):
                    return None
            elif isinstance(parent, LOOP_TYPES):
                # break/continue seen so far end this loop's iteration, not the function.
                exits = [e for e in exits if not isinstance(e, (cst.Break, cst.Continue))]
            elif isinstance(parent, SCOPE_NODES):
                break
        if not_finally is not None:
            return ("not_finally", not_finally, None)
        if skipped is not None:
            return ("skipped", skipped[0], skipped[1])
        return ("none", None, None)

    def _stop_in(self, root: cst.CSTNode) -> cst.Call | None:
        return contains_call(root, self._stop_calls, self._stop_segments, self.context)

    def _class_stops(self, owner: cst.ClassDef, function: cst.FunctionDef) -> bool:
        """A release method of the class (`__exit__`, `tearDown`...) stops tracing."""
        methods = {m.name.value: m for m in _class_methods(owner)}
        for name in self.option("release_methods"):
            method = methods.get(name)
            if method is None or method is function:
                continue
            if self._stop_in(method.body) is not None:
                return True
            for helper in self_calls(method):
                target = methods.get(helper)
                if target is not None and target is not function and self._stop_in(target.body):
                    return True
        return False

    def _is_fixture(self, function: cst.FunctionDef) -> bool:
        for decorator in function.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            if matches_any(self.context.imports.qualify(target), self.option("fixture_decorators")):
                return True
        return False

    def _is_wrapper(
        self, function: cst.FunctionDef, path: list[cst.CSTNode], function_index: int | None
    ) -> bool:
        """A function nested in another that returns it, or one marked `@functools.wraps`."""
        for decorator in function.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            if matches_any(self.context.imports.qualify(target), self.option("wrapper_decorators")):
                return True
        if function_index is None:
            return False
        outer_index = _innermost_scope(path[:function_index])
        outer = path[outer_index] if outer_index is not None else None
        if not isinstance(outer, cst.FunctionDef):
            return False
        name = function.name.value
        for node in descendants(outer.body, stop_at=SCOPE_NODES):
            if (
                isinstance(node, cst.Return)
                and isinstance(node.value, cst.Name)
                and node.value.value == name
            ):
                return True
        return False

    # -- reporting ------------------------------------------------------------------------

    def _report(
        self,
        node: cst.Call,
        function: cst.FunctionDef | None,
        owner: cst.ClassDef | None,
        is_wrapper: bool,
        problem: tuple[str, cst.CSTNode | None, cst.CSTNode | None],
    ) -> None:
        kind, stop, exit_node = problem
        line_of = self.context.line_of
        local = self.context.code_of(node.func)
        qualified = self.context.imports.qualify(node.func) or local
        call = f"`{local}()`" if qualified == local else f"`{local}()` (`{qualified}`)"
        if function is None:
            where = "at module level"
        elif is_wrapper:
            where = f"in decorator wrapper `{function.name.value}` (line {line_of(function)})"
        elif owner is not None:
            where = f"in `{owner.name.value}.{function.name.value}` (line {line_of(function)})"
        else:
            where = f"in `{function.name.value}` (line {line_of(function)})"
        fix = _FIX_FINALLY
        if kind == "not_finally" and stop is not None:
            why = (
                f"the wrapper stops tracing at line {line_of(stop)} but not in a `finally`, so "
                "every call of the decorated function that raises leaves tracing on"
            )
            fix = _FIX_WRAPPER
        elif kind == "skipped" and stop is not None and exit_node is not None:
            why = (
                f"the `{_exit_word(exit_node)}` at line {line_of(exit_node)} leaves before the "
                f"`tracemalloc.stop()` at line {line_of(stop)}"
            )
        elif function is not None and owner is not None and function.name.value in _ENTER_METHODS:
            exit_method = next(
                (m for m in _class_methods(owner) if m.name.value in _EXIT_METHODS), None
            )
            why = (
                f"`{exit_method.name.value}` (line {line_of(exit_method)}) never calls "
                "`tracemalloc.stop()`, so tracing outlives the `with` block"
                if exit_method is not None
                else f"`{owner.name.value}` has no `__exit__` that calls `tracemalloc.stop()`"
            )
            fix = _FIX_EXIT
        elif is_wrapper:
            why = (
                "nothing in the wrapper stops it, so every call of the decorated function "
                "re-arms it"
            )
            fix = _FIX_WRAPPER
        elif other := self._stop_in(function if function is not None else self.context.module):
            why = (
                f"the `tracemalloc.stop()` at line {line_of(other)} does not run on every path "
                "(it is neither in a `finally` nor later in the same block as the start)"
            )
        else:
            scope = "this module" if function is None else f"`{function.name.value}`"
            why = (
                f"nothing in {scope} stops it afterwards (no `tracemalloc.stop()` in a "
                "`finally`, in `__exit__`/`tearDown`, or later on the same path)"
            )
        self.report(node, call=call, where=where, why=why, fix=fix)


def _innermost_scope(path: list[cst.CSTNode]) -> int | None:
    for index in range(len(path) - 1, -1, -1):
        if isinstance(path[index], (cst.FunctionDef, cst.Lambda)):
            return index
    return None


def _owner_class(path: list[cst.CSTNode], function_index: int | None) -> cst.ClassDef | None:
    """The class whose body directly defines the function at `function_index`."""
    if function_index is None:
        return None
    for index in range(function_index - 1, -1, -1):
        node = path[index]
        if isinstance(node, cst.ClassDef):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return None
    return None


def _class_methods(owner: cst.ClassDef) -> list[cst.FunctionDef]:
    methods: list[cst.FunctionDef] = []
    for statement in owner.body.body:
        if isinstance(statement, cst.FunctionDef):
            methods.append(statement)
        elif isinstance(statement, cst.If):
            methods.extend(s for s in statement.body.body if isinstance(s, cst.FunctionDef))
    return methods


def _exit_word(node: cst.CSTNode) -> str:
    return {
        cst.Return: "return",
        cst.Raise: "raise",
        cst.Break: "break",
        cst.Continue: "continue",
        cst.Yield: "yield",
    }.get(type(node), "exit")


def _tests_is_tracing(tree: TriageTree, function: ast.AST) -> bool:
    """`function` mentions `is_tracing` (`tracemalloc.is_tracing()`, `tm.is_tracing()`)."""
    return any(
        (isinstance(node, ast.Attribute) and node.attr == "is_tracing")
        or (isinstance(node, ast.Name) and node.id == "is_tracing")
        for node in tree.walk(function)
    )
