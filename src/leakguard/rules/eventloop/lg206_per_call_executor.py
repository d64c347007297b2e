"""LG206 per-call-executor: a thread or process pool created per call (in a request
handler or a function that runs per call) instead of once for the process."""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import cached_property

import libcst as cst

from leakguard.analysis.entrypoints import entry_point_regions, is_entry_point
from leakguard.analysis.imports import dotted_name, matches_any
from leakguard.analysis.lifecycle import (
    STARTUP_AND_SHUTDOWN,
    is_lifecycle_hook,
    registration_calls,
)
from leakguard.analysis.model_loads import declared_globals, persistent_key
from leakguard.analysis.request_paths import request_path_regions, request_paths
from leakguard.config import RuleSpec
from leakguard.finding import Severity
from leakguard.rule import LintRule
from leakguard.triage import TriageTree, calls_resolve_to, calls_resolving_to, enclosing_functions
from leakguard.walker import SCOPE_NODES, descendants

# Calls that run work on a pool handed to them without keeping it; any other call given
# the pool takes it over (its lifetime is the callee's business now).
_USING_CALLS = frozenset({"run_in_executor", "wait", "as_completed", "print", "len", "id"})
_SCOPED = "scoped"  # `with`, or shut down in a `finally`
_KEPT = "kept"  # stored, returned or handed over: not this call's pool
_HAPPY_PATH = "is not shut down when the call raises"
_NEVER = "is never shut down: its workers outlive the call"


