"""LG204 offload-without-timeout: awaited thread offloads on a request path with no
timeout around them.

Not reported: offloading a method of a local file the function opened itself
(`await asyncio.to_thread(f.write, chunk)`): bounded local I/O that waits on no peer and
runs no model, where a timeout would only abandon a half-written file.
"""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from leakguard.analysis.asyncio_facts import calls_with_timeout_state, coroutine_of, offload_call
from leakguard.analysis.files import file_handles
from leakguard.analysis.request_paths import request_paths
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.rule import LintRule
from leakguard.triage import TriageTree

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


class OffloadWithoutTimeout(LintRule):
    code = "LG204"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call to an offloading function (perhaps renamed on import)."""
        return bool(tree.called & _OFFLOAD_NAMES)

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
        if function is None or _local_file_io(offload.target, function, self.context):
            return
        extra = self._extra_timeouts
        paths = request_paths(
            self.context,
            int(self.option("max_call_depth")),
            lambda caller: _untimed_calls(caller, self.context, extra),
            key=("LG204", extra),
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


def _local_file_io(
    target: cst.BaseExpression | None, function: cst.FunctionDef, context: FileContext
) -> bool:
    """The offloaded callable is a method of a file `function` opened (`f.write`)."""
    return (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value in file_handles(function, context)
    )


def _timed(
    call: cst.Call, function: cst.FunctionDef, context: FileContext, extra: frozenset[str]
) -> bool:
    for found, timed in _timeout_states(function, context, extra):
        if found is call:
            return timed
    return False


def _untimed_calls(
    function: cst.FunctionDef, context: FileContext, extra: frozenset[str]
) -> list[cst.Call]:
    """Calls a request path follows: one made under a timeout is bounded in time."""
    return [call for call, timed in _timeout_states(function, context, extra) if not timed]


def _timeout_states(
    function: cst.FunctionDef, context: FileContext, extra: frozenset[str]
) -> list[tuple[cst.Call, bool]]:
    key = ("LG204.timeouts", id(function))
    cached: list[tuple[cst.Call, bool]] | None = context.memo.get(key)
    if cached is None:
        cached = list(calls_with_timeout_state(function, context, extra))
        context.memo[key] = cached
    return cached
