"""LG201 blocking-call-in-async: blocking or CPU-bound calls made on the event loop,
directly or through plain functions of the run (reported at the call, with the chain)."""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from leakguard.analysis.asyncio_facts import coroutine_of, is_awaited, is_test_file
from leakguard.analysis.blocking import OFFLOAD_FIX, BlockingCalls
from leakguard.analysis.lifecycle import STARTUP_AND_SHUTDOWN, is_lifecycle_hook
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.finding import Related
from leakguard.rule import LintRule


class BlockingCallInAsync(LintRule):
    code = "LG201"
    # Function summaries of the run: blocking work one or more calls down.
    PROJECT_FACTS = (SUMMARIES,)

    @cached_property
    def _calls(self) -> BlockingCalls:
        return BlockingCalls(self.context, self.options)

    @cached_property
    def _skipped_file(self) -> bool:
        return bool(self.option("skip_tests")) and is_test_file(self.context.path)

    def visit_Call(self, node: cst.Call) -> None:
        if self._skipped_file:
            return
        candidate = self._calls.is_candidate(node)
        if not candidate and self.context.project is None:
            return
        coroutine = coroutine_of(self.context)
        if coroutine is None or is_awaited(self.context):
            return
        if self.option("skip_lifecycle_hooks") and is_lifecycle_hook(
            coroutine, self.context, STARTUP_AND_SHUTDOWN
        ):
            return  # start-up/shutdown code: no request is waiting on the loop yet
        function = coroutine.name.value
        verdict = self._calls.verdict(node) if candidate else None
        if verdict is not None:
            call, what, fix = verdict
            self.report(node, call=call, what=what, fix=fix, function=function)
            return
        chain = self._calls.chain(node)
        if chain is not None:
            callee = self.context.code_of(node.func)
            what = chain.evidence.what or "blocks"
            fix = OFFLOAD_FIX.replace("(...)", f"({callee}, ...)", 1)
            self.report(
                node,
                f"{chain.summary(self.context.path)} in `async def {function}`, blocking the loop",
                help=f"{chain.evidence.label} {what}; {fix}.",
                related=tuple(Related(*step) for step in chain.related()),
            )