class PerCallExecutor(LintRule):
    code = "LG206"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call that may resolve to one of the configured pool constructors."""
        return calls_resolve_to(tree, spec.option("pool_constructors"))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Each pool constructor call in a function, with what tells whether that function
        runs per call: the functions that may reach it from a request handler
        (`request_paths`), the life-cycle registrations and, in a script, the handlers."""
        calls = calls_resolving_to(tree, spec.option("pool_constructors"))
        functions = enclosing_functions(tree, calls)
        if not functions:
            return []
        depth = int(spec.option("max_call_depth"))
        return [
            *functions,
            *request_path_regions(tree, functions, depth),
            *registration_calls(tree),
            *entry_point_regions(tree),
        ]

    @cached_property
    def _last_names(self) -> frozenset[str]:
        return frozenset(n.rsplit(".", 1)[-1] for n in self.option("pool_constructors"))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else None
        if isinstance(func, cst.Name):
            last = self.context.imports.aliases.get(func.value, func.value).rsplit(".", 1)[-1]
        if last not in self._last_names:
            return
        name = self.context.imports.call_name(node)
        if name is None or not matches_any(name, self.option("pool_constructors")):
            return
        function = self.context.enclosing_function()
        if function is None or not self._runs_per_call(function):
            return
        handling = self._handling(node, function)
        if handling == _KEPT:
            return
        paths = request_paths(self.context, int(self.option("max_call_depth")))
        where = paths.describe(function) or f"`{function.name.value}`"
        if handling == _HAPPY_PATH and paths.describe(function) is None:
            # Released when the call succeeds; only a call that raises leaks the workers.
            # That piles up where a failed call does not end the process, a server's
            # request path; batch work (a one-off dataset preparation) stops instead.
            return
        if handling == _SCOPED:
            if paths.describe(function) is None:
                return  # a scoped pool in a helper: created per call, but released
            severity = Severity(str(self.option("scoped_pool_severity")))
            self.report(
                node,
                f"`{name.rsplit('.', 1)[-1]}(...)` creates a new pool on every call of {where}",
                severity=severity,
                help=str(self.option("scoped_help")),
            )
            return
        self.report(node, pool=name.rsplit(".", 1)[-1], where=where, how=handling)

    def _runs_per_call(self, function: cst.FunctionDef) -> bool:
        if self.skips_file(self.context.path, self.spec):
            return False
        if function.name.value in self.option("setup_methods"):
            return False
        if is_lifecycle_hook(function, self.context, STARTUP_AND_SHUTDOWN):
            return False
        return not is_entry_point(function, self.context)

    def _handling(self, node: cst.Call, function: cst.FunctionDef) -> str:
        """`_SCOPED`, `_KEPT`, or why the pool leaks (for the message)."""
        stack = self.context.stack
        index = len(stack) - 2
        # `pool = (ThreadPoolExecutor(...) if spans else nullcontext())`: the choice is
        # bound (or used) as a whole.
        while index >= 0 and isinstance(stack[index], (cst.IfExp, cst.BooleanOperation)):
            index -= 1
        parent = stack[index] if index >= 0 else None
        if isinstance(parent, cst.WithItem):
            return _SCOPED
        if isinstance(parent, (cst.Return, cst.Yield)):
            return _KEPT
        if isinstance(parent, cst.Arg):
            # `grpc.server(ThreadPoolExecutor(...))`: the server owns its pool; only
            # `run_in_executor(ThreadPoolExecutor(), ...)` uses it without keeping it.
            return _KEPT if self._owning_call(stack[index - 1]) else _NEVER
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            targets = (
                [t.target for t in parent.targets]
                if isinstance(parent, cst.Assign)
                else [parent.target]
            )
            if any(persistent_key(t, declared_globals(function)) for t in targets):
                return _KEPT
            names = [t.value for t in targets if isinstance(t, cst.Name)]
            if names:
                return self._local_handling(names[0], function)
            return _KEPT  # stored into something else (an attribute, a container)
        return _NEVER

    def _local_handling(self, name: str, function: cst.FunctionDef) -> str:
        shutdowns = frozenset(self.option("shutdown_methods"))
        shut_down_plainly = False
        for node in descendants(function.body, stop_at=SCOPE_NODES):
            if isinstance(node, cst.Try) and node.finalbody is not None:
                if _calls_method_on(node.finalbody, name, shutdowns):
                    return _SCOPED
            elif isinstance(node, cst.WithItem) and _is_name(node.item, name):
                return _SCOPED
            elif isinstance(node, (cst.Return, cst.Yield)) and isinstance(
                node.value, cst.BaseExpression
            ):
                if _hands_over(node.value, name, self._owning_call):
                    return _KEPT
            elif isinstance(node, cst.Assign):
                if _is_name(node.value, name) and not all(
                    isinstance(t.target, cst.Name) for t in node.targets
                ):
                    return _KEPT  # `self._pool = pool`
            elif isinstance(node, cst.Call):
                if self._owning_call(node) and any(_is_name(a.value, name) for a in node.args):
                    return _KEPT
                if _is_method_call_on(node, name, shutdowns):
                    shut_down_plainly = True
        if shut_down_plainly:
            return _HAPPY_PATH
        return _NEVER

    def _owning_call(self, node: cst.CSTNode | None) -> bool:
        """A call handed the pool keeps it (`grpc.server(pool)`, `Batcher(executor=pool)`,
        `loop.set_default_executor(pool)`), except the calls that only run work on it."""
        if not isinstance(node, cst.Call):
            return False
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else dotted_name(func) or ""
        return last.rsplit(".", 1)[-1] not in _USING_CALLS


def _is_name(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _hands_over(
    value: cst.BaseExpression, name: str, owning: Callable[[cst.CSTNode], bool]
) -> bool:
    """`return pool`, `return pool, other`, `return Owner(pool)`: the pool itself leaves
    (`return pool.map(f, xs)` returns results, not the pool)."""
    if _is_name(value, name):
        return True
    if isinstance(value, (cst.Tuple, cst.List)):
        return any(_is_name(e.value, name) for e in value.elements)
    return (
        isinstance(value, cst.Call)
        and owning(value)
        and any(_is_name(a.value, name) for a in value.args)
    )


def _is_method_call_on(node: cst.Call, name: str, methods: frozenset[str]) -> bool:
    func = node.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value in methods
        and _is_name(func.value, name)
    )


def _calls_method_on(block: cst.CSTNode, name: str, methods: frozenset[str]) -> bool:
    return any(
        isinstance(n, cst.Call) and _is_method_call_on(n, name, methods)
        for n in descendants(block, stop_at=SCOPE_NODES)
    )
