"""LG204 offload-without-timeout: awaited thread offloads on a request path with no
timeout around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst

from leakguard.analysis.asyncio_facts import calls_with_timeout_state, coroutine_of, offload_call
from leakguard.analysis.frameworks import is_request_handler
from leakguard.context import FileContext
from leakguard.rule import LintRule
from leakguard.walker import iter_children

_OFFLOAD_NAMES = frozenset({"run_in_executor", "to_thread", "run_sync", "run_in_threadpool"})
# Awaited wrappers that pass their awaitable arguments through (timeouts are judged apart).
_AWAITED_WRAPPERS = frozenset(
    {
        "asyncio.gather",
        "asyncio.tasks.gather",
        "asyncio.wait_for",
        "asyncio.tasks.wait_for",
        "asyncio.shield",
        "asyncio.tasks.shield",
    }
)


@dataclass
class RequestPaths:
    """Functions of one file that run on a request: id(function) -> how it is reached."""

    reached: dict[int, str] = field(default_factory=dict)


class OffloadWithoutTimeout(LintRule):
    code = "LG204"

    @cached_property
    def _extra_timeouts(self) -> frozenset[str]:
        return frozenset(self.option("timeout_contexts"))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            last = func.attr.value
        elif isinstance(func, cst.Name):
            last = self.context.imports.aliases.get(func.value, "").rsplit(".", 1)[-1]
        else:
            return
        if last not in _OFFLOAD_NAMES:
            return
        offload = offload_call(node, self.context)
        if offload is None or not self._awaited(node):
            return
        function = coroutine_of(self.context)
        if function is None:
            return
        paths = request_paths(
            self.context, int(self.option("max_call_depth")), self._extra_timeouts
        )
        where = paths.reached.get(id(function))
        if where is None or _timed(node, function, self.context, self._extra_timeouts):
            return
        self.report(node, call=offload.name, where=where)

    def _awaited(self, node: cst.Call) -> bool:
        """`await offload(...)`, or an argument of an awaited `asyncio.gather/wait_for/shield`."""
        stack = self.context.stack
        parent = stack[-2] if len(stack) >= 2 else None
        if isinstance(parent, cst.Await):
            return True
        if isinstance(parent, cst.Arg) and len(stack) >= 4:
            outer, awaiting = stack[-3], stack[-4]
            return (
                isinstance(outer, cst.Call)
                and isinstance(awaiting, cst.Await)
                and self.context.imports.call_name(outer) in _AWAITED_WRAPPERS
            )
        return False


def _timed(
    call: cst.Call, function: cst.FunctionDef, context: FileContext, extra: frozenset[str]
) -> bool:
    for found, timed in _timeout_states(function, context, extra):
        if found is call:
            return timed
    return False


def _timeout_states(
    function: cst.FunctionDef, context: FileContext, extra: frozenset[str]
) -> list[tuple[cst.Call, bool]]:
    key = ("LG204.timeouts", id(function))
    cached: list[tuple[cst.Call, bool]] | None = context.memo.get(key)
    if cached is None:
        cached = list(calls_with_timeout_state(function, context, extra))
        context.memo[key] = cached
    return cached


def request_paths(context: FileContext, max_depth: int, extra: frozenset[str]) -> RequestPaths:
    """Request handlers of the file and the functions they call, found by name.

    A call `f(...)`, `self.f(...)` or `anything.f(...)` in a handler (or in a function
    already reached) reaches every function or method named `f` defined in this file,
    unless the call itself is under a timeout. Name-based, so it over-approximates when
    two classes share a method name; it never follows calls into other files.
    """
    key = ("LG204.paths", max_depth)
    cached = context.memo.get(key)
    if isinstance(cached, RequestPaths):
        return cached
    functions = _functions_with_owner(context.module)
    by_name: dict[str, list[cst.FunctionDef]] = {}
    for function, _ in functions:
        by_name.setdefault(function.name.value, []).append(function)
    paths = RequestPaths()
    frontier: list[cst.FunctionDef] = []
    for function, owner in functions:
        if is_request_handler(function, context, owner):
            paths.reached[id(function)] = f"request handler `{function.name.value}`"
            frontier.append(function)
    for _ in range(max_depth):
        next_frontier: list[cst.FunctionDef] = []
        for caller in frontier:
            via = paths.reached[id(caller)]
            for call, timed in _timeout_states(caller, context, extra):
                if timed:
                    continue
                for callee in by_name.get(_callee_name(call) or "", ()):
                    if id(callee) not in paths.reached:
                        paths.reached[id(callee)] = (
                            f"`{callee.name.value}` (reached from {_root_handler(via)})"
                        )
                        next_frontier.append(callee)
        frontier = next_frontier
        if not frontier:
            break
    context.memo[key] = paths
    return paths


def _root_handler(via: str) -> str:
    marker = "reached from "
    return via.split(marker, 1)[1].rstrip(")") if marker in via else via


def _callee_name(call: cst.Call) -> str | None:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _functions_with_owner(
    module: cst.Module,
) -> list[tuple[cst.FunctionDef, cst.ClassDef | None]]:
    """Every function of the file with the class that directly defines it."""
    found: list[tuple[cst.FunctionDef, cst.ClassDef | None]] = []
    todo: list[tuple[cst.CSTNode, cst.ClassDef | None]] = [(module, None)]
    while todo:
        node, owner = todo.pop()
        for child in iter_children(node):
            if isinstance(child, cst.FunctionDef):
                found.append((child, owner))
                todo.append((child, None))
            elif isinstance(child, cst.ClassDef):
                todo.append((child, child))
            elif not isinstance(child, (cst.BaseExpression, cst.SimpleStatementLine)):
                todo.append((child, owner))
    return found
