"""LG202 false-async: an `async def` that never awaits but does blocking or CPU-heavy
work on the event loop, reported only on evidence, which the message names:

- a call LG201 would report (blocking I/O, sleep, subprocess, model code), judged with
  LG201's vocabulary as the run configures it (`analysis/blocking.py`): a call a user
  adds to LG201's lists is evidence, one removed is not;
- a call into a configured heavy namespace (`heavy_modules`: numpy, pandas, torch, ...);
- a `for` loop, doing per-item work, over request data: a collection read from the
  request object, or a parameter that carries request-sized data (`analysis/request_data`:
  typed as a collection, text or bytes, or a route handler's request model; not an
  untyped parameter, an object, a configuration default or `*args`);
- a call to a plain function of the run whose body (transitively, `max_call_depth`) makes
  such a call (`analysis/summaries.py`).

Calls without such evidence (constructors, dict/str methods on any receiver however it
was imported, building clients, paths, responses or generators) never make a finding.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from functools import cached_property

import libcst as cst

from leakguard.analysis.async_interfaces import COLLECTOR as INTERFACES
from leakguard.analysis.async_interfaces import fixed_async_methods, interface_methods
from leakguard.analysis.blocking import BlockingCalls, configured_options
from leakguard.analysis.entrypoints import is_cli_command
from leakguard.analysis.imports import dotted_name
from leakguard.analysis.lifecycle import (
    STARTUP_AND_SHUTDOWN,
    is_lifecycle_hook,
    registration_calls,
)
from leakguard.analysis.per_item_work import does_work, loop_does_work
from leakguard.analysis.pydantic_models import COLLECTOR as MODELS
from leakguard.analysis.request_data import data_parameters, request_attribute
from leakguard.analysis.run_modules import COLLECTOR as RUN_MODULES
from leakguard.analysis.startup import COLLECTOR as STARTUP
from leakguard.analysis.startup import startup_only
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.analysis.summaries import Chain, Vocabulary, summary_index
from leakguard.config import RuleSpec
from leakguard.context import FileContext
from leakguard.finding import Related
from leakguard.rule import LintRule
from leakguard.slicing import class_regions
from leakguard.triage import SCOPES, TriageTree, dotted
from leakguard.walker import SCOPE_NODES, descendants

_OVERRIDE_DECORATORS = frozenset({"override", "overload", "abstractmethod"})
# Facts of the run's functions that count as evidence. A helper's loop over its own
# parameter is not: what it is handed is often a small registry or a config (real-world
# review), so only the coroutine's own loops count.
_CHAIN_KINDS = ("blocks", "cpu_heavy")
_MAX_SHOWN = 40


class FalseAsync(LintRule):
    code = "LG202"
    PROJECT_FACTS = (INTERFACES, SUMMARIES, MODELS, STARTUP, RUN_MODULES)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """An `async def` whose own body has no `await`, `async for` or `async with`, and
        that is neither a configured interface method nor marked as one (`@abstractmethod`,
        `@override`, ...): the visitor leaves those before anything else."""
        return bool(_candidates(tree, spec))

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Every `async def` whose own body does not await, with what its class, base
        classes and the file's top-level definitions say about it
        (`slicing.class_regions`), and the calls that may register a life-cycle hook."""
        return [*class_regions(tree, _candidates(tree, spec)), *registration_calls(tree)]

    @cached_property
    def _blocking(self) -> BlockingCalls:
        """LG201's verdict: "a call LG201 would report" is evidence (LG201's vocabulary as
        the run configures it, plus this rule's call depth)."""
        options = dict(configured_options(self.context))
        options["max_call_depth"] = self.option("max_call_depth")
        return BlockingCalls(self.context, options)

    @cached_property
    def _vocabulary(self) -> Vocabulary:
        base = self._blocking.vocabulary
        heavy = tuple(str(m) for m in self.option("heavy_modules"))
        return replace(base, heavy_modules=heavy)

    @cached_property
    def _skipped_file(self) -> bool:
        return self.skips_file(self.context.path, self.spec)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None or self._skipped_file:
            return
        name = node.name.value
        if name in self.option("async_interface_methods") or self._implements_interface(node):
            return
        owner = _direct_class(self.context)
        if name in _inherited_async_methods(self.context, owner):
            return
        if owner is not None and owner.bases and name in interface_methods(self.context):
            return  # implements an abstract/protocol async method declared in the run
        if name in self._fixed_by_run(owner):
            return  # a run ancestor or an awaiting sibling keeps it async
        if is_cli_command(node, self.context):
            return  # runs under its own `asyncio.run(...)`: nothing else waits on that loop
        if self.option("skip_lifecycle_hooks") and is_lifecycle_hook(
            node, self.context, STARTUP_AND_SHUTDOWN
        ):
            return  # start-up/shutdown code: no request is waiting on the loop yet
        if startup_only(node, self.context, own_loop=True):
            return  # only start-up code (or a loop of its own) awaits it: once per process
        found = self._evidence(node)
        if found is None:
            return
        evidence, related = found
        self.report(node.name, function=name, evidence=evidence, related=related)

    def _fixed_by_run(self, owner: cst.ClassDef | None) -> frozenset[str]:
        """`async_interfaces.fixed_async_methods` of a module-level class with bases."""
        if owner is None or not owner.bases or owner not in self.context.module.body:
            return frozenset()
        index = summary_index(self.context)
        if index is None:
            return frozenset()
        key = ("LG202.fixed", id(owner))
        cached = self.context.memo.get(key)
        if cached is None:
            klass = (self.context.module_name, owner.name.value)
            cached = self.context.memo[key] = fixed_async_methods(index, klass)
        return cached

    def _implements_interface(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            name = dotted_name(target) or ""
            if name.rsplit(".", 1)[-1] in _OVERRIDE_DECORATORS:
                return True
        return False

    def _evidence(self, function: cst.FunctionDef) -> tuple[str, tuple[Related, ...]] | None:
        """The first evidence of work in the own body (and its related locations), or
        None when there is none or the body awaits anywhere."""
        nodes = list(descendants(function.body, stop_at=SCOPE_NODES))
        for child in nodes:
            if isinstance(child, cst.Await):
                return None
            if isinstance(child, (cst.For, cst.With, cst.CompFor)) and child.asynchronous:
                return None
        params = data_parameters(function, self.context)
        depth = self._blocking.max_depth
        for child in nodes:
            if isinstance(child, cst.Call):
                found = self._call_evidence(child)
                if found is not None:
                    return found
            elif isinstance(child, cst.For):
                if _yields_per_item(child):
                    # The consumer gets each item as it is made and the loop gets control
                    # back between them: only one item's work blocks, which is evidence
                    # only as a call above.
                    continue
                collection = _iterated_collection(child.iter, params)
                if collection is not None and (
                    does_work(child.iter, self.context, depth)
                    or loop_does_work(child, child.body, self.context, depth)
                ):
                    line = self.context.line_of(child)
                    here = Related(self.context.path, line, f"loops over `{collection}`")
                    return f"loops over `{collection}` (line {line})", (here,)
        return None

    def _call_evidence(self, call: cst.Call) -> tuple[str, tuple[Related, ...]] | None:
        line = self.context.line_of(call)
        path = self.context.path
        verdict = self._blocking.verdict(call)
        if verdict is not None:
            shown, what, _ = verdict
            here = Related(path, line, f"`{_short(shown)}` {what}")
            return f"calls `{_short(shown)}` (line {line}), which {what}", (here,)
        qualified = self.context.imports.qualify(call.func)
        if qualified is not None and self._vocabulary.is_heavy(qualified):
            module = qualified.split(".")[0]
            shown = _short(self.context.code_of(call.func))
            here = Related(path, line, f"`{shown}` runs `{module}` code")
            return f"calls `{shown}` (line {line}), which runs `{module}` code", (here,)
        chain = self._chain(call)
        if chain is None:
            return None
        first = Related(path, line, f"calls {chain.steps[0].label}")
        related = (first, *(Related(*step) for step in chain.related()))
        return f"calls {chain.summary(path, arrows=True)}", related

    def _chain(self, call: cst.Call) -> Chain | None:
        summaries = summary_index(self.context)
        if summaries is None:
            return None
        target = summaries.callee(call, self.context)
        if target is None:
            return None
        return summaries.find(target, self._vocabulary, _CHAIN_KINDS, self._blocking.max_depth)


def _candidates(tree: TriageTree, spec: RuleSpec) -> list[ast.AsyncFunctionDef]:
    """`_not_awaiting`, less those `visit_FunctionDef` leaves first: an abstract async
    API (chromadb's) is a file of them."""
    interface = set(spec.option("async_interface_methods"))
    return [
        function
        for function in _not_awaiting(tree)
        if function.name not in interface and not _marked_as_interface(function)
    ]


def _marked_as_interface(function: ast.AsyncFunctionDef) -> bool:
    """`_implements_interface` on CPython's `ast`: a decorator, or a decorator call's
    callee, that is a dotted name (`dotted_name`) ending in one of `_OVERRIDE_DECORATORS`."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (dotted(target) or "").rsplit(".", 1)[-1] in _OVERRIDE_DECORATORS:
            return True
    return False


def _not_awaiting(tree: TriageTree) -> list[ast.AsyncFunctionDef]:
    """The `async def`s whose own body has no `await`, `async for` or `async with`."""
    awaiting = (ast.Await, ast.AsyncFor, ast.AsyncWith)
    return [
        function
        for function in tree.of(ast.AsyncFunctionDef)
        if not any(isinstance(node, awaiting) for node in tree.within(function, SCOPES))
    ]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _yields_per_item(loop: cst.For) -> bool:
    """The loop's body yields for every item (the `async def` is an async generator):
    each item is handed to the consumer as it is made. A yield under a branch only
    (`if item.ready: yield item`, `if last: yield results`) lets the other items run
    back to back without giving control back."""
    return any(
        isinstance(n, cst.Yield)
        for statement in loop.body.body
        if isinstance(statement, cst.SimpleStatementLine)
        for n in descendants(statement, stop_at=SCOPE_NODES)
    )


def _iterated_collection(iterable: cst.BaseExpression, params: frozenset[str]) -> str | None:
    """The data parameter or request value a `for` loop iterates over (through calls
    such as `enumerate(items)` or `csv.reader(io.StringIO(text))`), else None."""
    for node in (iterable, *descendants(iterable)):
        if isinstance(node, cst.Name) and node.value in params:
            return node.value
        if isinstance(node, cst.Attribute):
            dotted = dotted_name(node)
            if dotted is not None and dotted.split(".")[0] in params:
                return dotted  # `batch.texts` of a request model
            found = request_attribute(node)
            if found is not None:
                return found
    return None


def _direct_class(context: FileContext) -> cst.ClassDef | None:
    """The class whose body directly defines the function being visited."""
    for node in reversed(context.stack[:-1]):
        if isinstance(node, cst.ClassDef):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            return None
    return None


def _inherited_async_methods(context: FileContext, klass: cst.CSTNode | None) -> frozenset[str]:
    """Async method names that `klass` overrides from base classes defined in this file:
    the base fixes the interface, so the override must stay `async def`."""
    if not isinstance(klass, cst.ClassDef) or not klass.bases:
        return frozenset()
    key = ("LG202.inherited", id(klass))
    cached = context.memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    classes = {s.name.value: s for s in context.module.body if isinstance(s, cst.ClassDef)}
    found: set[str] = set()
    pending = [b.value.value for b in klass.bases if isinstance(b.value, cst.Name)]
    seen: set[str] = set()
    while pending:
        base = classes.get(pending.pop())
        if base is None or base.name.value in seen:
            continue
        seen.add(base.name.value)
        for statement in base.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.asynchronous is not None:
                found.add(statement.name.value)
        pending.extend(b.value.value for b in base.bases if isinstance(b.value, cst.Name))
    result = frozenset(found)
    context.memo[key] = result
    return result
