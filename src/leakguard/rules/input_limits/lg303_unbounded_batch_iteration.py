"""LG303 unbounded-batch-iteration: a route handler loops over an unbounded request list."""

from __future__ import annotations

import ast

import libcst as cst

from leakguard.analysis.caller_trust import COLLECTOR as CALLER_TRUST
from leakguard.analysis.caller_trust import OPTION as PRIVILEGED
from leakguard.analysis.caller_trust import privileged_handler
from leakguard.analysis.frameworks import may_be_handlers, may_have_request_handlers
from leakguard.analysis.per_item_work import loop_does_work
from leakguard.analysis.pydantic_models import (
    COLLECTOR,
    attribute_chain,
    fact_regions,
    guarded_before,
    iterated_collections,
    model_index,
    request_bindings,
    request_handlers,
    resolve_field,
)
from leakguard.analysis.request_data import untyped_collections
from leakguard.analysis.summaries import COLLECTOR as SUMMARIES
from leakguard.config import RuleSpec
from leakguard.rule import LintRule
from leakguard.slicing import callee_regions
from leakguard.triage import TriageTree

_ITERATIONS = (ast.For, ast.AsyncFor, ast.comprehension)

_UNTYPED_HELP = (
    "It is untyped request data: no model bounds it, so one request can queue unlimited "
    "work and block this worker for everyone. Check `if len({collection}) > MAX_BATCH: "
    "abort(413)` (or raise HTTPException(413)) before the loop, or validate the body with "
    "a model whose collections have `max_length`."
)


class UnboundedBatchIteration(LintRule):
    code = "LG303"
    PROJECT_FACTS = (COLLECTOR, SUMMARIES, CALLER_TRUST)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A loop or comprehension in a function that may be a request handler."""
        iterates = tree.has(*_ITERATIONS)
        return iterates and bool(tree.functions) and may_have_request_handlers(tree)

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Its reports sit in request handlers' loops, judged with the length-check
        helpers they call (`slicing.callee_regions`) and the file's own model facts,
        which must stay those of the whole file (`pydantic_models.fact_regions`)."""
        looping = [
            function
            for function in may_be_handlers(tree)
            if any(isinstance(n, _ITERATIONS) for n in tree.walk(function))
        ]
        return [*fact_regions(tree), *looping, *callee_regions(tree, looping, 1)]

    def visit_For(self, node: cst.For) -> None:
        self._check(node, node.iter, node.body)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        comprehension = next(iter(self.context.ancestors()), None)
        element: cst.CSTNode | None = None
        if isinstance(comprehension, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            element = comprehension.elt
        elif isinstance(comprehension, cst.DictComp):
            element = comprehension.value
        if element is not None:
            self._check(node, node.iter, element)

    def _check(
        self,
        loop: cst.For | cst.CompFor,
        iterable: cst.BaseExpression,
        work: cst.CSTNode,
    ) -> None:
        if self.skips_file(self.context.path, self.spec):
            return
        function = self.context.enclosing_function()
        if function is None or id(function) not in request_handlers(self.context):
            return
        if privileged_handler(function, self.context, self.option(PRIVILEGED)):
            return  # no untrusted client sends this route anything
        if self._check_untyped(function, loop, iterable, work):
            return
        collections = iterated_collections(iterable)
        if not collections:
            return
        bindings = request_bindings(function, self.context)
        if not bindings:
            return
        for collection in collections:
            chain = attribute_chain(collection)
            if chain is None or chain[0] not in bindings:
                continue
            index = model_index(self.context)
            found = resolve_field(index, bindings[chain[0]], chain[1])
            if found is None or not index.top_collection_unbounded(found[2]):
                continue
            # walked itself (not `enumerate(...)`, `.items()`): its items are the field's
            item_type = (bindings[chain[0]], chain[1]) if collection is iterable else None
            if not loop_does_work(loop, work, self.context, item_type=item_type) or guarded_before(
                function, loop, collection, self.context
            ):
                continue
            owner, field, _ = found
            self.report(
                loop,
                handler=function.name.value,
                collection=self.context.code_of(collection),
                field=f"field `{owner.rsplit('.', 1)[-1]}.{field}`",
            )
            return

    def _check_untyped(
        self,
        function: cst.FunctionDef,
        loop: cst.For | cst.CompFor,
        iterable: cst.BaseExpression,
        work: cst.CSTNode,
    ) -> bool:
        """Loops over raw request data (`request.get_json()["items"]`, `await
        request.json()`, `request.files.getlist(...)`): no model bounds them, so only a
        length check before the loop does."""
        for collection in untyped_collections(iterable, function, self.context):
            if not loop_does_work(loop, work, self.context) or guarded_before(
                function, loop, collection, self.context
            ):
                continue
            code = self.context.code_of(collection)
            self.report(
                loop,
                handler=function.name.value,
                collection=code,
                help=_UNTYPED_HELP.format(collection=code),
            )
            return True
        return False
