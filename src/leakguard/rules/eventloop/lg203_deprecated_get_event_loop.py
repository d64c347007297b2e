"""LG203 deprecated-get-event-loop: `asyncio.get_event_loop()` inside a coroutine."""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.asyncio_facts import coroutine_of
from leakguard.config import RuleSpec
from leakguard.fixes import Applicability, FixPlan, Rewrite, replace
from leakguard.fixes.names import reference
from leakguard.rule import LintRule
from leakguard.triage import TriageTree, last_names

# The deprecated calls whose module also has `get_running_loop` (a configured wrapper
# such as `mycompany.compat.get_event_loop` may not).
_ASYNCIO = frozenset({"asyncio.get_event_loop", "asyncio.events.get_event_loop"})


class DeprecatedGetEventLoop(LintRule):
    code = "LG203"

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A call to something named `get_event_loop` (perhaps renamed on import)."""
        return "get_event_loop" in tree.called

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """The calls to something named `get_event_loop`: the finding and its coroutine
        are in the call's function."""
        return [
            call for call in tree.of(ast.Call) if "get_event_loop" in last_names(tree, call.func)
        ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value != "get_event_loop":
                return
        elif not isinstance(func, cst.Name) or not self.context.imports.aliases.get(
            func.value, ""
        ).endswith(".get_event_loop"):
            return  # a bare name counts only when imported as get_event_loop (maybe renamed)
        qualified = self.context.imports.qualify(func)
        if qualified is None or qualified not in self.option("deprecated_calls"):
            return
        # Only the coroutine's own body: a nested def may run in a worker thread, where
        # get_running_loop() is no fix, and top-level code may create its own loop.
        coroutine = coroutine_of(self.context)
        if coroutine is not None:
            fix = self._fix(node.func) if qualified in _ASYNCIO else None
            self.report(node, call=qualified, function=coroutine.name.value, fix_plan=fix)

    # -- fix ------------------------------------------------------------------------------

    def _fix(self, func: cst.BaseExpression) -> FixPlan:
        """`asyncio.get_event_loop()` -> `asyncio.get_running_loop()` under the file's own
        alias; a bare imported name becomes an imported `get_running_loop`. Safe: inside a
        coroutine both return the running loop."""

        def build() -> Rewrite | None:
            if isinstance(func, cst.Attribute):
                return replace(func.attr, cst.Name("get_running_loop"))
            found = reference(self.context, "asyncio.get_running_loop", from_import=True)
            if found is None:
                return None
            expression, needed = found
            return replace(func, expression, *([needed] if needed else []))

        return FixPlan("Use `asyncio.get_running_loop()`", Applicability.SAFE, build)
