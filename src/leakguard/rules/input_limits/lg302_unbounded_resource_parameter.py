"""LG302 unbounded-resource-parameter: request numbers that size the work, with no `le`."""

from __future__ import annotations

import ast
from functools import cached_property

import libcst as cst

from leakguard.analysis.caller_trust import COLLECTOR as CALLER_TRUST
from leakguard.analysis.caller_trust import OPTION as PRIVILEGED
from leakguard.analysis.caller_trust import CallerTrust, caller_trust, privileged_handler
from leakguard.analysis.clamps import COLLECTOR as CLAMPS
from leakguard.analysis.echoes import only_reaches_response
from leakguard.analysis.frameworks import may_have_request_handlers
from leakguard.analysis.pydantic_models import (
    COLLECTOR,
    body_param_use,
    fact_regions,
    field_statements,
    handler_params,
    local_facts,
    model_index,
    own_qualified,
    param_tree,
    request_handlers,
    tree_refs,
)
from leakguard.analysis.sampling import SamplingNames, sampling_cutoff
from leakguard.config import RuleSpec
from leakguard.rule import LintRule
from leakguard.triage import TriageTree

_FIELD_FIX = "`Field(ge=1, le=100)`, `Annotated[int, Field(le=100)]` or `conint(ge=1, le=100)`"
# Where a model's fields come from: a body, or the query string (a `Depends()` model).
_KINDS = ("body", "query")
_QUERY_FIX = "`Query(10, ge=1, le=100)` or `Annotated[int, Query(ge=1, le=100)]`"


class UnboundedResourceParameter(LintRule):
    code = "LG302"
    PROJECT_FACTS = (COLLECTOR, CLAMPS, CALLER_TRUST)

    @staticmethod
    def could_fire(tree: TriageTree, spec: RuleSpec) -> bool:
        """A field or parameter with a resource name, in a class or a request handler."""
        if not tree.names & set(spec.option("resource_names")):
            return False
        if may_have_request_handlers(tree):
            return True
        classes = [klass.name for klass in tree.of(ast.ClassDef)]
        return bool(classes) and tree.in_run("request_models", classes)

    @staticmethod
    def regions(tree: TriageTree, spec: RuleSpec) -> list[ast.AST] | None:
        """Its reports sit in model fields (always kept) and in request handlers'
        parameters, judged by where handlers send them (through the file's functions);
        the file's own model facts must stay those of the whole file
        (`pydantic_models.fact_regions`, all of that included)."""
        return fact_regions(tree)

    @cached_property
    def _skip_tests(self) -> bool:
        return bool(self.option("skip_tests"))

    @cached_property
    def _sampling_names(self) -> SamplingNames:
        return SamplingNames(
            cutoffs=frozenset(self.option("sampling_cutoff_names")),
            parameters=frozenset(self.option("sampling_parameter_names")),
            retrieval=frozenset(self.option("retrieval_field_names")),
        )

    @cached_property
    def _trust(self) -> CallerTrust | None:
        """Routes only privileged callers reach take nothing from an untrusted client."""
        return caller_trust(self.context, self.option(PRIVILEGED))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.skips_file(self.context.path, self.spec):
            return
        if any(isinstance(a, (cst.FunctionDef, cst.ClassDef)) for a in self.context.ancestors()):
            return
        names = set(self.option("resource_names"))
        statements = [(n, s) for n, s in field_statements(node) if n in names]
        if not statements:
            return
        index = model_index(self.context)
        qualified = own_qualified(self.context, node.name.value)
        use = index.request_models(_KINDS, self._skip_tests, self._trust).get(qualified)
        if use is None:
            return
        klass = local_facts(self.context).get("classes", {}).get(node.name.value)
        if klass is None or self._only_echoed_here(qualified):
            return
        sized = index.sized_fields(qualified, _KINDS, self._skip_tests, self._trust)
        for name, statement in statements:
            tree = klass["fields"].get(name)
            if name in use.shadowed or (sized is not None and name not in sized):
                continue  # no handler taking the model sizes work with this field
            if sampling_cutoff(
                index, qualified, name, self._sampling_names, _KINDS, self._skip_tests, self._trust
            ):
                continue  # a sampler's `top_k`: above the vocabulary it means "all tokens"
            if tree is not None and index.number_unbounded(tree):
                subject = f"Field `{node.name.value}.{name}` ({use.how})"
                self.report(statement, subject=subject, name=name, fix=_FIELD_FIX)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.skips_file(self.context.path, self.spec):
            return
        names = set(self.option("resource_names"))
        params = [p for p in handler_params(node) if p.name.value in names]
        if not params or id(node) not in request_handlers(self.context):
            return
        if privileged_handler(node, self.context, self.option(PRIVILEGED)):
            return
        index = model_index(self.context)
        for param in params:
            use = body_param_use(param, self.context)
            if (
                use is not None
                and index.number_unbounded(use[1])
                and not only_reaches_response(node, param.name.value, self.context)
            ):
                subject = f"Parameter `{param.name.value}` of route handler `{node.name.value}`"
                self.report(param, subject=subject, name=param.name.value, fix=_QUERY_FIX)

    def _only_echoed_here(self, model: str) -> bool:
        """The model is a parameter of this file's handlers, and each of them only
        returns it or logs it: its numbers size no work. Handlers in other files are
        not seen, so a model only used there is still reported."""
        uses = [
            (handler, param.name.value)
            for handler in request_handlers(self.context).values()
            for param in handler_params(handler)
            if model in tree_refs(param_tree(param, self.context))
        ]
        return bool(uses) and all(only_reaches_response(h, name, self.context) for h, name in uses)
