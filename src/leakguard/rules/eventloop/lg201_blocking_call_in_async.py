"""LG201 blocking-call-in-async: blocking or CPU-bound calls made on the event loop,
directly or through plain functions of the run (reported at the call, with the chain)."""

from __future__ import annotations

import ast
from functools import cached_property

import libcst as cst

from leakguard.analysis.asyncio_facts import coroutine_of, is_awaited
from leakguard.analysis.blocking import (
    OFFLOAD_FIX,
    BlockingCalls,
    once_state_regions,
    runs_once,
)
from leakguard.analysis.files import BUILTIN_OPENERS
from leakguard.analysis.lifecycle import (
    STARTUP_AND_SHUTDOWN,
    is_lifecycle_hook,
    registration_calls,
)
from leakguard.analysis.run_modules import COLLECTOR as RUN_MODULES
from leakguard.analysis.startup import COLLECTOR as STARTUP
from leakguard.analysis.startup import startup_only
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.finding import Related
from leakguard.fixes import Applicability, FixPlan, Import, Rewrite, replace
from leakguard.fixes.names import reference
from leakguard.rule import LintRule
from leakguard.slicing import class_regions, module_scope_names
from leakguard.triage import SCOPES, TriageTree, dotted, method_owners, per_tree


class BlockingCallInAsync(LintRule):
    code = "LG201"
    # Function summaries of the run: blocking work one or more calls down; who reaches a
    # coroutine (only the process's start-up?).
    PROJECT_FACTS = (SUMMARIES, STARTUP, RUN_MODULES)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """An `async def` with a call `visit_Call` may report (`_reporting`)."""
        return bool(_reporting(tree, spec))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Every `async def` with a call it may report, with what the file's module-level
        definitions say about its calls' receivers (`slicing.class_regions`), its whole
        class when it calls a model method (`estimators.receiver_estimator` reads
        `self.model = ...` in other methods), and the calls that may register a
        life-cycle hook (`lifecycle.registered_hooks` reads the whole file), and the units
        that may reset the state a guard of the coroutines tests (`blocking.runs_once`)."""
        models = frozenset(spec.option("estimator_methods"))
        reporting = _reporting(tree, spec)
        calls_model = [
            coroutine
            for coroutine in reporting
            if any(
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in models
                for node in tree.within(coroutine, SCOPES)
            )
        ]
        others = [coroutine for coroutine in reporting if coroutine not in calls_model]
        return [
            *class_regions(tree, calls_model),
            *class_regions(tree, others, owner=False),
            *registration_calls(tree),
            *once_state_regions(tree, reporting),
        ]

    @cached_property
    def _calls(self) -> BlockingCalls:
        return BlockingCalls(self.context, self.options)

    @cached_property
    def _skipped_file(self) -> bool:
        return self.skips_file(self.context.path, self.spec)

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
        chain = self._calls.chain(node) if verdict is None else None
        if (verdict is not None or chain is not None) and (
            runs_once(coroutine, self.context) or self._once_at_startup(coroutine)
        ):
            # a lazy initialiser's branch, or a coroutine only the process's start-up
            # runs: once per process, not per request
            return
        if verdict is not None:
            call, what, fix = verdict
            self.report(
                node,
                call=call,
                what=what,
                fix=fix,
                function=function,
                fix_plan=blocking_call_fix(node, call, self.context),
            )
            return
        if chain is not None:
            callee = self.context.code_of(node.func)
            what = chain.evidence.what or "blocks"
            fix = OFFLOAD_FIX.replace("(...)", f"({callee}, ...)", 1)
            self.report(
                node,
                f"{chain.summary(self.context.path)} in `async def {function}`, blocking the loop",
                help=f"{chain.evidence.label} {what}; {fix}.",
                related=tuple(Related(*step) for step in chain.related()),
                fix_plan=blocking_call_fix(node, "", self.context),
            )

    def _once_at_startup(self, coroutine: cst.FunctionDef) -> bool:
        """The call runs once per process, or on a loop of its own: its coroutine only
        start-up code reaches, or a runner of its own loop (`startup.startup_only`
        with `own_loop`), and it is not in a `while` or `async for` loop of it: a
        background task started at start-up that polls forever blocks the loop at every
        round while requests are served."""
        for node in reversed(self.context.stack[:-1]):
            if node is coroutine:
                break
            if isinstance(node, cst.While) or (isinstance(node, cst.For) and node.asynchronous):
                return False
        return startup_only(coroutine, self.context, own_loop=True)


@per_tree
def _reporting(tree: TriageTree, spec: RuleSpec) -> list[ast.AsyncFunctionDef]:
    """The `async def`s whose own body makes a call `visit_Call` may report: one not
    awaited in place whose callee `BlockingCalls.verdict` may judge (a configured method
    on any receiver, a configured name, an imported name) or the run's summaries may
    resolve (`summaries.cst_reference`: an imported or module-level name, `self.f` in a
    method); in a file that may hold an MLX model, any called name (`model(x)`).
    Remembered on the tree (`per_tree`): `could_fire` and `regions` both ask."""
    coroutines = tree.of(ast.AsyncFunctionDef)
    if not coroutines:
        return []
    methods = {
        str(name)
        for option in ("blocking_methods", "estimator_methods", "blocking_client_methods")
        for name in spec.option(option)
    }
    blocking = {str(n).rsplit(".", 1)[-1] for n in spec.option("blocking_calls")}
    module_names = module_scope_names(tree)
    owners = method_owners(tree)
    models = "mlx" in tree.text
    awaited = {id(node.value) for node in tree.of(ast.Await)}

    def may_report(call: ast.Call, first: str | None) -> bool:
        func = call.func
        if id(call) in awaited:
            return False
        if isinstance(func, ast.Attribute) and func.attr in methods:
            return True
        written = dotted(func)
        if written is None:
            return False
        root, _, rest = written.partition(".")
        return (
            models
            or root in tree.targets
            or root in module_names
            or (not rest and root in blocking)
            or (root == first and rest.count(".") == 0)
        )

    found: list[ast.AsyncFunctionDef] = []
    for coroutine in coroutines:
        params = [*coroutine.args.posonlyargs, *coroutine.args.args]
        first = params[0].arg if params and id(coroutine) in owners else None
        if any(
            isinstance(node, ast.Call) and may_report(node, first)
            for node in tree.within(coroutine, SCOPES)
        ):
            found.append(coroutine)
    return found


# -- fix ------------------------------------------------------------------------------------

# Nodes whose child an `await` cannot simply precede: in a trailer (`x.attr`, `x[i]`,
# `x()`) the await would bind to the whole primary, so it needs parentheses.
_TRAILERS = (cst.Attribute, cst.Subscript, cst.Call)


def blocking_call_fix(node: cst.Call, qualified: str, context: FileContext) -> FixPlan | None:
    """`time.sleep(s)` -> `await asyncio.sleep(s)` (safe: same pause, without blocking
    the loop); any other blocking `f(a, k=v)` -> `await asyncio.to_thread(f, a, k=v)`
    (unsafe: `f` now runs in a worker thread, which it must tolerate). Only for a call
    in the coroutine's own body outside a generator expression, where `await` is valid
    and keeps its meaning."""
    stack = context.stack
    for ancestor in reversed(stack[:-1]):
        if isinstance(ancestor, cst.FunctionDef):
            break
        if isinstance(ancestor, cst.GeneratorExp):
            return None  # an await would make it an async generator
    parent = stack[-2] if len(stack) >= 2 else None
    # In a trailer, the call must be the primary (`f().x`), not an argument (`g(f())`).
    needs_parens = (
        isinstance(parent, _TRAILERS)
        and getattr(parent, "value" if not isinstance(parent, cst.Call) else "func", None) is node
    )

    def wrap(call: cst.Call, needed: Import | None) -> Rewrite:
        awaited = cst.Await(call)
        if needs_parens:
            awaited = awaited.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        imports = (needed,) if needed is not None else ()
        return replace(node, awaited, *imports)

    if qualified == "time.sleep":

        def sleep() -> Rewrite | None:
            found = reference(context, "asyncio.sleep")
            if found is None:
                return None
            func, needed = found
            return wrap(node.with_changes(func=func), needed)

        return FixPlan("Use `await asyncio.sleep(...)`", Applicability.SAFE, sleep)

    if qualified in BUILTIN_OPENERS:
        # Offloading only the call would leave the blocking part behind: the reads and
        # writes on the file object `open()` returns still block.
        return None

    def offload() -> Rewrite | None:
        found = reference(context, "asyncio.to_thread")
        if found is None:
            return None
        func, needed = found
        callable_ = cst.Arg(node.func)
        if node.args and isinstance(node.whitespace_before_args, cst.ParenthesizedWhitespace):
            # One argument per line: the callable gets a line of its own too.
            callable_ = callable_.with_changes(
                comma=cst.Comma(whitespace_after=node.whitespace_before_args)
            )
        return wrap(node.with_changes(func=func, args=[callable_, *node.args]), needed)

    return FixPlan(
        "Run it in a thread with `await asyncio.to_thread(...)`", Applicability.UNSAFE, offload
    )
