"""LG203 deprecated-get-event-loop: `asyncio.get_event_loop()` inside a coroutine."""

from __future__ import annotations

import libcst as cst

from leakguard.analysis.asyncio_facts import coroutine_of
from leakguard.rule import LintRule


class DeprecatedGetEventLoop(LintRule):
    code = "LG203"

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        if last != "get_event_loop":
            return
        qualified = self.context.imports.qualify(func)
        if qualified is None or qualified not in self.option("deprecated_calls"):
            return
        # Only the coroutine's own body: a nested def may run in a worker thread, where
        # get_running_loop() is no fix, and top-level code may create its own loop.
        coroutine = coroutine_of(self.context)
        if coroutine is not None:
            self.report(node, call=qualified, function=coroutine.name.value)
