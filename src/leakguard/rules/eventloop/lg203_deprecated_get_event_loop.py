"""LG203 deprecated-get-event-loop: `asyncio.get_event_loop()` inside a coroutine."""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.asyncio_facts import coroutine_of
from leakguard.rule import LintRule


class DeprecatedGetEventLoop(LintRule):
    code = "LG203"

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
            self.report(node, call=qualified, function=coroutine.name.value)
